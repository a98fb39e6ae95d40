"""Index webhook deliveries by status: the sweep looks for the few still "received" on every
beat, and scanned every delivery ever processed to find them.

Revision ID: 0016_webhook_deliveries_status
Revises: 0015_contacts_merged_into_index
"""
from alembic import op

revision = "0016_webhook_deliveries_status"
down_revision = "0015_contacts_merged_into_index"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_status", ["status", "received_at"], unique=False)


def downgrade():
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_status")
