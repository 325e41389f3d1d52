"""The domain: sections, staff, the catalog (附件1), holders, certificates and their reminders (附件2).

One definition per table. Times are naive Asia/Shanghai wall-clock times (the office has one
time zone); dates are calendar dates. Every schema change here ships an Alembic revision in
`migrations/versions/`; `tests/test_migrations.py` fails when the two disagree.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

# Named constraints keep Alembic batch migrations on SQLite and diffs on PostgreSQL stable.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _json(default: Any = None) -> Any:
    """A JSON column (lists and dicts) with a Python-side default."""
    factory = (
        (lambda: type(default)(default)) if isinstance(default, list | dict) else (lambda: default)
    )
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=default is None))


# --- vocabularies -------------------------------------------------------------------------


class SectionKind(StrEnum):
    """An approval section works reminders; the supervising section oversees them."""

    APPROVAL = "approval"
    SUPERVISION = "supervision"


class Role(StrEnum):
    """What a staff member may do."""

    CALLER = "caller"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Channel(StrEnum):
    """How a holder is reminded (提醒方式)."""

    PHONE = "phone"
    EMAIL = "email"


class ReminderState(StrEnum):
    """Lifecycle of one reminder case (DESIGN.md §5)."""

    SCHEDULED = "scheduled"
    DUE = "due"
    RETRY = "retry"
    CALLBACK = "callback"
    INFORMED = "informed"
    APPOINTMENT = "appointment"
    ASSISTED = "assisted"
    RENEWED = "renewed"
    NOT_RENEWING = "not_renewing"
    UNREACHABLE = "unreachable"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"
    """Closed without a call: its catalog item was retired (目录事项已取消)."""


OPEN_STATES = frozenset(
    {
        ReminderState.SCHEDULED,
        ReminderState.DUE,
        ReminderState.RETRY,
        ReminderState.CALLBACK,
        ReminderState.INFORMED,
        ReminderState.APPOINTMENT,
        ReminderState.ASSISTED,
    }
)


class Outcome(StrEnum):
    """The outcome of one attempt; the digit is its key in the call screen."""

    INFORMED = "informed"
    APPOINTMENT = "appointment"
    ASSISTED = "assisted"
    NO_ANSWER = "no_answer"
    CALLBACK = "callback"
    WRONG_NUMBER = "wrong_number"
    RENEWED = "renewed"
    NOT_RENEWING = "not_renewing"


class AssistStage(StrEnum):
    """How far an assisted (帮办代办) case has got; it only moves forward."""

    REGISTERED = "registered"
    PREPARING = "preparing"
    FILED = "filed"


class CertificateStatus(StrEnum):
    """Whether a certificate is the live one of its holder and permit."""

    ACTIVE = "active"
    RENEWED = "renewed"
    NOT_RENEWING = "not_renewing"
    LAPSED = "lapsed"


class AppointmentStatus(StrEnum):
    """A booked slot at the service hall and what became of it."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    DONE = "done"


# --- organisation -------------------------------------------------------------------------


class Section(SQLModel, table=True):
    """An approval section (审批科室) or the supervising 政务服务科."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    kind: str = Field(default=SectionKind.APPROVAL, max_length=16)
    slot_minutes: int = Field(default=30, description="appointment slot length")
    slot_capacity: int = Field(default=2, description="appointments per slot")


class Staff(SQLModel, table=True):
    """A user of the app (提醒人 or supervisor)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    section_id: int = Field(foreign_key="section.id", index=True)
    role: str = Field(default=Role.CALLER, max_length=16)
    active: bool = True
    pin_hash: str | None = Field(default=None, max_length=255)
    failed_pins: int = 0
    """Wrong PINs in a row since the last good sign-in or lockout."""
    locked_until: datetime | None = None
    """No sign-in before this time (after too many wrong PINs in a row)."""
    created_at: datetime


