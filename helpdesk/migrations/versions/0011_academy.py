"""Onboarding academy: policies, acceptances, progress.

Revision ID: 0011_academy
Revises: 0010_posts
"""
from alembic import op
import sqlalchemy as sa

revision = "0011_academy"
down_revision = "0010_posts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "store_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("store_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_policies_store_id"), ["store_id"], unique=False)

    op.create_table(
        "policy_acceptances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["policy_id"], ["store_policies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agent_id", "policy_id", "version", name="uq_policy_acceptance"),
    )
    with op.batch_alter_table("policy_acceptances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_acceptances_policy_id"), ["policy_id"], unique=False)

    progress = op.create_table(
        "academy_progress",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("intro_done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("policies_done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("practice_ticket_id", sa.Integer(), nullable=True),
        sa.Column("practice_steps", sa.JSON(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exempt", sa.Boolean(), nullable=False),
        sa.Column("exempted_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["exempted_by_id"], ["agents.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("agent_id"),
    )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_practice", sa.Boolean(), server_default=sa.false(), nullable=False))

    # Agents who already answer chats keep being routed: the academy is for new agents.
    bind = op.get_bind()
    agents = sa.table("agents", sa.column("id", sa.Integer()))
    ids = [row[0] for row in bind.execute(sa.select(agents.c.id))]
    if ids:
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc)
        op.bulk_insert(progress, [{"agent_id": i, "practice_steps": {}, "exempt": True, "updated_at": now}
                                  for i in ids])


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("is_practice")
    op.drop_table("academy_progress")
    with op.batch_alter_table("policy_acceptances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_acceptances_policy_id"))
    op.drop_table("policy_acceptances")
    with op.batch_alter_table("store_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_policies_store_id"))
    op.drop_table("store_policies")
