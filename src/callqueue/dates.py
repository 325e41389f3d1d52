"""Reminder and renewal-filing dates for one certificate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from callqueue.calendar import WorkCalendar

# 行政许可法 第五十条: renew no later than 30 days before expiry unless a law says otherwise.
DEFAULT_FILING_DAYS = 30


class DeadlineKind(StrEnum):
    """How the law states the renewal filing deadline."""

    LATEST_FILING = "latest_filing"
    WINDOW_OPENS = "window_opens"


@dataclass(frozen=True, slots=True)
class ReminderDates:
    """The dates one certificate's reminder is worked by."""

    remind_on: date  # effective due date (after pulling earlier)
    planned_remind_on: date  # from the catalog lead time alone (previous working day)
    apply_by: date  # last day to file for renewal (申请换证时限)
    window_opens_on: date | None  # first working day of the filing window (window kind only)
    pulled_earlier: bool
    lead_days_short: int  # working days the plan is late for apply_by - margin (0 when fine)
    filing_days_assumed: bool = False  # filing days unknown: the statutory 30 was used


_KINDS: dict[str, DeadlineKind] = {kind.value: kind for kind in DeadlineKind}


@lru_cache(maxsize=1 << 16)
def _months_before(day: date, months: int) -> date:
    """Return day minus whole months, clamped to the month end (cached: relativedelta is slow)."""
    result: date = day - relativedelta(months=months)
    return result


def _resolve(
    filing_days: int | None, deadline_kind: DeadlineKind | str
) -> tuple[DeadlineKind, int]:
    """Return the effective kind and filing days, defaulting unknown days to the statutory 30."""
    # A dict lookup: calling the enum costs a microsecond, and an import plans 100,000 reminders.
    kind = _KINDS.get(deadline_kind) or DeadlineKind(deadline_kind)
    if filing_days is None:
        return DeadlineKind.LATEST_FILING, DEFAULT_FILING_DAYS
    if filing_days < 0:
        raise ValueError(f"filing_days must be >= 0, got {filing_days}")
    return kind, filing_days


def reminder_dates(
    *,
    expires_on: date,
    lead_months: int,
    filing_days: int | None,
    deadline_kind: DeadlineKind | str,
    calendar: WorkCalendar,
    margin_workdays: int = 10,
) -> ReminderDates:
    """Work out when to remind a holder and by when they must file for renewal.

    Args:
        expires_on: The certificate's expiry date.
        lead_months: The catalog's lead time in months before expiry.
        filing_days: The legal filing period in days, or None when unknown (treated as 30 days
            latest-filing and flagged in ``filing_days_assumed``).
        deadline_kind: ``latest_filing`` or ``window_opens``.
        calendar: The working-day calendar.
        margin_workdays: Working days the holder needs between the reminder and ``apply_by``.

    Returns:
        The planned and effective reminder dates, the filing deadline and the window opening.
    """
    if lead_months < 0 or margin_workdays < 0:
        raise ValueError("lead_months and margin_workdays must be >= 0")
    kind, days = _resolve(filing_days, deadline_kind)
    planned = calendar.prev_workday(_months_before(expires_on, lead_months))
    window_opens_on: date | None = None
    if kind is DeadlineKind.WINDOW_OPENS:
        window_opens_on = calendar.next_workday(expires_on - timedelta(days=days))
        apply_by = calendar.prev_workday(expires_on - timedelta(days=1))
    else:
        apply_by = calendar.prev_workday(expires_on - timedelta(days=days))
    latest_useful = calendar.add_workdays(apply_by, -margin_workdays)
    pulled = planned > latest_useful
    return ReminderDates(
        remind_on=latest_useful if pulled else planned,
        planned_remind_on=planned,
        apply_by=apply_by,
        window_opens_on=window_opens_on,
        pulled_earlier=pulled,
        lead_days_short=calendar.workdays_between(latest_useful, planned) if pulled else 0,
        filing_days_assumed=filing_days is None,
    )


def lead_shortfall(
    *,
    lead_months: int,
    filing_days: int | None,
    deadline_kind: DeadlineKind | str,
    margin_workdays: int = 10,
) -> int:
    """Estimate in calendar days how far a catalog lead time falls short, without a calendar.

    The approximation counts a month as 30 days and the margin as ``margin_workdays * 7 // 5``
    calendar days (10 working days ~ 14 days); holidays are ignored, so the catalog check may be
    off by a few days where ``reminder_dates`` is exact.

    Args:
        lead_months: The catalog's lead time in months.
        filing_days: The legal filing period in days, or None for the statutory 30 days.
        deadline_kind: ``latest_filing`` (needs filing_days + margin before expiry) or
            ``window_opens`` (the holder can file until expiry, so only the margin is needed).
        margin_workdays: Working days the holder needs before the deadline.

    Returns:
        The shortfall in calendar days, 0 when the lead time is long enough.
    """
    kind, days = _resolve(filing_days, deadline_kind)
    needed = margin_workdays * 7 // 5
    if kind is DeadlineKind.LATEST_FILING:
        needed += days
    return max(0, needed - lead_months * 30)
