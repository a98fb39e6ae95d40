"""Read-only reports: agents' monthly metrics and the chat archive.

Shared by the REST API (helpdesk/api/reports.py) and the inbox's report pages
(inbox/reports.py). Agents see their own numbers and conversations, admins everyone's.
Aggregation runs in Python over the rows of the requested months, so months, currencies and
groups are computed the same way on SQLite and PostgreSQL.
"""
import csv
import io
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import func, or_, select

from helpdesk.actions import Forbidden
from helpdesk.extensions import db
from helpdesk.models import (
    ENDED_STATUSES,
    Agent,
    Attribution,
    AuthorType,
    Channel,
    Message,
    MessageKind,
    Store,
    Team,
    Ticket,
    agent_teams,
)
from helpdesk.schemas import format_amount

#: The first answer to a chat should come within this many seconds.
FIRST_RESPONSE_TARGET_SECONDS = 30
GROUPINGS = ("agent", "team", "store", "total")
MAX_MONTHS = 24


# ---- months ------------------------------------------------------------------------------

def parse_month(text):
    year, month = (int(p) for p in text.split("-"))
    if not (2000 <= year <= 2999 and 1 <= month <= 12):
        raise ValueError(text)
    return year, month


def _next(year, month):
    return (year + 1, 1) if month == 12 else (year, month + 1)


def month_label(moment):
    return f"{moment.year:04d}-{moment.month:02d}"


def months_between(first, last):
    """["2024-01", ...] from ``first`` to ``last`` ("YYYY-MM"), at most MAX_MONTHS."""
    start, end = parse_month(first), parse_month(last)
    if start > end:
        start, end = end, start
    labels = []
    while start <= end and len(labels) < MAX_MONTHS:
        labels.append(f"{start[0]:04d}-{start[1]:02d}")
        start = _next(*start)
    return labels


def last_months(count, now=None):
    now = now or datetime.now(timezone.utc)
    year, month = now.year, now.month
    labels = []
    for _ in range(max(1, min(count, MAX_MONTHS))):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return labels[::-1]


def _bounds(labels):
    start = datetime(*parse_month(labels[0]), 1, tzinfo=timezone.utc)
    end = datetime(*_next(*parse_month(labels[-1])), 1, tzinfo=timezone.utc)
    return start, end


# ---- who may see what -----------------------------------------------------------------------

def scope_agents(viewer, agent_id=None, team_id=None):
    """The agent ids a report covers (None: everyone). Agents only ever see themselves."""
    if not viewer.is_admin:
        if agent_id not in (None, viewer.id):
            raise Forbidden("Agents see their own reports only.", "agent")
        return [viewer.id]
    ids = None
    if team_id is not None:
        ids = list(db.session.scalars(select(agent_teams.c.agent_id).where(agent_teams.c.team_id == team_id)))
    if agent_id is not None:
        ids = [agent_id] if ids is None or agent_id in ids else []
    return ids


def _stores(viewer, store_id):
    ids = viewer.accessible_store_ids()
    if store_id is not None:
        if ids is not None and store_id not in ids:
            return []
        return [store_id]
    return ids


# ---- metrics -------------------------------------------------------------------------------

def real_attribution():
    """Condition on ``Attribution``: not credited from an academy practice chat (attribution
    skips those; this keeps the reports honest about any credited before it did)."""
    return ~select(Ticket.id).where(Ticket.id == Attribution.ticket_id, Ticket.is_practice.is_(True)).exists()


def first_answer_id():
    """Scalar subquery correlated with ``Ticket``: the id of the first answer an agent wrote
    on it (not a note or an event). Looked up per ticket of the range a report reads, not by
    one GROUP BY over every agent message ever written: SQLite read all messages for that
    (190 ms with 500,000, against 50 ms for six months of 100,000 tickets)."""
    return (select(func.min(Message.id))
            .where(Message.ticket_id == Ticket.id, Message.author_type == AuthorType.AGENT,
                   Message.kind == MessageKind.MESSAGE)
            .correlate(Ticket).scalar_subquery())


def _empty_row():
    return {"tickets": set(), "customers": set(), "sold_to": set(), "sales": 0, "value": defaultdict(Decimal),
            "frt": [], "ratings": []}


