"""official holiday schedules the office loads itself

Revision ID: 3a9c5e7d1f20
Revises: 9a4c1e7b2f60
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "3a9c5e7d1f20"
down_revision: str | None = "9a4c1e7b2f60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "officialday",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_officialday")),
    )
    with op.batch_alter_table("officialday", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_officialday_year"), ["year"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("officialday", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_officialday_year"))
    op.drop_table("officialday")
