"""Covering index for the sidebar view counts.

Revision ID: 0006_counts
Revises: 0005_offers
"""
from alembic import op

revision = "0006_counts"
down_revision = "0005_offers"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_counts", ["status", "store_id", "team_id", "assignee_id"], unique=False)


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_counts")
