"""AI writing assist requests.

Revision ID: 0013_assist
Revises: 0012_inactivity
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0013_assist"
down_revision = "0012_inactivity"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
