"""Staff sessions can be revoked, and failed logins slow the guesser instead of locking the account.

Each account has a session version that every login carries: changing it (logout, new password,
new role) ends every session of the account; a removed and re-added account gets a new one, so
an old cookie never works again. Failed logins are counted per name and client address, and per
address (login_failures), with growing delays; the account-wide lock-out columns go.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_accounts") as table:
        # Sessions from before this migration carry no version: none of them matches.
        table.add_column(
            sa.Column("session_version", sa.String(32), nullable=False, server_default="0005")
        )
        table.drop_column("failed_logins")
        table.drop_column("locked_until")
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("username", "address", name="login_failures_username_address"),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    with op.batch_alter_table("staff_accounts") as table:
        table.add_column(sa.Column("locked_until", sa.DateTime(timezone=True)))
        table.add_column(sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"))
        table.drop_column("session_version")
