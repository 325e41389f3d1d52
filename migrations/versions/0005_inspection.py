"""inspection records (督促检查): sampled reminders and verdicts

Revision ID: 1920268c1326
Revises: 6d2f0c9e4b1a
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "1920268c1326"
down_revision: str | None = "6d2f0c9e4b1a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inspection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_id"], ["section.id"], name=op.f("fk_inspection_section_id_section")
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["staff.id"], name=op.f("fk_inspection_supervisor_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection")),
    )
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspection_section_created", ["section_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inspection_supervisor_id"), ["supervisor_id"], unique=False
        )

    op.create_table(
        "inspectionitem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reviewed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
            name=op.f("fk_inspectionitem_inspection_id_inspection"),
        ),
        sa.ForeignKeyConstraint(
            ["reminder_id"], ["reminder.id"], name=op.f("fk_inspectionitem_reminder_id_reminder")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["staff.id"], name=op.f("fk_inspectionitem_reviewer_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspectionitem")),
        sa.UniqueConstraint(
            "inspection_id", "position", name=op.f("uq_inspectionitem_inspection_id")
        ),
        sa.UniqueConstraint(
            "reminder_id", "inspection_id", name=op.f("uq_inspectionitem_reminder_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("inspectionitem")
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_supervisor_id"))
        batch_op.drop_index("ix_inspection_section_created")

    op.drop_table("inspection")
