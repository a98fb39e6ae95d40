"""Tickets: the shared queue, opening a ticket from an integration, and working one."""

from flask import url_for
from sqlalchemy import false, or_, select

from helpdesk.actions.messages import receive_message_from_address
from helpdesk.actions.tickets import claim, merge_tickets, transfer, update_ticket
from helpdesk.api import bp
from helpdesk.api.access import ID, agent_or_404, restrict_to_stores, store_or_404, team_or_404, ticket_or_404
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import INT_MAX, load_json, load_query
from helpdesk.api.openapi import operation
from helpdesk.api.pagination import (TicketPageSchema, activity_cursor, after_activity_cursor, after_due_cursor,
                                     due_cursor, due_order, page)
from helpdesk.dumps import compiled
from helpdesk.extensions import db
from helpdesk.models import Tag, Ticket, ticket_tags
from helpdesk.schemas import (TicketCreateArgs, TicketListArgs, TicketMergeArgs, TicketSchema, TicketUpdateArgs,
                              TransferArgs)
from helpdesk.text import clean_text
from inbox.queries import not_practice, reply_overdue, search_tickets

# Every page of the queue (helpdesk.dumps): through marshmallow's generic walk, dumping 50
# tickets costs about 2 ms.
_TICKET_PAGE = compiled(TicketPageSchema())


def ticket_query(agent, args):
    """The queue as ``agent`` may see it, filtered by ``args`` (TicketListArgs) except the
    search term, which ``ticket_page`` applies."""
    # Academy practice chats: only their trainee's queue (and search) lists them.
    query = restrict_to_stores(select(Ticket), Ticket.store_id, agent).where(not_practice(agent))
    if "status" in args:
        query = query.where(Ticket.status == args["status"])
    if "channel" in args:
        query = query.where(Ticket.channel == args["channel"])
    assignee = args.get("assignee")
    if assignee == "me":
        query = query.where(Ticket.assignee_id == agent.id)
    elif assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif assignee is not None:
        # The schema allows any digits; a number no id can have matches nothing.
        query = query.where(Ticket.assignee_id == int(assignee)) if int(assignee) <= INT_MAX else query.where(false())
    if "store" in args:
        query = query.where(Ticket.store_id == args["store"])
    if "team" in args:
        query = query.where(Ticket.team_id == args["team"])
    if "overdue" in args:
        late = reply_overdue()
        query = query.where(late if args["overdue"] else or_(Ticket.reply_due_at.is_(None), ~late))
    if "tag" in args:
        # By the tag's id, looked up first: with the name inside the query PostgreSQL cannot
        # tell a tag on a hundred tickets from one on a hundred thousand, and for a rare tag
        # it walked the whole queue in activity order looking for them (270 ms on a million
        # tickets, bench/inbox_query.py); with the id it reads the tag's tickets by index, or
        # the queue for a common tag. SQLite always starts from the tag's tickets, which
        # costs a sort of them for a tag on a large share of the queue.
        tag_id = db.session.scalar(select(Tag.id).where(Tag.name == clean_text(args["tag"]).lower()))
        query = query.where(false() if tag_id is None else Ticket.id.in_(
            select(ticket_tags.c.ticket_id).where(ticket_tags.c.tag_id == tag_id)))
    return query


def ticket_page(query, args):
    """One page of ``query`` in (last_activity_at desc, id desc) order, or with ``sort=due``
    the reply due soonest first (``due_order``; not for a search), as the list envelope."""
    by_due = args.get("sort") == "due" and not args.get("q")
    if args.get("cursor"):
        query = (after_due_cursor if by_due else after_activity_cursor)(query, Ticket, args["cursor"])
    limit = args["limit"]
    if args.get("q"):
        # Subject, message and note text, contact name/email, #number: see search_tickets
        # for why it runs in two phases.
        rows = search_tickets(query, args["q"], limit + 1)
    else:
        order = due_order(Ticket) if by_due else (Ticket.last_activity_at.desc(), Ticket.id.desc())
        rows = db.session.scalars(query.order_by(*order).limit(limit + 1)).unique().all()
    rows, next_cursor = page(rows, limit, due_cursor if by_due else activity_cursor)
    return _TICKET_PAGE({"items": rows, "next_cursor": next_cursor})