class Setting(SQLModel, table=True):
    """An office-wide value staff may change (办理地点, 服务电话, office name…)."""

    key: str = Field(primary_key=True, max_length=64)
    value: str
    updated_at: datetime


# --- the catalog (附件1) ------------------------------------------------------------------


class CatalogItem(SQLModel, table=True):
    """One permit type of the reminder catalog, with what a holder needs to renew it."""

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, description="序号 in 附件1")
    permit_item: str = Field(max_length=200, description="许可事项名称")
    certificate_name: str = Field(index=True, max_length=100, description="许可证书名称")
    section_id: int = Field(foreign_key="section.id", index=True, description="承办科室")
    validity_years: list[int] = _json(default=[])
    method: str = Field(default=Channel.PHONE, max_length=16, description="提醒方式")
    lead_months: int = Field(description="提醒时限: months before expiry")
    filing_deadline_days: int | None = Field(default=None)
    deadline_kind: str = Field(default="latest_filing", max_length=16)
    deadline_note: str = ""
    legal_basis: str = ""
    basis_level: str = Field(default="", max_length=16)
    confidence: str = Field(default="", max_length=100)
    materials: list[str] = _json(default=[])
    sources: list[str] = _json(default=[])
    place: str | None = Field(default=None, description="overrides the office-wide place")
    phone: str | None = Field(default=None, description="overrides the office-wide phone")
    active: bool = True
    effective_from: date | None = None
    retired_on: date | None = None
    updated_at: datetime


class CatalogChangeStatus(StrEnum):
    """Where a dated catalog change is: waiting for its day, applied, or withdrawn."""

    PENDING = "pending"
    APPLIED = "applied"
    CANCELLED = "cancelled"


class CatalogChange(SQLModel, table=True):
    """A catalog change dated in the future; `callqueue refresh` applies it on its day."""

    __table_args__ = (Index("ix_catalogchange_status_effective", "status", "effective_on"),)

    id: int | None = Field(default=None, primary_key=True)
    catalog_item_id: int = Field(foreign_key="catalogitem.id", index=True)
    kind: str = Field(max_length=16, description="edit / retire / activate")
    changes: dict[str, Any] = _json(default={})
    effective_on: date
    reason: str
    status: str = Field(default=CatalogChangeStatus.PENDING, max_length=16)
    margin_workdays: int = Field(default=10, description="the office margin when it was planned")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    actor: str = Field(max_length=64)
    created_at: datetime
    applied_at: datetime | None = None
    reminders_changed: int | None = None


# --- holders and their contacts --------------------------------------------------------------


