"""Read-side queries for agents: what they may see, replay after reconnect."""
from sqlalchemy import select

from helpdesk.actions import NotFound
from helpdesk.extensions import db
from helpdesk.models import Message, Ticket
from helpdesk.schemas import MessageSchema

REPLAY_LIMIT = 500


def ticket_for_agent(agent, ticket_id):
    """The ticket, if this agent may see its store; otherwise NotFound (never 403: the
    existence of another store's ticket is not disclosed)."""
    ticket = db.session.get(Ticket, ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None or not agent.can_access_store(ticket.store_id):
        raise NotFound("No such ticket.", "ticket_id")
    return ticket


def messages_after(agent, last_id, ticket_id=None, limit=REPLAY_LIMIT):
    """Messages (notes and events included) the agent missed, oldest first."""
    query = select(Message).join(Ticket, Ticket.id == Message.ticket_id).where(
        Message.id > last_id, Message.hidden.is_(False))
    store_ids = agent.accessible_store_ids()
    if store_ids is not None:
        query = query.where(Ticket.store_id.in_(store_ids))
    if ticket_id is not None:
        query = query.where(Message.ticket_id == ticket_id)
    rows = db.session.scalars(query.order_by(Message.id).limit(limit)).all()
    return MessageSchema(many=True).dump(rows)
