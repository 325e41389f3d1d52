"""The words of outcomes and what recording one takes: the rules in force and the staff's input.

Light on purpose: screens and reports import the labels without the recording rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session

from callqueue import workdays
from callqueue.calendar import WorkCalendar
from callqueue.config import Settings
from callqueue.hours import OfficeHours
from callqueue.models import Channel, Outcome

CONVEYABLE = ("expiry", "apply_by", "place", "phone", "materials")
"""一次性告知 items: expiry date, apply-by date, place, service phone, materials list."""
OUTCOME_LABELS = {
    Outcome.INFORMED: "已告知",
    Outcome.APPOINTMENT: "已预约",
    Outcome.ASSISTED: "帮办代办",
    Outcome.NO_ANSWER: "无人接听",
    Outcome.CALLBACK: "约定回电",
    Outcome.WRONG_NUMBER: "号码有误",
    Outcome.RENEWED: "已换证",
    Outcome.NOT_RENEWING: "不再延续",
}
CHANNEL_LABELS = {Channel.PHONE.value: "电话", Channel.EMAIL.value: "电子邮件"}
"""How an attempt reached the holder, in words."""
EMAIL_OUTCOME_LABELS = {
    "email_sent": "邮件已发送",
    "bounced": "邮件被退回",
    "email_failed": "邮件发送失败",
}
"""Outcomes only an email attempt has (a sent reminder email is recorded as `informed`)."""


def outcome_label(value: str) -> str:
    """A stored outcome's Chinese label (the stored value if it is none of the known ones)."""
    try:
        return OUTCOME_LABELS[Outcome(value)]
    except ValueError:
        return EMAIL_OUTCOME_LABELS.get(value, value)


class OutcomeRefused(ValueError):
    """An outcome that cannot be recorded; nothing was changed. The message is for staff."""


@dataclass(frozen=True)
class Policy:
    """The office's rules and clock for recording outcomes."""

    calendar: WorkCalendar
    hours: OfficeHours
    today: date
    now: datetime
    retry_delay_minutes: int = 120
    max_attempts: int = 3
    follow_up_workdays: int = 3
    margin_workdays: int = 10


def policy_for(session: Session, *, settings: Settings, today: date, now: datetime) -> Policy:
    """The office's rules from its settings and stored calendar.

    Raises:
        HoursError: the office-hours setting cannot be read.
    """
    return Policy(
        calendar=workdays.load_calendar(session),
        hours=OfficeHours.parse(settings.office_hours),
        today=today,
        now=now,
        retry_delay_minutes=settings.retry_delay_minutes,
        max_attempts=settings.max_attempts,
        follow_up_workdays=settings.follow_up_workdays,
        margin_workdays=settings.margin_workdays,
    )


@dataclass
class OutcomeResult:
    """What recording did."""

    reminder_id: int
    attempt_id: int
    outcome: str
    state: str
    message: str
    appointment_id: int | None = None
    new_certificate_id: int | None = None
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class OutcomeInput:
    """What staff entered for an outcome beyond the key itself."""

    note: str = ""
    conveyed: tuple[str, ...] = ()
    materials_ticked: tuple[str, ...] = ()
    phone_id: int | None = None
    callback_at: datetime | None = None
    slot_at: datetime | None = None
    helper_staff_id: int | None = None
    assisted_notes: str = ""
    new_issued_on: date | None = None
    new_expires_on: date | None = None
    reason: str = ""
