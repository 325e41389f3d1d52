"""The reminders a catalog change moves: which ones, their new dates, written in bulk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlmodel import Session

from callqueue.calendar import WorkCalendar
from callqueue.catalog import CatalogError, name_key
from callqueue.catalog_change.plans import EXAMPLES, ReminderExample
from callqueue.dates import reminder_dates
from callqueue.db import chunks, table
from callqueue.models import OPEN_STATES, CatalogItem, Certificate, Holder, Reminder, ReminderState

BATCH = 2_000
"""Reminders per executemany when writing new dates."""


def item_by_seq(session: Session, seq: int) -> CatalogItem:
    """The catalog item with 序号 `seq`, or CatalogError."""
    c = table(CatalogItem)
    item_id = session.execute(select(c.c.id).where(c.c.seq == seq)).scalar()
    item = None if item_id is None else session.get(CatalogItem, item_id)
    if item is None:
        raise CatalogError(f"目录中没有序号为 {seq} 的事项")
    return item


def require_free_name(session: Session, name: str, *, except_id: int | None = None) -> None:
    """Refuse a certificate name another item already uses (after normalising), CatalogError.

    Two items of one name would leave an imported ledger row without one catalog item.
    """
    c = table(CatalogItem)
    key = name_key(name)
    for other_id, other_seq, other in session.execute(
        select(c.c.id, c.c.seq, c.c.certificate_name)
    ):
        if other_id != except_id and name_key(other) == key:
            raise CatalogError(f"许可证书名称“{other}”已在目录第{other_seq}项中")


def unworked(now: datetime) -> Any:
    """Open reminders nobody has worked yet: the ones a catalog change may move or close."""
    r = table(Reminder)
    return or_(
        r.c.state == ReminderState.SCHEDULED.value,
        and_(
            r.c.state == ReminderState.DUE.value,
            r.c.attempts == 0,
            r.c.follow_up == False,  # noqa: E712
            or_(r.c.claimed_by_id.is_(None), r.c.claim_expires_at <= now),
        ),
    )


def of_item(item_id: int) -> Any:
    """Reminders whose certificate is of the catalog item `item_id`."""
    c = table(Certificate)
    return table(Reminder).c.certificate_id.in_(
        select(c.c.id).where(c.c.catalog_item_id == item_id)
    )


def kept_count(session: Session, item_id: int, now: datetime) -> int:
    """Open reminders of the item that someone is working: a change leaves them alone."""
    r = table(Reminder)
    base = select(func.count()).select_from(r).where(of_item(item_id))
    open_states = [s.value for s in OPEN_STATES]
    total = session.execute(base.where(r.c.state.in_(open_states))).scalar_one()
    not_worked = session.execute(base.where(unworked(now))).scalar_one()
    return int(total) - int(not_worked)


@dataclass
class Recomputed:
    """The new values of the reminders a change moves, and counts of how they move."""

    params: list[dict[str, Any]] = field(default_factory=list)
    remind_on_changed: int = 0
    apply_by_changed: int = 0
    becoming_due: int = 0
    back_to_scheduled: int = 0
    channel_changed: int = 0
    only_planned: int = 0
    """Rows whose remind_on, apply_by, state and channel all stay (the catalog's own date moves)."""
    samples: list[tuple[Any, ...]] = field(default_factory=list)


_COLS = (
    "remind_on",
    "planned_remind_on",
    "apply_by",
    "window_opens_on",
    "pulled_earlier",
    "channel",
    "state",
    "late",
)


def recompute(
    session: Session,
    *,
    item_id: int,
    rule: Mapping[str, Any],
    as_of: date,
    now: datetime,
    calendar: WorkCalendar,
    margin_workdays: int,
) -> Recomputed:
    """New dates and states for the item's unworked reminders under `rule` (reads only)."""
    r = table(Reminder)
    rows = session.execute(
        select(r.c.id, r.c.version, r.c.expires_on, *(r.c[n] for n in _COLS), r.c.holder_id)
        .where(of_item(item_id), unworked(now), r.c.expires_on >= as_of)
        .order_by(r.c.expires_on, r.c.id)
    ).all()
    cache: dict[date, Any] = {}
    out = Recomputed()
    for row in rows:
        d = cache.get(row.expires_on)
        if d is None:
            d = cache[row.expires_on] = reminder_dates(
                expires_on=row.expires_on,
                lead_months=rule["lead_months"],
                filing_days=rule["filing_deadline_days"],
                deadline_kind=rule["deadline_kind"],
                calendar=calendar,
                margin_workdays=margin_workdays,
            )
        state = ReminderState.DUE.value if d.remind_on <= as_of else ReminderState.SCHEDULED.value
        late = row.late
        if state != row.state:
            late = state == ReminderState.DUE.value and d.remind_on < as_of
        new = {
            "remind_on": d.remind_on,
            "planned_remind_on": d.planned_remind_on,
            "apply_by": d.apply_by,
            "window_opens_on": d.window_opens_on,
            "pulled_earlier": d.pulled_earlier,
            "channel": rule["method"],
            "state": state,
            "late": late,
        }
        if all(getattr(row, k) == v for k, v in new.items()):
            continue
        out.params.append(
            {"rid": row.id, "v": row.version, **{f"n_{k}": v for k, v in new.items()}}
        )
        out.remind_on_changed += row.remind_on != d.remind_on
        out.apply_by_changed += row.apply_by != d.apply_by
        out.becoming_due += state != row.state and state == ReminderState.DUE.value
        out.back_to_scheduled += state != row.state and state == ReminderState.SCHEDULED.value
        out.channel_changed += row.channel != rule["method"]
        seen = any(getattr(row, k) != new[k] for k in ("remind_on", "apply_by", "state", "channel"))
        out.only_planned += not seen
        if seen and len(out.samples) < EXAMPLES:
            out.samples.append((row, d, state))
    return out


def examples_of(session: Session, samples: list[tuple[Any, ...]]) -> list[ReminderExample]:
    """A few moved reminders with their holder names, for the confirmation."""
    h = table(Holder)
    ids = [row.holder_id for row, _d, _s in samples]
    found = session.execute(select(h.c.id, h.c.name).where(h.c.id.in_(ids)))
    names: dict[int, str] = {hid: name for hid, name in found}
    return [
        ReminderExample(
            reminder_id=row.id,
            holder=names.get(row.holder_id, ""),
            expires_on=row.expires_on,
            remind_on_before=row.remind_on,
            remind_on_after=d.remind_on,
            apply_by_before=row.apply_by,
            apply_by_after=d.apply_by,
            state_before=row.state,
            state_after=state,
        )
        for row, d, state in samples
    ]


def write_dates(session: Session, work: Recomputed, now: datetime) -> int:
    """Write the recomputed reminders in chunked executemany; a row changed since is skipped."""
    r = table(Reminder)
    stmt = (
        update(r)
        # Still unworked and unchanged since it was read: a claim taken meanwhile wins.
        .where(r.c.id == bindparam("rid"), r.c.version == bindparam("v"), unworked(now))
        .values(
            **{k: bindparam(f"n_{k}") for k in _COLS},
            version=r.c.version + 1,
            updated_at=now,
        )
    )
    written = 0
    for part in chunks(work.params, BATCH):
        result = session.connection().execute(stmt, list(part))
        written += int(result.rowcount)
    return written
