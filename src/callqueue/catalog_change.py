"""Keep the catalog current: edit, add and retire items with a reason and an effective date.

What the effective date means (the office's rule, shown in the README):

- A change takes effect on its effective date. Dated today or earlier it is applied at once;
  dated later it is stored (`CatalogChange`) and `callqueue refresh` applies it on that day.
- On that day the new rule applies to every reminder nobody has worked yet: open reminders in
  state 待提醒 (scheduled), or 待联系 (due) with no attempt, no follow-up and no live claim, whose
  certificate has not expired. Their remind_on, planned_remind_on, apply_by, window_opens_on,
  pulled_earlier and channel are worked out again from the new rule and the working-day calendar
  (DESIGN.md §4). One whose new remind_on has come becomes due (late when it is already past);
  one whose new remind_on is later goes back to scheduled.
- Reminders someone has worked (an attempt, a callback, informed, an appointment, 帮办代办, a
  follow-up) keep their dates and state: the holder was already told the old facts. Closed
  reminders are never touched.
- Retiring an item closes its not-yet-worked reminders as `withdrawn` (目录事项已取消) on the
  retirement day; reminders already being worked stay open for staff to finish.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlmodel import Session

from callqueue import audit, roles
from callqueue.calendar import WorkCalendar
from callqueue.catalog import METHOD_LABELS, CatalogEntry, CatalogError, entries_of, name_key
from callqueue.catalog_edit import EDITABLE, check_values
from callqueue.dates import reminder_dates
from callqueue.db import chunks, table
from callqueue.models import (
    OPEN_STATES,
    AuditEvent,
    CatalogChange,
    CatalogChangeStatus,
    CatalogItem,
    Certificate,
    Channel,
    Holder,
    Reminder,
    ReminderState,
    Section,
)
from callqueue.queue.reminders import STATE_LABELS
from callqueue.queue.staff import StaffRow
from callqueue.workdays import load_calendar

FIELD_LABELS = {
    "permit_item": "许可事项名称",
    "certificate_name": "许可证书名称",
    "validity_years": "法定有效期限（年）",
    "method": "提醒方式",
    "lead_months": "提醒时限（月）",
    "filing_deadline_days": "申请换证时限（日）",
    "deadline_kind": "申请时限类型",
    "deadline_note": "时限说明",
    "legal_basis": "法律依据",
    "basis_level": "依据层级",
    "confidence": "可信度",
    "materials": "提交材料",
    "sources": "资料来源",
    "place": "办理地点",
    "phone": "服务电话",
}
"""The fields a change may set, in words; `active` is changed by retiring, not by editing."""

DATE_FIELDS = frozenset({"lead_months", "filing_deadline_days", "deadline_kind", "method"})
"""Fields that change reminders; the others are read from the catalog when staff call."""
WITHDRAWN_REASON = "目录事项已取消"
EXAMPLES = 5
BATCH = 2_000
ACTION_LABELS = {
    "catalog.create": "载入",
    "catalog.update": "修改",
    "catalog.edit": "修改",
    "catalog.retire": "停用",
    "catalog.activate": "启用",
    "catalog.add": "新增",
    "catalog.schedule": "登记待生效修改",
    "catalog.cancel": "撤销待生效修改",
}
KIND_LABELS = {"edit": "修改", "retire": "停用", "activate": "启用", "add": "新增"}
_LIST_SEPARATORS = ("；", ";", "，", ",", "、")


@dataclass(frozen=True)
class FieldChange:
    """One field of an item, before and after."""

    field: str
    label: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ReminderExample:
    """One reminder the change moves, as a sample for the confirmation."""

    reminder_id: int
    holder: str
    expires_on: date
    remind_on_before: date
    remind_on_after: date
    apply_by_before: date
    apply_by_after: date
    state_before: str
    state_after: str


@dataclass(frozen=True)
class ChangePlan:
    """What a change would do: the fields, and how many open reminders it moves or closes."""

    kind: str
    seq: int
    certificate_name: str
    effective_on: date
    applies_now: bool
    fields: list[FieldChange] = field(default_factory=list)
    reminders_changed: int = 0
    remind_on_changed: int = 0
    apply_by_changed: int = 0
    becoming_due: int = 0
    back_to_scheduled: int = 0
    kept_in_progress: int = 0
    examples: list[ReminderExample] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The plan in Chinese, one line each, for a confirmation."""
        head = f"第{self.seq}项“{self.certificate_name}”{KIND_LABELS.get(self.kind, self.kind)}"
        when = "立即生效" if self.applies_now else "到期日当天由每日刷新自动生效"
        out = [f"{head}，生效日期 {self.effective_on:%Y-%m-%d}（{when}）"]
        out += [f"  {f.label}：{_shown(f.before)} → {_shown(f.after)}" for f in self.fields]
        estimate = "" if self.applies_now else "（按目前数据估算）"
        if self.kind == "retire":
            out.append(f"将关闭尚未处理的提醒 {self.reminders_changed} 条{estimate}")
        else:
            out.append(
                f"将改动尚未处理的提醒 {self.reminders_changed} 条{estimate}：提醒日期变化 "
                f"{self.remind_on_changed} 条，申请截止变化 {self.apply_by_changed} 条，"
                f"立即转为待联系 {self.becoming_due} 条，退回待提醒 {self.back_to_scheduled} 条"
            )
        out.append(f"已在处理中的提醒 {self.kept_in_progress} 条保持不变；已关闭的提醒不受影响")
        for e in self.examples:
            out.append(
                f"  例：#{e.reminder_id} {e.holder} 期满 {e.expires_on:%Y-%m-%d}：提醒 "
                f"{e.remind_on_before:%Y-%m-%d}→{e.remind_on_after:%Y-%m-%d}，申请截止 "
                f"{e.apply_by_before:%Y-%m-%d}→{e.apply_by_after:%Y-%m-%d}，"
                f"{STATE_LABELS.get(e.state_before, e.state_before)}→"
                f"{STATE_LABELS.get(e.state_after, e.state_after)}"
            )
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return audit.jsonable(asdict(self))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ChangeResult:
    """What applying (or scheduling) a change did."""

    plan: ChangePlan
    applied: bool
    change_id: int | None = None
    reminders_changed: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "plan": self.plan.to_json(),
            "applied": self.applied,
            "change_id": self.change_id,
            "reminders_changed": self.reminders_changed,
        }


