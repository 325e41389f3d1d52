"""The office's working-day calendar as stored: overrides and loaded years, with audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from callqueue import audit, clock
from callqueue.calendar import WorkCalendar
from callqueue.models import CalendarOverride, CalendarYear


@dataclass(frozen=True)
class Override:
    """A day the office opened or closed, and why."""

    day: date
    is_workday: bool
    reason: str


def load_calendar(session: Session) -> WorkCalendar:
    """The working-day calendar with the office's overrides and loaded years."""
    overrides = {o.day: o.is_workday for o in session.exec(select(CalendarOverride)).all()}
    years = [y.year for y in session.exec(select(CalendarYear)).all()]
    return WorkCalendar(overrides, extra_years=years)


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
