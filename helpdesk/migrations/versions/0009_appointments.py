"""In-store appointments.

Revision ID: 0009_appointments
Revises: 0008_i18n
"""
from alembic import op
import sqlalchemy as sa

revision = "0009_appointments"
down_revision = "0008_i18n"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "store_locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("opening_hours", sa.JSON(), nullable=False),
        sa.Column("appointment_minutes", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("store_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_locations_store_id"), ["store_id"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Enum("booked", "cancelled", name="appointmentstatus", native_enum=False,
                                    create_constraint=True, length=16), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["agents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["location_id"], ["store_locations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index("ix_appointments_agent_starts", ["agent_id", "starts_at"], unique=False)
        batch_op.create_index("ix_appointments_location_starts", ["location_id", "starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_ticket_id"), ["ticket_id"], unique=False)


def downgrade():
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_contact_id"))
        batch_op.drop_index("ix_appointments_location_starts")
        batch_op.drop_index("ix_appointments_agent_starts")
    op.drop_table("appointments")
    with op.batch_alter_table("store_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_locations_store_id"))
    op.drop_table("store_locations")
