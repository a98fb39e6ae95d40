"""Index visitors by store and last seen: the home panel counts the shoppers online out of
every browser a store ever had, and read each of them. Replaces the store-only index, which
the new one's first column serves.

Revision ID: 0017_visitors_store_seen
Revises: 0016_webhook_deliveries_status
"""
from alembic import op

revision = "0017_visitors_store_seen"
down_revision = "0016_webhook_deliveries_status"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.create_index("ix_visitors_store_seen", ["store_id", "last_seen_at"], unique=False)
        batch_op.drop_index("ix_visitors_store_id")


def downgrade():
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.create_index("ix_visitors_store_id", ["store_id"], unique=False)
        batch_op.drop_index("ix_visitors_store_seen")
