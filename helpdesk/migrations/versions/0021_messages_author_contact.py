"""An index on ``messages.author_contact_id``: erasing a customer (helpdesk.actions.contacts)
finds the messages they wrote on other contacts' tickets (after a merge) by it, and deleting
a contact sets it NULL (ON DELETE SET NULL). Without it both read the whole messages table.

Revision ID: 0021_messages_author_contact
Revises: 0020_agent_signature
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_messages_author_contact"
down_revision = "0020_agent_signature"
branch_labels = None
depends_on = None

_INDEX = "ix_messages_author_contact_id"
# Agents' messages and timeline events have no author contact: about half the table, left out
# of the index (an equality lookup implies NOT NULL, so both uses can take it).
_PARTIAL = sa.text("author_contact_id IS NOT NULL")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Millions of rows: built CONCURRENTLY (outside the migration's transaction), so
        # the messages table keeps taking chats and email while it builds.
        with op.get_context().autocommit_block():
            op.create_index(_INDEX, "messages", ["author_contact_id"], postgresql_concurrently=True,
                            postgresql_where=_PARTIAL, if_not_exists=True)
    else:
        op.create_index(_INDEX, "messages", ["author_contact_id"], sqlite_where=_PARTIAL)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(_INDEX, "messages", postgresql_concurrently=True, if_exists=True)
    else:
        op.drop_index(_INDEX, "messages")
