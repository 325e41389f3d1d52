"""assisted case (帮办代办) stage and dates on the reminder

Revision ID: 0b7e5a3f1c2d
Revises: 8c1a3604f352
Create Date: 2026-11-24
"""

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0b7e5a3f1c2d"
down_revision: str | None = "8c1a3604f352"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHANGHAI = ZoneInfo("Asia/Shanghai")


def upgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("assist_stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("assist_registered_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("assist_filed_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("assist_changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    # Cases registered before stages existed start at 已登记, dated by their last call.
    reminder = sa.table(
        "reminder",
        sa.column("id", sa.Integer()),
        sa.column("assisted", sa.Boolean()),
        sa.column("last_reminded_on", sa.Date()),
        sa.column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("assist_stage", sa.String()),
        sa.column("assist_registered_on", sa.Date()),
        sa.column("assist_changed_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(reminder.c.id, reminder.c.last_reminded_on, reminder.c.updated_at).where(
            reminder.c.assisted.is_(True)
        )
    ).all()
    for rid, reminded_on, updated_at in rows:
        conn.execute(
            reminder.update()
            .where(reminder.c.id == rid)
            .values(
                assist_stage="registered",
                assist_registered_on=reminded_on or updated_at.astimezone(SHANGHAI).date(),
                assist_changed_at=updated_at,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_column("assist_changed_at")
        batch_op.drop_column("assist_filed_on")
        batch_op.drop_column("assist_registered_on")
        batch_op.drop_column("assist_stage")
