"""Search indexes on SQLite: FTS5 trigram tables over message text, ticket subjects and
contact names and emails, kept in step by triggers; the counterpart of PostgreSQL's pg_trgm
indexes (0007). Without them the rare-term phase of inbox.queries.search_tickets scanned
every message. Existing rows are indexed here. Nothing on other databases.

Revision ID: 0018_search_fts
Revises: 0017_visitors_store_seen
"""
from alembic import op

from helpdesk.models.search import create_search_tables, drop_search_tables

revision = "0018_search_fts"
down_revision = "0017_visitors_store_seen"
branch_labels = None
depends_on = None


def upgrade():
    # The definition lives with the models: db.create_all() builds the same (tests).
    create_search_tables(op.get_bind())


def downgrade():
    drop_search_tables(op.get_bind())
