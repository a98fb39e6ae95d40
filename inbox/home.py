"""The inbox's landing panel for an agent: shoppers on each storefront now, chats waiting,
a nudge to go available when shoppers browse a store nobody is available for, and the
agent's attributed sales of the last 30 days (money formatted for the agent's locale).

A shopper counts as on the storefront while their widget reported a page or a session in
the last ``ONLINE_SECONDS`` (``Visitor.last_seen_at``): the database is shared by every web
process, where Socket.IO rooms are per process.
"""
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from babel.numbers import format_currency
from sqlalchemy import func, select

from helpdesk.actions.agents import visible_store_ids
from helpdesk.extensions import db
from helpdesk.models import Attribution, Availability, Channel, Order, Store, Ticket, TicketStatus, Visitor, utcnow
from helpdesk.schemas import format_amount
from inbox.presence import anyone_available, within_business_hours

#: A shopper whose widget was heard from this recently is "on the storefront now".
ONLINE_SECONDS = 300
SALES_DAYS = 30
SALES_LIST = 10


def shoppers_online(store_ids, now=None):
    """{store_id: shoppers seen in the last ONLINE_SECONDS} (one GROUP BY)."""
    since = (now or utcnow()) - timedelta(seconds=ONLINE_SECONDS)
    rows = db.session.execute(select(Visitor.store_id, func.count(Visitor.id))
                              .where(Visitor.store_id.in_(store_ids), Visitor.last_seen_at >= since)
                              .group_by(Visitor.store_id))
    return dict(rows.all())


def chats_waiting(store_ids):
    """{store_id: open chats nobody has claimed yet} (one GROUP BY on the queue index)."""
    rows = db.session.execute(select(Ticket.store_id, func.count(Ticket.id))
                              .where(Ticket.store_id.in_(store_ids), Ticket.status == TicketStatus.OPEN,
                                     Ticket.channel == Channel.CHAT, Ticket.assignee_id.is_(None),
                                     Ticket.is_practice.is_(False))
                              .group_by(Ticket.store_id))
    return dict(rows.all())


def money(amount, currency, locale):
    try:
        return format_currency(Decimal(amount), currency, locale=locale or "en")
    except Exception:  # noqa: BLE001 -- an unknown locale or currency code still shows the number
        return f"{format_amount(amount)} {currency}"


def recent_sales(agent, now=None):
    """The agent's credited sales of the last SALES_DAYS: totals per currency and the latest few."""
    from helpdesk.reports import real_attribution

    since = (now or utcnow()) - timedelta(days=SALES_DAYS)
    query = (select(Attribution, Order.number).join(Order, Order.id == Attribution.order_id)
             .where(Attribution.agent_id == agent.id, Attribution.placed_at >= since, Attribution.amount > 0,
                    real_attribution()))
    totals = defaultdict(Decimal)
    counts = defaultdict(int)
    for currency, amount, count in db.session.execute(
            select(Attribution.currency, func.sum(Attribution.amount), func.count(Attribution.id))
            .where(Attribution.agent_id == agent.id, Attribution.placed_at >= since, Attribution.amount > 0,
                   real_attribution())
            .group_by(Attribution.currency)):
        totals[currency] += Decimal(amount)
        counts[currency] += count
    items = db.session.execute(query.order_by(Attribution.placed_at.desc(), Attribution.id.desc())
                               .limit(SALES_LIST)).all()
    locale = agent.locale
    return {
        "days": SALES_DAYS,
        "count": sum(counts.values()),
        "totals": [{"currency": cur, "amount": format_amount(total), "count": counts[cur],
                    "formatted": money(total, cur, locale)} for cur, total in sorted(totals.items())],
        "items": [{"id": a.id, "order_number": number, "ticket_id": a.ticket_id, "store_id": a.store_id,
                   "currency": a.currency, "amount": format_amount(a.amount),
                   "formatted": money(a.amount, a.currency, locale), "placed_at": a.placed_at.isoformat()}
                  for a, number in items],
    }


def home_panel(agent, now=None):
    """Everything the home panel shows, for ``agent``'s stores."""
    from helpdesk.actions.academy import practice_store_ids

    # The academy's practice store has no shoppers and no real chats: not a shop to watch.
    practice = set(practice_store_ids())
    store_ids = [s for s in visible_store_ids(agent) if s not in practice]
    stores = db.session.scalars(select(Store).where(Store.id.in_(store_ids)).order_by(Store.name)).all() \
        if store_ids else []
    online = shoppers_online(store_ids, now)
    waiting = chats_waiting(store_ids)
    rows = []
    for store in stores:
        shoppers = online.get(store.id, 0)
        # Only asked where shoppers browse: nobody needs nudging towards an empty shop.
        staffed = anyone_available(store.id) if shoppers else True
        rows.append({"id": store.id, "name": store.name, "shoppers_online": shoppers,
                     "chats_waiting": waiting.get(store.id, 0), "agent_available": staffed,
                     "open_now": within_business_hours(store),
                     "nudge": bool(shoppers) and not staffed})
    return {
        "availability": str(agent.availability),
        "stores": rows,
        "shoppers_online": sum(r["shoppers_online"] for r in rows),
        "chats_waiting": sum(r["chats_waiting"] for r in rows),
        "nudge": agent.availability != Availability.AVAILABLE and any(r["nudge"] for r in rows),
        "nudge_stores": [r["name"] for r in rows if r["nudge"]],
        "sales": recent_sales(agent, now),
        "online_seconds": ONLINE_SECONDS,
    }
