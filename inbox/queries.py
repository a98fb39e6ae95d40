"""Read-side queries for agents: what they may see, replay after reconnect, queue badges,
the context panel, product cards and search."""
import re

from sqlalchemy import case, column, func, or_, select, table, union

from helpdesk.actions import NotFound
from helpdesk.extensions import db
from helpdesk.models import (AuthorType, Message, MessageKind, PageView, Product, Ticket, TicketStatus, Visitor,
                              utcnow)
from helpdesk.models.base import contains_folded
from helpdesk.models.search import CONTACTS_FTS, MESSAGES_FTS, TICKETS_FTS, has_search_tables
from helpdesk.schemas import MessageSchema

REPLAY_LIMIT = 500


def ticket_for_agent(agent, ticket_id):
    """The ticket, if this agent may see its store; otherwise NotFound (never 403: the
    existence of another store's ticket is not disclosed)."""
    ticket = db.session.get(Ticket, ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None or not agent.can_access_store(ticket.store_id):
        raise NotFound("No such ticket.", "ticket_id")
    return ticket


def not_practice(agent):
    """Condition on ``Ticket``: real tickets, plus ``agent``'s own running academy practice
    chat. Other trainees' practice chats are in no agent's queue, counts or replay."""
    from helpdesk.models import AcademyProgress

    own = select(AcademyProgress.practice_ticket_id).where(AcademyProgress.agent_id == agent.id)
    return or_(Ticket.is_practice.is_(False), Ticket.id == own.scalar_subquery())


def messages_after(agent, last_id, ticket_id=None, limit=REPLAY_LIMIT):
    """Messages (notes and events included) the agent missed, oldest first."""
    query = select(Message).join(Ticket, Ticket.id == Message.ticket_id).where(
        Message.id > last_id, Message.hidden.is_(False))
    store_ids = agent.accessible_store_ids()
    if store_ids is not None:
        query = query.where(Ticket.store_id.in_(store_ids))
    if ticket_id is not None:
        query = query.where(Message.ticket_id == ticket_id)
    else:
        query = query.where(not_practice(agent))
    rows = db.session.scalars(query.order_by(Message.id).limit(limit)).all()
    return MessageSchema(many=True).dump(rows)


def reply_overdue(now=None):
    """Condition on ``Ticket``: its reply is overdue (``reply_due_at`` has passed;
    helpdesk.actions.service_levels). Served by the partial index ix_tickets_reply_due."""
    return Ticket.reply_due_at <= (now or utcnow())


# ---- queue badges ---------------------------------------------------------------------

def unread_condition():
    """A customer message no agent has read yet (what makes a ticket "unread")."""
    return (Message.author_type == AuthorType.CONTACT) & (Message.kind == MessageKind.MESSAGE) & \
        Message.hidden.is_(False) & Message.read_at.is_(None)


def unread_by_ticket(agent, ticket_ids):
    """``{ticket_id: (unread customer messages, newest of their ids)}`` for the tickets of
    ``ticket_ids`` the agent may see. The newest id lets the inbox tell a live
    ``message.created`` this count already holds from one that came after it."""
    ids = [i for i in ticket_ids if isinstance(i, int)][:200]
    if not ids:
        return {}
    query = (select(Message.ticket_id, func.count(), func.max(Message.id))
             .join(Ticket, Ticket.id == Message.ticket_id)
             .where(Message.ticket_id.in_(ids), unread_condition()).group_by(Message.ticket_id))
    store_ids = agent.accessible_store_ids()
    if store_ids is not None:
        query = query.where(Ticket.store_id.in_(store_ids))
    return {ticket_id: (n, newest) for ticket_id, n, newest in db.session.execute(query)}


#: Up to this many unread tickets are looked up by id for the sidebar counts; more (an
#: unusual backlog) fall back to one semi-join.
UNREAD_LOOKUP_MAX = 5000


#: What the sidebar counts when no status is chosen.
_NOT_CLOSED = [s.value for s in TicketStatus if s != TicketStatus.CLOSED]


def view_counts(agent, status=None):
    """Tickets and unread tickets per view (mine, unassigned, all, per team, per store, and
    ``overdue``: the tickets whose reply is overdue), for the sidebar badges. ``status``
    narrows like the list's status filter; without it closed tickets are left out, and so are
    practice chats other than the agent's own. Five queries whatever the number of teams and
    stores: one grouped count (index-only on ``ix_tickets_counts``), the agent's own practice
    chat if any, the ids of the few unread tickets (partial index ``ix_messages_unread``),
    those tickets grouped the same way, and the overdue ones counted (partial index
    ``ix_tickets_reply_due``; a practice chat never has a due time)."""
    # Real tickets only, which the index answers alone; the agent's own practice chat (at
    # most one) is added to the same rows below.
    where = [Ticket.is_practice.is_(False)]
    store_ids = agent.accessible_store_ids()
    if store_ids is not None:
        where.append(Ticket.store_id.in_(store_ids))
    # Not "status != closed": SQLite then walked the whole queue_store index and read each
    # ticket row (97 ms with 100,000 tickets). Listed statuses, and grouped by status first
    # like ix_tickets_counts, make it read only that index, and only the statuses counted.
    where.append(Ticket.status == status if status else Ticket.status.in_(_NOT_CLOSED))
    mine = case((Ticket.assignee_id == agent.id, 1), else_=0)
    unassigned = case((Ticket.assignee_id.is_(None), 1), else_=0)
    practice = db.session.execute(
        select(Ticket.id, Ticket.store_id, Ticket.team_id, mine, unassigned)
        .where(*where[1:], Ticket.is_practice.is_(True), not_practice(agent))).first()

    counts = {}

    def add(key, field, n):
        entry = counts.setdefault(key, {"total": 0, "unread": 0})
        entry[field] += n

    for key in ("all", "mine", "unassigned"):
        add(key, "total", 0)
    totals = db.session.execute(
        select(Ticket.store_id, Ticket.team_id, mine.label("mine"), unassigned.label("none"), func.count())
        .where(*where).group_by(Ticket.status, Ticket.store_id, Ticket.team_id, mine, unassigned))
    # Unread tickets are few: list them from the partial index, then look those tickets up,
    # rather than probing the index once per ticket of the view.
    unread_ids = list(db.session.scalars(
        select(Message.ticket_id).where(unread_condition()).distinct().limit(UNREAD_LOOKUP_MAX + 1)))
    unread_filter = (Ticket.id.in_(unread_ids) if len(unread_ids) <= UNREAD_LOOKUP_MAX
                     else Ticket.id.in_(select(Message.ticket_id).where(unread_condition())))
    unread = db.session.execute(
        select(Ticket.store_id, Ticket.team_id, mine.label("mine"), unassigned.label("none"), func.count())
        .where(*where, unread_filter).group_by(Ticket.store_id, Ticket.team_id, mine, unassigned))
    totals, unread = list(totals), list(unread)
    late, late_unread = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((unread_filter, 1), else_=0)), 0))
        .where(*where, reply_overdue())).one()
    counts["overdue"] = {"total": late, "unread": late_unread}
    if practice is not None:
        totals.append((*practice[1:], 1))
        if practice[0] in unread_ids or db.session.scalar(
                select(Message.id).where(Message.ticket_id == practice[0], unread_condition()).limit(1)):
            unread.append((*practice[1:], 1))
    for field, rows in (("total", totals), ("unread", unread)):
        for store_id, team_id, is_mine, is_unassigned, n in rows:
            add("all", field, n)
            add(f"store:{store_id}", field, n)
            if team_id is not None:
                add(f"team:{team_id}", field, n)
            if is_mine:
                add("mine", field, n)
            if is_unassigned:
                add("unassigned", field, n)
    return counts


