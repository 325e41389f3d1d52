"""帮办代办: the assisted cases of a section and their own stages until the renewal is filed.

An `assisted` outcome registers a case (已登记). The helper then moves it forward only:
材料准备中 (optional) → 已提交申请 with the filing date. `renewed` closes it like any reminder.
While the case is open it never enters the phone queue: its state is `assisted`, which is
neither callable nor picked up by the follow-up rule. What refresh does once the certificate
expires is decided in `callqueue.queue.refresh` (a case filed on time stays open).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlmodel import Session

from callqueue import audit
from callqueue.audit import jsonable
from callqueue.clock import local
from callqueue.db import table
from callqueue.models import (
    OPEN_STATES,
    AssistStage,
    CatalogItem,
    Certificate,
    Holder,
    Reminder,
    ReminderState,
    Section,
    Staff,
)
from callqueue.queue.reminders import STATE_LABELS
from callqueue.queue.staff import Viewer, section_refusal

STAGES = (AssistStage.REGISTERED, AssistStage.PREPARING, AssistStage.FILED)
"""The stages in the only order a case may take them (材料准备中 may be skipped)."""
STAGE_LABELS = {
    AssistStage.REGISTERED: "已登记",
    AssistStage.PREPARING: "材料准备中",
    AssistStage.FILED: "已提交申请",
}


class AssistRefused(ValueError):
    """A stage change that cannot be made; nothing was changed. The message is for staff."""


@dataclass
class AssistedCase:
    """One assisted case as the faces list it."""

    reminder_id: int
    holder: str
    certificate: str
    section: str
    state: str
    stage: str | None
    stage_label: str
    helper: str | None
    notes: str
    registered_on: date | None
    changed_at: datetime | None
    filed_on: date | None
    apply_by: date
    expires_on: date

    def to_json(self) -> dict[str, Any]:
        """The object of `callqueue assisted list --json`."""
        return dict(jsonable(self.__dict__))


def stage_of(text: str) -> AssistStage:
    """The stage named by its code or its Chinese label, or AssistRefused."""
    for stage in STAGES:
        if text.strip() in (stage.value, STAGE_LABELS[stage]):
            return stage
    choices = "、".join(f"{s.value}（{STAGE_LABELS[s]}）" for s in STAGES)
    raise AssistRefused(f"未知的帮办状态“{text}”，可选：{choices}")


def list_cases(
    session: Session, *, section_ids: Sequence[int] | None = None, include_closed: bool = False
) -> list[AssistedCase]:
    """The assisted cases, open ones by default, in stage order then by expiry.

    Args:
        session: a read session.
        section_ids: only these sections' cases; all sections when None.
        include_closed: also cases that ended (renewed, lapsed, not renewing).

    Returns:
        One AssistedCase per reminder that was ever marked assisted.
    """
    r = table(Reminder)
    query = _cases().where(r.c.assist_stage.is_not(None))
    if section_ids is not None:
        query = query.where(r.c.section_id.in_(list(section_ids)))
    if not include_closed:
        query = query.where(r.c.state == ReminderState.ASSISTED.value)
    cases = [_case(row) for row in session.execute(query)]
    rank = {s.value: n for n, s in enumerate(STAGES)}
    cases.sort(key=lambda c: rank.get(c.stage or "", 0))  # stable: expiry order within a stage
    return cases


def get_case(session: Session, *, reminder_id: int) -> AssistedCase | None:
    """One assisted case, open or closed; None when the reminder was never assisted."""
    r = table(Reminder)
    row = session.execute(
        _cases().where(r.c.id == reminder_id, r.c.assist_stage.is_not(None))
    ).first()
    return None if row is None else _case(row)


def _cases() -> Select[Any]:
    """A reminder's case columns with its holder, permit, section and helper names."""
    r, h, c, i, sec = (
        table(Reminder),
        table(Holder),
        table(Certificate),
        table(CatalogItem),
        table(Section),
    )
    helper = table(Staff).alias("helper")
    return (
        select(
            r.c.id,
            h.c.name.label("holder"),
            i.c.certificate_name,
            sec.c.name.label("section"),
            r.c.state,
            r.c.assist_stage,
            helper.c.name.label("helper"),
            r.c.assisted_notes,
            r.c.assist_registered_on,
            r.c.assist_changed_at,
            r.c.assist_filed_on,
            r.c.apply_by,
            r.c.expires_on,
        )
        .join(h, h.c.id == r.c.holder_id)
        .join(c, c.c.id == r.c.certificate_id)
        .join(i, i.c.id == c.c.catalog_item_id)
        .join(sec, sec.c.id == r.c.section_id)
        .outerjoin(helper, helper.c.id == r.c.helper_staff_id)
        .order_by(r.c.expires_on, r.c.id)
    )


def _case(row: Any) -> AssistedCase:
    stage = row.assist_stage
    return AssistedCase(
        reminder_id=row.id,
        holder=row.holder,
        certificate=row.certificate_name,
        section=row.section,
        state=row.state,
        stage=stage,
        stage_label=STAGE_LABELS[AssistStage(stage)] if stage else "",
        helper=row.helper,
        notes=row.assisted_notes,
        registered_on=row.assist_registered_on,
        changed_at=local(row.assist_changed_at) if row.assist_changed_at else None,
        filed_on=row.assist_filed_on,
        apply_by=row.apply_by,
        expires_on=row.expires_on,
    )


