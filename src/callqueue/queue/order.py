"""The queue's order: which reminders are callable, read in order, grouped one entry per holder.

Order (DESIGN.md §5): callbacks whose time has come (the caller's own first, anyone's once
overdue) → due reminders and retries whose time has come, by apply_by, expires_on, fewest
attempts. A holder with several callable reminders in one section is one entry.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    exists,
    literal,
    or_,
    select,
)
from sqlmodel import Session

from callqueue.audit import jsonable
from callqueue.clock import local
from callqueue.db import table
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
        data = {
            k: local(v) if isinstance(v, datetime) else v  # office time, as elsewhere
            for k, v in self.__dict__.items()
            if k != "certificates_items"
        }
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


def callable_now(staff_id: Any, now: Any, overdue: Any) -> ColumnElement[bool]:
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


def callable_holder() -> ColumnElement[bool]:
    """Holders who may be phoned at all (a statement that joins the holder)."""
    return table(Holder).c.do_not_call.is_(False)


def holder_callable() -> ColumnElement[bool]:
    """Reminders whose holder may be phoned at all (a statement on the reminder alone).

    An EXISTS by primary key, so a claiming UPDATE checks it on the very rows it claims.
    """
    r, h = table(Reminder), table(Holder)
    return exists().where(h.c.id == r.c.holder_id, h.c.do_not_call.is_(False))


def free_of_claims(staff_id: Any, now: Any) -> ColumnElement[bool]:
    """Reminders whose holder no other desk holds right now, through any of its reminders.

    A business has one phone line: a live claim on any reminder of the holder, in any section,
    keeps its other reminders from a second desk (a callback coming due while a colleague is on
    the phone about another certificate). The holder's few reminders are found by
    ix_reminder_holder_state; the reminder's own claim is one of them.
    """
    r = table(Reminder)
    held = r.alias("held")
    return ~exists().where(
        held.c.holder_id == r.c.holder_id,
        held.c.claimed_by_id != staff_id,
        held.c.claim_expires_at > now,
    )


def queue_order(staff_id: Any) -> list[Any]:
    """ORDER BY of DESIGN.md §5: own due callbacks, anyone's, then apply_by, expiry, attempts."""
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
    complete: bool = True,
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
        complete: also list the page's holders' callable reminders further down the order
            than the page reads (`complete_entries`: about 1 ms more on a page of 200 of a
            million certificates). The desk leaves it to each card's read (`Desk.brief`).

    Returns:
        Up to `limit` entries.
    """
    wanted = offset + limit
    entries: dict[int, QueueEntry] = {}
    rows = ordered_rows(
        session, section_id, staff_id, now, grace, free_only=not include_claimed, only=only
    )
    more = False  # rows after the page's holders: some may be theirs
    for row in rows:
        entry = entries.get(row[HOLDER])
        if entry is None:
            if len(entries) == wanted:
                more = True
                break
            entry = entries[row[HOLDER]] = new_entry(row, section_id)
        add_row(entry, row, now)
    page = list(entries.values())[offset:]
    if more and page and complete:
        complete_entries(
            session,
            page,
            staff_id=staff_id,
            now=now,
            grace=grace,
            free_only=not include_claimed,
            only=only,
        )
    if include_claimed:
        _mark_held(session, page, staff_id=staff_id, now=now)
    return page


def complete_entries(
    session: Session,
    page: Sequence[QueueEntry],
    *,
    staff_id: int,
    now: datetime,
    grace: timedelta = timedelta(minutes=15),
    free_only: bool = False,
    only: QueueFilter = NO_FILTER,
) -> None:
    """Add to the entries (of one section) their callable reminders further down the order.

    A holder's reminders are one entry, but the page stops reading at its last holder: a
    certificate of a listed holder to be filed months later comes after other holders' rows.
    Without it the list, and a card drawn from the list's entry, showed one certificate of a
    holder while the claim (and so the outcome) took them all. The holders' reminders in a
    callable state are found in ix_reminder_holder_state alone; only those not listed (few:
    most holders have one certificate a section) are read in full, with the queue's conditions.
    """
    if not page:
        return
    r = table(Reminder)
    by_holder = {e.holder_id: e for e in page}
    listed = {rid for e in page for rid in e.reminders}
    params = {
        "section_id": page[0].section_id,
        "staff_id": staff_id,
        "now": now,
        "overdue": now - grace,
    }
    conn = session.connection()
    found = conn.execute(
        _holders_reminders(), {"holder_ids": list(by_holder), "section_id": params["section_id"]}
    )
    extra = [rid for (rid,) in found if rid not in listed]
    if not extra:
        return
    rows = conn.execute(
        _rows_of(free_only, only).where(r.c.id.in_(extra)), params
    )  # a handful of ids: built here, not cached
    for row in rows:
        add_row(by_holder[row[HOLDER]], row, now)


@functools.cache
def _holders_reminders() -> Select[Any]:
    """Reminders of the holders `holder_ids` in a callable state in the section (an index read)."""
    r = table(Reminder)
    return select(r.c.id).where(
        r.c.holder_id.in_(bindparam("holder_ids", expanding=True)),
        r.c.state.in_([literal(s) for s in CALLABLE_STATES]),
        r.c.section_id == bindparam("section_id", type_=Integer()),
    )


@functools.lru_cache(maxsize=16)
def _rows_of(free_only: bool, only: QueueFilter) -> Select[Any]:
    """Queue rows (the queue's own conditions and order) to narrow by id.

    Without the section's own condition: the ids are the section's, and SQLite, offered the
    section, read it through ix_reminder_queue (80 ms on a million certificates) rather than
    the ids by key.
    """
    r = table(Reminder)
    staff_id = bindparam("staff_id", type_=Integer())
    conditions = _conditions(free_only, only, "", section=False)
    # Nor may the states be read through an index: SQLite then read every due reminder of the
    # database (ix_reminder_state_*, 7 ms on a million certificates) instead of the few ids by
    # key. `(…) IS true` keeps a state's condition whole, so only the ids can lead.
    conditions[0] = conditions[0].is_(True)
    if only.kind in CALLABLE_STATES:  # a filter on one state reads that state's stream only
        conditions.append((r.c.state == only.kind).is_(True))
    return entry_rows().where(*conditions).order_by(*queue_order(staff_id))


def _mark_held(
    session: Session, entries: Sequence[QueueEntry], *, staff_id: int, now: datetime
) -> None:
    """Show as claimed the entries whose holder another desk holds through a reminder not listed.

    Another section's certificate, or a colleague's callback not yet callable here: that claim
    keeps the whole holder from this desk (`free_of_claims`), so the list says so too. Live
    claims are few (about one a desk at work): read through the partial index ix_reminder_claim.
    """
    unmarked = {e.holder_id: e for e in entries if e.claimed_by_id is None}
    if not unmarked:
        return
    rows = session.connection().execute(_live_claims(), {"staff_id": staff_id, "now": now})
    for holder_id, claimed_by, claim_expires in rows:
        entry = unmarked.get(holder_id)
        if entry is not None and entry.claimed_by_id is None:
            entry.claimed_by_id, entry.claim_expires_at = claimed_by, claim_expires


@functools.cache
def _live_claims() -> Select[Any]:
    """Other desks' live claims: holder, who, until (bind parameters `staff_id`, `now`)."""
    r = table(Reminder)
    return select(r.c.holder_id, r.c.claimed_by_id, r.c.claim_expires_at).where(
        r.c.claimed_by_id.is_not(None),  # the partial index's own WHERE, so it is used
        r.c.claimed_by_id != bindparam("staff_id", type_=Integer()),
        r.c.claim_expires_at > bindparam("now", type_=r.c.claim_expires_at.type),
    )


def section_queues(
    session: Session,
    *,
    section_ids: Sequence[int],
    staff_id: int,
    now: datetime,
    grace: timedelta = timedelta(minutes=15),
    limit: int = 200,
) -> list[QueueEntry]:
    """Several sections' queues one after another, each in its own order, `limit` entries in all.

    Each section keeps its own queue (DESIGN.md §5), so they are listed in turn, never mixed.
    """
    found: list[QueueEntry] = []
    for section_id in section_ids:
        if len(found) >= limit:
            break
        found.extend(
            queue_entries(
                session,
                section_id=section_id,
                staff_id=staff_id,
                now=now,
                grace=grace,
                limit=limit - len(found),
            )
        )
    return found


# Column positions in entry_rows(): rows are read as plain tuples on the hot path.
(
    ID,
    HOLDER,
    NAME,
    STATE,
    APPLY_BY,
    EXPIRES_ON,
    ATTEMPTS,
    NEXT_ACTION,
    LATE,
    FOLLOW_UP,
    CLAIMED_BY,
    CLAIM_EXPIRES,
    ITEM,
    ITEM_NAME,
) = range(14)
_queue_key = itemgetter(APPLY_BY, EXPIRES_ON, ATTEMPTS, ID)


def ordered_rows(
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
    ix_reminder_queue and merged here, so no query sorts the whole backlog. Ties go by id:
    SQLite's index carries the rowid, so it needs no sort at all (tie-breaking by holder_id
    made it sort every run of equal dates). Statements run on the session's connection (Core), which
    costs a fraction of the ORM's execute per statement. A filter on one state skips the other
    streams rather than asking the database for a contradiction.
    """
    conn = session.connection()
    params = {"section_id": section_id, "staff_id": staff_id, "now": now, "overdue": now - grace}
    callbacks, due, retry = queue_statements(free_only, conn.dialect.name == "postgresql", only)
    kind = only.kind
    if kind in ("", "callback", "follow_up", "late"):
        yield from conn.execute(callbacks, params)
    if kind == "callback":
        return
    retries = iter(conn.execute(retry, params)) if kind != "due" else iter(())
    first_retry = next(retries, None)
    if kind == "retry":
        if first_retry is not None:
            yield first_retry
            yield from retries
        return
    dues = conn.execute(due, params)
    if first_retry is None:  # the usual case: no retry is due yet, no merge needed
        yield from dues
        return
    yield from heapq.merge(dues, chain((first_retry,), retries), key=_queue_key)


@functools.lru_cache(maxsize=64)
def queue_statements(
    free_only: bool, postgres: bool, only: QueueFilter = NO_FILTER, prefix: str = ""
) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """The callback, due and retry queries, built once per filter with bind parameters.

    The parameters are `section_id`, `staff_id`, `now` and `overdue`, each after `prefix` (an
    UPDATE that embeds these queries must not bind names equal to its table's columns).
    PostgreSQL streams the ordered rows through a server-side cursor (`yield_per`); SQLite
    steps its cursor lazily anyway, and reading ahead in batches would only do work the
    first page never uses.
    """
    r = table(Reminder)
    staff_id = bindparam(f"{prefix}staff_id", type_=Integer())
    conditions = _conditions(free_only, only, prefix)
    callbacks = (
        entry_rows()
        .where(r.c.state == ReminderState.CALLBACK.value, *conditions)
        .order_by(*queue_order(staff_id))
    )
    due, retry = (
        entry_rows()
        .where(r.c.state == state, *conditions)
        .order_by(r.c.apply_by, r.c.expires_on, r.c.attempts, r.c.id)
        for state in (ReminderState.DUE.value, ReminderState.RETRY.value)
    )
    if postgres:
        due, retry = (s.execution_options(yield_per=100) for s in (due, retry))
    return callbacks, due, retry


def _conditions(
    free_only: bool, only: QueueFilter, prefix: str, *, section: bool = True
) -> list[ColumnElement[bool]]:
    """What makes a reminder a row of the section's queue (bind parameters after `prefix`);
    without `section`, all but the section (for rows already known to be the section's)."""
    r = table(Reminder)
    when = r.c.next_action_at.type  # aware datetimes stored as UTC: bind with the column's type
    section_id, staff_id = (
        bindparam(f"{prefix}section_id", type_=Integer()),
        bindparam(f"{prefix}staff_id", type_=Integer()),
    )
    now, overdue = bindparam(f"{prefix}now", type_=when), bindparam(f"{prefix}overdue", type_=when)
    conditions = [callable_now(staff_id, now, overdue), callable_holder()]
    if section:
        conditions.insert(0, r.c.section_id == section_id)
    if free_only:
        conditions.append(free_of_claims(staff_id, now))
    conditions.extend(_narrowed(only))
    return conditions


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


def entry_rows() -> Select[Any]:
    """An entry's columns: reminder, its holder, its certificate's permit and permit name."""
    r, h, c, i = table(Reminder), table(Holder), table(Certificate), table(CatalogItem)
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
            i.c.certificate_name,
        )
        .join(h, h.c.id == r.c.holder_id)
        .join(c, c.c.id == r.c.certificate_id)
        .join(i, i.c.id == c.c.catalog_item_id)
    )


def new_entry(row: Any, section_id: int) -> QueueEntry:
    """A queue entry from the first row of its holder."""
    state = row[STATE]
    return QueueEntry(
        holder_id=row[HOLDER],
        holder=row[NAME],
        section_id=section_id,
        apply_by=row[APPLY_BY],
        expires_on=row[EXPIRES_ON],
        state=state,
        callback_at=row[NEXT_ACTION] if state == "callback" else None,
    )


def add_row(entry: QueueEntry, row: Any, now: datetime) -> None:
    """Add one reminder row to its holder's entry: ids, permits, attempts, claim, badges."""
    entry.reminders.append(row[ID])
    entry.certificates_items.append(row[ITEM])
    entry.certificates.append(row[ITEM_NAME])
    if row[ATTEMPTS] > entry.attempts:
        entry.attempts = row[ATTEMPTS]
    claimed_by, claim_expires = row[CLAIMED_BY], row[CLAIM_EXPIRES]
    if claimed_by is not None and claim_expires and claim_expires > now:
        entry.claimed_by_id, entry.claim_expires_at = claimed_by, claim_expires
    state, badges = row[STATE], entry.badges
    if state == "callback" and "callback" not in badges:
        badges.append("callback")
    if state == "retry" and "retry" not in badges:
        badges.append("retry")
    if row[LATE] and "late" not in badges:
        badges.append("late")
    if row[FOLLOW_UP] and "follow_up" not in badges:
        badges.append("follow_up")
