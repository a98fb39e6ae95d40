"""Who can answer a chat now.

A store is online when one of its agents is available (explicitly) and the store is
within its business hours. Availability is explicit; connections are counted so an agent
whose last device disconnects goes away after a grace period.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from helpdesk.extensions import db
from helpdesk.models import Agent, Availability, agent_stores
from helpdesk.prepared import prepare

#: Seconds after an agent's last device disconnects before they are marked away.
AWAY_GRACE_SECONDS = 60


def _available(store_id):
    # ``store_id`` may be a column of an enclosing query two levels up (the visitor's): said
    # explicitly, as automatic correlation only reaches the query just around a subquery.
    restricted = (select(agent_stores.c.agent_id).where(agent_stores.c.store_id == store_id)
                  .correlate_except(agent_stores))
    return select(Agent).where(
        Agent.active.is_(True),
        Agent.availability == Availability.AVAILABLE,
        (Agent.all_stores.is_(True)) | (Agent.role == "admin") | (Agent.id.in_(restricted)),
    )


def available_agents(store_id):
    return db.session.scalars(_available(store_id)).all()


def available_exists(store_id):
    """EXISTS (an agent of ``store_id`` is available): ``store_id`` may be a column, so the
    check can ride along in another query (widgets.sockets reads it with the visitor)."""
    return _available(store_id).exists()


# Built once: a statement object keeps its cache key, so the per-message check skips
# rebuilding and re-hashing the query (most of its cost, not the database's).
_ANYONE_AVAILABLE = prepare(select(available_exists(bindparam("store_id"))))


def anyone_available(store_id):
    """One indexed EXISTS: runs on every widget message, so it loads no agent rows."""
    return bool(db.session.scalar(_ANYONE_AVAILABLE, {"store_id": store_id}))


def within_business_hours(store, now=None):
    """``business_hours``: [{"days": [0..6], "open": "09:00", "close": "18:00"}]; empty = always."""
    hours = store.setting("business_hours") or []
    if not hours:
        return True
    try:
        tz = ZoneInfo(store.setting("timezone") or "UTC")
    except Exception:  # noqa: BLE001 -- a bad zone name must not take the widget down
        tz = ZoneInfo("UTC")
    local = (now or datetime.now(tz)).astimezone(tz)
    hhmm = local.strftime("%H:%M")
    return any(local.weekday() in rule.get("days", range(7)) and rule.get("open", "00:00") <= hhmm < rule.get(
        "close", "24:00") for rule in hours)


def store_is_online(store, available=None):
    """``available``: whether an agent of the store is available, when the caller has read
    it already (None: asked here)."""
    if not within_business_hours(store):
        return False
    return anyone_available(store.id) if available is None else bool(available)