# ---- context panel --------------------------------------------------------------------

#: Pages of the live visitor session shown in the context panel (newest first).
CONTEXT_PAGES = 20
#: Previous conversations of the contact shown in the context panel.
CONTEXT_PREVIOUS = 20
#: The contact's latest orders shown in the context panel.
CONTEXT_ORDERS = 10


def ticket_context(ticket):
    """Everything the context panel shows next to a conversation: the contact, their live
    visitor session with the pages viewed, their other conversations on every channel, the
    attributes the shop set and (when connectors provide them) orders."""
    from helpdesk.models import Order
    from helpdesk.schemas import ContactSchema, OrderSchema, TicketSchema, VisitorSchema

    contact = ticket.contact
    visitor = ticket.visitor
    if visitor is None:
        visitor = db.session.scalar(select(Visitor).where(Visitor.contact_id == contact.id)
                                    .order_by(Visitor.last_seen_at.desc()).limit(1))
    visitor_data = None
    if visitor is not None:
        pages = db.session.scalars(select(PageView).where(PageView.visitor_id == visitor.id)
                                   .order_by(PageView.viewed_at.desc(), PageView.id.desc())
                                   .limit(CONTEXT_PAGES)).all()
        page_count = db.session.scalar(select(func.count()).select_from(PageView)
                                       .where(PageView.visitor_id == visitor.id))
        visitor_data = VisitorSchema().dump(visitor)
        visitor_data["pages"] = [{"url": p.url, "title": p.title, "viewed_at": p.viewed_at.isoformat()}
                                 for p in pages]
        visitor_data["page_count"] = page_count
    previous = db.session.scalars(
        select(Ticket).where(Ticket.contact_id == contact.id, Ticket.id != ticket.id)
        .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()).limit(CONTEXT_PREVIOUS)).all()
    orders = db.session.scalars(select(Order).where(Order.contact_id == contact.id)
                                .order_by(Order.placed_at.desc(), Order.id.desc()).limit(CONTEXT_ORDERS)).all()
    return {
        "ticket": TicketSchema().dump(ticket),
        "contact": ContactSchema().dump(contact),
        "tags": sorted(t.name for t in ticket.tags),
        "visitor": visitor_data,
        "attributes": dict(visitor.attributes or {}) if visitor is not None else {},
        "previous": TicketSchema(many=True, only=("id", "channel", "status", "subject", "last_message_preview",
                                                   "last_activity_at")).dump(previous),
        # From the shop connectors; the panel hides the section while this is empty.
        "orders": OrderSchema(many=True).dump(orders),
    }


