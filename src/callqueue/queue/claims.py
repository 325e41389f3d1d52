"""The phone queue: its order, one entry per holder, and atomic claims with a lease.

Order (DESIGN.md §5): callbacks whose time has come (the caller's own first, anyone's once
overdue) → due reminders and retries whose time has come, by apply_by, expires_on, fewest
attempts. A holder with several callable reminders in one section is one entry.

Claims: SQLite serialises writers, so `BEGIN IMMEDIATE` (the write session) + `UPDATE …
RETURNING` is atomic. PostgreSQL locks the holder row of the candidate with `FOR UPDATE SKIP
LOCKED`, so two desks never pick the same holder; the claiming UPDATE re-checks the row and a
lost race simply moves on to the next candidate.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, case, or_, select, update
from sqlmodel import Session

from callqueue.audit import jsonable
from callqueue.db import rowcount, table
from callqueue.models import CatalogItem, Certificate, Channel, Holder, Reminder, ReminderState

CALLABLE_STATES = (ReminderState.DUE.value, ReminderState.RETRY.value, ReminderState.CALLBACK.value)


@dataclass
class QueueEntry:
    """One holder to call, with the reminders this call is about."""

    holder_id: int
    holder: str
    section_id: int
    reminders: list[int] = field(default_factory=list)
    certificates: list[str] = field(default_factory=list)
    apply_by: date | None = None
    expires_on: date | None = None
    attempts: int = 0
    state: str = ReminderState.DUE.value
    callback_at: datetime | None = None
    badges: list[str] = field(default_factory=list)
    claimed_by_id: int | None = None
    claim_expires_at: datetime | None = None
    certificates_items: list[int] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The object of `callqueue queue --json` / `call next --json`."""
        data = {k: v for k, v in self.__dict__.items() if k != "certificates_items"}
        return dict(jsonable(data))


FILTER_KINDS = {
    "": "全部",
    "due": "待联系",
    "retry": "重拨",
    "callback": "回电",
    "follow_up": "跟进",
    "late": "补录",
}
"""What the list can be narrowed to; the keys are states or reminder flags."""


@dataclass(frozen=True)
class QueueFilter:
    """Narrows a page of the queue (never the order, never what `next_for` claims)."""

    kind: str = ""
    """A key of FILTER_KINDS: one state, or a flag (follow_up, late); "" for all."""
    catalog_item_id: int | None = None
    """Only this certificate kind."""
    apply_by_until: date | None = None
    """Only reminders to be filed by this day (days left to apply-by)."""

    def __post_init__(self) -> None:
        if self.kind not in FILTER_KINDS:
            raise ValueError(f"unknown filter kind {self.kind!r}")

    @property
    def active(self) -> bool:
        """Whether it narrows anything."""
        return bool(self.kind or self.catalog_item_id or self.apply_by_until)


NO_FILTER = QueueFilter()


def _callable(staff_id: Any, now: Any, overdue: Any) -> ColumnElement[bool]:
    """Reminders that may be called `now` by `staff_id` (claims and the holder aside).

    Arguments are values or bind parameters; `overdue` is `now` minus the callback grace.
    """
    r = table(Reminder)
    return and_(
        r.c.channel == Channel.PHONE.value,
        r.c.needs_repair.is_(False),
        or_(
            r.c.state == ReminderState.DUE.value,
            and_(r.c.state == ReminderState.RETRY.value, r.c.next_action_at <= now),
            and_(
                r.c.state == ReminderState.CALLBACK.value,
                r.c.next_action_at <= now,
                or_(r.c.callback_staff_id == staff_id, r.c.next_action_at <= overdue),
            ),
        ),
    )


def _callable_holder() -> ColumnElement[bool]:
    """Holders who may be phoned at all."""
    return table(Holder).c.do_not_call.is_(False)


def _free(staff_id: Any, now: Any) -> ColumnElement[bool]:
    r = table(Reminder)
    return or_(
        r.c.claimed_by_id.is_(None), r.c.claim_expires_at <= now, r.c.claimed_by_id == staff_id
    )


def _order(staff_id: Any) -> list[Any]:
    r = table(Reminder)
    is_callback = r.c.state == ReminderState.CALLBACK.value
    return [
        case((and_(is_callback, r.c.callback_staff_id == staff_id), 0), (is_callback, 1), else_=2),
        case((is_callback, r.c.next_action_at), else_=None),
        r.c.apply_by,
        r.c.expires_on,
        r.c.attempts,
        r.c.holder_id,
        r.c.id,
    ]


