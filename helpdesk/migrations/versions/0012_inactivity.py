"""Inactivity check-ins and rating report support.

Revision ID: 0012_inactivity
Revises: 0011_academy
"""
from alembic import op
import sqlalchemy as sa

revision = "0012_inactivity"
down_revision = "0011_academy"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "chat_silences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prompted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "message_id", name="uq_chat_silence"),
    )


def downgrade():
    op.drop_table("chat_silences")
