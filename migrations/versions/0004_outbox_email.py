"""outbox for email reminders and appointment confirmations

Revision ID: 6d2f0c9e4b1a
Revises: 0b7e5a3f1c2d
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "6d2f0c9e4b1a"
down_revision: str | None = "0b7e5a3f1c2d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outboxemail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("email_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("to_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=96), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("body_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("body_html", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ics", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("queued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("queued_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_outboxemail_appointment_id_appointment"),
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempt.id"], name=op.f("fk_outboxemail_attempt_id_attempt")
        ),
        sa.ForeignKeyConstraint(
            ["email_id"], ["contactemail.id"], name=op.f("fk_outboxemail_email_id_contactemail")
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["holder.id"], name=op.f("fk_outboxemail_holder_id_holder")
        ),
        sa.ForeignKeyConstraint(
            ["queued_by_id"], ["staff.id"], name=op.f("fk_outboxemail_queued_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["reminder_id"], ["reminder.id"], name=op.f("fk_outboxemail_reminder_id_reminder")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outboxemail")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outboxemail_dedupe_key")),
    )
    with op.batch_alter_table("outboxemail", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outboxemail_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outboxemail_holder_id"), ["holder_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outboxemail_reminder_id"), ["reminder_id"], unique=False
        )
        batch_op.create_index("ix_outboxemail_status_next", ["status", "next_try_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outboxemail", schema=None) as batch_op:
        batch_op.drop_index("ix_outboxemail_status_next")
        batch_op.drop_index(batch_op.f("ix_outboxemail_reminder_id"))
        batch_op.drop_index(batch_op.f("ix_outboxemail_holder_id"))
        batch_op.drop_index(batch_op.f("ix_outboxemail_appointment_id"))

    op.drop_table("outboxemail")