def queue_entries(
    session: Session,
    *,
    section_id: int,
    staff_id: int,
    now: datetime,
    grace: timedelta = timedelta(minutes=15),
    limit: int = 200,
    offset: int = 0,
    include_claimed: bool = True,
    only: QueueFilter = NO_FILTER,
) -> list[QueueEntry]:
    """A page of the queue in order, without claiming anything.

    Args:
        session: a read session.
        section_id: whose queue.
        staff_id: who is looking (their own callbacks come first).
        now: the time in force.
        grace: how long a callback stays with its owner once due.
        limit: entries per page.
        offset: entries to skip.
        include_claimed: also entries other desks hold right now.
        only: narrows the page (state, certificate kind, apply-by).

    Returns:
        Up to `limit` entries.
    """
    wanted = offset + limit
    entries: dict[int, QueueEntry] = {}
    rows = _ordered_rows(
        session, section_id, staff_id, now, grace, free_only=not include_claimed, only=only
    )
    for row in rows:
        entry = entries.get(row.holder_id)
        if entry is None:
            if len(entries) == wanted:
                break
            entry = entries[row.holder_id] = QueueEntry(
                holder_id=row.holder_id,
                holder=row.name,
                section_id=section_id,
                apply_by=row.apply_by,
                expires_on=row.expires_on,
                state=row.state,
                callback_at=row.next_action_at if row.state == "callback" else None,
            )
        _add(entry, row, now)
    page = list(entries.values())[offset:]
    _name_certificates(session, page)
    return page


def _ordered_rows(
    session: Session,
    section_id: int,
    staff_id: int,
    now: datetime,
    grace: timedelta,
    *,
    free_only: bool,
    only: QueueFilter = NO_FILTER,
) -> Iterator[Any]:
    """Callable reminders of a section in queue order, read lazily.

    Callbacks first (few); then due reminders and due retries, each read in the order of
    ix_reminder_queue and merged here, so no query sorts the whole backlog. A filter on one
    state skips the other streams rather than asking the database for a contradiction.
    """
    params = {"section_id": section_id, "staff_id": staff_id, "now": now, "overdue": now - grace}
    callbacks, due, retry = _statements(free_only, only)
    kind = only.kind
    if kind in ("", "callback", "follow_up", "late"):
        yield from session.execute(callbacks, params)
    wanted = [
        s for s, k in ((due, "due"), (retry, "retry")) if kind in ("", k, "follow_up", "late")
    ]
    streams = [session.execute(statement, params) for statement in wanted]
    yield from heapq.merge(
        *streams,
        key=lambda row: (row.apply_by, row.expires_on, row.attempts, row.holder_id, row.id),
    )


@functools.lru_cache(maxsize=64)
def _statements(
    free_only: bool, only: QueueFilter = NO_FILTER
) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """The callback, due and retry queries, built once per filter with bind parameters."""
    r = table(Reminder)
    when = r.c.next_action_at.type  # aware datetimes stored as UTC: bind with the column's type
    section_id, staff_id = (
        bindparam("section_id", type_=Integer()),
        bindparam("staff_id", type_=Integer()),
    )
    now, overdue = bindparam("now", type_=when), bindparam("overdue", type_=when)
    conditions = [
        r.c.section_id == section_id,
        _callable(staff_id, now, overdue),
        _callable_holder(),
    ]
    if free_only:
        conditions.append(_free(staff_id, now))
    conditions.extend(_narrowed(only))
    callbacks = (
        _entry_rows()
        .where(r.c.state == ReminderState.CALLBACK.value, *conditions)
        .order_by(*_order(staff_id))
    )
    due, retry = (
        _entry_rows()
        .where(r.c.state == state, *conditions)
        .order_by(r.c.apply_by, r.c.expires_on, r.c.attempts, r.c.holder_id, r.c.id)
        .execution_options(yield_per=100)
        for state in (ReminderState.DUE.value, ReminderState.RETRY.value)
    )
    return callbacks, due, retry


def _narrowed(only: QueueFilter) -> list[ColumnElement[bool]]:
    """The filter's conditions beyond the choice of stream."""
    r, c = table(Reminder), table(Certificate)
    found: list[ColumnElement[bool]] = []
    if only.kind == "follow_up":
        found.append(r.c.follow_up.is_(True))
    elif only.kind == "late":
        found.append(r.c.late.is_(True))
    if only.catalog_item_id is not None:
        found.append(c.c.catalog_item_id == only.catalog_item_id)
    if only.apply_by_until is not None:
        found.append(r.c.apply_by <= only.apply_by_until)
    return found


