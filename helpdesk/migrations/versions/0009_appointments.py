"""In-store appointments.

Revision ID: 0009_appointments
Revises: 0008_i18n
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0009_appointments"
down_revision = "0008_i18n"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
