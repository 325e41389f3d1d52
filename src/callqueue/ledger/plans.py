"""Reminder plans of imported rows, each distinct one worked out once.

A plan depends only on the expiry date and the kind of permit (and the calendar), so a ledger
of 100,000 rows needs a few thousand. The reading process (ledger/pipeline.py) works them out
with `Planner` while the writer writes; the writer works out any it was not handed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from callqueue.calendar import WorkCalendar
from callqueue.ledger.check import ValidRow
from callqueue.queue.reminders import plan

_ITEM, _EXPIRES = ValidRow._fields.index("item"), ValidRow._fields.index("expires_on")


class Planner:
    """Works out reminder plans for rows, each distinct one once, where the rows are checked.

    `new_plans(rows)` returns the plans of `rows` it has not returned before, for
    `RowWriter.plans`: a reading process (ledger/pipeline.py) does this work while the writing
    process writes.
    """

    def __init__(self, calendar: WorkCalendar, today: date, margin_workdays: int) -> None:
        self.calendar, self.today, self.margin_workdays = calendar, today, margin_workdays
        self.done: set[tuple[date, int, int | None, str]] = set()

    def new_plans(
        self, rows: Iterable[tuple[Any, ...]]
    ) -> dict[tuple[date, int, int | None, str], tuple[Any, ...]]:
        """The plans of `rows` (ValidRow field order) not returned before."""
        out = {}
        for r in rows:
            when = plan_key(r)
            if when not in self.done:
                self.done.add(when)
                out[when] = plan_columns(when, self.calendar, self.today, self.margin_workdays)
        return out


def plan_key(r: tuple[Any, ...]) -> tuple[date, int, int | None, str]:
    """What a row's reminder plan depends on besides the calendar: expiry and kind of item."""
    item = r[_ITEM]
    return (r[_EXPIRES], item.lead_months, item.filing_deadline_days, item.deadline_kind)


def plan_columns(
    when: tuple[date, int, int | None, str],
    calendar: WorkCalendar,
    today: date,
    margin_workdays: int,
) -> tuple[Any, ...]:
    """The plan's columns of a reminder row, in _REMINDER_COLUMNS order (remind_on … close_reason)."""
    expires_on, lead_months, filing_days, deadline_kind = when
    p = plan(
        expires_on=expires_on,
        lead_months=lead_months,
        filing_days=filing_days,
        deadline_kind=deadline_kind,
        calendar=calendar,
        today=today,
        margin_workdays=margin_workdays,
    )
    d = p.dates
    return (
        d.remind_on,
        d.planned_remind_on,
        d.apply_by,
        d.window_opens_on,
        d.pulled_earlier,
        p.late,
        p.state.value,
        None,
        "",
    )
