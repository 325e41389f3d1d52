"""Atomic claims on the phone queue, with a lease, and their release.

SQLite serialises writers, so `BEGIN IMMEDIATE` (the write session) + `UPDATE … RETURNING` is
atomic. PostgreSQL locks the holder row of the candidate with `FOR UPDATE SKIP LOCKED`, so two
desks never pick the same holder; the claiming UPDATE re-checks the row and a lost race simply
moves on to the next candidate. The order itself lives in `callqueue.queue.order`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    case,
    exists,
    literal,
    literal_column,
    select,
    union_all,
    update,
)
from sqlmodel import Session

from callqueue.db import core, rowcount, table
from callqueue.direct import Direct
from callqueue.models import CatalogItem, Certificate, Holder, Reminder, ReminderState, Staff
from callqueue.queue.order import (
    APPLY_BY,
    ATTEMPTS,
    CALLABLE_STATES,
    EXPIRES_ON,
    FILTER_KINDS,
    HOLDER,
    ID,
    NEXT_ACTION,
    NO_FILTER,
    STATE,
    QueueEntry,
    QueueFilter,
    add_row,
    callable_now,
    complete_entries,
    free_of_claims,
    holder_callable,
    new_entry,
    ordered_rows,
    queue_entries,
    queue_statements,
    section_queues,
)
from callqueue.queue.staff import StaffError

CALLBACK_STAFF = 14
"""Position of the callback's owner in a claim's RETURNING row (after `entry_rows()`'s)."""

__all__ = [
    "CALLABLE_STATES",
    "FILTER_KINDS",
    "NO_FILTER",
    "QueueEntry",
    "QueueFilter",
    "complete_entries",
    "next_for",
    "queue_entries",
    "release",
    "renew",
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
    postgres = conn.dialect.name == "postgresql"
    own_claim, claim, _ = _claim_statements()
    params = {
        "p_section_id": section_id,
        "p_staff_id": staff_id,
        "p_now": now,
        "p_overdue": now - grace,
        "p_until": now + lease,
    }
    if not postgres:  # one writer at a time: one UPDATE finds the holder, claims and returns
        rows = _claim_first().rows(conn, params)
        if rows:
            return _entry(rows, section_id, staff_id, now)
        # Nothing callable; or the staff member was deactivated; or, rarely, the first
        # candidate (an own claim) stopped being callable: the general loop passes it over.
    if not conn.execute(_ACTIVE, {"p_staff_id": staff_id}).scalar():
        raise StaffError("工作人员已停用，不能再认领；请退出程序")
    own = conn.execute(own_claim, params).scalar()
    skipped: set[int] = set()
    for _ in range(50):
        holder_id = own
        if holder_id is not None and postgres and _lock_holder(session, holder_id) is None:
            # Another desk is claiming the holder right now: its clock saw this desk's lease
            # run out. Without the lock both claims would commit (their NOT EXISTS tests
            # read snapshots that cannot see each other's uncommitted claim).
            skipped.add(holder_id)
            holder_id = None
        if holder_id is None:
            holder_id = _candidate(session, section_id, staff_id, now, grace, postgres, skipped)
            if holder_id is None:
                return None
        claimed = conn.execute(claim, {**params, "p_holder_id": holder_id}).all()
        if claimed:
            return _entry(claimed, section_id, staff_id, now)
        own = None  # lost a race (PostgreSQL): take the next candidate
        skipped.add(holder_id)
    return None


@functools.cache
def _claim_statements() -> tuple[Select[Any], Any, Any]:
    """The own-live-claim query and the claiming UPDATEs, built once with bind parameters.

    `claim` claims one given holder's callable reminders; `claim_first` (SQLite) picks the
    holder itself in a subquery (own live claim, then the first callback, then the earlier
    of the first due reminder and the first due retry), so a claim is one statement. Both
    return the claimed rows with the columns of `entry_rows()`, names included, so the
    desk's screen needs no second read.
    """
    r = table(Reminder)
    when = r.c.next_action_at.type
    # UPDATE reserves bind names equal to column names: the claim binds with a `p_` prefix.
    section_id, staff_id, holder_id = (
        bindparam(name, type_=Integer()) for name in ("p_section_id", "p_staff_id", "p_holder_id")
    )
    now, overdue, until = (
        bindparam(name, type_=when) for name in ("p_now", "p_overdue", "p_until")
    )
    # Literal members, not an expanding IN: that would be re-rendered on every execution.
    callable_state = r.c.state.in_([literal(s) for s in CALLABLE_STATES])
    # What makes a reminder claimable, the holder's do-not-call and other desks' claims last
    # (subqueries, run only on rows that pass the rest). The own live claim passes the same
    # test: a holder marked do-not-call, or a reminder moved to email or flagged for repair,
    # while the desk held it is not handed back.
    claimable_now = (
        callable_state,
        callable_now(staff_id, now, overdue),
        holder_callable(),
        free_of_claims(staff_id, now),
    )
    own = (
        select(r.c.holder_id)
        .where(
            r.c.section_id == section_id,
            r.c.claimed_by_id == staff_id,
            r.c.claim_expires_at > now,
            *claimable_now,
        )
        .limit(1)
    )
    claimable = (
        update(r)
        .where(r.c.section_id == section_id, *claimable_now)
        .values(claimed_by_id=staff_id, claim_expires_at=until)
        .returning(*_entry_columns())
    )
    claim = claimable.where(r.c.holder_id == holder_id)
    # Only active staff claim: checked inside the one statement, so the hot path stays one.
    staff = table(Staff)
    active = exists().where(staff.c.id == staff_id, staff.c.active.is_(True))
    claim_first = claimable.where(r.c.holder_id == _first_holder(own), active)
    return own, claim, claim_first


@functools.cache
def _claim_first() -> Direct:
    """SQLite's one-statement claim, run on the driver's cursor (the desk's hot path)."""
    return Direct(_claim_statements()[2])


def _first_holder(own: Select[Any]) -> Any:
    """The holder to claim on SQLite, as a scalar subquery over the first row of each stream."""
    r = table(Reminder)
    callbacks, due, retry = queue_statements(True, False, prefix="p_")
    columns = (r.c.holder_id, r.c.apply_by, r.c.expires_on, r.c.attempts, r.c.id)
    branches = [own.with_only_columns(*columns).subquery()] + [
        q.with_only_columns(*columns).limit(1).subquery() for q in (callbacks, due, retry)
    ]
    firsts = union_all(
        *(select(literal(n).label("grp"), *b.c) for n, b in enumerate(branches))
    ).subquery()
    return (
        select(firsts.c.holder_id)
        .order_by(
            # Own claim, then callbacks; due reminders and retries merge in queue order.
            case((firsts.c.grp < 2, firsts.c.grp), else_=2),
            firsts.c.apply_by,
            firsts.c.expires_on,
            firsts.c.attempts,
            firsts.c.id,
        )
        .limit(1)
        .scalar_subquery()
    )


def _entry_columns() -> list[Any]:
    """The columns of `entry_rows()` for RETURNING, plus the callback's owner (for the order).

    SQLAlchemy renders SQLite's RETURNING without table names, so each name is a subquery over
    one table (its unqualified columns are that table's) whose reference to the reminder row is
    written out in full.
    """
    r, h, c, i = table(Reminder), table(Holder), table(Certificate), table(CatalogItem)
    holder_id, certificate_id = (
        literal_column(f"{r.name}.{name}", Integer()) for name in ("holder_id", "certificate_id")
    )
    item = select(c.c.catalog_item_id).where(c.c.id == certificate_id).scalar_subquery()
    return [
        r.c.id,
        r.c.holder_id,
        select(h.c.name).where(h.c.id == holder_id).scalar_subquery(),
        r.c.state,
        r.c.apply_by,
        r.c.expires_on,
        r.c.attempts,
        r.c.next_action_at,
        r.c.late,
        r.c.follow_up,
        r.c.claimed_by_id,
        r.c.claim_expires_at,
        item,
        select(i.c.certificate_name).where(i.c.id == item).scalar_subquery(),
        r.c.callback_staff_id,
    ]


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
    for row in ordered_rows(session, section_id, staff_id, now, grace, free_only=True):
        holder_id = row[HOLDER]
        if holder_id in skipped:
            continue
        if not postgres:
            return int(holder_id)
        locked = _lock_holder(session, holder_id)
        if locked is not None:
            return locked
        skipped.add(holder_id)
    return None


def _lock_holder(session: Session, holder_id: int) -> int | None:
    """PostgreSQL: lock the holder's row for this transaction, or None if another desk has."""
    h = table(Holder)
    locked = (
        core(session)
        # NO KEY UPDATE: a row inserted meanwhile that refers to the holder (a contact) takes
        # KEY SHARE, which FOR UPDATE would count as a desk's lock and pass the holder over.
        .execute(
            select(h.c.id)
            .where(h.c.id == holder_id)
            .with_for_update(skip_locked=True, key_share=True)
        )
        .scalar()
    )
    return None if locked is None else int(locked)


def _entry(rows: Sequence[Any], section_id: int, staff_id: int, now: datetime) -> QueueEntry:
    """The entry of the rows just claimed (RETURNING has no order: sort as `queue_order`)."""

    def order(row: Any) -> tuple[Any, ...]:
        callback = row[STATE] == ReminderState.CALLBACK.value
        first = (0 if row[CALLBACK_STAFF] == staff_id else 1) if callback else 2
        when = (row[NEXT_ACTION],) if callback else ()
        return (first, when, row[APPLY_BY], row[EXPIRES_ON], row[ATTEMPTS], row[ID])

    ordered = sorted(rows, key=order)
    entry = new_entry(ordered[0], section_id)
    for row in ordered:
        add_row(entry, row, now)
    return entry


def release_all(session: Session, *, staff_id: int) -> int:
    """Give back every claim a staff member holds (deactivation); returns how many reminders."""
    r = table(Reminder)
    return rowcount(
        core(session).execute(
            update(r)
            .where(r.c.claimed_by_id == staff_id)
            .values(claimed_by_id=None, claim_expires_at=None)
        )
    )


def renew(session: Session, *, staff_id: int, reminder_ids: list[int], until: datetime) -> int:
    """Lengthen a claim this staff member still holds to `until` (a long call); returns how
    many reminders are still theirs: fewer means another desk took the holder once the lease
    ran out, and the outcome will be refused."""
    return _own_claim(session, staff_id, reminder_ids, claim_expires_at=until)


def release(session: Session, *, staff_id: int, reminder_ids: list[int]) -> int:
    """Give back a claim (skip); returns how many reminders were released."""
    return _own_claim(session, staff_id, reminder_ids, claimed_by_id=None, claim_expires_at=None)


def _own_claim(session: Session, staff_id: int, reminder_ids: list[int], **values: Any) -> int:
    """Set `values` on those of `reminder_ids` this staff member holds; returns how many."""
    r = table(Reminder)
    return rowcount(
        core(session).execute(
            update(r)
            .where(r.c.id.in_(reminder_ids), r.c.claimed_by_id == staff_id)
            .values(**values)
        )
    )
