"""Reminder dates and states for a certificate, from its catalog item and the calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from callqueue.calendar import WorkCalendar
from callqueue.dates import ReminderDates, reminder_dates
from callqueue.models import ReminderState

STATE_LABELS = {
    "scheduled": "待提醒",
    "due": "待联系",
    "retry": "待重拨",
    "callback": "约定回电",
    "informed": "已告知",
    "appointment": "已预约",
    "assisted": "帮办代办",
    "renewed": "已换证",
    "not_renewing": "不再延续",
    "unreachable": "无法联系",
    "lapsed": "已过期",
    "withdrawn": "目录事项已取消",
}
"""Reminder states as staff read them."""
BADGE_LABELS = {"callback": "回电", "retry": "重拨", "late": "补录", "follow_up": "跟进"}
"""A queue entry's badges (`QueueEntry.badges`) as staff read them, on screen and in `queue`."""


@dataclass(frozen=True, slots=True)
class Plan:
    """A new reminder's dates and its state as of today."""

    dates: ReminderDates
    state: ReminderState
    late: bool


def initial_state(*, remind_on: date, expires_on: date, today: date) -> tuple[ReminderState, bool]:
    """The state of a reminder nobody has worked yet, and whether it came in late.

    Args:
        remind_on: the effective reminder date.
        expires_on: the certificate's expiry.
        today: the date in force.

    Returns:
        `scheduled` before remind_on; `due` from then (late when remind_on had already
        passed); `lapsed` once the certificate expired.
    """
    if expires_on < today:
        return ReminderState.LAPSED, False
    if remind_on > today:
        return ReminderState.SCHEDULED, False
    return ReminderState.DUE, remind_on < today


def plan(
    *,
    expires_on: date,
    lead_months: int,
    filing_days: int | None,
    deadline_kind: str,
    calendar: WorkCalendar,
    today: date,
    margin_workdays: int,
) -> Plan:
    """Dates and first state for the reminder of a certificate expiring on `expires_on`."""
    dates = reminder_dates(
        expires_on=expires_on,
        lead_months=lead_months,
        filing_days=filing_days,
        deadline_kind=deadline_kind,
        calendar=calendar,
        margin_workdays=margin_workdays,
    )
    state, late = initial_state(remind_on=dates.remind_on, expires_on=expires_on, today=today)
    return Plan(dates=dates, state=state, late=late)
