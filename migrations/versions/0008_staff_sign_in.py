"""staff sign-in: wrong PINs in a row and the lockout they cause

Revision ID: 5d2b8f0c6a41
Revises: 3a9c5e7d1f20
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5d2b8f0c6a41"
down_revision: str | None = "3a9c5e7d1f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing staff start with no wrong PINs; the default is only for them.
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_pins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.alter_column("failed_pins", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_pins")
