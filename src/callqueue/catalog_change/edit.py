"""Edit and retire catalog items: preview, then apply now or store for the effective day."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session

from callqueue import audit, roles
from callqueue.catalog import CatalogError
from callqueue.catalog_change.plans import (
    DATE_FIELDS,
    FIELD_LABELS,
    WITHDRAWN_REASON,
    ChangePlan,
    ChangeResult,
    FieldChange,
)
from callqueue.catalog_change.recompute import (
    Recomputed,
    examples_of,
    item_by_seq,
    kept_count,
    of_item,
    recompute,
    require_free_name,
    unworked,
    write_dates,
)
from callqueue.catalog_edit import check_values
from callqueue.db import table
from callqueue.models import CatalogChange, CatalogItem, Reminder, ReminderState
from callqueue.queue.staff import StaffRow
from callqueue.workdays import load_calendar

# --- edit -------------------------------------------------------------------------------


def changed_fields(item: CatalogItem, changes: Mapping[str, Any]) -> list[FieldChange]:
    """The fields `changes` really changes, checked like a catalog file entry."""
    if "active" in changes:
        raise CatalogError("停用事项请用“停用”（callqueue catalog retire）")
    unknown = set(changes) - set(FIELD_LABELS)
    if unknown:
        raise CatalogError(f"不能修改的字段：{'、'.join(sorted(unknown))}")
    check_values(changes, where=f"第{item.seq}项")
    return [
        FieldChange(k, FIELD_LABELS[k], getattr(item, k), v)
        for k, v in changes.items()
        if getattr(item, k) != v
    ]


def _edited_fields(
    session: Session, item: CatalogItem, changes: Mapping[str, Any]
) -> list[FieldChange]:
    """changed_fields, refusing an empty edit and a certificate name another item has."""
    fields = changed_fields(item, changes)
    if not fields:
        raise CatalogError("没有修改任何内容")
    for f in fields:
        if f.field == "certificate_name":
            require_free_name(session, str(f.after), except_id=item.id)
    return fields


def plan_edit(
    session: Session,
    item: CatalogItem,
    fields: list[FieldChange],
    *,
    effective_on: date,
    today: date,
    now: datetime,
    margin_workdays: int,
) -> tuple[ChangePlan, Recomputed]:
    """The plan of an edit and the reminder rows it would write."""
    as_of = max(today, effective_on)
    work = Recomputed()
    if any(f.field in DATE_FIELDS for f in fields):
        rule = {k: getattr(item, k) for k in DATE_FIELDS} | {f.field: f.after for f in fields}
        assert item.id is not None
        work = recompute(
            session,
            item_id=item.id,
            rule=rule,
            as_of=as_of,
            now=now,
            calendar=load_calendar(session),
            margin_workdays=margin_workdays,
        )
    plan = ChangePlan(
        kind="edit",
        seq=item.seq,
        certificate_name=item.certificate_name,
        effective_on=effective_on,
        applies_now=effective_on <= today,
        fields=fields,
        reminders_changed=len(work.params),
        remind_on_changed=work.remind_on_changed,
        apply_by_changed=work.apply_by_changed,
        becoming_due=work.becoming_due,
        back_to_scheduled=work.back_to_scheduled,
        channel_changed=work.channel_changed,
        only_planned=work.only_planned,
        kept_in_progress=kept_count(session, item.id or 0, now),
        examples=examples_of(session, work.samples),
    )
    return plan, work


def preview_change(
    *,
    session: Session,
    seq: int,
    changes: Mapping[str, Any],
    effective_on: date,
    today: date,
    now: datetime,
    margin_workdays: int = 10,
) -> ChangePlan:
    """Show what editing an item would do, changing nothing.

    Args:
        session: the unit of work (read only here).
        seq: the item's 序号.
        changes: field → new value (see FIELD_LABELS).
        effective_on: the day the change takes effect.
        today: the date in force.
        now: the time in force (live claims).
        margin_workdays: the office margin before apply_by (DESIGN.md §4).

    Returns:
        The fields that change and the count of open reminders whose dates or state change.

    Raises:
        CatalogError: unknown item or field, a bad value, or nothing to change.
    """
    item = item_by_seq(session, seq)
    fields = _edited_fields(session, item, changes)
    plan, _work = plan_edit(
        session,
        item,
        fields,
        effective_on=effective_on,
        today=today,
        now=now,
        margin_workdays=margin_workdays,
    )
    return plan


def apply_change(
    *,
    session: Session,
    seq: int,
    changes: Mapping[str, Any],
    effective_on: date,
    reason: str,
    staff: StaffRow | None,
    today: date,
    now: datetime,
    margin_workdays: int = 10,
) -> ChangeResult:
    """Edit an item now (recomputing its unworked reminders) or store it for its effective day.

    Args:
        session: a write session.
        seq: the item's 序号.
        changes: field → new value.
        effective_on: the day it takes effect; later than today stores it for refresh.
        reason: why, required, kept in the audit trail.
        staff: the supervisor or admin who makes it.
        today: the date in force.
        now: the time in force.
        margin_workdays: the office margin before apply_by.

    Returns:
        The plan and what was written.

    Raises:
        NotAllowed: not a supervisor or admin.
        CatalogError: no reason, unknown item or field, bad value, nothing to change.
    """
    require_editor(staff, reason)
    assert staff is not None
    item = item_by_seq(session, seq)
    fields = _edited_fields(session, item, changes)
    plan, work = plan_edit(
        session,
        item,
        fields,
        effective_on=effective_on,
        today=today,
        now=now,
        margin_workdays=margin_workdays,
    )
    values = {f.field: f.after for f in fields}
    if not plan.applies_now:
        change_id = schedule(
            session, item, "edit", values, plan, reason, staff, now, margin_workdays
        )
        return ChangeResult(plan=plan, applied=False, change_id=change_id)
    written = write_dates(session, work, now)
    set_fields(session, item, values, effective_on, now)
    audit_change(session, item, plan, values, reason, staff.name, staff.id, now, written)
    return ChangeResult(plan=plan, applied=True, reminders_changed=written)


def require_editor(staff: StaffRow | None, reason: str) -> None:
    """Refuse anyone but a supervisor or admin, and a change without a reason."""
    roles.require_catalog_editor(staff.name if staff else None, staff.role if staff else None)
    if not reason.strip():
        raise CatalogError("请填写修改原因（记入审计）")


def set_fields(
    session: Session, item: CatalogItem, values: Mapping[str, Any], on: date, now: datetime
) -> None:
    """Write the new values and the effective date onto the item."""
    for key, value in values.items():
        setattr(item, key, value)
    item.effective_from, item.updated_at = on, now
    session.add(item)
    session.flush()


def audit_change(
    session: Session,
    item: CatalogItem,
    plan: ChangePlan,
    values: Mapping[str, Any],
    reason: str,
    actor: str,
    staff_id: int | None,
    now: datetime,
    written: int,
    change_id: int | None = None,
) -> None:
    """Audit an applied change once, with its reason, effective date and reminder count."""
    extra: dict[str, Any] = {"effective_on": plan.effective_on, "reminders_changed": written}
    if change_id is not None:
        extra["change_id"] = change_id
    audit.record(
        session,
        action=f"catalog.{plan.kind}",
        entity="catalogitem",
        entity_id=item.seq,
        before={f.field: f.before for f in plan.fields},
        after={**values, **extra},
        actor=actor,
        staff_id=staff_id,
        note=reason.strip(),
        at=now,
    )


def schedule(
    session: Session,
    item: CatalogItem,
    kind: str,
    values: Mapping[str, Any],
    plan: ChangePlan,
    reason: str,
    staff: StaffRow,
    now: datetime,
    margin_workdays: int,
) -> int:
    """Store a change for its effective day and audit that it was planned."""
    assert item.id is not None
    change = CatalogChange(
        catalog_item_id=item.id,
        kind=kind,
        changes=audit.jsonable(dict(values)),
        effective_on=plan.effective_on,
        reason=reason.strip(),
        margin_workdays=margin_workdays,
        staff_id=staff.id,
        actor=staff.name,
        created_at=now,
    )
    session.add(change)
    session.flush()
    assert change.id is not None
    audit.record(
        session,
        action="catalog.schedule",
        entity="catalogitem",
        entity_id=item.seq,
        before={f.field: f.before for f in plan.fields},
        after={
            **values,
            "kind": kind,
            "effective_on": plan.effective_on,
            "change_id": change.id,
            "reminders_estimated": plan.reminders_changed,
        },
        actor=staff.name,
        staff_id=staff.id,
        note=reason.strip(),
        at=now,
    )
    return change.id


# --- retire -----------------------------------------------------------------------------


def plan_retire(
    session: Session, item: CatalogItem, *, retire_on: date, today: date, now: datetime
) -> ChangePlan:
    """The plan of retiring an item: how many unworked reminders it closes."""
    if not item.active and item.retired_on is not None:
        raise CatalogError(f"第{item.seq}项已于 {item.retired_on} 停用")
    r = table(Reminder)
    as_of = max(today, retire_on)
    closing = session.execute(
        select(func.count())
        .select_from(r)
        .where(of_item(item.id or 0), unworked(now), r.c.expires_on >= as_of)
    ).scalar_one()
    return ChangePlan(
        kind="retire",
        seq=item.seq,
        certificate_name=item.certificate_name,
        effective_on=retire_on,
        applies_now=retire_on <= today,
        fields=[FieldChange("active", "状态", True, False)],
        reminders_changed=int(closing),
        kept_in_progress=kept_count(session, item.id or 0, now),
    )


def preview_retire(
    *, session: Session, seq: int, retire_on: date, today: date, now: datetime
) -> ChangePlan:
    """Show what retiring an item would do: how many unworked reminders it closes.

    Raises:
        CatalogError: unknown or already retired item.
    """
    return plan_retire(
        session, item_by_seq(session, seq), retire_on=retire_on, today=today, now=now
    )


def retire_item(
    *,
    session: Session,
    seq: int,
    retire_on: date,
    reason: str,
    staff: StaffRow | None,
    today: date,
    now: datetime,
) -> ChangeResult:
    """Retire an item (now, or on a later day through refresh), closing its unworked reminders.

    Raises:
        NotAllowed: not a supervisor or admin.
        CatalogError: no reason, unknown or already retired item.
    """
    require_editor(staff, reason)
    assert staff is not None
    item = item_by_seq(session, seq)
    plan = plan_retire(session, item, retire_on=retire_on, today=today, now=now)
    if not plan.applies_now:
        change_id = schedule(
            session, item, "retire", {"active": False}, plan, reason, staff, now, 10
        )
        return ChangeResult(plan=plan, applied=False, change_id=change_id)
    written = close_for_retirement(
        session, item, retire_on=retire_on, as_of=today, reason=reason, now=now
    )
    audit_change(session, item, plan, {"active": False}, reason, staff.name, staff.id, now, written)
    return ChangeResult(plan=plan, applied=True, reminders_changed=written)


def close_for_retirement(
    session: Session, item: CatalogItem, *, retire_on: date, as_of: date, reason: str, now: datetime
) -> int:
    """Close the item's unworked reminders as withdrawn and mark it retired."""
    r = table(Reminder)
    closed = session.execute(
        update(r)
        .where(of_item(item.id or 0), unworked(now), r.c.expires_on >= as_of)
        .values(
            state=ReminderState.WITHDRAWN.value,
            close_reason=f"{WITHDRAWN_REASON}：{reason.strip()}",
            closed_at=now,
            next_action_at=None,
            claimed_by_id=None,
            claim_expires_at=None,
            version=r.c.version + 1,
            updated_at=now,
        )
    )
    item.active, item.retired_on, item.updated_at = False, retire_on, now
    session.add(item)
    session.flush()
    return int(closed.rowcount)  # type: ignore[attr-defined]