def metrics(viewer, labels, *, by="agent", agent_id=None, team_id=None, store_id=None):
    """Per month and group (agent, team, store or total): customers chatted with, chats,
    sales count and value per currency, conversion rate, first response time against the
    target, average rating and its distribution."""
    if by not in GROUPINGS:
        raise ValueError(by)
    agents = scope_agents(viewer, agent_id, team_id)
    stores = _stores(viewer, store_id)
    start, end = _bounds(labels)
    teams_of = defaultdict(list)
    if by == "team":
        for a_id, t_id in db.session.execute(select(agent_teams.c.agent_id, agent_teams.c.team_id)):
            teams_of[a_id].append(t_id)

    def keys(agent, store):
        if by == "agent":
            return [agent] if agent is not None else []
        if by == "team":
            return teams_of.get(agent, [])
        if by == "store":
            return [store]
        return [None]

    def scoped(query, agent_col, store_col):
        if agents is not None:
            query = query.where(agent_col.in_(agents))
        if stores is not None:
            query = query.where(store_col.in_(stores))
        return query

    table = defaultdict(_empty_row)

    # Chats: conversations in which the agent answered a shopper on chat that month.
    chats = scoped(
        select(Message.author_agent_id, Message.created_at, Ticket.id, Ticket.contact_id, Ticket.store_id)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Message.author_type == AuthorType.AGENT, Message.kind == MessageKind.MESSAGE,
               Ticket.channel == Channel.CHAT, Ticket.is_practice.is_(False),
               Message.created_at >= start, Message.created_at < end),
        Message.author_agent_id, Ticket.store_id)
    for agent, created_at, ticket_id, contact_id, store in db.session.execute(chats):
        for key in keys(agent, store):
            row = table[(month_label(created_at), key)]
            row["tickets"].add(ticket_id)
            row["customers"].add(contact_id)

    # Sales: attributions by the month the order was placed; reversed ones no longer count.
    sales = scoped(
        select(Attribution.agent_id, Attribution.placed_at, Attribution.store_id, Attribution.contact_id,
               Attribution.currency, Attribution.amount)
        .where(Attribution.placed_at >= start, Attribution.placed_at < end, Attribution.amount > 0,
               real_attribution()),
        Attribution.agent_id, Attribution.store_id)
    for agent, placed_at, store, contact_id, currency, amount in db.session.execute(sales):
        for key in keys(agent, store):
            row = table[(month_label(placed_at), key)]
            row["sales"] += 1
            row["value"][currency] += Decimal(amount)
            row["sold_to"].add(contact_id)

    # First responses on chats, credited to the agent who wrote the first answer.
    first = first_answer_id()
    responses = scoped(
        select(Message.author_agent_id, Ticket.store_id, Ticket.created_at, Ticket.first_response_at)
        .select_from(Ticket).join(Message, Message.id == first)
        .where(Ticket.channel == Channel.CHAT, Ticket.is_practice.is_(False),
               Ticket.first_response_at >= start, Ticket.first_response_at < end),
        Message.author_agent_id, Ticket.store_id)
    for agent, store, created_at, responded_at in db.session.execute(responses):
        for key in keys(agent, store):
            table[(month_label(responded_at), key)]["frt"].append(
                max(0.0, (responded_at - created_at).total_seconds()))

    # Ratings, credited to the ticket's assignee, by the month it was resolved (or opened).
    rated_at = func.coalesce(Ticket.resolved_at, Ticket.created_at)
    ratings = scoped(
        select(Ticket.assignee_id, Ticket.store_id, Ticket.resolved_at, Ticket.created_at, Ticket.rating)
        .where(Ticket.rating.is_not(None), Ticket.is_practice.is_(False), rated_at >= start, rated_at < end),
        Ticket.assignee_id, Ticket.store_id)
    for agent, store, resolved_at, created_at, rating in db.session.execute(ratings):
        for key in keys(agent, store):
            table[(month_label(resolved_at or created_at), key)]["ratings"].append(int(rating))

    names = _group_names(by, {key for _, key in table})
    rows = []
    for (month, key), row in sorted(table.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        if month not in labels:
            continue
        rows.append(_finish(month, by, key, names.get(key), row))
    return {"months": labels, "by": by, "first_response_target_seconds": FIRST_RESPONSE_TARGET_SECONDS,
            "rows": rows}


def _group_names(by, keys):
    keys = [k for k in keys if k is not None]
    if not keys or by == "total":
        return {}
    model = {"agent": Agent, "team": Team, "store": Store}[by]
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(keys))).all())


