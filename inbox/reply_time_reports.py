"""Reply-time reports: how many of the agents' replies came within the store's reply target,
per agent, team, store (or in total), per day, week or month, with the median time to a
conversation's first reply.

A reply "with a target" is an agent's public reply that answered a due time: it keeps that due
time (``Message.reply_due_at``, set by helpdesk.actions.messages.reply; see
helpdesk.actions.service_levels), and it was in time when written no later than it. Counted on
the day it was written, credited to its author. The first reply of a conversation that had a
target gives the time to first reply: from the ticket's opening to that reply, on the clock.
Academy practice chats never count (they never get a due time either).

The counts are one GROUP BY in the database per report (the period bucket as in
inbox.rating_reports); the medians are taken in Python over the first replies of the range,
which neither database computes the same way (SQLite has no percentile function).
"""
from collections import defaultdict
from statistics import median

from sqlalchemy import and_, case, func, literal, select

from helpdesk.extensions import db
from helpdesk.models import AuthorType, Message, MessageKind, Ticket, agent_teams
from helpdesk.reports import first_answer_id
from inbox.rating_reports import GROUPINGS, PERIODS, group_names, period_start, report_scope, report_window


def _group_column(by):
    if by in ("agent", "team"):
        return agent_teams.c.team_id if by == "team" else Message.author_agent_id
    if by == "store":
        return Ticket.store_id
    return literal(None, type_=db.Integer)


def _grouped(query, by, bucket, group):
    """``query`` (from messages joined to their tickets) grouped by ``bucket`` (None: the whole
    range) and ``group``, with the agent-team link joined for ``by="team"``."""
    if by == "team":
        query = query.join(agent_teams, agent_teams.c.agent_id == Message.author_agent_id)
    keys = ([bucket] if bucket is not None else []) + ([group] if by != "total" else [])
    return query.group_by(*keys) if keys else query


def reply_time_report(viewer, *, date_from=None, date_to=None, by="agent", period="week", agent_id=None,
                      team_id=None, store_id=None):
    """Rows per (period, group): ``replies`` with a target, ``in_time``, ``in_time_rate`` and
    ``first_reply`` (``count``, ``median_seconds``); and ``totals`` per group over the whole
    range. Agents see their own replies only."""
    if by not in GROUPINGS or period not in PERIODS:
        raise ValueError((by, period))
    date_from, date_to, start, end = report_window(date_from, date_to)
    agents, stores = report_scope(viewer, agent_id, team_id, store_id)
    scope = [Ticket.is_practice.is_(False)]
    if agents is not None:
        scope.append(Message.author_agent_id.in_(agents))
    if stores is not None:
        scope.append(Ticket.store_id.in_(stores))
    group = _group_column(by)

    def replies(bucket):
        columns = ([bucket.label("period")] if bucket is not None else []) + [
            group.label("group_id"), func.count(Message.id).label("replies"),
            func.sum(case((Message.created_at <= Message.reply_due_at, 1), else_=0)).label("in_time")]
        query = select(*columns).select_from(Message).join(Ticket, Ticket.id == Message.ticket_id).where(and_(
            Message.reply_due_at.is_not(None), Message.author_type == AuthorType.AGENT,
            Message.kind == MessageKind.MESSAGE, Message.created_at >= start, Message.created_at < end, *scope))
        return db.session.execute(_grouped(query, by, bucket, group)).mappings().all()

    def first_replies(bucket):
        # The conversation's first answer, when it answered a due time (a target applied).
        columns = ([bucket.label("period")] if bucket is not None else []) + [
            group.label("group_id"), Ticket.created_at, Message.created_at.label("answered_at")]
        query = select(*columns).select_from(Ticket).join(Message, Message.id == first_answer_id()).where(and_(
            Message.reply_due_at.is_not(None), Message.created_at >= start, Message.created_at < end, *scope))
        if by == "team":
            query = query.join(agent_teams, agent_teams.c.agent_id == Message.author_agent_id)
        waits = defaultdict(list)
        for row in db.session.execute(query).mappings():
            key = (row["period"] if bucket is not None else None, row["group_id"])
            waits[key].append(max(0.0, (row["answered_at"] - row["created_at"]).total_seconds()))
        return waits

    bucket = period_start(Message.created_at, period)
    rows = _shape(replies(bucket), first_replies(bucket), by, periodic=True)
    totals = _shape(replies(None), first_replies(None), by, periodic=False)
    names = group_names(by, {r["group"]["id"] for r in totals})
    for row in rows + totals:
        row["group"]["name"] = names.get(row["group"]["id"])
    return {
        "from": date_from.isoformat(), "to": date_to.isoformat(), "by": by, "period": period,
        "rows": sorted(rows, key=lambda r: (r["period"], str(r["group"]["name"]))),
        "totals": sorted(totals, key=lambda r: (-r["replies"], str(r["group"]["name"]))),
    }


def _shape(counted, waits, by, periodic):
    """One row per (period, group) found by either query."""
    found = {}
    for r in counted:
        key = (_period_text(r["period"]) if periodic else None, r["group_id"])
        found[key] = (int(r["replies"] or 0), int(r["in_time"] or 0))
    waits = {(_period_text(p) if periodic else None, g): seconds for (p, g), seconds in waits.items()}
    shaped = []
    for key in sorted(set(found) | set(waits), key=str):
        period, group_id = key
        replies, in_time = found.get(key, (0, 0))
        seconds = waits.get(key, [])
        row = {
            "group": {"type": by, "id": group_id, "name": None},
            "replies": replies,
            "in_time": in_time,
            "in_time_rate": round(in_time / replies, 4) if replies else None,
            "first_reply": {"count": len(seconds),
                            "median_seconds": round(median(seconds), 1) if seconds else None},
        }
        shaped.append({"period": period, **row} if periodic else row)
    return shaped


def _period_text(value):
    # PostgreSQL's to_char and SQLite's date() both give text; a driver may hand a date back.
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
