"""Visits still to come whose agent has left their store become unassigned.

From now on an agent who loses a store (or their account) leaves their upcoming visits there
without an agent, for a colleague to take over (helpdesk.actions.appointments
.unassign_appointments). Visits booked before that kept a deactivated agent, or one who no
longer sees the store: this gives them the same state, so they show up as unassigned. Data
only (no schema change); visits that have ended keep their agent. No timeline event is
written for these: the change of access happened before this release recorded such things.

Revision ID: 0022_appointments_unassign
Revises: 0021_messages_author_contact
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0022_appointments_unassign"
down_revision = "0021_messages_author_contact"
branch_labels = None
depends_on = None

_appointments = sa.table(
    "appointments", sa.column("id", sa.Integer), sa.column("store_id", sa.Integer),
    sa.column("agent_id", sa.Integer), sa.column("status", sa.String),
    sa.column("ends_at", sa.DateTime(timezone=True)), sa.column("updated_at", sa.DateTime(timezone=True)))
_agents = sa.table("agents", sa.column("id", sa.Integer), sa.column("role", sa.String),
                   sa.column("all_stores", sa.Boolean), sa.column("active", sa.Boolean))
_agent_stores = sa.table("agent_stores", sa.column("agent_id", sa.Integer), sa.column("store_id", sa.Integer))


def unassign_departed(bind, now=None):
    """Take their agent off booked visits not yet ended whose agent is inactive or no longer
    sees the visit's store (the same rule as ``Agent.can_access_store``). Returns the count."""
    now = now or datetime.now(timezone.utc)
    inactive = sa.select(_agents.c.id).where(_agents.c.active.is_(False))
    limited = sa.select(_agents.c.id).where(_agents.c.role != "admin", _agents.c.all_stores.is_(False))
    # One level down from the UPDATE, so the subquery correlates with the visit's row.
    has_store = sa.exists().where(_agent_stores.c.agent_id == _appointments.c.agent_id,
                                  _agent_stores.c.store_id == _appointments.c.store_id)
    result = bind.execute(
        _appointments.update()
        .where(_appointments.c.status == "booked", _appointments.c.ends_at > now,
               sa.or_(_appointments.c.agent_id.in_(inactive),
                      sa.and_(_appointments.c.agent_id.in_(limited), sa.not_(has_store))))
        .values(agent_id=None, updated_at=now))
    return result.rowcount


def upgrade():
    unassign_departed(op.get_bind())


def downgrade():
    # Nothing to undo: which agent each visit had is not kept, and an agent who left the
    # store should not get its visits back anyway.
    pass
