"""catalog changes dated in the future (applied by refresh on their day)

Revision ID: 9a4c1e7b2f60
Revises: 1920268c1326
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "9a4c1e7b2f60"
down_revision: str | None = "1920268c1326"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalogchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("catalog_item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("margin_workdays", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("applied_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reminders_changed", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["catalog_item_id"],
            ["catalogitem.id"],
            name=op.f("fk_catalogchange_catalog_item_id_catalogitem"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_catalogchange_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogchange")),
    )
    with op.batch_alter_table("catalogchange", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalogchange_catalog_item_id"), ["catalog_item_id"], unique=False
        )
        batch_op.create_index(
            "ix_catalogchange_status_effective", ["status", "effective_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("catalogchange", schema=None) as batch_op:
        batch_op.drop_index("ix_catalogchange_status_effective")
        batch_op.drop_index(batch_op.f("ix_catalogchange_catalog_item_id"))
    op.drop_table("catalogchange")
