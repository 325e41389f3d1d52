"""make the reminder's claim and next-action indexes partial

Only reminders with a live claim or a retry/callback time are looked up through them, and every
query that uses them compares the column (which implies IS NOT NULL). As full indexes they held
one entry per reminder: an import of 100,000 rows built both for rows that never enter them, and
each outcome moved its reminder's entries even when both columns stayed empty.

Revision ID: 8e4a1c7d2f35
Revises: 5b2d8f0c6e14
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e4a1c7d2f35"
down_revision: str | None = "5b2d8f0c6e14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported from the models: a migration keeps the schema of its own day.
_INDEXES = (
    ("ix_reminder_next_action", ["state", "next_action_at"], "next_action_at IS NOT NULL"),
    ("ix_reminder_claim", ["claimed_by_id", "claim_expires_at"], "claimed_by_id IS NOT NULL"),
)


def upgrade() -> None:
    for name, columns, where in _INDEXES:
        op.drop_index(name, table_name="reminder")
        op.create_index(
            name,
            "reminder",
            columns,
            unique=False,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, columns, _where in _INDEXES:
        op.drop_index(name, table_name="reminder")
        op.create_index(name, "reminder", columns, unique=False)
