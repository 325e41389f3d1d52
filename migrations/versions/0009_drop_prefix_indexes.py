"""drop three indexes that repeat the first column of a unique constraint's index

Each import wrote every new phone, email and certificate into both; lookups by that column
use the unique constraint's index, which starts with it.

Revision ID: 5b2d8f0c6e14
Revises: 5d2b8f0c6a41
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b2d8f0c6e14"
down_revision: str | None = "5d2b8f0c6a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED = (
    ("contactphone", "ix_contactphone_contact_id", ["contact_id"]),
    ("contactemail", "ix_contactemail_contact_id", ["contact_id"]),
    ("certificate", "ix_certificate_holder_id", ["holder_id"]),
)


def upgrade() -> None:
    for table, name, _columns in _DROPPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)


def downgrade() -> None:
    for table, name, columns in _DROPPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
