"""Rating reports: shoppers' stars per agent, team, store (or in total) over a date range,
per day, week or month, with the distribution and the reasons shoppers chose.

One GROUP BY in the database per report: the period bucket is computed by the database
(``date_trunc`` on PostgreSQL, ``date``/``strftime`` on SQLite), stars and reasons are
summed with CASE expressions. Reasons are a fixed vocabulary (helpdesk.actions.visitors),
so each is a column: ``rating_reasons`` is a JSON list of those words, matched as the quoted
word in its text on both databases. A rating counts on the day its ticket was resolved
(or opened, when it never was), credited to the ticket's assignee, as in helpdesk.reports.
"""
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import String, and_, case, cast, func, literal, select

from helpdesk.actions.visitors import NEGATIVE_REASONS, POSITIVE_REASONS
from helpdesk.extensions import db
from helpdesk.models import Agent, Store, Team, Ticket, agent_teams
from helpdesk.reports import scope_agents

GROUPINGS = ("agent", "team", "store", "total")
PERIODS = ("day", "week", "month")
REASONS = POSITIVE_REASONS + NEGATIVE_REASONS
#: Longest range one report covers (days), whatever the period.
MAX_DAYS = 731
DEFAULT_DAYS = 30


def default_range(today=None):
    today = today or datetime.now(timezone.utc).date()
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def rated_at():
    return func.coalesce(Ticket.resolved_at, Ticket.created_at)


def report_window(date_from=None, date_to=None):
    """``(date_from, date_to, start, end)``: the days a report covers (defaults: the last
    DEFAULT_DAYS; reversed days swapped; at most MAX_DAYS) and the UTC moments that bound them."""
    default_from, default_to = default_range()
    date_from, date_to = date_from or default_from, date_to or default_to
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    date_to = min(date_to, date_from + timedelta(days=MAX_DAYS - 1))
    start = datetime.combine(date_from, time.min, tzinfo=timezone.utc)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=timezone.utc)
    return date_from, date_to, start, end


def report_scope(viewer, agent_id=None, team_id=None, store_id=None):
    """``(agent ids, store ids)`` a report of ``viewer`` covers (None: all). Agents see their own."""
    agents = scope_agents(viewer, agent_id, team_id)
    stores = viewer.accessible_store_ids()
    if store_id is not None:
        stores = [store_id] if stores is None or store_id in stores else []
    return agents, stores


def period_start(column, period):
    """SQL text 'YYYY-MM-DD' of the first day of ``column``'s day, week (Monday) or month, in UTC."""
    if db.engine.dialect.name == "postgresql":
        truncated = func.date_trunc(period, func.timezone("UTC", column))
        return func.to_char(truncated, "YYYY-MM-DD")
    if period == "day":
        return func.date(column)
    if period == "week":
        return func.date(column, "-6 days", "weekday 1")
    return func.strftime("%Y-%m-01", column)


def _reason_matches(reason):
    # The JSON text of a list of plain words holds each as "word": exact, never a prefix.
    return cast(Ticket.rating_reasons, String).like(f'%"{reason}"%')


def _group_column(by):
    if by == "agent":
        return Ticket.assignee_id
    if by == "team":
        return agent_teams.c.team_id
    if by == "store":
        return Ticket.store_id
    return literal(None, type_=db.Integer)


def rating_report(viewer, *, date_from=None, date_to=None, by="agent", period="week", agent_id=None,
                  team_id=None, store_id=None):
    """Rows per (period, group): count, average stars, distribution 1-5, counts per reason;
    and ``totals`` per group over the whole range. Agents see their own ratings only."""
    if by not in GROUPINGS or period not in PERIODS:
        raise ValueError((by, period))
    date_from, date_to, start, end = report_window(date_from, date_to)
    agents, stores = report_scope(viewer, agent_id, team_id, store_id)
    when = rated_at()
    conditions = [Ticket.rating.is_not(None), Ticket.is_practice.is_(False), when >= start, when < end]
    if agents is not None:
        conditions.append(Ticket.assignee_id.in_(agents))
    if stores is not None:
        conditions.append(Ticket.store_id.in_(stores))

    group = _group_column(by)
    measures = [
        func.count(Ticket.id).label("count"),
        func.avg(Ticket.rating).label("average"),
        *(func.sum(case((Ticket.rating == star, 1), else_=0)).label(f"star_{star}") for star in range(1, 6)),
        *(func.sum(case((_reason_matches(r), 1), else_=0)).label(f"reason_{r}") for r in REASONS),
    ]

    def run(bucket):
        columns = ([bucket.label("period")] if bucket is not None else []) + [group.label("group_id"), *measures]
        query = select(*columns).select_from(Ticket)
        if by == "team":
            query = query.join(agent_teams, agent_teams.c.agent_id == Ticket.assignee_id)
        query = query.where(and_(*conditions))
        keys = ([bucket] if bucket is not None else []) + ([group] if by != "total" else [])
        if keys:
            query = query.group_by(*keys)
        return db.session.execute(query).mappings().all()

    rows = run(period_start(when, period))
    totals = run(None)
    names = group_names(by, {r["group_id"] for r in totals})
    shaped = sorted((_row(r, by, names) for r in rows), key=lambda r: (r["period"], str(r["group"]["name"])))
    return {
        "from": date_from.isoformat(), "to": date_to.isoformat(), "by": by, "period": period,
        "reasons": list(REASONS),
        "rows": shaped,
        "totals": sorted((_row(r, by, names) for r in totals if r["count"]), key=lambda r: -r["count"]),
    }


def group_names(by, ids):
    """``{id: name}`` of the agents, teams or stores ``ids`` (``by``); {} for the total."""
    ids = [i for i in ids if i is not None]
    if not ids or by == "total":
        return {}
    model = {"agent": Agent, "team": Team, "store": Store}[by]
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())


def _row(r, by, names):
    count = int(r["count"] or 0)
    out = {
        "group": {"type": by, "id": r["group_id"], "name": names.get(r["group_id"])},
        "count": count,
        "average": round(float(r["average"]), 2) if count else None,
        "distribution": {str(star): int(r[f"star_{star}"] or 0) for star in range(1, 6)},
        "reasons": {reason: int(r[f"reason_{reason}"] or 0) for reason in REASONS},
    }
    if "period" in r:
        value = r["period"]
        out = {"period": value.isoformat() if isinstance(value, date) else str(value), **out}
    return out
