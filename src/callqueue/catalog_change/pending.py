"""Changes dated later: applied by refresh on their day, listed, withdrawn; the history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from callqueue import audit
from callqueue.catalog import CatalogError
from callqueue.catalog_change.edit import (
    audit_change,
    close_for_retirement,
    plan_edit,
    require_editor,
    set_fields,
)
from callqueue.catalog_change.plans import FIELD_LABELS, ChangePlan, FieldChange, HistoryEntry
from callqueue.catalog_change.recompute import write_dates
from callqueue.clock import local
from callqueue.db import table
from callqueue.models import AuditEvent, CatalogChange, CatalogChangeStatus, CatalogItem
from callqueue.queue.staff import StaffRow

# --- the day a stored change takes effect -------------------------------------------------


def apply_due_changes(*, session: Session, today: date, now: datetime) -> int:
    """Apply stored changes whose effective day has come, in date order; return how many.

    Each is audited as if made that day by the staff member who planned it, with the count of
    reminders it changed.
    """
    ch = table(CatalogChange)
    due = session.execute(
        select(ch.c.id)
        .where(ch.c.status == CatalogChangeStatus.PENDING.value, ch.c.effective_on <= today)
        .order_by(ch.c.effective_on, ch.c.id)
    ).scalars()
    applied = 0
    for change_id in list(due):
        change = session.get(CatalogChange, change_id)
        assert change is not None
        item = session.get(CatalogItem, change.catalog_item_id)
        assert item is not None
        written = apply_stored(session, change, item, today=today, now=now)
        change.status, change.applied_at = CatalogChangeStatus.APPLIED.value, now
        change.reminders_changed = written
        session.add(change)
        applied += 1
    session.flush()
    return applied


def apply_stored(
    session: Session, change: CatalogChange, item: CatalogItem, *, today: date, now: datetime
) -> int:
    """Apply one stored change to its item and reminders, audited; return reminders changed."""
    if change.kind == "retire":
        plan = ChangePlan(
            kind="retire",
            seq=item.seq,
            certificate_name=item.certificate_name,
            effective_on=change.effective_on,
            applies_now=True,
            fields=[FieldChange("active", "状态", item.active, False)],
        )
        written = close_for_retirement(
            session,
            item,
            retire_on=change.effective_on,
            as_of=today,
            reason=change.reason,
            now=now,
        )
        values: dict[str, Any] = {"active": False}
    elif change.kind == "activate":
        plan = ChangePlan(
            kind="activate",
            seq=item.seq,
            certificate_name=item.certificate_name,
            effective_on=change.effective_on,
            applies_now=True,
            fields=[FieldChange("active", "状态", item.active, True)],
        )
        values, written = {"active": True}, 0
        set_fields(session, item, values, change.effective_on, now)
    else:
        fields = [
            FieldChange(k, FIELD_LABELS.get(k, k), getattr(item, k), v)
            for k, v in change.changes.items()
            if getattr(item, k) != v
        ]
        plan, work = plan_edit(
            session,
            item,
            fields,
            effective_on=change.effective_on,
            today=today,
            now=now,
            margin_workdays=change.margin_workdays,
        )
        written = write_dates(session, work, now)
        values = {f.field: f.after for f in fields}
        set_fields(session, item, values, change.effective_on, now)
    audit_change(
        session,
        item,
        plan,
        values,
        change.reason,
        change.actor,
        change.staff_id,
        now,
        written,
        change_id=change.id,
    )
    return written


# --- reading back -----------------------------------------------------------------------

HISTORY_ACTIONS = (
    "catalog.create",
    "catalog.update",
    "catalog.edit",
    "catalog.retire",
    "catalog.activate",
    "catalog.add",
    "catalog.schedule",
    "catalog.cancel",
)


def history(*, session: Session, seq: int | None = None, limit: int = 200) -> list[HistoryEntry]:
    """The catalog's changes, newest first: changes still waiting for their day, then the audit.

    Args:
        session: the unit of work.
        seq: one item's 序号, or None for every item.
        limit: how many audited changes at most.
    """
    a, ch, c = table(AuditEvent), table(CatalogChange), table(CatalogItem)
    pending_q = (
        select(ch, c.c.seq)
        .join(c, c.c.id == ch.c.catalog_item_id)
        .where(ch.c.status == CatalogChangeStatus.PENDING.value)
        .order_by(ch.c.effective_on, ch.c.id)
    )
    audit_q = select(a).where(a.c.action.in_(HISTORY_ACTIONS), a.c.entity == "catalogitem")
    if seq is not None:
        pending_q = pending_q.where(c.c.seq == seq)
        audit_q = audit_q.where(a.c.entity_id == str(seq))
    out = [
        HistoryEntry(
            at=local(row.created_at),
            seq=str(row.seq),
            action=f"pending.{row.kind}",
            actor=row.actor,
            before=None,
            after=row.changes,
            reason=row.reason,
            pending_id=row.id,
            effective_on=row.effective_on,
        )
        for row in session.execute(pending_q)
    ]
    for row in session.execute(audit_q.order_by(a.c.id.desc()).limit(limit)):
        after = row.after or {}
        on = after.get("effective_on")
        out.append(
            HistoryEntry(
                at=local(row.at),
                seq=row.entity_id,
                action=row.action,
                actor=row.actor,
                before=row.before,
                after=row.after,
                reason=row.note,
                effective_on=date.fromisoformat(on) if isinstance(on, str) else None,
            )
        )
    return out


def cancel_change(
    *, session: Session, change_id: int, reason: str, staff: StaffRow | None, now: datetime
) -> None:
    """Withdraw a change still waiting for its day, audited.

    Raises:
        NotAllowed: not a supervisor or admin.
        CatalogError: no reason, or no such pending change.
    """
    require_editor(staff, reason)
    assert staff is not None
    change = session.get(CatalogChange, change_id)
    if change is None or change.status != CatalogChangeStatus.PENDING.value:
        raise CatalogError(f"没有待生效的目录修改 #{change_id}")
    item = session.get(CatalogItem, change.catalog_item_id)
    assert item is not None
    change.status = CatalogChangeStatus.CANCELLED.value
    session.add(change)
    if change.kind == "activate" and not item.active:
        item.effective_from = None
    audit.record(
        session,
        action="catalog.cancel",
        entity="catalogitem",
        entity_id=item.seq,
        before={"change_id": change_id, "kind": change.kind, **change.changes},
        actor=staff.name,
        staff_id=staff.id,
        note=reason.strip(),
        at=now,
    )
