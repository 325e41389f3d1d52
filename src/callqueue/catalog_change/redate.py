"""Work the unworked reminders' dates out again after the working-day calendar changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from callqueue.catalog_change.plans import DATE_FIELDS
from callqueue.catalog_change.recompute import recompute, write_dates
from callqueue.db import table
from callqueue.models import CatalogItem
from callqueue.workdays import load_calendar


@dataclass(frozen=True)
class Redated:
    """How many unworked reminders a calendar change moved."""

    reminders: int
    remind_on_changed: int
    apply_by_changed: int
    becoming_due: int


def redate_for_calendar(
    *, session: Session, today: date, now: datetime, margin_workdays: int
) -> Redated:
    """Recompute every unworked reminder's dates under the calendar as it now stands.

    Called in the same transaction as a loaded holiday schedule, an office closure or a loaded
    catalog file, so the dates staff will tell holders follow the new working days and rules. The catalog change rule applies:
    reminders someone has worked keep their dates (the holder was told them); closed reminders
    are never touched.

    Args:
        session: A write session, after the calendar change.
        today: The date in force.
        now: The time in force.
        margin_workdays: The office margin before apply_by (DESIGN.md §4).

    Returns:
        The counts of moved reminders.
    """
    calendar = load_calendar(session)
    c = table(CatalogItem)
    items = session.execute(select(c.c.id, *(c.c[f] for f in DATE_FIELDS))).all()
    moved = remind_on = apply_by = due = 0
    for item in items:
        work = recompute(
            session,
            item_id=item.id,
            rule={f: getattr(item, f) for f in DATE_FIELDS},
            as_of=today,
            now=now,
            calendar=calendar,
            margin_workdays=margin_workdays,
        )
        if work.params:
            moved += write_dates(session, work, now)
            remind_on += work.remind_on_changed
            apply_by += work.apply_by_changed
            due += work.becoming_due
    return Redated(moved, remind_on, apply_by, due)