# ---- product cards --------------------------------------------------------------------

PRODUCT_SEARCH_LIMIT = 20


def search_products(store_id, q=None, limit=PRODUCT_SEARCH_LIMIT):
    """Active products of one store whose title (or platform id) matches ``q``."""
    from helpdesk.text import clean_text

    query = select(Product).where(Product.store_id == store_id, Product.active.is_(True))
    q = clean_text(q, 200)
    if q:
        query = query.where(or_(contains_folded(Product.title, q),
                                contains_folded(Product.platform_id, q)))
    return db.session.scalars(query.order_by(Product.title, Product.id).limit(limit)).all()


def product_card(product):
    """The ``product_card`` a reply carries (see inbox.sockets.on_send)."""
    return {
        "id": product.id,
        "title": product.title,
        "price": str(product.price) if product.price is not None else None,
        "currency": product.currency,
        "image_url": product.image_url,
        "url": product.url,
    }


# ---- search ---------------------------------------------------------------------------

#: Phase one of search looks for matches among this many most recent tickets of the view.
SEARCH_RECENT_WINDOW = 1000
_TICKET_NUMBER = re.compile(r"^#?(\d{1,9})$")


def ticket_matches(q):
    """Per-ticket test: subject, contact name/email, message or note text, ``#123``."""
    from helpdesk.models import Contact

    kinds = [MessageKind.MESSAGE, MessageKind.NOTE]
    conditions = [
        contains_folded(Ticket.subject, q),
        select(Contact.id).where(Contact.id == Ticket.contact_id,
                                 or_(contains_folded(Contact.name, q),
                                     contains_folded(Contact.email, q))).exists(),
        select(Message.id).where(Message.ticket_id == Ticket.id, Message.kind.in_(kinds),
                                 Message.hidden.is_(False), contains_folded(Message.body_text, q)).exists(),
    ]
    number = _TICKET_NUMBER.match(q)
    if number:
        conditions.append(Ticket.id == int(number.group(1)))
    return or_(*conditions)


