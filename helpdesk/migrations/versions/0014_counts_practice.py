"""Keep the sidebar counts an index-only scan now that they leave practice chats out.

Revision ID: 0014_counts_practice
Revises: 0013_assist
"""
from alembic import op

revision = "0014_counts_practice"
down_revision = "0013_assist"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_counts")
        batch_op.create_index("ix_tickets_counts", ["status", "store_id", "team_id", "assignee_id", "is_practice"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_counts")
        batch_op.create_index("ix_tickets_counts", ["status", "store_id", "team_id", "assignee_id"], unique=False)
