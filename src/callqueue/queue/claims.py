"""Atomic claims on the phone queue, with a lease, and their release.

SQLite serialises writers, so `BEGIN IMMEDIATE` (the write session) + `UPDATE … RETURNING` is
atomic. PostgreSQL locks the holder row of the candidate with `FOR UPDATE SKIP LOCKED`, so two
desks never pick the same holder; the claiming UPDATE re-checks the row and a lost race simply
moves on to the next candidate. The order itself lives in `callqueue.queue.order`.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, bindparam, literal, select, union_all, update
from sqlmodel import Session

from callqueue.db import rowcount, table
from callqueue.models import Holder, Reminder, Staff
from callqueue.queue.order import (
    CALLABLE_STATES,
    FILTER_KINDS,
    HOLDER,
    NO_FILTER,
    QueueEntry,
    QueueFilter,
    add_row,
    callable_now,
    entry_rows,
    free_of_claims,
    new_entry,
    ordered_rows,
    queue_entries,
    queue_order,
    queue_statements,
    section_queues,
)
from callqueue.queue.staff import StaffError

__all__ = [
    "CALLABLE_STATES",
    "FILTER_KINDS",
    "NO_FILTER",
    "QueueEntry",
    "QueueFilter",
    "next_for",
    "queue_entries",
    "release",
    "release_all",
    "section_queues",
]

_ACTIVE = select(table(Staff).c.active).where(table(Staff).c.id == bindparam("p_staff_id"))


def next_for(
    session: Session,
    *,
    staff_id: int,
    section_id: int,
    now: datetime,
    lease: timedelta = timedelta(minutes=10),
    grace: timedelta = timedelta(minutes=15),
) -> QueueEntry | None:
    """Claim and return the next entry of the section's queue for `staff_id`.

    A live claim the staff member already holds is returned first (a restarted desk picks
    up where it was). Must run in a write session; it commits with the caller.

    Args:
        session: a write session (SQLite: BEGIN IMMEDIATE).
        staff_id: who claims.
        section_id: their section.
        now: the time in force.
        lease: how long the claim lasts without an outcome.
        grace: how long a due callback waits for its owner before anyone may take it.

    Returns:
        The claimed entry, or None when nothing is callable.

    Raises:
        StaffError: the staff member was deactivated (a desk still open when it happened).
    """
    conn = session.connection()
    if not conn.execute(_ACTIVE, {"p_staff_id": staff_id}).scalar():
        raise StaffError("工作人员已停用，不能再认领；请退出程序")
    postgres = conn.dialect.name == "postgresql"
    own_claim, claim = _claim_statements()
    params = {
        "p_section_id": section_id,
        "p_staff_id": staff_id,
        "p_now": now,
        "p_overdue": now - grace,
    }
    if not postgres:  # one writer at a time: one statement finds the holder to claim
        holder_id = _sqlite_candidate(conn, section_id, staff_id, now, grace, params)
        if holder_id is None:
            return None
        until = now + lease
        got = conn.execute(claim, {**params, "p_holder_id": holder_id, "p_until": until})
        ids = list(got.scalars().all())
        if ids:
            return _entry_for(session, holder_id, section_id, ids, staff_id, now)
        # Rare: a row claimed earlier stopped being callable; the general loop skips it.
    own = conn.execute(own_claim, params).scalar()
    skipped: set[int] = set()
    for _ in range(50):
        holder_id = own
        if holder_id is None:
            holder_id = _candidate(session, section_id, staff_id, now, grace, postgres, skipped)
            if holder_id is None:
                return None
        claimed = (
            conn.execute(claim, {**params, "p_holder_id": holder_id, "p_until": now + lease})
            .scalars()
            .all()
        )
        if claimed:
            return _entry_for(session, holder_id, section_id, list(claimed), staff_id, now)
        own = None  # lost a race (PostgreSQL): take the next candidate
        skipped.add(holder_id)
    return None


@functools.cache
def _claim_statements() -> tuple[Select[Any], Any]:
    """The own-live-claim query and the claiming UPDATE, built once with bind parameters."""
    r = table(Reminder)
    when = r.c.next_action_at.type
    # UPDATE reserves bind names equal to column names: the claim binds with a `p_` prefix.
    section_id, staff_id, holder_id = (
        bindparam(name, type_=Integer()) for name in ("p_section_id", "p_staff_id", "p_holder_id")
    )
    now, overdue, until = (
        bindparam(name, type_=when) for name in ("p_now", "p_overdue", "p_until")
    )
    own = (
        select(r.c.holder_id)
        .where(
            r.c.section_id == section_id,
            r.c.claimed_by_id == staff_id,
            r.c.claim_expires_at > now,
            r.c.state.in_(CALLABLE_STATES),
        )
        .limit(1)
    )
    claim = (
        update(r)
        .where(
            r.c.section_id == section_id,
            r.c.holder_id == holder_id,
            r.c.state.in_(CALLABLE_STATES),
            free_of_claims(staff_id, now),
            callable_now(staff_id, now, overdue),
        )
        .values(claimed_by_id=staff_id, claim_expires_at=until)
        .returning(r.c.id)
    )
    return own, claim


def _sqlite_candidate(
    conn: Any,
    section_id: int,
    staff_id: int,
    now: datetime,
    grace: timedelta,
    params: dict[str, Any],
) -> int | None:
    """The holder to claim on SQLite, from one statement: the first row of each stream.

    Own live claim first, then the first callback, then the earlier of the first due
    reminder and the first due retry in queue order.
    """
    rows = conn.execute(
        _first_rows(),
        {
            **params,
            "section_id": section_id,
            "staff_id": staff_id,
            "now": now,
            "overdue": now - grace,
        },
    ).all()
    firsts: dict[int, Any] = {row[0]: row for row in rows}
    for group in (0, 1):
        if group in firsts:
            return int(firsts[group][1])
    streams = [firsts[g] for g in (2, 3) if g in firsts]
    if not streams:
        return None
    return int(min(streams, key=lambda row: (row[2], row[3], row[4], row[5]))[1])


@functools.cache
def _first_rows() -> Any:
    """First row of: own live claim, callbacks, due reminders, due retries (one statement)."""
    r = table(Reminder)
    own_claim, _claim = _claim_statements()
    callbacks, due, retry = queue_statements(True, False)
    own = own_claim.with_only_columns(
        r.c.holder_id, r.c.apply_by, r.c.expires_on, r.c.attempts, r.c.id
    ).subquery()
    branches = [own] + [
        q.with_only_columns(r.c.holder_id, r.c.apply_by, r.c.expires_on, r.c.attempts, r.c.id)
        .limit(1)
        .subquery()
        for q in (callbacks, due, retry)
    ]
    return union_all(*(select(literal(n).label("grp"), *b.c) for n, b in enumerate(branches)))


def _candidate(
    session: Session,
    section_id: int,
    staff_id: int,
    now: datetime,
    grace: timedelta,
    postgres: bool,
    skipped: set[int],
) -> int | None:
    """The first free holder in queue order; on PostgreSQL one no other desk has locked."""
    h = table(Holder)
    for row in ordered_rows(session, section_id, staff_id, now, grace, free_only=True):
        holder_id = row[HOLDER]
        if holder_id in skipped:
            continue
        if not postgres:
            return int(holder_id)
        locked = session.execute(
            select(h.c.id).where(h.c.id == holder_id).with_for_update(skip_locked=True)
        ).scalar()
        if locked is not None:
            return int(locked)
        skipped.add(holder_id)
    return None


def _entry_for(
    session: Session, holder_id: int, section_id: int, ids: list[int], staff_id: int, now: datetime
) -> QueueEntry:
    rows = session.connection().execute(_claimed_rows(), {"ids": ids, "staff_id": staff_id}).all()
    entry = new_entry(rows[0], section_id)
    for row in rows:
        add_row(entry, row, now)
    return entry


@functools.cache
def _claimed_rows() -> Select[Any]:
    """The rows of the reminders just claimed, in queue order, built once."""
    r = table(Reminder)
    return (
        entry_rows()
        .where(r.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(*queue_order(bindparam("staff_id", type_=Integer())))
    )


def release_all(session: Session, *, staff_id: int) -> int:
    """Give back every claim a staff member holds (deactivation); returns how many reminders."""
    r = table(Reminder)
    return rowcount(
        session.execute(
            update(r)
            .where(r.c.claimed_by_id == staff_id)
            .values(claimed_by_id=None, claim_expires_at=None)
        )
    )


def release(session: Session, *, staff_id: int, reminder_ids: list[int]) -> int:
    """Give back a claim (skip); returns how many reminders were released."""
    r = table(Reminder)
    return rowcount(
        session.execute(
            update(r)
            .where(r.c.id.in_(reminder_ids), r.c.claimed_by_id == staff_id)
            .values(claimed_by_id=None, claim_expires_at=None)
        )
    )