class Holder(SQLModel, table=True):
    """单位（个人）: the licence holder; may hold several certificates."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    name_key: str = Field(unique=True, max_length=200, description="normalised name")
    credit_code: str | None = Field(default=None, max_length=32, description="统一社会信用代码")
    do_not_call: bool = False
    note: str = ""
    created_at: datetime


class Contact(SQLModel, table=True):
    """联系人: a person at a holder, reached by phones and emails."""

    id: int | None = Field(default=None, primary_key=True)
    holder_id: int = Field(foreign_key="holder.id", index=True)
    name: str = Field(default="", max_length=100)
    invalid: bool = False
    note: str = ""
    created_at: datetime


class ContactPhone(SQLModel, table=True):
    """A phone number of a contact: E.164 with the extension kept apart."""

    __table_args__ = (UniqueConstraint("contact_id", "e164", "extension"),)

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: the unique constraint's index starts with it.
    contact_id: int = Field(foreign_key="contact.id")
    e164: str = Field(index=True, max_length=20)
    extension: str = Field(default="", max_length=10)
    raw: str = Field(default="", max_length=100, description="as written in the ledger")
    kind: str = Field(default="", max_length=16, description="mobile / landline")
    position: int = 0
    invalid: bool = False
    invalid_reason: str = ""


class ContactEmail(SQLModel, table=True):
    """An email address of a contact."""

    __table_args__ = (UniqueConstraint("contact_id", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: the unique constraint's index starts with it.
    contact_id: int = Field(foreign_key="contact.id")
    address: str = Field(index=True, max_length=254)
    position: int = 0
    invalid: bool = False
    invalid_reason: str = ""


# --- certificates and reminders (附件2) ---------------------------------------------------


class ImportBatch(SQLModel, table=True):
    """One ledger import: which file, who, when, and how every row ended."""

    id: int | None = Field(default=None, primary_key=True)
    file_name: str = Field(max_length=255)
    file_hash: str = Field(index=True, max_length=64)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    section_id: int | None = Field(default=None, foreign_key="section.id")
    started_at: datetime
    finished_at: datetime | None = None
    rows: int = 0
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    warnings: int = 0
    rejects_file: str | None = None


class Certificate(SQLModel, table=True):
    """许可证书: one certificate of a holder for a catalog item, with its dates."""

    __table_args__ = (
        UniqueConstraint("holder_id", "catalog_item_id", "expires_on"),
        Index("ix_certificate_section_expires", "section_id", "expires_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: the unique constraint's index starts with it.
    holder_id: int = Field(foreign_key="holder.id")
    catalog_item_id: int = Field(foreign_key="catalogitem.id", index=True)
    section_id: int = Field(foreign_key="section.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    number: str = Field(default="", max_length=64, description="证书编号")
    issued_on: date | None = None
    expires_on: date
    validity_years: int | None = None
    expiry_computed: bool = Field(default=False, description="expiry derived from issue date")
    status: str = Field(default=CertificateStatus.ACTIVE, max_length=16)
    previous_id: int | None = Field(default=None, foreign_key="certificate.id")
    import_batch_id: int | None = Field(default=None, foreign_key="importbatch.id", index=True)
    source_sheet: str | None = Field(default=None, max_length=100)
    source_row: int | None = None
    created_at: datetime


NEXT_ACTION_SET = "next_action_at IS NOT NULL"
CLAIMED = "claimed_by_id IS NOT NULL"
"""The WHERE of the reminder's two partial indexes (migration 0010 writes the same)."""