@dataclass(frozen=True)
class HistoryEntry:
    """One audited catalog change, or a change still waiting for its day."""

    at: datetime | None
    seq: str
    action: str
    actor: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    pending_id: int | None = None
    effective_on: date | None = None

    def line(self) -> str:
        """One line in Chinese: when, which item, what, who, why."""
        what = ACTION_LABELS.get(self.action, self.action)
        if self.pending_id is not None:
            what = f"待生效#{self.pending_id}（{KIND_LABELS.get(self.action[8:], '')}）"
        at = f"{self.at:%Y-%m-%d %H:%M}" if self.at else ""
        on = f" 生效 {self.effective_on:%Y-%m-%d}" if self.effective_on else ""
        after = self.after or {}
        fields = [k for k in after if k in FIELD_LABELS or k == "active"]
        shown = "；".join(
            f"{FIELD_LABELS.get(k, '在用')} {_shown((self.before or {}).get(k))}→{_shown(after[k])}"
            if self.before is not None
            else f"{FIELD_LABELS.get(k, '在用')} {_shown(after[k])}"
            for k in fields[:6]
        )
        count = after.get("reminders_changed")
        tail = f"；改动提醒 {count} 条" if count is not None else ""
        why = f"；原因：{self.reason}" if self.reason else ""
        return f"{at} 第{self.seq}项 {what}{on} · {self.actor}：{shown}{tail}{why}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return audit.jsonable(asdict(self))  # type: ignore[no-any-return]


# --- reading input ----------------------------------------------------------------------


