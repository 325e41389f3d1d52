"""One reminder read and written with Core: the outcome path's working copy of a row.

Recording an outcome is the desk's most frequent write. Loading the reminder as an ORM object
and flushing it through the unit of work cost more than the statements themselves, so the
outcome rules work on this plain copy and `save` writes back only the columns they changed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import date, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import object_session
from sqlmodel import Session

from callqueue.db import table
from callqueue.direct import Direct
from callqueue.models import Reminder


@dataclass(slots=True)
class ReminderRow:
    """The columns of one `reminder` row, in table order."""

    id: int
    certificate_id: int
    holder_id: int
    section_id: int
    state: str
    channel: str
    expires_on: date
    remind_on: date
    planned_remind_on: date
    apply_by: date
    window_opens_on: date | None
    pulled_earlier: bool
    late: bool
    follow_up: bool
    follow_up_on: date | None
    attempts: int
    next_action_at: datetime | None
    callback_staff_id: int | None
    claimed_by_id: int | None
    claim_expires_at: datetime | None
    assisted: bool
    helper_staff_id: int | None
    assisted_notes: str
    assist_stage: str | None
    assist_registered_on: date | None
    assist_filed_on: date | None
    assist_changed_at: datetime | None
    needs_repair: bool
    close_reason: str
    closed_at: datetime | None
    last_reminded_on: date | None
    last_channel: str | None
    last_staff_id: int | None
    version: int
    updated_at: datetime
    reopened_at: datetime | None


COLUMNS = tuple(f.name for f in fields(ReminderRow))


@functools.cache
def _select(postgres: bool) -> Direct:
    r = table(Reminder)
    query = select(*(r.c[name] for name in COLUMNS)).where(r.c.id == bindparam("reminder_id"))
    return Direct(query.with_for_update() if postgres else query)  # SQLite: BEGIN IMMEDIATE locks


@functools.cache
def _update() -> Direct:
    r = table(Reminder)
    return Direct(update(r).where(r.c.id == bindparam("b_reminder_id")))


def load(session: Session, reminder_id: int) -> tuple[ReminderRow, ReminderRow] | None:
    """The reminder (locked on PostgreSQL) and an untouched copy to diff against, or None."""
    conn = session.connection()
    found = _select(conn.dialect.name == "postgresql").rows(conn, {"reminder_id": reminder_id})
    if not found:
        return None
    return ReminderRow(*found[0]), ReminderRow(*found[0])


def save(session: Session, row: ReminderRow, original: ReminderRow) -> None:
    """Write the columns of `row` that differ from `original`, in the session's transaction."""
    changed = {
        name: getattr(row, name)
        for name in COLUMNS
        if getattr(row, name) != getattr(original, name)
    }
    if not changed:
        return
    _update().execute(session.connection(), {"b_reminder_id": row.id, **changed})
    # An ORM copy the caller loaded earlier in this session is now stale: reload it on use.
    if not session.identity_map:  # the desk's usual case: no ORM object, nothing to look up
        return
    cached = session.identity_map.get(session.identity_key(Reminder, row.id))
    if cached is not None and object_session(cached) is session:
        session.expire(cached)
