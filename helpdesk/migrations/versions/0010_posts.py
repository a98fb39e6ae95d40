"""Announcements, FAQ entries and their read marks; recurring-questions reports.

The FAQ is searched by substring (``ILIKE '%word%'``); on PostgreSQL trigram GIN indexes
serve that (pg_trgm, as in 0007). They are named ``ix_trgm_*`` so the schema comparison
ignores them, and SQLite keeps scanning (fine at its scale).

Revision ID: 0010_posts
Revises: 0009_appointments
"""
import logging

from alembic import op
import sqlalchemy as sa
from sqlalchemy import text

revision = "0010_posts"
down_revision = "0009_appointments"
branch_labels = None
depends_on = None

TRGM_INDEXES = {
    "ix_trgm_faq_entries_question": "faq_entries USING gin (lower(question) gin_trgm_ops)",
    "ix_trgm_faq_entries_answer": "faq_entries USING gin (lower(answer) gin_trgm_ops)",
}


def upgrade():
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("audience", sa.Enum("all", "team", "store", name="postaudience", native_enum=False,
                                      create_constraint=True, length=16), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["agents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index("ix_posts_published", ["published_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_store_id"), ["store_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_team_id"), ["team_id"], unique=False)

    op.create_table(
        "post_reads",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("post_id", "agent_id"),
    )
    with op.batch_alter_table("post_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_reads_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "faq_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["agents.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("faq_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_faq_entries_store_id"), ["store_id"], unique=False)

    op.create_table(
        "recurring_question_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["requested_by_id"], ["agents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recurring_question_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recurring_question_reports_requested_by_id"), ["requested_by_id"],
                              unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except Exception:  # noqa: BLE001
            logging.getLogger("alembic").warning("pg_trgm unavailable: FAQ search runs without trigram indexes")
            return
        for name, definition in TRGM_INDEXES.items():
            bind.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}"))


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in TRGM_INDEXES:
            bind.execute(text(f"DROP INDEX IF EXISTS {name}"))
    with op.batch_alter_table("recurring_question_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recurring_question_reports_requested_by_id"))
    op.drop_table("recurring_question_reports")
    with op.batch_alter_table("faq_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_entries_store_id"))
    op.drop_table("faq_entries")
    with op.batch_alter_table("post_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_reads_agent_id"))
    op.drop_table("post_reads")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_team_id"))
        batch_op.drop_index(batch_op.f("ix_posts_store_id"))
        batch_op.drop_index("ix_posts_published")
    op.drop_table("posts")