def parse_value(name: str, text: str) -> Any:
    """Read one `field=value` as the service takes it (lists split on ；, blanks as unset).

    Raises:
        CatalogError: an unknown field, or a number that is not one.
    """
    if name == "active":
        raise CatalogError("停用事项请用 callqueue catalog retire")
    if name not in FIELD_LABELS:
        raise CatalogError(f"不能修改的字段：{name}（可改：{'、'.join(FIELD_LABELS)}）")
    text = text.strip()
    kinds = EDITABLE[name]
    if name in ("place", "phone", "filing_deadline_days") and text.lower() in ("", "none"):
        return None
    if list in kinds:
        parts = [text]
        for sep in _LIST_SEPARATORS:
            parts = [p for part in parts for p in part.split(sep)]
        values = [p.strip() for p in parts if p.strip()]
        return [_whole(name, v) for v in values] if name == "validity_years" else values
    if int in kinds:
        return _whole(name, text)
    if name == "method":
        labels = {label: channel.value for channel, label in METHOD_LABELS.items()}
        return labels.get(text, text)
    return text


def _whole(name: str, text: str) -> int:
    if not text.isdigit():
        raise CatalogError(f"{FIELD_LABELS.get(name, name)}应为整数，现在是“{text}”")
    return int(text)


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "（空）"
    if isinstance(value, list):
        return "；".join(str(v) for v in value) or "（空）"
    if value in set(Channel):
        return METHOD_LABELS[Channel(value)]
    return str(value)


# --- the rule ---------------------------------------------------------------------------


def _item(session: Session, seq: int) -> CatalogItem:
    c = table(CatalogItem)
    item_id = session.execute(select(c.c.id).where(c.c.seq == seq)).scalar()
    item = None if item_id is None else session.get(CatalogItem, item_id)
    if item is None:
        raise CatalogError(f"目录中没有序号为 {seq} 的事项")
    return item


def _unworked(now: datetime) -> Any:
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


def _of_item(item_id: int) -> Any:
    c = table(Certificate)
    return table(Reminder).c.certificate_id.in_(
        select(c.c.id).where(c.c.catalog_item_id == item_id)
    )


def _kept(session: Session, item_id: int, now: datetime) -> int:
    """Open reminders of the item that someone is working: a change leaves them alone."""
    r = table(Reminder)
    base = select(func.count()).select_from(r).where(_of_item(item_id))
    open_states = [s.value for s in OPEN_STATES]
    total = session.execute(base.where(r.c.state.in_(open_states))).scalar_one()
    unworked = session.execute(base.where(_unworked(now))).scalar_one()
    return int(total) - int(unworked)


@dataclass
class _Recompute:
    params: list[dict[str, Any]] = field(default_factory=list)
    remind_on_changed: int = 0
    apply_by_changed: int = 0
    becoming_due: int = 0
    back_to_scheduled: int = 0
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


def _recompute(
    session: Session,
    *,
    item_id: int,
    rule: Mapping[str, Any],
    as_of: date,
    now: datetime,
    calendar: WorkCalendar,
    margin_workdays: int,
) -> _Recompute:
    """New dates and states for the item's unworked reminders under `rule` (reads only)."""
    r = table(Reminder)
    rows = session.execute(
        select(r.c.id, r.c.version, r.c.expires_on, *(r.c[n] for n in _COLS), r.c.holder_id)
        .where(_of_item(item_id), _unworked(now), r.c.expires_on >= as_of)
        .order_by(r.c.expires_on, r.c.id)
    ).all()
    cache: dict[date, Any] = {}
    out = _Recompute()
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
        if len(out.samples) < EXAMPLES:
            out.samples.append((row, d, state))
    return out


def _examples(session: Session, samples: list[tuple[Any, ...]]) -> list[ReminderExample]:
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


