"""The office's working-day calendar as stored: overrides and loaded years, with audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, insert
from sqlmodel import Session, select

from callqueue import audit, clock
from callqueue.calendar import WorkCalendar, library_schedule
from callqueue.db import core, table
from callqueue.direct import Direct
from callqueue.holiday_file import HolidayFileError, Schedule, read_schedule
from callqueue.holiday_file import OfficialDay as ScheduleDay
from callqueue.models import CalendarOverride, CalendarYear, OfficialDay


@dataclass(frozen=True)
class Override:
    """A day the office opened or closed, and why."""

    day: date
    is_workday: bool
    reason: str


def load_calendar(session: Session) -> WorkCalendar:
    """The working-day calendar with the office's overrides and loaded years."""
    # The desk's outcome builds its rules from this in its `write_unit`, a keypress: on the
    # driver's cursor (`callqueue.direct`), as the outcome's own statements. An ORM query
    # would also begin the session's own transaction (with the unit's BEGIN: 150 → 27 µs).
    conn = core(session)
    overrides = {day: open_ for day, open_ in _OVERRIDES.rows(conn, {})}
    years = [year for (year,) in _YEARS.rows(conn, {})]
    official = {day: open_ for day, open_ in _OFFICIAL.rows(conn, {})}
    return WorkCalendar(overrides, extra_years=years, official=official)


_OVERRIDES = Direct(select(table(CalendarOverride).c.day, table(CalendarOverride).c.is_workday))
_YEARS = Direct(select(table(CalendarYear).c.year))
_OFFICIAL = Direct(select(table(OfficialDay).c.day, table(OfficialDay).c.is_workday))


@dataclass(frozen=True)
class LoadedYear:
    """A year whose official schedule the office loaded, and from what."""

    year: int
    source: str
    loaded_at: datetime
    holidays: int
    workdays: int


@dataclass(frozen=True)
class ScheduleLoad:
    """What loading a year's schedule did (or would do, in a dry run)."""

    year: int
    holidays: int
    workdays: int
    replaced: bool
    """The year had been loaded before; its old days were replaced."""
    changed_days: list[tuple[date, bool]]
    """Days whose working status differs from the calendar before the load, with the new status."""
    warnings: list[str]


