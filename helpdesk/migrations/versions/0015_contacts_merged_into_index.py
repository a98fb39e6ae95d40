"""Index the contacts merged into another: a contact's orders (the context panel) and every
order's attribution look them up, and scanned all contacts to find them.

Revision ID: 0015_contacts_merged_into_index
Revises: 0014_counts_practice
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_contacts_merged_into_index"
down_revision = "0014_counts_practice"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        # Partial, as the model says: few contacts are merged (see Contact.__table_args__).
        batch_op.create_index("ix_contacts_merged_into", ["merged_into_id"], unique=False,
                              postgresql_where=sa.text("merged_into_id IS NOT NULL"),
                              sqlite_where=sa.text("merged_into_id IS NOT NULL"))


def downgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_merged_into")
