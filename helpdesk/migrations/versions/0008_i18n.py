"""Localization (message language, store locale overrides).

Revision ID: 0008_i18n
Revises: 0007_trgm
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0008_i18n"
down_revision = "0007_trgm"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
