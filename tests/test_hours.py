"""Office hours on working days: parsing, membership, next opening, adding office time."""

from __future__ import annotations

from datetime import datetime

import pytest

from callqueue.calendar import WorkCalendar
from callqueue.clock import SHANGHAI
from callqueue.hours import (
    HoursError,
    OfficeHours,
    add_office_minutes,
    is_office_time,
    next_office_time,
)

HOURS = OfficeHours.parse("08:30-12:00, 13:30-17:30")
CAL = WorkCalendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_parse_and_label() -> None:
    assert HOURS.label() == "08:30–12:00、13:30–17:30"
    for bad in ("9-5", "12:00-08:00", "08:00-12:00,11:00-13:00", ""):
        with pytest.raises(HoursError):
            OfficeHours.parse(bad)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2026-11-24 08:30", True),
        ("2026-11-24 12:00", False),  # lunch
        ("2026-11-24 17:29", True),
        ("2026-11-24 17:30", False),
        ("2026-11-28 10:00", False),  # Saturday
        ("2026-10-05 10:00", False),  # National Day
        ("2026-10-10 10:00", True),  # make-up Saturday
    ],
)
def test_is_office_time(moment: str, open_: bool) -> None:
    assert is_office_time(at(moment), calendar=CAL, hours=HOURS) is open_


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-11-24 07:00", "2026-11-24 08:30"),
        ("2026-11-24 09:15", "2026-11-24 09:15"),
        ("2026-11-24 12:10", "2026-11-24 13:30"),
        ("2026-11-27 18:00", "2026-11-30 08:30"),  # Friday evening -> Monday
        ("2026-09-30 17:45", "2026-10-08 08:30"),  # into the National Day week
    ],
)
def test_next_office_time(moment: str, expected: str) -> None:
    assert next_office_time(at(moment), calendar=CAL, hours=HOURS) == at(expected)


@pytest.mark.parametrize(
    ("moment", "minutes", "expected"),
    [
        ("2026-11-24 09:00", 120, "2026-11-24 11:00"),
        ("2026-11-24 11:00", 120, "2026-11-24 14:30"),  # lunch does not count
        ("2026-11-24 16:30", 120, "2026-11-25 09:30"),
        ("2026-11-27 17:00", 60, "2026-11-30 09:00"),  # over the weekend
        ("2026-11-24 20:00", 0, "2026-11-25 08:30"),
    ],
)
def test_add_office_minutes(moment: str, minutes: int, expected: str) -> None:
    assert add_office_minutes(at(moment), minutes, calendar=CAL, hours=HOURS) == at(expected)
