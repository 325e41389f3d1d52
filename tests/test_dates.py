"""Tests for reminder and filing dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from callqueue.calendar import WorkCalendar
from callqueue.dates import DeadlineKind, ReminderDates, lead_shortfall, reminder_dates


def dates_for(
    expires_on: date,
    lead_months: int = 3,
    filing_days: int | None = 30,
    kind: DeadlineKind | str = DeadlineKind.LATEST_FILING,
    calendar: WorkCalendar | None = None,
    margin: int = 10,
) -> ReminderDates:
    return reminder_dates(
        expires_on=expires_on,
        lead_months=lead_months,
        filing_days=filing_days,
        deadline_kind=kind,
        calendar=calendar or WorkCalendar(),
        margin_workdays=margin,
    )


def test_reminder_moves_off_national_day() -> None:
    r = dates_for(date(2027, 1, 3))  # minus 3 months is 2026-10-03, a holiday
    assert r.planned_remind_on == r.remind_on == date(2026, 9, 30)
    assert r.apply_by == date(2026, 12, 4)
    assert not r.pulled_earlier
    assert r.lead_days_short == 0
    assert r.window_opens_on is None


def test_reminder_stays_on_make_up_days() -> None:
    assert dates_for(date(2026, 12, 20)).remind_on == date(2026, 9, 20)  # make-up Sunday
    assert dates_for(date(2027, 1, 10)).remind_on == date(2026, 10, 10)  # make-up Saturday


def test_month_end_clamps_then_moves_back() -> None:
    # 2027-02-28 is a Sunday (weekend fallback); 2028-02-29 is a Tuesday.
    assert dates_for(date(2027, 5, 31)).planned_remind_on == date(2027, 2, 26)
    assert dates_for(date(2028, 5, 31)).planned_remind_on == date(2028, 2, 29)
    open_sunday = WorkCalendar(overrides={date(2027, 2, 28): True})
    assert dates_for(date(2027, 5, 31), calendar=open_sunday).remind_on == date(2027, 2, 28)


def test_long_filing_period_pulls_reminder_earlier() -> None:
    cal = WorkCalendar()
    # 兽药经营许可证: remind 3 months ahead, but file at least 180 days before expiry.
    r = dates_for(date(2026, 12, 31), filing_days=180, calendar=cal)
    assert r.apply_by == date(2026, 7, 3)  # 07-04 is a Saturday
    assert r.planned_remind_on == date(2026, 9, 30)
    assert r.pulled_earlier
    assert r.remind_on == cal.add_workdays(r.apply_by, -10) == date(2026, 6, 18)
    assert r.lead_days_short == cal.workdays_between(r.remind_on, r.planned_remind_on) > 0


def test_short_filing_period_is_not_pulled() -> None:
    r = dates_for(date(2026, 12, 31), filing_days=30)
    assert not r.pulled_earlier
    assert r.remind_on == r.planned_remind_on == date(2026, 9, 30)
    assert r.apply_by == date(2026, 12, 1)


def test_window_opens_kind() -> None:
    r = dates_for(date(2026, 11, 5), kind="window_opens")
    assert r.window_opens_on == date(2026, 10, 8)  # 10-06 is a holiday: moves forward
    assert r.apply_by == date(2026, 11, 4)
    r = dates_for(date(2026, 10, 8), kind=DeadlineKind.WINDOW_OPENS)
    assert r.window_opens_on == date(2026, 9, 8)
    assert r.apply_by == date(2026, 9, 30)  # last working day before the holiday week


def test_unknown_filing_days_defaults_to_30_latest_filing() -> None:
    r = dates_for(date(2026, 12, 31), filing_days=None, kind=DeadlineKind.WINDOW_OPENS)
    assert r.filing_days_assumed
    assert r.window_opens_on is None
    assert r.apply_by == date(2026, 12, 1)
    assert not dates_for(date(2026, 12, 31)).filing_days_assumed


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError):
        dates_for(date(2026, 12, 31), kind="someday")
    with pytest.raises(ValueError):
        dates_for(date(2026, 12, 31), filing_days=-1)


@pytest.mark.parametrize(
    ("lead", "filing", "kind", "expected"),
    [
        (3, 180, DeadlineKind.LATEST_FILING, 104),
        (3, 30, DeadlineKind.LATEST_FILING, 0),
        (1, 30, DeadlineKind.LATEST_FILING, 14),
        (1, None, DeadlineKind.LATEST_FILING, 14),
        (3, 30, DeadlineKind.WINDOW_OPENS, 0),
        (0, 30, "window_opens", 14),
    ],
)
def test_lead_shortfall(lead: int, filing: int | None, kind: str, expected: int) -> None:
    assert lead_shortfall(lead_months=lead, filing_days=filing, deadline_kind=kind) == expected


@st.composite
def calendars(draw: st.DrawFn, around: date) -> WorkCalendar:
    offsets = draw(st.dictionaries(st.integers(-400, 5), st.booleans(), max_size=40))
    return WorkCalendar(overrides={around + timedelta(days=o): v for o, v in offsets.items()})


@settings(max_examples=300)
@given(
    data=st.data(),
    expires_on=st.dates(date(2005, 1, 1), date(2035, 12, 31)),
    lead=st.integers(1, 6),
    filing=st.sampled_from([None, 30, 60, 90, 180]),
    kind=st.sampled_from(list(DeadlineKind)),
    margin=st.integers(0, 15),
)
def test_invariants(
    data: st.DataObject,
    expires_on: date,
    lead: int,
    filing: int | None,
    kind: DeadlineKind,
    margin: int,
) -> None:
    cal = data.draw(calendars(expires_on))
    r = dates_for(expires_on, lead, filing, kind, cal, margin)
    assert cal.is_workday(r.remind_on) and cal.is_workday(r.planned_remind_on)
    assert cal.is_workday(r.apply_by)
    assert r.remind_on <= r.apply_by <= expires_on
    assert r.remind_on <= r.planned_remind_on <= expires_on - relativedelta(months=lead)
    assert r.pulled_earlier == (r.remind_on < r.planned_remind_on)
    assert (r.lead_days_short > 0) == r.pulled_earlier
    if r.pulled_earlier:
        assert r.remind_on == cal.add_workdays(r.apply_by, -margin)
    if kind is DeadlineKind.WINDOW_OPENS and filing is not None:
        assert r.apply_by < expires_on
        assert r.window_opens_on is not None and cal.is_workday(r.window_opens_on)
    else:
        assert r.window_opens_on is None