def read_schedule_file(path: Path) -> Schedule:
    """Read the office's holiday schedule file (UTF-8 text, see holiday_file).

    Raises:
        HolidayFileError: the file cannot be read or is not a valid schedule; in Chinese.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise HolidayFileError([f"无法读取 {path}：{exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise HolidayFileError(
            [f"{path} 不是 UTF-8 文本文件（请用记事本或 WPS 另存为 UTF-8）"]
        ) from None
    return read_schedule(text)


def loaded_years(session: Session) -> list[LoadedYear]:
    """The years the office loaded itself, newest first, with their day counts."""
    counts: dict[tuple[int, bool], int] = {}
    for day in session.exec(select(OfficialDay)).all():  # a few dozen days a year
        key = (day.year, day.is_workday)
        counts[key] = counts.get(key, 0) + 1
    years = session.exec(select(CalendarYear).order_by(CalendarYear.year.desc())).all()  # type: ignore[attr-defined]
    return [
        LoadedYear(
            y.year,
            y.source,
            clock.local(y.loaded_at),
            counts.get((y.year, False), 0),
            counts.get((y.year, True), 0),
        )
        for y in years
    ]


def official_schedule(session: Session, *, year: int) -> Schedule | None:
    """A year's official schedule as the app knows it: loaded, else chinesecalendar's.

    Args:
        session: A session.
        year: The year.

    Returns:
        The schedule, or None when neither the office nor the library has that year.
    """
    if session.get(CalendarYear, year) is not None:
        rows = session.exec(
            select(OfficialDay).where(OfficialDay.year == year).order_by(OfficialDay.day)  # type: ignore[arg-type]
        ).all()
        return Schedule(year, [ScheduleDay(d.day, d.is_workday, d.name) for d in rows])
    days = library_schedule(year)
    return Schedule(year, [ScheduleDay(*d) for d in days]) if days else None


def load_schedule(
    session: Session,
    *,
    schedule: Schedule,
    source: str,
    actor: str,
    staff_id: int | None = None,
    now: datetime | None = None,
) -> ScheduleLoad:
    """Load (or replace) a year's official holiday schedule, audited.

    The loaded days replace chinesecalendar's for that year; office overrides still win.

    Args:
        session: A write session.
        schedule: The schedule read from the office's file.
        source: Where it came from (the file name, or the notice's number).
        actor: Who loads it.
        staff_id: Their staff id.
        now: The time in force.

    Returns:
        What changed, including each day whose working status is now different.
    """
    now = now or clock.now()
    before = load_calendar(session)
    previous = session.get(CalendarYear, schedule.year)
    previous_source = None if previous is None else previous.source
    official = table(OfficialDay)
    session.execute(delete(official).where(official.c.year == schedule.year))
    # A day another year's schedule already declared (breaks cross New Year) moves to this one.
    session.execute(delete(official).where(official.c.day.in_([d.day for d in schedule.days])))
    session.execute(
        insert(official),
        [
            {"day": d.day, "year": schedule.year, "is_workday": d.is_workday, "name": d.name}
            for d in schedule.days
        ],
    )
    if previous is None:
        session.add(CalendarYear(year=schedule.year, source=source, loaded_at=now))
    else:
        previous.source, previous.loaded_at = source, now
        session.add(previous)
    session.flush()
    after = load_calendar(session)
    first = min(date(schedule.year, 1, 1), schedule.days[0].day)
    last = max(date(schedule.year, 12, 31), schedule.days[-1].day)
    changed = [
        (day, now_open)
        for day in (first + timedelta(days=i) for i in range((last - first).days + 1))
        if (now_open := after.is_workday(day)) != before.is_workday(day)
    ]
    result = ScheduleLoad(
        year=schedule.year,
        holidays=schedule.holidays,
        workdays=schedule.workdays,
        replaced=previous is not None,
        changed_days=changed,
        warnings=list(schedule.warnings),
    )
    audit.record(
        session,
        action="calendar.load",
        entity="calendaryear",
        entity_id=schedule.year,
        before=None if previous_source is None else {"source": previous_source},
        after={
            "source": source,
            "holidays": result.holidays,
            "workdays": result.workdays,
            "changed_days": [d.isoformat() for d, _ in changed],
        },
        actor=actor,
        staff_id=staff_id,
        at=now,
        note=source,
    )
    return result


def list_overrides(session: Session, *, year: int | None = None) -> list[Override]:
    """The office's overrides in date order, optionally for one year."""
    query = select(CalendarOverride).order_by(CalendarOverride.day)  # type: ignore[arg-type]
    if year is not None:
        query = query.where(
            CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31)
        )
    return [Override(o.day, o.is_workday, o.reason) for o in session.exec(query).all()]


def set_override(
    session: Session,
    *,
    day: date,
    is_workday: bool | None,
    reason: str,
    actor: str,
    staff_id: int | None = None,
) -> None:
    """Open or close a day (`is_workday` None removes the override), audited.

    Args:
        session: the unit of work.
        day: the day.
        is_workday: True opens it, False closes it, None returns it to the official calendar.
        reason: why, e.g. 临时闭馆.
        actor: who.
        staff_id: their staff id.
    """
    current = session.get(CalendarOverride, day)
    before = (
        None if current is None else {"is_workday": current.is_workday, "reason": current.reason}
    )
    if is_workday is None:
        if current is None:
            return
        session.delete(current)
        after = None
    else:
        if current is None:
            current = CalendarOverride(
                day=day,
                is_workday=is_workday,
                reason=reason,
                staff_id=staff_id,
                created_at=clock.now(),
            )
        else:
            # Setting a day as it already is, without a reason, keeps the one given before.
            if not reason.strip() and current.is_workday == is_workday:
                reason = current.reason
            current.is_workday, current.reason = is_workday, reason
        session.add(current)
        after = {"is_workday": is_workday, "reason": reason}
    audit.record(
        session,
        action="calendar.override",
        entity="calendaroverride",
        entity_id=day.isoformat(),
        before=before,
        after=after,
        actor=actor,
        staff_id=staff_id,
        note=reason,
    )
