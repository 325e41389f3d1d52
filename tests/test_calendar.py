"""Tests for the working-day calendar."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from callqueue.calendar import WorkCalendar

LIB_FIRST = min(chinese_calendar.holidays).year
LIB_LAST = max(chinese_calendar.holidays).year


@pytest.fixture()
def cal() -> WorkCalendar:
    return WorkCalendar()


def test_national_day_2026(cal: WorkCalendar) -> None:
    for day in range(1, 8):
        assert not cal.is_workday(date(2026, 10, day))
    assert cal.is_workday(date(2026, 9, 20))  # make-up Sunday
    assert cal.is_workday(date(2026, 10, 10))  # make-up Saturday
    assert cal.is_workday(date(2026, 10, 8))
    assert not cal.is_workday(date(2026, 10, 11))
    assert cal.prev_workday(date(2026, 10, 5)) == date(2026, 9, 30)
    assert cal.next_workday(date(2026, 10, 3)) == date(2026, 10, 8)
    assert cal.prev_workday(date(2026, 10, 8)) == date(2026, 10, 8)
    assert cal.prev_workday(date(2026, 10, 11)) == date(2026, 10, 10)


def test_prev_workday_lands_on_make_up_sunday(cal: WorkCalendar) -> None:
    # 2022-01-30 was a make-up Sunday right before the Spring Festival week.
    assert date(2022, 1, 30).weekday() == 6
    assert cal.prev_workday(date(2022, 2, 3)) == date(2022, 1, 30)


def test_matches_chinese_calendar_over_its_range(cal: WorkCalendar) -> None:
    day = date(LIB_FIRST, 1, 1)
    while day.year <= LIB_LAST:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)
    assert cal.uncovered_years_seen == set()


def test_covered_years_come_from_library() -> None:
    cal = WorkCalendar()
    assert cal.covered_years() == frozenset(range(LIB_FIRST, LIB_LAST + 1))
    assert cal.is_covered(2026)
    assert not cal.is_covered(LIB_LAST + 1)
    assert not cal.is_covered(LIB_FIRST - 1)


def test_overrides_win() -> None:
    cal = WorkCalendar(
        overrides={
            date(2026, 11, 23): False,  # a closed Monday
            date(2026, 11, 28): True,  # an open Saturday
            date(2026, 10, 10): False,  # closed on a make-up workday
            date(2026, 10, 2): True,  # open on a holiday
        }
    )
    assert not cal.is_workday(date(2026, 11, 23))
    assert cal.is_workday(date(2026, 11, 28))
    assert not cal.is_workday(date(2026, 10, 10))
    assert cal.is_workday(date(2026, 10, 2))
    assert cal.prev_workday(date(2026, 11, 23)) == date(2026, 11, 20)
    assert cal.prev_workday(date(2026, 10, 5)) == date(2026, 10, 2)


def test_extra_years_count_as_covered() -> None:
    cal = WorkCalendar(overrides={date(2027, 1, 1): False}, extra_years=[2027])
    assert cal.is_covered(2027)
    assert 2027 in cal.covered_years()
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 1, 4))
    assert cal.uncovered_years_seen == set()
    assert cal.coverage_warning([2026, 2027]) is None


def test_uncovered_year_falls_back_to_weekends(cal: WorkCalendar) -> None:
    assert cal.is_workday(date(2027, 1, 1))  # New Year unknown: a plain Friday
    assert not cal.is_workday(date(2027, 1, 2))
    assert cal.uncovered_years_seen == {2027}
    assert cal.coverage_warning([2026, 2027]) == (
        "2027年的法定节假日和调休安排尚未载入，按周末推算工作日，日期可能有误。"
    )
    assert cal.coverage_warning([2028, 2027, 2027]) == (
        "2027年、2028年的法定节假日和调休安排尚未载入，按周末推算工作日，日期可能有误。"
    )
    assert cal.coverage_warning([2026, 2005]) is None
    assert cal.coverage_warning([]) is None


def test_override_in_uncovered_year_is_no_guess() -> None:
    cal = WorkCalendar(overrides={date(2027, 1, 1): False})
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.uncovered_years_seen == set()


def test_add_workdays_across_holidays(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_workdays(date(2026, 10, 8), -1) == date(2026, 9, 30)
    assert cal.add_workdays(date(2026, 10, 3), 1) == date(2026, 10, 8)
    assert cal.add_workdays(date(2026, 10, 3), -1) == date(2026, 9, 30)
    assert cal.add_workdays(date(2026, 10, 9), 1) == date(2026, 10, 10)
    assert cal.add_workdays(date(2026, 11, 27), 1) == date(2026, 11, 30)
    assert cal.add_workdays(date(2026, 10, 3), 0) == date(2026, 10, 3)
    assert cal.add_workdays(date(2026, 7, 3), -10) == date(2026, 6, 18)  # over 端午


def test_workdays_between_signs(cal: WorkCalendar) -> None:
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert cal.workdays_between(date(2026, 10, 8), date(2026, 9, 30)) == -1
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert cal.workdays_between(date(2026, 10, 3), date(2026, 10, 3)) == 0
    assert cal.workdays_between(date(2026, 10, 1), date(2026, 10, 7)) == 0
    assert cal.workdays_between(date(2025, 12, 31), date(2026, 12, 31)) == 248
    assert cal.workdays_between(date(2026, 12, 31), date(2027, 1, 4)) == 2


def test_is_workday_never_raises_at_extremes(cal: WorkCalendar) -> None:
    assert cal.is_workday(date.min)
    assert cal.is_workday(date.max)
    assert {1, 9999} <= cal.uncovered_years_seen


days = st.dates(date(2003, 1, 1), date(2029, 12, 31))
overrides = st.dictionaries(days, st.booleans(), max_size=40)


@given(day=st.dates(), ovr=overrides)
def test_is_workday_total(day: date, ovr: dict[date, bool]) -> None:
    cal = WorkCalendar(overrides=ovr)
    assert cal.is_workday(day) is ovr.get(day, cal.is_workday(day))


@given(a=days, span=st.integers(-800, 800), ovr=overrides)
def test_workdays_between_matches_brute_force(a: date, span: int, ovr: dict[date, bool]) -> None:
    cal = WorkCalendar(overrides=ovr)
    b = a + timedelta(days=span)
    lo, hi = min(a, b), max(a, b)
    brute = sum(cal.is_workday(lo + timedelta(days=i)) for i in range(1, (hi - lo).days + 1))
    assert cal.workdays_between(a, b) == (brute if b >= a else -brute)
    assert cal.workdays_between(b, a) == -cal.workdays_between(a, b)


@given(d=days, n=st.integers(-60, 60), ovr=overrides)
def test_add_workdays_round_trip(d: date, n: int, ovr: dict[date, bool]) -> None:
    cal = WorkCalendar(overrides=ovr)
    moved = cal.add_workdays(d, n)
    one = timedelta(days=1)
    if n >= 0:
        assert cal.workdays_between(d, moved) == n  # counts (d, moved]
    else:
        assert cal.workdays_between(moved - one, d - one) == -n  # counts [moved, d)
    if n:
        assert cal.is_workday(moved)
        assert (moved > d) == (n > 0)


@given(d=days, ovr=overrides)
def test_prev_and_next_workday(d: date, ovr: dict[date, bool]) -> None:
    cal = WorkCalendar(overrides=ovr)
    prev, nxt = cal.prev_workday(d), cal.next_workday(d)
    assert cal.is_workday(prev) and cal.is_workday(nxt)
    assert prev <= d <= nxt
    assert cal.workdays_between(prev, d) == 0
    assert cal.workdays_between(d, nxt) == (1 if nxt > d else 0)
