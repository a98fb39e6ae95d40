"""Trigram indexes for queue search on PostgreSQL.

Search matches substrings (order numbers, parts of emails, words in messages), which only
trigram GIN indexes serve; without them the rare-term phase of inbox.queries.search_tickets
scans every message. SQLite has no equivalent and keeps scanning (fine at its scale).
Needs the pg_trgm extension (in PostgreSQL's contrib); a role that may not create it
gets a warning and search stays correct, only slower.

Revision ID: 0007_trgm
Revises: 0006_counts
"""
import logging

from alembic import op
from sqlalchemy import text

revision = "0007_trgm"
down_revision = "0006_counts"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_trgm_messages_body": "messages USING gin (body_text gin_trgm_ops)",
    "ix_trgm_tickets_subject": "tickets USING gin (subject gin_trgm_ops)",
    "ix_trgm_contacts_name": "contacts USING gin (name gin_trgm_ops)",
    "ix_trgm_contacts_email": "contacts USING gin (email gin_trgm_ops)",
}


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except Exception:  # noqa: BLE001
        logging.getLogger("alembic").warning("pg_trgm unavailable: search runs without trigram indexes")
        return
    for name, definition in INDEXES.items():
        bind.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}"))


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for name in INDEXES:
        bind.execute(text(f"DROP INDEX IF EXISTS {name}"))
