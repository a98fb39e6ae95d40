"""What a visitor may read: their own conversations' customer-facing messages, nothing else."""
from sqlalchemy import func, or_, select

from helpdesk.extensions import db
from helpdesk.models import CONTINUABLE_STATUSES, AuthorType, Channel, Message, MessageKind, Ticket
from helpdesk.schemas import PublicMessageSchema

#: Messages a (re)connecting widget receives at most in one go.
REPLAY_LIMIT = 500


def visitor_tickets(visitor):
    cond = Ticket.visitor_id == visitor.id
    if visitor.contact_id is not None:
        cond = or_(cond, Ticket.contact_id == visitor.contact_id)
    return select(Ticket.id).where(cond, Ticket.store_id == visitor.store_id)


def current_chat(visitor):
    """The visitor's chat ticket that a new message continues (None: the next one opens one)."""
    cond = Ticket.visitor_id == visitor.id
    if visitor.contact_id is not None:
        cond = or_(cond, Ticket.contact_id == visitor.contact_id)
    return db.session.scalar(
        select(Ticket).where(cond, Ticket.channel == Channel.CHAT, Ticket.status.in_(CONTINUABLE_STATUSES))
        .order_by(Ticket.last_activity_at.desc()).limit(1)
    )


def messages_after(visitor, last_id=0, limit=REPLAY_LIMIT):
    """Customer-facing messages of the visitor's conversations with id > ``last_id``, oldest
    first. With ``last_id == 0`` the newest ``limit`` are returned (the history)."""
    query = select(Message).where(
        Message.ticket_id.in_(visitor_tickets(visitor)),
        Message.kind == MessageKind.MESSAGE,
        Message.hidden.is_(False),
    )
    if last_id:
        rows = db.session.scalars(query.where(Message.id > last_id).order_by(Message.id).limit(limit)).all()
    else:
        rows = list(reversed(db.session.scalars(query.order_by(Message.id.desc()).limit(limit)).all()))
    return PublicMessageSchema(many=True).dump(rows)


def unread_count(visitor):
    """Agent replies in the visitor's conversations that the shopper has not seen yet."""
    return db.session.scalar(
        select(func.count(Message.id)).where(
            Message.ticket_id.in_(visitor_tickets(visitor)),
            Message.kind == MessageKind.MESSAGE,
            Message.hidden.is_(False),
            Message.author_type == AuthorType.AGENT,
            Message.read_at.is_(None),
        )
    ) or 0
