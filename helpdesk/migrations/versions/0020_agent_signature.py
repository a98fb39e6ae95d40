"""Agents' email signatures: ``agents.signature``, plain text ending their email replies
(helpdesk.signatures). The store's own signature lives in ``stores.settings`` (JSON): no column.

Revision ID: 0020_agent_signature
Revises: 0019_ticket_merge
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_agent_signature"
down_revision = "0019_ticket_merge"
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column without a default or foreign key: SQLite adds it in place
    # (ALTER TABLE ... ADD COLUMN), no batch rebuild of ``agents``, whose drop would cascade
    # into every table that references an agent.
    op.add_column("agents", sa.Column("signature", sa.Text(), nullable=True))


def downgrade():
    # In place too: ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later).
    op.drop_column("agents", "signature")
