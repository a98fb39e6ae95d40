"""Inactivity check-ins and rating report support.

Revision ID: 0012_inactivity
Revises: 0011_academy
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0012_inactivity"
down_revision = "0011_academy"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
