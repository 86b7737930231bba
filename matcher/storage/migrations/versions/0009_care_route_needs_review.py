"""A referral whose intake has a care route (rules/care_routes.yaml) needs a clinician's review.

`needs_review` marks it in the queue (and filters it); `care_route` keeps the route's level
(clinician_review, specialist, urgent) when the person consented to their answers being kept.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        table.add_column(
            sa.Column("needs_review", sa.Boolean, nullable=False, server_default=sa.false())
        )
        table.add_column(sa.Column("care_route", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        table.drop_column("care_route")
        table.drop_column("needs_review")
