"""Sales attribution: an order placed within the store's window after a chat is credited to
the agent who last answered that shopper.

The credit is recomputed from the order as it stands (total less refunds, nothing when
cancelled), so refunds and cancellations reduce it, edits update it, and processing the
same events again changes nothing. Once credited, an order keeps its agent.
"""
from datetime import timedelta

from sqlalchemy import select

from helpdesk import events
from helpdesk.actions import action
from helpdesk.extensions import db
from helpdesk.models import Attribution, AuthorType, Channel, Contact, Message, MessageKind, Ticket, utcnow

#: How an order finds its agent:
#: ``last_agent``  -- the agent whose chat reply came last before the order (default);
#: ``first_agent`` -- the first agent who answered the shopper within the window;
#: ``off``         -- no attribution for this store.
RULES = ("last_agent", "first_agent", "off")
DEFAULT_RULE = "last_agent"
WINDOW_MIN, WINDOW_MAX, WINDOW_DEFAULT = 1, 90, 30


def store_window_days(store):
    try:
        days = int(store.setting("attribution_window_days") or WINDOW_DEFAULT)
    except (TypeError, ValueError):
        days = WINDOW_DEFAULT
    return min(WINDOW_MAX, max(WINDOW_MIN, days))


def store_rule(store):
    rule = (store.settings or {}).get("attribution_rule") or DEFAULT_RULE
    return rule if rule in RULES else DEFAULT_RULE


def _interaction(order, rule, window_days):
    """The agent reply (message, ticket) the credit rests on, or None."""
    contacts = select(Contact.id).where((Contact.id == order.contact_id) | (Contact.merged_into_id == order.contact_id))
    query = (
        select(Message.author_agent_id, Message.ticket_id, Message.created_at)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Ticket.contact_id.in_(contacts), Ticket.store_id == order.store_id, Ticket.channel == Channel.CHAT,
               Ticket.is_practice.is_(False),  # a trainee's practice answer sells nothing
               Message.author_type == AuthorType.AGENT, Message.kind == MessageKind.MESSAGE,
               Message.author_agent_id.is_not(None),
               Message.created_at <= order.placed_at,
               Message.created_at >= order.placed_at - timedelta(days=window_days))
    )
    if rule == "first_agent":
        query = query.order_by(Message.created_at.asc(), Message.id.asc())
    else:
        query = query.order_by(Message.created_at.desc(), Message.id.desc())
    return db.session.execute(query.limit(1)).first()


def _status(attribution):
    if attribution.amount <= 0:
        return Attribution.REVERSED
    if attribution.amount < attribution.order_total:
        return Attribution.REDUCED
    return Attribution.CREDITED


@action
def attribute_order(order):
    """Credit ``order`` (or update its credit). Returns the Attribution or None.

    Changes: inserts or updates the order's Attribution. Emits ``attribution.created`` or
    ``attribution.updated`` (the agent and outgoing webhooks) only when something changed.
    """
    attribution = db.session.scalar(select(Attribution).where(Attribution.order_id == order.id))
    value = order.net_total
    if attribution is None:
        store = order.store
        rule = store_rule(store)
        if rule == "off" or order.contact_id is None or order.placed_at is None:
            return None
        found = _interaction(order, rule, store_window_days(store))
        if found is None:
            return None
        agent_id, ticket_id, interaction_at = found
        attribution = Attribution(
            store_id=order.store_id, order_id=order.id, agent_id=agent_id, ticket_id=ticket_id,
            contact_id=order.contact_id, rule=rule, interaction_at=interaction_at, placed_at=order.placed_at,
            currency=order.currency, order_total=order.total, amount=value,
        )
        attribution.status = _status(attribution)
        db.session.add(attribution)
        db.session.flush()
        events.attribution_changed(attribution, created=True)
        return attribution
    changed = (attribution.amount != value or attribution.order_total != order.total
               or attribution.currency != order.currency or attribution.placed_at != order.placed_at)
    if not changed:
        return attribution
    attribution.amount = value
    attribution.order_total = order.total
    attribution.currency = order.currency
    attribution.placed_at = order.placed_at
    attribution.status = _status(attribution)
    attribution.updated_at = utcnow()
    db.session.flush()
    events.attribution_changed(attribution, created=False)
    return attribution
