"""Urgent referrals notify the clinic: an outbox, acknowledgement deadlines, flood groups.

Urgent referrals already stored get the default deadline (30 minutes after they arrived), so
one that nobody acknowledged is escalated by the first sender pass, not forgotten.

Revision ID: 0005
Revises: 0004
"""

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS: list[tuple[str, Any]] = [
    ("ack_deadline", sa.DateTime(timezone=True)),
    ("escalated_at", sa.DateTime(timezone=True)),
    ("source_hash", sa.String(64)),
    ("contact_hash", sa.String(64)),
    ("intake_hash", sa.String(64)),
    ("group_of", sa.String(32)),
]
DEFAULT_ACK = timedelta(minutes=30)


def upgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        for name, kind in COLUMNS:
            table.add_column(sa.Column(name, kind))
    op.create_index("referrals_source", "referrals", ["source_hash", "created_at"])
    op.create_index("referrals_group", "referrals", ["group_of"])
    op.create_index("referrals_deadline", "referrals", ["urgent", "ack_deadline"])
    referrals = sa.table(
        "referrals",
        sa.column("id", sa.String),
        sa.column("urgent", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("ack_deadline", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    urgent = connection.execute(
        sa.select(referrals.c.id, referrals.c.created_at).where(referrals.c.urgent.is_(True))
    ).all()
    for referral_id, created_at in urgent:
        connection.execute(
            referrals.update()
            .where(referrals.c.id == referral_id)
            .values(ack_deadline=created_at + DEFAULT_ACK)
        )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "referral_id",
            sa.String(32),
            sa.ForeignKey("referrals.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(200)),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_index("notifications_due", "notifications", ["sent_at", "next_attempt_at"])
    op.create_index("notifications_referral", "notifications", ["referral_id"])


def downgrade() -> None:
    op.drop_index("notifications_referral", "notifications")
    op.drop_index("notifications_due", "notifications")
    op.drop_table("notifications")
    op.drop_index("referrals_deadline", "referrals")
    op.drop_index("referrals_group", "referrals")
    op.drop_index("referrals_source", "referrals")
    with op.batch_alter_table("referrals") as table:
        for name, _ in reversed(COLUMNS):
            table.drop_column(name)
