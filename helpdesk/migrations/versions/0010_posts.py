"""Announcements, FAQ entries and their read marks.

Revision ID: 0010_posts
Revises: 0009_appointments
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0010_posts"
down_revision = "0009_appointments"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
