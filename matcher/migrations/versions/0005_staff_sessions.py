"""Staff sessions can be revoked: each account has a session version that every login carries.

Changing it (logout, new password, new role) ends every session of the account; a removed and
re-added account gets a new one, so an old cookie never works again.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_accounts") as table:
        # Sessions from before this migration carry no version: none of them matches.
        table.add_column(
            sa.Column("session_version", sa.String(32), nullable=False, server_default="0005")
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_accounts") as table:
        table.drop_column("session_version")
