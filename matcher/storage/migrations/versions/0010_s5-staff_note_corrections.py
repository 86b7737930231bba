"""A note can be corrected by whoever wrote it: `corrected_at` says when (the original text is
in the audit log, as the event's detail, until the referral is erased or purged).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referral_notes") as table:
        table.add_column(sa.Column("corrected_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("referral_notes") as table:
        table.drop_column("corrected_at")
