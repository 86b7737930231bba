"""Each referral keeps the language its person used, so that staff answer them in it.

A language code (en, es, nl, de, fr, ar...); referrals from before this migration have none.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        table.add_column(sa.Column("language", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        table.drop_column("language")
