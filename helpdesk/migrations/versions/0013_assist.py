"""AI writing assist requests.

Revision ID: 0013_assist
Revises: 0012_inactivity
"""
from alembic import op
import sqlalchemy as sa

revision = "0013_assist"
down_revision = "0012_inactivity"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "assist_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("input_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.String(length=32), nullable=True),
        sa.Column("engine", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_assist_requests_agent_id_agents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_assist_requests_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_requests")),
    )
    with op.batch_alter_table("assist_requests", schema=None) as batch_op:
        batch_op.create_index("ix_assist_requests_agent_created", ["agent_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_assist_requests_ticket_id"), ["ticket_id"], unique=False)


def downgrade():
    with op.batch_alter_table("assist_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assist_requests_ticket_id"))
        batch_op.drop_index("ix_assist_requests_agent_created")
    op.drop_table("assist_requests")
