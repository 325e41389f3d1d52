"""add reminder.reopened_at: a reminder back from 无法联系

A holder nobody answered (three calls in a row, no email) is closed as 无法联系 and goes to the
supervisor's list. When a number or address is added for it, its reminders still open in time
go back to the queue; the unanswered calls before that moment no longer count towards the
limit, or a single unanswered call on the new number would close it again.

Revision ID: 9a6c3e1f7b52
Revises: 3c9e5a7b1d40
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "9a6c3e1f7b52"
down_revision: str | None = "3c9e5a7b1d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reopened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_column("reopened_at")
