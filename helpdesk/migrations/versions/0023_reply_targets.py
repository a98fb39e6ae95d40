"""Reply targets: ``tickets.reply_due_at`` (by when the oldest unanswered customer message
should have an answer) and ``messages.reply_due_at`` (on an agent's reply, the due time it
answered: the reply-time report), each with a partial index; and due times for the tickets
already waiting for an answer in stores whose settings hold reply targets.

Revision ID: 0023_reply_targets
Revises: 0022_appointments_unassign
"""
from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0023_reply_targets"
down_revision = "0022_appointments_unassign"
branch_labels = None
depends_on = None

_TICKETS_INDEX, _MESSAGES_INDEX = "ix_tickets_reply_due", "ix_messages_reply_due"
# Only tickets waiting for an answer, and replies that answered one, have a due time.
_PARTIAL = sa.text("reply_due_at IS NOT NULL")

_stores = sa.table("stores", sa.column("id", sa.Integer), sa.column("settings", sa.JSON))
_tickets = sa.table(
    "tickets", sa.column("id", sa.Integer), sa.column("store_id", sa.Integer), sa.column("channel", sa.String),
    sa.column("status", sa.String), sa.column("offline", sa.Boolean), sa.column("is_practice", sa.Boolean),
    sa.column("first_response_at", sa.DateTime(timezone=True)),
    sa.column("last_customer_message_at", sa.DateTime(timezone=True)),
    sa.column("reply_due_at", sa.DateTime(timezone=True)))
_messages = sa.table("messages", sa.column("ticket_id", sa.Integer), sa.column("author_type", sa.String),
                     sa.column("kind", sa.String), sa.column("created_at", sa.DateTime(timezone=True)))


def _minutes(settings, group, which):
    try:
        return max(0, int((settings or {}).get(f"reply_target_{group}_{which}_minutes") or 0))
    except (TypeError, ValueError):
        return 0


def _group(channel, offline):
    # As helpdesk.actions.service_levels.target_group (a migration does not import the app's code).
    if channel == "chat":
        return "email" if offline else "chat"
    return "email" if channel in ("email", "form") else None


def backfill_due_times(bind, batch=500):
    """Give open and pending tickets whose customer wrote after the last agent reply the due
    time their store's target sets, counted from ``last_customer_message_at`` on the clock:
    business hours are not walked here, and the clock starts at the latest customer message
    rather than the oldest unanswered one (finding that one per ticket would read every
    conversation). Due times are set from now on as customers write, exactly; these are an
    approximation for the tickets that were waiting when this ran. Returns the count."""
    answered_since = sa.exists().where(
        _messages.c.ticket_id == _tickets.c.id, _messages.c.author_type == "agent", _messages.c.kind == "message",
        _messages.c.created_at >= _tickets.c.last_customer_message_at)
    set_due = _tickets.update().where(_tickets.c.id == sa.bindparam("ticket_id")).values(
        reply_due_at=sa.bindparam("due"))
    count = 0
    for store_id, settings in bind.execute(sa.select(_stores.c.id, _stores.c.settings)).all():
        if not any(_minutes(settings, g, w) for g in ("chat", "email") for w in ("first", "next")):
            continue  # no target: nothing is due in this store (the usual case on upgrade)
        waiting = bind.execute(
            sa.select(_tickets.c.id, _tickets.c.channel, _tickets.c.offline, _tickets.c.first_response_at,
                      _tickets.c.last_customer_message_at)
            .where(_tickets.c.store_id == store_id, _tickets.c.status.in_(("open", "pending")),
                   _tickets.c.is_practice.is_(False), _tickets.c.reply_due_at.is_(None),
                   _tickets.c.last_customer_message_at.is_not(None), sa.not_(answered_since))).all()
        rows = []
        for ticket_id, channel, offline, first_response_at, waiting_since in waiting:
            group = _group(channel, offline)
            minutes = _minutes(settings, group, "next" if first_response_at else "first") if group else 0
            if minutes:
                rows.append({"ticket_id": ticket_id, "due": _as_datetime(waiting_since) + timedelta(minutes=minutes)})
        for start in range(0, len(rows), batch):
            bind.execute(set_due, rows[start:start + batch])
        count += len(rows)
    return count


def _as_datetime(value):
    # SQLite hands a DATETIME back as text when the column is read without the model's type.
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def upgrade():
    # Nullable columns without a default or foreign key: SQLite adds them in place (ALTER
    # TABLE ... ADD COLUMN), no batch rebuild of ``tickets`` or ``messages`` (whose drop would
    # cascade, and take the search triggers with it); PostgreSQL without rewriting the table.
    op.add_column("tickets", sa.Column("reply_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("messages", sa.Column("reply_due_at", sa.DateTime(timezone=True), nullable=True))
    backfill_due_times(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        # Millions of rows: built CONCURRENTLY (outside the migration's transaction, which
        # commits the columns and due times first), so chats and email keep coming in.
        with op.get_context().autocommit_block():
            op.create_index(_TICKETS_INDEX, "tickets", ["store_id", "reply_due_at"], postgresql_concurrently=True,
                            postgresql_where=_PARTIAL, if_not_exists=True)
            op.create_index(_MESSAGES_INDEX, "messages", ["created_at"], postgresql_concurrently=True,
                            postgresql_where=_PARTIAL, if_not_exists=True)
    else:
        op.create_index(_TICKETS_INDEX, "tickets", ["store_id", "reply_due_at"], sqlite_where=_PARTIAL)
        op.create_index(_MESSAGES_INDEX, "messages", ["created_at"], sqlite_where=_PARTIAL)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(_MESSAGES_INDEX, "messages", postgresql_concurrently=True, if_exists=True)
            op.drop_index(_TICKETS_INDEX, "tickets", postgresql_concurrently=True, if_exists=True)
    else:
        # First: SQLite refuses to drop a column an index (or its WHERE) names.
        op.drop_index(_MESSAGES_INDEX, "messages")
        op.drop_index(_TICKETS_INDEX, "tickets")
    # In place too: ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later).
    op.drop_column("messages", "reply_due_at")
    op.drop_column("tickets", "reply_due_at")
