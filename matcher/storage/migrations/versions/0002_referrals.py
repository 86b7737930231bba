"""Referrals: intakes that need a person from the clinic.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("consent", sa.Boolean, nullable=False),
        sa.Column("intake", sa.Text),
        sa.Column("screening", sa.Text),
        sa.Column("matches", sa.Text),
        sa.Column("rules_version", sa.String(32), nullable=False),
        sa.Column("contact", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.String(128), unique=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("referrals_queue", "referrals", ["urgent", "created_at"])


def downgrade() -> None:
    op.drop_index("referrals_queue", "referrals")
    op.drop_table("referrals")
