"""Working referrals: who acknowledged an urgent one, who changed the status, booking, closing.

Revision ID: 0003
Revises: 0002
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS: list[tuple[str, Any]] = [
    ("acknowledged_by", sa.String(64)),
    ("acknowledged_at", sa.DateTime(timezone=True)),
    ("changed_by", sa.String(64)),
    ("changed_at", sa.DateTime(timezone=True)),
    ("therapist_id", sa.String(40)),
    ("close_reason", sa.String(200)),
]


def upgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        for name, kind in COLUMNS:
            table.add_column(sa.Column(name, kind))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        for name, _ in reversed(COLUMNS):
            table.drop_column(name)
