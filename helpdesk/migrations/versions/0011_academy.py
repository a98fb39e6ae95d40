"""Onboarding academy: policies, acceptances, progress.

Revision ID: 0011_academy
Revises: 0010_posts
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0011_academy"
down_revision = "0010_posts"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
