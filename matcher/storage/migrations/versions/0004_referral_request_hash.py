"""An Idempotency-Key is bound to the request it came with: a hash of that request is kept.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        table.add_column(sa.Column("request_hash", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        table.drop_column("request_hash")
