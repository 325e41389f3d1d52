"""The working-day calendar as the TUI sees it: coverage, special days, loading and closures.

Screens run these in thread workers; each call is one unit of work (one session).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callqueue import db, roles, workdays
from callqueue.catalog_change.redate import Redated, redate_for_calendar
from callqueue.holiday_file import HolidayFileError
from callqueue.queue.staff import StaffRow

if TYPE_CHECKING:
    from sqlalchemy import Engine

LOAD_TASK, SET_TASK = "载入节假日安排", "调整工作日"


@dataclass(frozen=True)
class SpecialDay:
    """A day that is not an ordinary weekday/weekend: an official holiday, make-up day or override."""

    day: date
    is_workday: bool
    source: str
    """法定 (official schedule) or 办公室 (the office's own change)."""
    note: str


@dataclass(frozen=True)
class CalendarView:
    """One year of the calendar for the screen."""

    year: int
    coverage: list[str]
    """A line per year shown: this year and the next."""
    warning: str | None
    days: list[SpecialDay]


@dataclass(frozen=True)
class Loaded:
    """What loading a schedule did (or would do), including the reminders it moved."""

    schedule: workdays.ScheduleLoad
    moved: Redated


@dataclass(frozen=True)
class CalendarDesk:
    """Working-day upkeep for one staff member (changes are for supervisors and admins)."""

    engine: Engine
    staff: StaffRow | None
    today: date
    now: Callable[[], datetime]
    margin_workdays: int = 10

    def may_change(self) -> str | None:
        """None when this staff member may change the calendar, else why not (for staff)."""
        try:
            self._keeper(LOAD_TASK)
        except roles.NotAllowed as exc:
            return str(exc)
        return None

    def coverage_warning(self) -> str | None:
        """The warning when this year's or next year's official schedule is not loaded."""
        with db.session_scope(self.engine, write=False) as session:
            cal = workdays.load_calendar(session)
        return cal.coverage_warning([self.today.year, self.today.year + 1])

    def view(self, year: int) -> CalendarView:
        """The year's special days, and whether this year and the next are loaded."""
        years = (self.today.year, self.today.year + 1)
        with db.session_scope(self.engine, write=False) as session:
            cal = workdays.load_calendar(session)
            loaded = {y.year: y for y in workdays.loaded_years(session)}
            schedule = workdays.official_schedule(session, year=year)
            overrides = workdays.list_overrides(session, year=year)
        coverage = []
        for y in years:
            if y in loaded:
                coverage.append(f"{y}年：已载入（{loaded[y].source}）")
            elif cal.is_covered(y):
                coverage.append(f"{y}年：已有法定节假日和调休")
            else:
                coverage.append(f"{y}年：未载入，按周末推算")
        official = {
            d.day: SpecialDay(d.day, d.is_workday, "法定", d.name)
            for d in (schedule.days if schedule else [])
            if d.day.year == year
        }
        for o in overrides:
            official[o.day] = SpecialDay(o.day, o.is_workday, "办公室", o.reason)
        return CalendarView(
            year=year,
            coverage=coverage,
            warning=cal.coverage_warning(years),
            days=sorted(official.values(), key=lambda d: d.day),
        )

    def preview_load(self, path: Path) -> Loaded:
        """What loading the file would change, saving nothing; HolidayFileError says why not."""
        return self.load(path, dry_run=True)

    def load(self, path: Path, *, dry_run: bool = False) -> Loaded:
        """Load the file's schedule and move unworked reminders' dates, audited, in one go.

        HolidayFileError or NotAllowed say why not; with dry_run everything is rolled back.
        """
        schedule = workdays.read_schedule_file(path)
        name, staff_id = self._keeper(LOAD_TASK)
        now = self.now()
        with db.session_scope(self.engine, write=True) as session:
            result = workdays.load_schedule(
                session,
                schedule=schedule,
                source=path.name,
                actor=name,
                staff_id=staff_id,
                now=now,
            )
            moved = self._redate(session, now)
            if dry_run:
                session.rollback()
        return Loaded(result, moved)

    def _redate(self, session: Any, now: datetime) -> Redated:
        return redate_for_calendar(
            session=session, today=self.today, now=now, margin_workdays=self.margin_workdays
        )

    def set_day(self, day: date, is_workday: bool | None, reason: str) -> tuple[bool, Redated]:
        """Open, close or restore a day, audited, and move unworked reminders' dates.

        Returns:
            Whether the day is now a working day, and the reminders moved.
        """
        name, staff_id = self._keeper(SET_TASK)
        with db.session_scope(self.engine, write=True) as session:
            workdays.set_override(
                session,
                day=day,
                is_workday=is_workday,
                reason=reason,
                actor=name,
                staff_id=staff_id,
            )
            now_open = workdays.load_calendar(session).is_workday(day)
            return now_open, self._redate(session, self.now())

    def _keeper(self, task: str) -> tuple[str, int]:
        staff = self.staff
        roles.require_supervisor(
            staff.name if staff else None, staff.role if staff else None, task=task
        )
        assert staff is not None
        return staff.name, staff.id


__all__ = ["CalendarDesk", "CalendarView", "HolidayFileError", "Loaded", "SpecialDay"]
