"""Merge the email and commerce branches.

Revision ID: 0004_merge
Revises: 0002_email, 0003_commerce
"""

revision = "0004_merge"
down_revision = ("0002_email", "0003_commerce")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
