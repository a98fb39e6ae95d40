"""What a visitor may read: their own conversations' customer-facing messages, nothing else.

Their own: the tickets of their browser or their contact, and the tickets an agent merged
one of those into (helpdesk.actions.tickets.merge_tickets): the conversation goes on there,
with the messages the shopper wrote and was sent before."""
from sqlalchemy import func, or_, select, union_all
from sqlalchemy.orm import aliased

from helpdesk.extensions import db
from helpdesk.models import CONTINUABLE_STATUSES, AuthorType, Channel, Message, MessageKind, Ticket
from helpdesk.schemas import PublicMessageSchema

#: Messages a (re)connecting widget receives at most in one go.
REPLAY_LIMIT = 500


def _mine(visitor, *where):
    """SELECT of the ids of the visitor's tickets (``where``: conditions on a ticket, as
    functions of it) and of the tickets those were merged into. A UNION, not an OR in one
    WHERE: each half is read by the visitor and contact indexes, where the OR made SQLite
    walk every ticket of the store. Aliased: used inside a statement on ``tickets``."""
    own = aliased(Ticket)
    cond = own.visitor_id == visitor.id
    if visitor.contact_id is not None:
        cond = or_(cond, own.contact_id == visitor.contact_id)
    ids = select(own.id).where(cond, *(condition(own) for condition in where))
    return union_all(ids, ids.with_only_columns(own.merged_into_id).where(own.merged_into_id.is_not(None)))


def visitor_tickets(visitor):
    return _mine(visitor, lambda ticket: ticket.store_id == visitor.store_id)


def current_chat(visitor):
    """The visitor's chat ticket that a new message continues (None: the next one opens one):
    one of their chats, or the ticket (of any channel) one of their chats was merged into."""
    # Joined, not ``id IN (...)``: with IN, SQLite read every continuable ticket by status.
    chats = _mine(visitor, lambda ticket: ticket.channel == Channel.CHAT).subquery()
    return db.session.scalar(
        select(Ticket).join(chats, Ticket.id == chats.c.id).where(Ticket.status.in_(CONTINUABLE_STATUSES))
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