@bp.get("/tickets")
@operation("List tickets (the shared queue), newest activity first or (sort=due) the reply due soonest first; "
           "overdue=true lists the tickets whose reply is overdue.", query=TicketListArgs,
           response=TicketPageSchema)
def list_tickets():
    args = load_query(TicketListArgs())
    return ticket_page(ticket_query(current_agent(), args), args)


@bp.post("/tickets")
@operation("Report a customer's message: opens a ticket (or continues the contact's open one).",
           body=TicketCreateArgs, response=TicketSchema, status=201, replay_status=200, errors=(404,),
           description="Answers 201 when the message was stored, 200 when `client_id` was already used "
                       "(the same ticket, nothing stored twice).")
def create_ticket():
    args = load_json(TicketCreateArgs())
    store = store_or_404(args["store_id"], current_agent())
    message, created = receive_message_from_address(
        store, email=args["contact_email"], name=args["contact_name"], channel=args["channel"],
        text=args["body"], subject=args["subject"], client_id=args.get("client_id"),
    )
    ticket = message.ticket
    headers = {"Location": url_for("api.get_ticket", ticket_id=ticket.id)}
    return TicketSchema().dump(ticket), (201 if created else 200), headers


@bp.get(f"/tickets/<{ID}:ticket_id>")
@operation("One ticket. A duplicate merged into another one has `merged_into_id`: its conversation goes on there.",
           response=TicketSchema)
def get_ticket(ticket_id):
    return TicketSchema().dump(ticket_or_404(ticket_id, current_agent()))


@bp.patch(f"/tickets/<{ID}:ticket_id>")
@operation("Change status, assignee, team, tags or subject: all of them or none.",
           body=TicketUpdateArgs, response=TicketSchema, errors=(409,))
def patch_ticket(ticket_id):
    agent = current_agent()
    ticket = ticket_or_404(ticket_id, agent)
    args = load_json(TicketUpdateArgs())
    return TicketSchema().dump(update_ticket(ticket, agent, **args))


@bp.post(f"/tickets/<{ID}:ticket_id>/claim")
@operation("Take an unassigned ticket; 409 when another agent was faster, 403 for a chat while the onboarding "
           "academy or a changed store policy is still to be done.", response=TicketSchema, errors=(403, 409))
def claim_ticket(ticket_id):
    agent = current_agent()
    return TicketSchema().dump(claim(ticket_or_404(ticket_id, agent), agent))


@bp.post(f"/tickets/<{ID}:ticket_id>/transfer")
@operation("Hand the ticket to another agent or a team, with a note for them.",
           body=TransferArgs, response=TicketSchema, errors=(409,))
def transfer_ticket(ticket_id):
    agent = current_agent()
    ticket = ticket_or_404(ticket_id, agent)
    args = load_json(TransferArgs())
    to_agent = agent_or_404(args["to_agent_id"], "to_agent_id") if args.get("to_agent_id") else None
    to_team = team_or_404(args["to_team_id"], "to_team_id", ticket.store_id) if args.get("to_team_id") else None
    transfer(ticket, agent, to_agent=to_agent, to_team=to_team, note=args["note"],
             message_to_customer=args["message_to_customer"])
    return TicketSchema().dump(ticket_or_404(ticket_id, agent))


@bp.post(f"/tickets/<{ID}:ticket_id>/merge")
@operation("Merge this ticket (a duplicate) into `into_ticket_id` of the same store: its messages, notes, "
           "events, email threading, tags and visits move there, and it is closed with `merged_into_id`. "
           "Answers the ticket merged into.", body=TicketMergeArgs, response=TicketSchema, errors=(409,),
           description="422 for a ticket merged into itself, into one of another store or an academy practice "
                       "chat; 404 when either ticket "
                       "is not visible to the agent; 409 when this ticket was already merged, or the other "
                       "one is merged or closed.")
def merge_ticket(ticket_id):
    agent = current_agent()
    source = ticket_or_404(ticket_id, agent)
    args = load_json(TicketMergeArgs())
    target = ticket_or_404(args["into_ticket_id"], agent, "into_ticket_id")
    return TicketSchema().dump(merge_tickets(source, target, by=agent))
