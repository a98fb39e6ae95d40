"""Merging duplicate tickets: ``tickets.merged_into_id`` names the ticket a duplicate was
merged into (helpdesk.actions.tickets.merge_tickets), with a partial index for the few that are.

Revision ID: 0019_ticket_merge
Revises: 0018_search_fts
"""
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from helpdesk.models.search import TICKETS_FTS, create_search_tables

revision = "0019_ticket_merge"
down_revision = "0018_search_fts"
branch_labels = None
depends_on = None

_FK = "fk_tickets_merged_into_id_tickets"
_INDEX = "ix_tickets_merged_into"
_PARTIAL = sa.text("merged_into_id IS NOT NULL")


@contextmanager
def _rebuilding_tickets():
    """SQLite adds no foreign key to an existing table: batch mode rebuilds ``tickets``
    ("move and copy"). Its DROP of the old table, with foreign keys on (helpdesk.app turns
    them on for every connection), would first delete every ticket's messages, notes, email
    headers and handoffs (ON DELETE CASCADE). So they are off for the rebuild -- set outside
    a transaction, as SQLite ignores the pragma inside one -- and on again after. The drop
    also takes the search triggers on ``tickets`` with it: made again (helpdesk.models.search)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    context = op.get_context()
    with context.autocommit_block():
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("foreign keys are still on: rebuilding tickets would delete its messages")
    yield
    create_search_tables(bind, [TICKETS_FTS])
    with context.autocommit_block():
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")


def upgrade():
    with _rebuilding_tickets(), op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(_FK, "tickets", ["merged_into_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index(_INDEX, ["merged_into_id"], unique=False,
                              postgresql_where=_PARTIAL, sqlite_where=_PARTIAL)


def downgrade():
    with _rebuilding_tickets(), op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(_INDEX)
        batch_op.drop_constraint(_FK, type_="foreignkey")
        batch_op.drop_column("merged_into_id")