def _entry_rows() -> Select[Any]:
    """The columns an entry is built from: reminder, its holder, its certificate's permit."""
    r, h, c = table(Reminder), table(Holder), table(Certificate)
    return (
        select(
            r.c.id,
            r.c.holder_id,
            h.c.name,
            r.c.state,
            r.c.apply_by,
            r.c.expires_on,
            r.c.attempts,
            r.c.next_action_at,
            r.c.late,
            r.c.follow_up,
            r.c.claimed_by_id,
            r.c.claim_expires_at,
            c.c.catalog_item_id,
        )
        .join(h, h.c.id == r.c.holder_id)
        .join(c, c.c.id == r.c.certificate_id)
    )


def _add(entry: QueueEntry, row: Any, now: datetime) -> None:
    entry.reminders.append(row.id)
    entry.certificates_items.append(row.catalog_item_id)
    entry.attempts = max(entry.attempts, row.attempts)
    if row.claimed_by_id is not None and row.claim_expires_at and row.claim_expires_at > now:
        entry.claimed_by_id, entry.claim_expires_at = row.claimed_by_id, row.claim_expires_at
    for badge, on in (
        ("callback", row.state == "callback"),
        ("retry", row.state == "retry"),
        ("late", row.late),
        ("follow_up", row.follow_up),
    ):
        if on and badge not in entry.badges:
            entry.badges.append(badge)


def _name_certificates(session: Session, entries: list[QueueEntry]) -> None:
    """Fill in the certificate names from the (small) catalog."""
    i = table(CatalogItem)
    names = {iid: name for iid, name in session.execute(select(i.c.id, i.c.certificate_name))}
    for e in entries:
        e.certificates = [names[iid] for iid in e.certificates_items]


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
    """
    r = table(Reminder)
    postgres = session.get_bind().dialect.name == "postgresql"
    own = session.execute(
        select(r.c.holder_id)
        .where(
            r.c.section_id == section_id,
            r.c.claimed_by_id == staff_id,
            r.c.claim_expires_at > now,
            r.c.state.in_(CALLABLE_STATES),
        )
        .limit(1)
    ).scalar()
    skipped: set[int] = set()
    for _ in range(50):
        holder_id = own
        if holder_id is None:
            holder_id = _candidate(session, section_id, staff_id, now, grace, postgres, skipped)
            if holder_id is None:
                return None
        claimed = (
            session.execute(
                update(r)
                .where(
                    r.c.section_id == section_id,
                    r.c.holder_id == holder_id,
                    r.c.state.in_(CALLABLE_STATES),
                    _free(staff_id, now),
                    _callable(staff_id, now, now - grace),
                )
                .values(claimed_by_id=staff_id, claim_expires_at=now + lease)
                .returning(r.c.id)
            )
            .scalars()
            .all()
        )
        if claimed:
            return _entry_for(session, holder_id, section_id, list(claimed), staff_id, now)
        own = None  # lost a race (PostgreSQL): take the next candidate
        skipped.add(holder_id)
    return None


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
    for row in _ordered_rows(session, section_id, staff_id, now, grace, free_only=True):
        if row.holder_id in skipped:
            continue
        if not postgres:
            return int(row.holder_id)
        locked = session.execute(
            select(h.c.id).where(h.c.id == row.holder_id).with_for_update(skip_locked=True)
        ).scalar()
        if locked is not None:
            return int(locked)
        skipped.add(row.holder_id)
    return None


def _entry_for(
    session: Session, holder_id: int, section_id: int, ids: list[int], staff_id: int, now: datetime
) -> QueueEntry:
    r = table(Reminder)
    rows = session.execute(_entry_rows().where(r.c.id.in_(ids)).order_by(*_order(staff_id))).all()
    first = rows[0]
    entry = QueueEntry(
        holder_id=holder_id,
        holder=first.name,
        section_id=section_id,
        apply_by=first.apply_by,
        expires_on=first.expires_on,
        state=first.state,
        callback_at=first.next_action_at if first.state == "callback" else None,
    )
    for row in rows:
        _add(entry, row, now)
    _name_certificates(session, [entry])
    return entry


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
