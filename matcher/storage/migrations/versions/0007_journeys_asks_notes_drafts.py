"""The journeys: who a referral asks about, the front desk's call, notes, and form drafts.

A referral may name the therapist the person asked about (asked_about), the staff member who
took the call (taken_by), the consent as the caller gave it on the phone (consent_words) and who
works it now (assigned_to). Notes are kept with who wrote them and when. A draft holds the
answers of a stepped form or a console call between steps, tied to one browser session, until
"Clear my answers", the answers are sent, or it times out.

Revision ID: 0007
Revises: 0006
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS: list[tuple[str, Any]] = [
    ("asked_about", sa.String(40)),
    ("taken_by", sa.String(64)),
    ("consent_words", sa.String(200)),
    ("assigned_to", sa.String(64)),
]


def upgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        for name, kind in COLUMNS:
            table.add_column(sa.Column(name, kind))
    op.create_table(
        "referral_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "referral_id",
            sa.String(32),
            sa.ForeignKey("referrals.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("text", sa.String(1000), nullable=False),
    )
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("answers", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("drafts")
    op.drop_table("referral_notes")
    with op.batch_alter_table("referrals") as table:
        for name, _ in reversed(COLUMNS):
            table.drop_column(name)