def _write(session: Session, work: _Recompute, now: datetime) -> int:
    """Write the recomputed reminders in chunked executemany; a row changed since is skipped."""
    r = table(Reminder)
    stmt = (
        update(r)
        .where(r.c.id == bindparam("rid"), r.c.version == bindparam("v"))
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


# --- edit -------------------------------------------------------------------------------


def _changed_fields(item: CatalogItem, changes: Mapping[str, Any]) -> list[FieldChange]:
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


def _plan_edit(
    session: Session,
    item: CatalogItem,
    fields: list[FieldChange],
    *,
    effective_on: date,
    today: date,
    now: datetime,
    margin_workdays: int,
) -> tuple[ChangePlan, _Recompute]:
    as_of = max(today, effective_on)
    work = _Recompute()
    if any(f.field in DATE_FIELDS for f in fields):
        rule = {k: getattr(item, k) for k in DATE_FIELDS} | {f.field: f.after for f in fields}
        assert item.id is not None
        work = _recompute(
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
        kept_in_progress=_kept(session, item.id or 0, now),
        examples=_examples(session, work.samples),
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
    item = _item(session, seq)
    fields = _changed_fields(item, changes)
    if not fields:
        raise CatalogError("没有修改任何内容")
    plan, _work = _plan_edit(
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
    _require(staff, reason)
    assert staff is not None
    item = _item(session, seq)
    fields = _changed_fields(item, changes)
    if not fields:
        raise CatalogError("没有修改任何内容")
    plan, work = _plan_edit(
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
        change_id = _schedule(
            session, item, "edit", values, plan, reason, staff, now, margin_workdays
        )
        return ChangeResult(plan=plan, applied=False, change_id=change_id)
    written = _write(session, work, now)
    _set_fields(session, item, values, effective_on, now)
    _audit_change(session, item, plan, values, reason, staff.name, staff.id, now, written)
    return ChangeResult(plan=plan, applied=True, reminders_changed=written)


def _require(staff: StaffRow | None, reason: str) -> None:
    roles.require_catalog_editor(staff.name if staff else None, staff.role if staff else None)
    if not reason.strip():
        raise CatalogError("请填写修改原因（记入审计）")


def _set_fields(
    session: Session, item: CatalogItem, values: Mapping[str, Any], on: date, now: datetime
) -> None:
    for key, value in values.items():
        setattr(item, key, value)
    item.effective_from, item.updated_at = on, now
    session.add(item)
    session.flush()


def _audit_change(
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


def _schedule(
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


def _plan_retire(
    session: Session, item: CatalogItem, *, retire_on: date, today: date, now: datetime
) -> ChangePlan:
    if not item.active and item.retired_on is not None:
        raise CatalogError(f"第{item.seq}项已于 {item.retired_on} 停用")
    r = table(Reminder)
    as_of = max(today, retire_on)
    closing = session.execute(
        select(func.count())
        .select_from(r)
        .where(_of_item(item.id or 0), _unworked(now), r.c.expires_on >= as_of)
    ).scalar_one()
    return ChangePlan(
        kind="retire",
        seq=item.seq,
        certificate_name=item.certificate_name,
        effective_on=retire_on,
        applies_now=retire_on <= today,
        fields=[FieldChange("active", "在用", True, False)],
        reminders_changed=int(closing),
        kept_in_progress=_kept(session, item.id or 0, now),
    )


def preview_retire(
    *, session: Session, seq: int, retire_on: date, today: date, now: datetime
) -> ChangePlan:
    """Show what retiring an item would do: how many unworked reminders it closes.

    Raises:
        CatalogError: unknown or already retired item.
    """
    return _plan_retire(session, _item(session, seq), retire_on=retire_on, today=today, now=now)


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
    _require(staff, reason)
    assert staff is not None
    item = _item(session, seq)
    plan = _plan_retire(session, item, retire_on=retire_on, today=today, now=now)
    if not plan.applies_now:
        change_id = _schedule(
            session, item, "retire", {"active": False}, plan, reason, staff, now, 10
        )
        return ChangeResult(plan=plan, applied=False, change_id=change_id)
    written = _retire(session, item, retire_on=retire_on, as_of=today, reason=reason, now=now)
    _audit_change(
        session, item, plan, {"active": False}, reason, staff.name, staff.id, now, written
    )
    return ChangeResult(plan=plan, applied=True, reminders_changed=written)


def _retire(
    session: Session, item: CatalogItem, *, retire_on: date, as_of: date, reason: str, now: datetime
) -> int:
    r = table(Reminder)
    closed = session.execute(
        update(r)
        .where(_of_item(item.id or 0), _unworked(now), r.c.expires_on >= as_of)
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


# --- add --------------------------------------------------------------------------------

REQUIRED = ("permit_item", "certificate_name", "lead_months")


def next_seq(session: Session) -> int:
    """The next free 序号."""
    top = session.execute(select(func.max(table(CatalogItem).c.seq))).scalar()
    return int(top or 0) + 1


def add_item(
    *,
    session: Session,
    section: str,
    values: Mapping[str, Any],
    effective_on: date,
    reason: str,
    staff: StaffRow | None,
    today: date,
    now: datetime,
) -> CatalogEntry:
    """Add an item under the next free 序号, validated like a catalog file entry, audited.

    Dated later than today, the item is stored inactive and `refresh` brings it into use then.

    Raises:
        NotAllowed: not a supervisor or admin.
        CatalogError: no reason, a missing or bad field, an unknown section, a name in use.
    """
    _require(staff, reason)
    assert staff is not None
    s = table(Section)
    section_id = session.execute(select(s.c.id).where(s.c.name == section)).scalar()
    if section_id is None:
        names = "、".join(session.execute(select(s.c.name).order_by(s.c.name)).scalars())
        raise CatalogError(f"承办科室“{section}”不在科室列表中（现有：{names}）")
    data = {k: v for k, v in values.items() if v is not None or k == "filing_deadline_days"}
    for key in REQUIRED:
        if data.get(key) in (None, ""):
            raise CatalogError(f"新增事项缺少{FIELD_LABELS[key]}")
    unknown = set(data) - set(FIELD_LABELS)
    if unknown:
        raise CatalogError(f"不能设置的字段：{'、'.join(sorted(unknown))}")
    data.setdefault("method", Channel.PHONE.value)
    data.setdefault("deadline_kind", "latest_filing")
    seq = next_seq(session)
    check_values(data, where=f"新增事项（第{seq}项）")
    c = table(CatalogItem)
    key = name_key(str(data["certificate_name"]))
    for other_seq, other in session.execute(select(c.c.seq, c.c.certificate_name)):
        if name_key(other) == key:
            raise CatalogError(f"许可证书名称“{other}”已在目录第{other_seq}项中")
    later = effective_on > today
    item = CatalogItem(
        **data,
        seq=seq,
        section_id=section_id,
        active=not later,
        effective_from=effective_on,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    plan = ChangePlan(
        kind="add",
        seq=seq,
        certificate_name=item.certificate_name,
        effective_on=effective_on,
        applies_now=not later,
    )
    audit.record(
        session,
        action="catalog.add",
        entity="catalogitem",
        entity_id=seq,
        after={**data, "section": section, "effective_on": effective_on},
        actor=staff.name,
        staff_id=staff.id,
        note=reason.strip(),
        at=now,
    )
    if later:
        _schedule(session, item, "activate", {"active": True}, plan, reason, staff, now, 10)
    return entries_of(session, [item])[0]


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
        written = _apply_stored(session, change, item, today=today, now=now)
        change.status, change.applied_at = CatalogChangeStatus.APPLIED.value, now
        change.reminders_changed = written
        session.add(change)
        applied += 1
    session.flush()
    return applied


def _apply_stored(
    session: Session, change: CatalogChange, item: CatalogItem, *, today: date, now: datetime
) -> int:
    if change.kind == "retire":
        plan = ChangePlan(
            kind="retire",
            seq=item.seq,
            certificate_name=item.certificate_name,
            effective_on=change.effective_on,
            applies_now=True,
            fields=[FieldChange("active", "在用", item.active, False)],
        )
        written = _retire(
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
            fields=[FieldChange("active", "在用", item.active, True)],
        )
        values, written = {"active": True}, 0
        _set_fields(session, item, values, change.effective_on, now)
    else:
        fields = [
            FieldChange(k, FIELD_LABELS.get(k, k), getattr(item, k), v)
            for k, v in change.changes.items()
            if getattr(item, k) != v
        ]
        plan, work = _plan_edit(
            session,
            item,
            fields,
            effective_on=change.effective_on,
            today=today,
            now=now,
            margin_workdays=change.margin_workdays,
        )
        written = _write(session, work, now)
        values = {f.field: f.after for f in fields}
        _set_fields(session, item, values, change.effective_on, now)
    _audit_change(
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
            at=row.created_at,
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
                at=row.at,
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
    _require(staff, reason)
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
