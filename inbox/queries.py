"""Read-side queries for agents: what they may see, replay after reconnect."""
from sqlalchemy import case, exists, func, or_, select

from helpdesk.actions import NotFound
from helpdesk.extensions import db
from helpdesk.models import AuthorType, Message, MessageKind, PageView, Product, Ticket, TicketStatus, Visitor
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


# ---- queue badges ---------------------------------------------------------------------

def unread_condition():
    """A customer message no agent has read yet (what makes a ticket "unread")."""
    return (Message.author_type == AuthorType.CONTACT) & (Message.kind == MessageKind.MESSAGE) & \
        Message.hidden.is_(False) & Message.read_at.is_(None)


def unread_by_ticket(agent, ticket_ids):
    """``{ticket_id: unread customer messages}`` for the tickets of ``ticket_ids`` the agent may see."""
    ids = [i for i in ticket_ids if isinstance(i, int)][:200]
    if not ids:
        return {}
    query = (select(Message.ticket_id, func.count()).join(Ticket, Ticket.id == Message.ticket_id)
             .where(Message.ticket_id.in_(ids), unread_condition()).group_by(Message.ticket_id))
    store_ids = agent.accessible_store_ids()
    if store_ids is not None:
        query = query.where(Ticket.store_id.in_(store_ids))
    return {ticket_id: n for ticket_id, n in db.session.execute(query)}


def view_counts(agent, status=None):
    """Tickets and unread tickets per view (mine, unassigned, all, per team, per store), for the
    sidebar badges. ``status`` narrows like the list's status filter; without it closed tickets
    are left out. Three grouped queries whatever the number of teams and stores."""
    has_unread = exists().where(Message.ticket_id == Ticket.id, unread_condition())
    unread = case((has_unread, 1), else_=0)
    base = []
    store_ids = agent.accessible_store_ids()
    if store_ids is not None:
        base.append(Ticket.store_id.in_(store_ids))
    base.append(Ticket.status == status if status else Ticket.status != TicketStatus.CLOSED)

    mine = Ticket.assignee_id == agent.id
    none = Ticket.assignee_id.is_(None)
    row = db.session.execute(select(
        func.count(),
        func.coalesce(func.sum(unread), 0),
        func.coalesce(func.sum(case((mine, 1), else_=0)), 0),
        func.coalesce(func.sum(case((mine & has_unread, 1), else_=0)), 0),
        func.coalesce(func.sum(case((none, 1), else_=0)), 0),
        func.coalesce(func.sum(case((none & has_unread, 1), else_=0)), 0),
    ).select_from(Ticket).where(*base)).one()
    counts = {
        "all": {"total": int(row[0]), "unread": int(row[1])},
        "mine": {"total": int(row[2]), "unread": int(row[3])},
        "unassigned": {"total": int(row[4]), "unread": int(row[5])},
    }
    for column, prefix in ((Ticket.team_id, "team"), (Ticket.store_id, "store")):
        rows = db.session.execute(
            select(column, func.count(), func.coalesce(func.sum(unread), 0))
            .where(*base, column.is_not(None)).group_by(column))
        for key, total, n_unread in rows:
            counts[f"{prefix}:{key}"] = {"total": int(total), "unread": int(n_unread)}
    return counts


# ---- context panel --------------------------------------------------------------------

#: Pages of the live visitor session shown in the context panel (newest first).
CONTEXT_PAGES = 20
#: Previous conversations of the contact shown in the context panel.
CONTEXT_PREVIOUS = 20


def ticket_context(ticket):
    """Everything the context panel shows next to a conversation: the contact, their live
    visitor session with the pages viewed, their other conversations on every channel, the
    attributes the shop set and (when connectors provide them) orders."""
    from helpdesk.schemas import ContactSchema, TicketSchema, VisitorSchema

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
    return {
        "ticket": TicketSchema().dump(ticket),
        "contact": ContactSchema().dump(contact),
        "tags": sorted(t.name for t in ticket.tags),
        "visitor": visitor_data,
        "attributes": dict(visitor.attributes or {}) if visitor is not None else {},
        "previous": TicketSchema(many=True, only=("id", "channel", "status", "subject", "last_message_preview",
                                                   "last_activity_at")).dump(previous),
        # No connector stores orders yet; the panel hides the section while this is empty.
        "orders": [],
    }


# ---- product cards --------------------------------------------------------------------

PRODUCT_SEARCH_LIMIT = 20


def search_products(store_id, q=None, limit=PRODUCT_SEARCH_LIMIT):
    """Active products of one store whose title (or platform id) matches ``q``."""
    from helpdesk.text import clean_text

    query = select(Product).where(Product.store_id == store_id, Product.active.is_(True))
    q = clean_text(q, 200)
    if q:
        query = query.where(or_(Product.title.icontains(q, autoescape=True),
                                Product.platform_id.icontains(q, autoescape=True)))
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