def _finish(month, by, key, name, row):
    customers = len(row["customers"])
    frt = row["frt"]
    within = sum(1 for s in frt if s <= FIRST_RESPONSE_TARGET_SECONDS)
    ratings = row["ratings"]
    return {
        "month": month,
        "group": {"type": by, "id": key, "name": name},
        "customers": customers,
        "chats": len(row["tickets"]),
        "sales_count": row["sales"],
        "sales_value": {cur: format_amount(v) for cur, v in sorted(row["value"].items())},
        "conversion_rate": round(min(1.0, len(row["sold_to"]) / customers), 4) if customers else None,
        "first_response": {
            "count": len(frt),
            "average_seconds": round(sum(frt) / len(frt), 1) if frt else None,
            "within_target": within,
            "within_target_rate": round(within / len(frt), 4) if frt else None,
        },
        "rating": {
            "count": len(ratings),
            "average": round(sum(ratings) / len(ratings), 2) if ratings else None,
            "distribution": {str(star): ratings.count(star) for star in range(1, 6)},
        },
    }


CSV_COLUMNS = ("month", "group_type", "group_id", "group_name", "customers", "chats", "sales_count", "sales_value",
               "conversion_rate", "first_responses", "first_response_average_seconds",
               "first_responses_within_target", "ratings", "rating_average", "rating_1", "rating_2", "rating_3",
               "rating_4", "rating_5")


def metrics_csv(report):
    """The report as CSV: one line per month and group; sales value as "USD 10.00; EUR 5.00"."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in report["rows"]:
        dist = row["rating"]["distribution"]
        name = row["group"]["name"] or ""
        if name[:1] in ("=", "+", "-", "@"):
            name = "'" + name  # a spreadsheet must not run a team's name as a formula
        writer.writerow([
            row["month"], row["group"]["type"], row["group"]["id"] if row["group"]["id"] is not None else "", name,
            row["customers"], row["chats"], row["sales_count"],
            "; ".join(f"{cur} {value}" for cur, value in row["sales_value"].items()),
            "" if row["conversion_rate"] is None else row["conversion_rate"],
            row["first_response"]["count"],
            "" if row["first_response"]["average_seconds"] is None else row["first_response"]["average_seconds"],
            row["first_response"]["within_target"], row["rating"]["count"],
            "" if row["rating"]["average"] is None else row["rating"]["average"],
            *(dist[str(star)] for star in range(1, 6)),
        ])
    return out.getvalue()


# ---- the chat archive --------------------------------------------------------------------------

ARCHIVE_TABS = ("all", "sales", "top_rated")
#: Ratings from this many stars up make the "top-rated" tab.
TOP_RATING = 4


def archive_query(viewer, *, tab="all", q=None, store_id=None, agent_id=None):
    """Past (resolved or closed) conversations the viewer may see: their own (assigned to
    them or answered by them), or everyone's for admins."""
    from helpdesk.api.access import restrict_to_stores
    from helpdesk.text import clean_text
    from inbox.queries import ticket_matches

    query = restrict_to_stores(select(Ticket), Ticket.store_id, viewer).where(
        Ticket.status.in_(ENDED_STATUSES), Ticket.is_practice.is_(False))  # academy practice is not history
    own = agent_id if viewer.is_admin else viewer.id
    if agent_id is not None and not viewer.is_admin and agent_id != viewer.id:
        raise Forbidden("Agents see their own conversations only.", "agent")
    if own is not None:
        answered = select(Message.ticket_id).where(Message.author_agent_id == own,
                                                   Message.author_type == AuthorType.AGENT)
        query = query.where(or_(Ticket.assignee_id == own, Ticket.id.in_(answered)))
    if store_id is not None:
        query = query.where(Ticket.store_id == store_id)
    if tab == "sales":
        query = query.where(Ticket.id.in_(select(Attribution.ticket_id).where(Attribution.amount > 0)))
    elif tab == "top_rated":
        query = query.where(Ticket.rating >= TOP_RATING)
    if q:
        query = query.where(ticket_matches(clean_text(q, 200)))
    return query


def sales_of(ticket_ids):
    """{ticket_id: {"orders": n, "value": {"USD": "10.00"}}} for the tickets that sold."""
    result = {}
    if not ticket_ids:
        return result
    rows = db.session.execute(
        select(Attribution.ticket_id, Attribution.currency, func.count(), func.sum(Attribution.amount))
        .where(Attribution.ticket_id.in_(ticket_ids), Attribution.amount > 0)
        .group_by(Attribution.ticket_id, Attribution.currency))
    for ticket_id, currency, orders, total in rows:
        entry = result.setdefault(ticket_id, {"orders": 0, "value": {}})
        entry["orders"] += orders
        entry["value"][currency] = format_amount(total)
    return result
