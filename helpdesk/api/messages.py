"""A ticket's timeline: replay after the last id seen, answer the customer, leave a note."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from helpdesk.actions.messages import add_note, reply
from helpdesk.api import bp
from helpdesk.api.access import ID, ticket_or_404
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json, load_query
from helpdesk.api.openapi import operation
from helpdesk.api.pagination import MessagePageSchema
from helpdesk.dumps import compiled
from helpdesk.extensions import db
from helpdesk.models import Message
from helpdesk.schemas import MessageCreateArgs, MessageListArgs, MessageSchema

# A ticket's timeline, read on every open and after every reconnection (helpdesk.dumps).
_MESSAGE_PAGE = compiled(MessagePageSchema())


@bp.get(f"/tickets/<{ID}:ticket_id>/messages")
@operation("The ticket's timeline in id order (messages, notes, events); pass the last id seen as "
           "after_id to replay what was missed.", query=MessageListArgs, response=MessagePageSchema)
def list_messages(ticket_id):
    ticket = ticket_or_404(ticket_id, current_agent())
    args = load_query(MessageListArgs())
    limit = args["limit"]
    rows = db.session.scalars(
        select(Message)
        .where(Message.ticket_id == ticket.id, Message.id > args["after_id"],
               Message.hidden.is_(False))  # a blocked contact's messages are kept for audit only
        .options(selectinload(Message.author_contact))
        .order_by(Message.id)
        .limit(limit + 1)
    ).unique().all()
    return _MESSAGE_PAGE({"items": rows[:limit], "has_more": len(rows) > limit})


@bp.post(f"/tickets/<{ID}:ticket_id>/messages")
@operation("Reply to the customer (kind=reply) or leave an internal note (kind=note).",
           body=MessageCreateArgs, response=MessageSchema, status=201, replay_status=200, errors=(409,),
           description="A `client_id` already used on this ticket answers 200 with the stored "
                       "message instead of storing it again.")
def create_message(ticket_id):
    agent = current_agent()
    ticket = ticket_or_404(ticket_id, agent)
    args = load_json(MessageCreateArgs())
    client_id = args.get("client_id")
    if client_id:
        existing = db.session.scalar(
            select(Message).where(Message.ticket_id == ticket.id, Message.client_id == client_id)
        )
        if existing is not None:
            return MessageSchema().dump(existing), 200
    act = add_note if args["kind"] == "note" else reply
    # Two resends racing past the lookup above still store one message: the action's
    # unique (ticket_id, client_id) retry returns the winner's row.
    message = act(ticket, agent, args["body"], client_id=client_id)
    return MessageSchema().dump(message), 201