#: SQLite's trigram indexes (helpdesk.models.search) hold sequences of three characters.
_FTS_MIN_LENGTH = 3


def _indexed(q, fts, key, *columns):
    """Condition: one of ``columns`` contains ``q`` (case-insensitive), from an index.

    PostgreSQL: ILIKE, which pg_trgm serves. SQLite: the ``fts`` trigram table narrows the
    rows (by ``key``, their id); the same ILIKE then decides, so results are exactly the
    scan's (both fold the case of every letter: ``contains_folded``). A
    quoted phrase rather than FTS5's LIKE: LIKE with an ESCAPE clause, needed for a term
    with % or _, is not served by the index, while in a phrase every character is literal.
    """
    contains = or_(*(contains_folded(c, q) for c in columns))
    if len(q) < _FTS_MIN_LENGTH or not has_search_tables(db.session.connection()):
        return contains
    index = table(fts, column("rowid"), column(fts))
    phrase = '"' + q.replace('"', '""') + '"'
    return key.in_(select(index.c.rowid).where(index.c[fts].match(phrase))) & contains


def _matching_ids(q):
    """Ids of every matching ticket, each branch answerable from a (trigram) index."""
    from helpdesk.models import Contact

    kinds = [MessageKind.MESSAGE, MessageKind.NOTE]
    branches = [
        select(Message.ticket_id.label("id")).where(_indexed(q, MESSAGES_FTS, Message.id, Message.body_text),
                                                    Message.kind.in_(kinds), Message.hidden.is_(False)),
        select(Ticket.id.label("id")).where(_indexed(q, TICKETS_FTS, Ticket.id, Ticket.subject)),
        select(Ticket.id.label("id")).join(Contact, Contact.id == Ticket.contact_id).where(
            _indexed(q, CONTACTS_FTS, Contact.id, Contact.name, Contact.email)),
    ]
    number = _TICKET_NUMBER.match(q)
    if number:
        branches.append(select(Ticket.id.label("id")).where(Ticket.id == int(number.group(1))))
    return union(*branches)


def search_tickets(query, q, limit):
    """The first ``limit`` tickets of ``query`` (a queue view: filtered, restricted, maybe after a
    cursor) that match ``q``, newest activity first.

    One query cannot be fast for both kinds of term: a common word matches so many messages
    that collecting them all is slow, while a rare one makes a scan in activity order read the
    whole queue. So: (1) test the view's SEARCH_RECENT_WINDOW most recent tickets one by one;
    if ``limit`` of them match (or the window held the whole view) that is the exact answer;
    (2) otherwise the term is rare, and its few matches are collected from the indexes
    (pg_trgm on PostgreSQL, FTS5 trigram on SQLite) and sorted.
    """
    from helpdesk.text import clean_text

    q = clean_text(q, 200)
    order = (Ticket.last_activity_at.desc(), Ticket.id.desc())
    recent = (query.with_only_columns(Ticket.id.label("id"), Ticket.last_activity_at.label("at"))
              .order_by(*order).limit(SEARCH_RECENT_WINDOW).subquery())
    # Joined in the window's own order, so a common term stops after ``limit`` matches.
    rows = db.session.scalars(
        select(Ticket).join(recent, recent.c.id == Ticket.id).where(ticket_matches(q))
        .order_by(recent.c.at.desc(), recent.c.id.desc()).limit(limit)
    ).unique().all()
    if len(rows) >= limit or db.session.scalar(select(func.count()).select_from(recent)) < SEARCH_RECENT_WINDOW:
        return rows
    return db.session.scalars(
        query.where(Ticket.id.in_(_matching_ids(q))).order_by(*order).limit(limit)).unique().all()