class Reminder(SQLModel, table=True):
    """提醒: one reminder case for one certificate's expiry cycle."""

    __table_args__ = (
        # The queue: a section's callable reminders in queue order (DESIGN.md §5).
        Index("ix_reminder_queue", "section_id", "state", "apply_by", "expires_on", "attempts"),
        # Refresh: what becomes due or lapses today.
        Index("ix_reminder_state_remind_on", "state", "remind_on"),
        Index("ix_reminder_state_expires_on", "state", "expires_on"),
        # Callbacks and retries whose time has come. Partial, like the claims below: only the
        # few reminders with a time or a claim are in it, so an import does not build it for
        # every row and an outcome moves no entry unless it sets or clears one. Every query
        # compares the column (`<= :now`, `= :staff`), which implies the WHERE.
        # PostgreSQL gets the same WHERE from migration 0010 (tests/test_migrations.py checks
        # it there): `postgresql_where` here would load SQLAlchemy's PostgreSQL dialect on
        # every SQLite desk's start, and only SQLite rebuilds indexes from these definitions
        # (ledger/bulk.py).
        Index(
            "ix_reminder_next_action", "state", "next_action_at", sqlite_where=text(NEXT_ACTION_SET)
        ),
        # Live claims, and one holder's reminders claimed together.
        Index("ix_reminder_claim", "claimed_by_id", "claim_expires_at", sqlite_where=text(CLAIMED)),
        # A holder's reminders by state; with the section, a queue page finds its holders'
        # other callable reminders in the index alone (queue/order.py `_complete`).
        Index("ix_reminder_holder_state", "holder_id", "state", "section_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    certificate_id: int = Field(foreign_key="certificate.id", unique=True)
    holder_id: int = Field(foreign_key="holder.id", description="copied for queue grouping")
    section_id: int = Field(foreign_key="section.id")
    state: str = Field(default=ReminderState.SCHEDULED, max_length=16)
    channel: str = Field(default=Channel.PHONE, max_length=16)
    expires_on: date = Field(description="the certificate's expiry, copied for the queue order")
    remind_on: date = Field(description="effective due date, pulled earlier when needed")
    planned_remind_on: date = Field(description="from the catalog lead time alone")
    apply_by: date = Field(description="申请换证时限")
    window_opens_on: date | None = None
    pulled_earlier: bool = False
    late: bool = Field(default=False, description="imported after remind_on had passed")
    follow_up: bool = False
    follow_up_on: date | None = Field(
        default=None, description="an informed holder not yet renewed is called again then"
    )
    attempts: int = 0
    next_action_at: datetime | None = Field(default=None, description="retry or callback time")
    callback_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    claimed_by_id: int | None = Field(default=None, foreign_key="staff.id")
    claim_expires_at: datetime | None = None
    assisted: bool = False
    helper_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    assisted_notes: str = ""
    assist_stage: str | None = Field(
        default=None, max_length=16, description="帮办代办 stage; None when not assisted"
    )
    assist_registered_on: date | None = Field(default=None, description="帮办代办 登记日期")
    assist_filed_on: date | None = Field(default=None, description="renewal filed (已提交申请)")
    assist_changed_at: datetime | None = Field(default=None, description="last stage change")
    needs_repair: bool = False
    close_reason: str = ""
    closed_at: datetime | None = None
    last_reminded_on: date | None = Field(default=None, description="台账 提醒日期")
    last_channel: str | None = Field(default=None, max_length=16, description="台账 提醒方式")
    last_staff_id: int | None = Field(
        default=None, foreign_key="staff.id", description="台账 提醒人"
    )
    version: int = Field(default=1, description="optimistic concurrency counter")
    updated_at: datetime
    reopened_at: datetime | None = Field(
        default=None,
        description="back from 无法联系 when a number or address was added: the unanswered "
        "calls before it no longer count towards the limit",
    )


class Attempt(SQLModel, table=True):
    """提醒记录: one call or email and its outcome."""

    id: int | None = Field(default=None, primary_key=True)
    reminder_id: int = Field(foreign_key="reminder.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    at: datetime = Field(index=True)
    channel: str = Field(default=Channel.PHONE, max_length=16)
    outcome: str = Field(max_length=16)
    note: str = ""
    phone_id: int | None = Field(default=None, foreign_key="contactphone.id")
    email_id: int | None = Field(default=None, foreign_key="contactemail.id")
    conveyed: list[str] = _json(default=[])
    materials_ticked: list[str] = _json(default=[])
    callback_at: datetime | None = None


class Appointment(SQLModel, table=True):
    """提前预约: a dated slot at the service hall."""

    __table_args__ = (Index("ix_appointment_section_start", "section_id", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id", index=True)
    holder_id: int = Field(foreign_key="holder.id", index=True)
    section_id: int = Field(foreign_key="section.id")
    starts_at: datetime
    ends_at: datetime
    status: str = Field(default=AppointmentStatus.BOOKED, max_length=16)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    note: str = ""
    created_at: datetime


# --- email (电子邮件告知) ----------------------------------------------------------------------


class MailKind(StrEnum):
    """What an outbox email is for."""

    REMINDER = "reminder"
    APPOINTMENT = "appointment"
    CANCELLATION = "cancellation"


class MailStatus(StrEnum):
    """Where an outbox email is on its way out."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    """A sender stopped mid-send: it may have gone out, so it is never sent again by itself."""
    CANCELLED = "cancelled"


class OutboxEmail(SQLModel, table=True):
    """One email to a holder, rendered when queued and kept with every try and its result."""

    __table_args__ = (Index("ix_outboxemail_status_next", "status", "next_try_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=MailKind.REMINDER, max_length=16)
    holder_id: int = Field(foreign_key="holder.id", index=True)
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id", index=True)
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id", index=True)
    email_id: int | None = Field(default=None, foreign_key="contactemail.id")
    to_address: str = Field(max_length=254)
    to_name: str = Field(default="", max_length=200)
    stage: str = Field(default="", max_length=32, description="reminder stage or appointment event")
    dedupe_key: str | None = Field(
        default=None,
        unique=True,
        max_length=96,
        description="held while the email is queued, sending, sent or uncertain",
    )
    context: dict[str, Any] = _json(default={})
    """The facts the email tells, as they were when it was queued."""
    subject: str = Field(default="", max_length=255, description="as sent")
    body_text: str = Field(default="", description="as sent")
    body_html: str = Field(default="", description="as sent")
    ics: str | None = Field(default=None, description="the calendar attachment as sent")
    message_id: str = Field(max_length=255)
    status: str = Field(default=MailStatus.QUEUED, max_length=16)
    tries: int = 0
    next_try_at: datetime
    lease_until: datetime | None = None
    last_error: str = ""
    queued_at: datetime
    queued_by_id: int | None = Field(default=None, foreign_key="staff.id")
    sent_at: datetime | None = None
    attempt_id: int | None = Field(default=None, foreign_key="attempt.id")


# --- inspection (督促检查) --------------------------------------------------------------------


class InspectionStatus(StrEnum):
    """Whether an inspection is still being reviewed."""

    OPEN = "open"
    FINISHED = "finished"


class Verdict(StrEnum):
    """A supervisor's finding on one sampled reminder."""

    PASS = "pass"
    PROBLEM = "problem"


class Inspection(SQLModel, table=True):
    """检查记录: a supervisor's random sample of one section's worked reminders."""

    __table_args__ = (Index("ix_inspection_section_created", "section_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    section_id: int = Field(foreign_key="section.id", description="the section inspected")
    supervisor_id: int = Field(foreign_key="staff.id", index=True, description="who drew it")
    created_at: datetime
    sample_size: int = Field(description="reminders asked for")
    seed: int = Field(description="random seed: the same seed draws the same sample")
    status: str = Field(default=InspectionStatus.OPEN, max_length=16)
    finished_at: datetime | None = None
    note: str = Field(default="", description="the supervisor's summary when finishing")


class InspectionItem(SQLModel, table=True):
    """One sampled reminder of an inspection and the supervisor's verdict on it."""

    __table_args__ = (
        UniqueConstraint("inspection_id", "position"),
        UniqueConstraint("reminder_id", "inspection_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id")
    reminder_id: int = Field(foreign_key="reminder.id")
    position: int = Field(description="1-based order in the sample")
    verdict: str | None = Field(default=None, max_length=16)
    comment: str = ""
    reviewed_at: datetime | None = None
    reviewer_id: int | None = Field(default=None, foreign_key="staff.id")


# --- calendar and audit ---------------------------------------------------------------------


class CalendarOverride(SQLModel, table=True):
    """A day the office declares open or closed, over the official calendar."""

    day: date = Field(primary_key=True)
    is_workday: bool
    reason: str = ""
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime


class CalendarYear(SQLModel, table=True):
    """A year whose official holiday schedule the office loaded itself."""

    year: int = Field(primary_key=True)
    source: str = ""
    loaded_at: datetime


class OfficialDay(SQLModel, table=True):
    """A holiday or make-up workday from a State Council schedule the office loaded itself."""

    day: date = Field(primary_key=True)
    year: int = Field(index=True, description="the schedule (CalendarYear) it was loaded with")
    is_workday: bool
    name: str = Field(default="", max_length=32, description="e.g. 春节")


class AuditEvent(SQLModel, table=True):
    """An append-only record of who changed what, with before and after."""

    __table_args__ = (Index("ix_auditevent_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    actor: str = Field(default="system", max_length=64)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=32)
    entity_id: str = Field(default="", max_length=64)
    before: dict[str, Any] | None = _json()
    after: dict[str, Any] | None = _json()
    note: str = ""