def advance(
    session: Session,
    *,
    reminder_id: int,
    stage: AssistStage | str,
    staff_id: int | None,
    today: date,
    now: datetime,
    filed_on: date | None = None,
    note: str = "",
    helper_staff_id: int | None = None,
    viewer: Viewer | None = None,
) -> AssistedCase:
    """Move an open assisted case forward to `stage`, or refuse and change nothing.

    Args:
        session: a write session (the caller commits).
        reminder_id: the assisted reminder.
        stage: `preparing` or `filed` (code or Chinese label); never backwards.
        staff_id: who records the change.
        today: the date in force (a filing date may not be later).
        now: the time in force.
        filed_on: the filing date for `filed`; today when not given.
        note: what happened, appended to the case's notes with the date.
        helper_staff_id: a new helper for the case, when it changes hands.
        viewer: who records, for the section check (callers: their own section's cases
            only); None checks nothing.

    Returns:
        The case as it now stands.

    Raises:
        AssistRefused: unknown reminder or stage, another section's case for a caller, not
            an assisted case, a closed case, a move backwards or to the same stage, a filing
            date in the future, before the case was registered or after the certificate
            expired, or a date given for another stage.
    """
    target = stage_of(stage)
    r = session.get(Reminder, reminder_id, with_for_update=True)
    if r is None:
        raise AssistRefused(f"提醒 {reminder_id} 不存在")
    refused = section_refusal(
        session,
        viewer=viewer,
        section_id=r.section_id,
        what=f"提醒 {reminder_id}",
        kind="帮办代办案件",
    )
    if refused:
        raise AssistRefused(refused)
    if r.assist_stage is None:
        raise AssistRefused(f"提醒 {reminder_id} 不是帮办代办案件（先记录“帮办代办”结果）")
    if r.state not in OPEN_STATES:
        raise AssistRefused(
            f"提醒 {reminder_id} 已结束（{STATE_LABELS.get(r.state, r.state)}），不能再变更帮办状态"
        )
    if r.state != ReminderState.ASSISTED:
        raise AssistRefused(
            f"提醒 {reminder_id} 当前为“{STATE_LABELS.get(r.state, r.state)}”，不在帮办代办中"
        )
    current = AssistStage(r.assist_stage)
    if STAGES.index(target) <= STAGES.index(current):
        if target == current:
            raise AssistRefused(f"提醒 {reminder_id} 已是“{STAGE_LABELS[current]}”")
        raise AssistRefused(
            f"帮办状态只能向前推进：不能从“{STAGE_LABELS[current]}”退回“{STAGE_LABELS[target]}”"
        )
    if target != AssistStage.FILED and filed_on is not None:
        raise AssistRefused("只有“已提交申请”需要填写提交日期")
    before = _snapshot(r)
    if target == AssistStage.FILED:
        filed = filed_on or today
        _check_filed_on(r, filed, today)
        r.assist_filed_on = filed
    if helper_staff_id is not None:
        if session.get(Staff, helper_staff_id) is None:
            raise AssistRefused(f"工作人员 {helper_staff_id} 不存在")
        r.helper_staff_id = helper_staff_id
    r.assist_stage, r.assist_changed_at = target, now
    line = f"{today:%m-%d} {STAGE_LABELS[target]}" + (f"：{note.strip()}" if note.strip() else "")
    r.assisted_notes = f"{r.assisted_notes}\n{line}" if r.assisted_notes else line
    r.version += 1
    r.updated_at = now
    session.add(r)
    session.flush()
    audit.record(
        session,
        action="assisted.advance",
        entity="reminder",
        entity_id=reminder_id,
        before=before,
        after=_snapshot(r),
        staff_id=staff_id,
        note=note.strip(),
        at=now,
    )
    return _load(session, reminder_id)


def _check_filed_on(r: Reminder, filed: date, today: date) -> None:
    if filed > today:
        raise AssistRefused(f"提交日期 {filed:%Y-%m-%d} 晚于今天，请填写实际提交申请的日期")
    if r.assist_registered_on is not None and filed < r.assist_registered_on:
        raise AssistRefused(
            f"提交日期 {filed:%Y-%m-%d} 早于帮办登记日期 {r.assist_registered_on:%Y-%m-%d}"
        )
    if filed > r.expires_on:
        raise AssistRefused(
            f"提交日期 {filed:%Y-%m-%d} 晚于证书期满日期 {r.expires_on:%Y-%m-%d}，"
            "已不能按延续（换证）办理"
        )


def _snapshot(r: Reminder) -> dict[str, Any]:
    return {
        "assist_stage": r.assist_stage,
        "assist_filed_on": r.assist_filed_on,
        "helper_staff_id": r.helper_staff_id,
    }


def _load(session: Session, reminder_id: int) -> AssistedCase:
    case = get_case(session, reminder_id=reminder_id)
    assert case is not None  # just written in this session
    return case
