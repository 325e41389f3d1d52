"""Inspection (督促检查): a supervisor samples a section's worked reminders and reviews each one.

A sample is drawn at random without replacement from the section's reminders that have at least
one attempt; the seed is stored so the same seed over the same ledger draws the same sample.
Only supervisors and admins inspect; every change writes an AuditEvent.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from callqueue import audit, roles
from callqueue.clock import local
from callqueue.db import table
from callqueue.models import (
    Attempt,
    CatalogItem,
    Certificate,
    Holder,
    Inspection,
    InspectionItem,
    InspectionStatus,
    Reminder,
    Section,
    SectionKind,
    Staff,
    Verdict,
)
from callqueue.queue import staff as staff_service
from callqueue.queue.outcome_terms import CHANNEL_LABELS, outcome_label
from callqueue.queue.reminders import STATE_LABELS

MAX_SEED = 2**31 - 1
VERDICT_LABELS = {Verdict.PASS.value: "合格", Verdict.PROBLEM.value: "有问题"}
UNREVIEWED = "未检查"
STATUS_LABELS = {InspectionStatus.OPEN.value: "检查中", InspectionStatus.FINISHED.value: "已结束"}
CONVEYED_LABELS = {
    "expiry": "期满日期",
    "apply_by": "申请换证时限",
    "place": "办理地点",
    "phone": "服务电话",
    "materials": "提交材料清单",
}
"""一次性告知 items as staff name them."""
SYSTEM = "系统"


class InspectionRefused(ValueError):
    """An inspection change that cannot be made; nothing was changed. The message is for staff."""


def verdict_label(verdict: str | None) -> str:
    """合格 / 有问题 / 未检查."""
    return VERDICT_LABELS.get(verdict or "", UNREVIEWED)


@dataclass(frozen=True)
class AttemptLine:
    """One call or email on a sampled reminder, as the supervisor reviews it."""

    at: datetime
    staff: str
    channel: str
    channel_label: str
    outcome: str
    outcome_label: str
    conveyed: tuple[str, ...]
    conveyed_labels: tuple[str, ...]
    materials_ticked: tuple[str, ...]
    note: str

    def summary(self) -> str:
        """One line: when, who, how, what came of it, what was told, materials, note."""
        parts = [f"{self.at:%Y-%m-%d %H:%M} {self.staff} {self.channel_label} {self.outcome_label}"]
        if self.conveyed_labels:
            parts.append("告知：" + "、".join(self.conveyed_labels))
        if self.materials_ticked:
            parts.append("材料：" + "、".join(self.materials_ticked))
        if self.note:
            parts.append("备注：" + self.note)
        return "；".join(parts)


@dataclass(frozen=True)
class ItemView:
    """One sampled reminder: the holder, the certificate, its dates, attempts and the verdict."""

    id: int
    position: int
    reminder_id: int
    holder: str
    certificate: str
    certificate_number: str
    issued_on: date | None
    expires_on: date
    remind_on: date
    apply_by: date
    state: str
    state_label: str
    verdict: str | None
    verdict_label: str
    comment: str
    reviewed_at: datetime | None
    reviewer: str | None
    attempts: tuple[AttemptLine, ...]


@dataclass(frozen=True)
class InspectionSummary:
    """An inspection's header and its counts."""

    id: int
    section: str
    supervisor: str
    created_at: datetime
    sample_size: int
    seed: int
    status: str
    status_label: str
    finished_at: datetime | None
    note: str
    items: int
    passed: int
    problems: int
    unreviewed: int

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (ISO dates and times in Asia/Shanghai)."""
        return dict(audit.jsonable(asdict(self)))


@dataclass(frozen=True)
class InspectionDetail:
    """An inspection with every sampled reminder in sample order."""

    header: InspectionSummary
    items: tuple[ItemView, ...]

    def to_json(self) -> dict[str, Any]:
        """The header's fields plus `items`, each with its `attempts`."""
        data = self.header.to_json()
        data["items"] = [audit.jsonable(asdict(item)) for item in self.items]
        return data


# --- who may inspect ----------------------------------------------------------------------


def _inspector(session: Session, name: str | None) -> staff_service.StaffRow:
    """The named active supervisor or admin; NotAllowed or InspectionRefused otherwise."""
    if not name:
        roles.require_inspector(None, None)
    assert name is not None
    try:
        member = staff_service.get_staff(session, name)
    except staff_service.StaffError as exc:
        raise InspectionRefused(str(exc)) from None
    roles.require_inspector(member.name, member.role)
    return member


def _check_viewer(session: Session, viewer: str | None) -> None:
    # No one named is the operator's own command line; a named caller may not read inspections.
    if viewer:
        _inspector(session, viewer)


# --- drawing a sample ---------------------------------------------------------------------


def inspectable_sections(*, session: Session) -> list[str]:
    """The approval sections' names, sorted (the supervising section has no ledger to inspect)."""
    sec = table(Section)
    rows = session.execute(
        select(sec.c.name).where(sec.c.kind == SectionKind.APPROVAL).order_by(sec.c.name)
    ).scalars()
    return list(rows)


def worked_reminder_ids(*, session: Session, section_id: int) -> list[int]:
    """The section's reminders with at least one attempt, by id (the order the sample draws from)."""
    r, a = table(Reminder), table(Attempt)
    worked = exists().where(a.c.reminder_id == r.c.id)
    rows = session.execute(
        select(r.c.id).where(r.c.section_id == section_id, worked).order_by(r.c.id)
    ).scalars()
    return [int(x) for x in rows]


def draw_sample(
    *,
    session: Session,
    section: str,
    size: int,
    supervisor: str | None,
    seed: int | None = None,
    now: datetime,
) -> InspectionDetail:
    """Draw a random sample of a section's worked reminders into a new open inspection, audited.

    Args:
        session: a write session (the caller commits).
        section: the section's name.
        size: how many reminders to sample (at least 1, at most the worked reminders).
        supervisor: the supervisor or admin drawing it.
        seed: the random seed; a fresh one when None (stored either way).
        now: the time of the draw.

    Returns:
        The new inspection with its items in sample order.

    Raises:
        NotAllowed: no staff member, or one who is not a supervisor or admin.
        InspectionRefused: bad size or seed, unknown section, too few worked reminders.
    """
    me = _inspector(session, supervisor)
    if size < 1:
        raise InspectionRefused(f"抽样数量至少为 1（输入的是 {size}）")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise InspectionRefused(f"随机种子应为 0 到 {MAX_SEED} 之间的整数")
    try:
        section_id = staff_service.section_id(session, section)
    except staff_service.StaffError as exc:
        raise InspectionRefused(str(exc)) from None
    candidates = worked_reminder_ids(session=session, section_id=section_id)
    if len(candidates) < size:
        raise InspectionRefused(
            f"{section}只有 {len(candidates)} 条已处理（有提醒记录）的提醒，少于抽样数量 {size}"
        )
    if seed is None:
        seed = secrets.randbelow(MAX_SEED + 1)
    chosen = random.Random(seed).sample(candidates, size)
    inspection = Inspection(
        section_id=section_id,
        supervisor_id=me.id,
        created_at=now,
        sample_size=size,
        seed=seed,
        status=InspectionStatus.OPEN,
    )
    session.add(inspection)
    session.flush()
    assert inspection.id is not None
    session.add_all(
        InspectionItem(inspection_id=inspection.id, reminder_id=reminder_id, position=n)
        for n, reminder_id in enumerate(chosen, start=1)
    )
    session.flush()
    audit.record(
        session,
        action="inspection.draw",
        entity="inspection",
        entity_id=inspection.id,
        after={"section": section, "size": size, "seed": seed, "reminders": chosen},
        staff_id=me.id,
        actor=me.name,
        at=now,
    )
    return get_inspection(session=session, inspection_id=inspection.id)


# --- reviewing ---------------------------------------------------------------------------


def _open_inspection(session: Session, inspection_id: int) -> Inspection:
    # Locked on PostgreSQL so a verdict cannot land after a concurrent finish (SQLite write
    # transactions are already serial).
    found = session.get(Inspection, inspection_id, with_for_update=True)
    if found is None:
        raise InspectionRefused(f"检查记录 {inspection_id} 不存在")
    if found.status != InspectionStatus.OPEN:
        raise InspectionRefused(f"检查记录 {inspection_id} 已结束，不能再修改")
    return found


def review(
    *,
    session: Session,
    item_id: int,
    verdict: str,
    comment: str = "",
    staff: str | None,
    now: datetime,
) -> ItemView:
    """Mark one sampled reminder pass or problem (again, while the inspection is open), audited.

    Args:
        session: a write session (the caller commits).
        item_id: the inspection item.
        verdict: `pass` or `problem`.
        comment: the finding; required for a problem.
        staff: the supervisor or admin reviewing.
        now: when.

    Returns:
        The item as it now stands.

    Raises:
        NotAllowed: no staff member, or one who is not a supervisor or admin.
        InspectionRefused: unknown item or verdict, a problem without a comment, a finished inspection.
    """
    me = _inspector(session, staff)
    try:
        kind = Verdict(verdict)
    except ValueError:
        raise InspectionRefused(
            f"检查结论“{verdict}”无法识别，可选：pass（合格）、problem（有问题）"
        ) from None
    comment = comment.strip()
    if kind == Verdict.PROBLEM and not comment:
        raise InspectionRefused("有问题时请写明检查意见")
    item = session.get(InspectionItem, item_id)
    if item is None:
        raise InspectionRefused(f"检查条目 {item_id} 不存在")
    _open_inspection(session, item.inspection_id)
    before = {"verdict": item.verdict, "comment": item.comment}
    item.verdict, item.comment = kind.value, comment
    item.reviewed_at, item.reviewer_id = now, me.id
    session.add(item)
    session.flush()
    audit.record(
        session,
        action="inspection.review",
        entity="inspectionitem",
        entity_id=item_id,
        before=before,
        after={"verdict": kind.value, "comment": comment, "reminder_id": item.reminder_id},
        staff_id=me.id,
        actor=me.name,
        at=now,
    )
    detail = get_inspection(session=session, inspection_id=item.inspection_id)
    return next(i for i in detail.items if i.id == item_id)


def finish(
    *,
    session: Session,
    inspection_id: int,
    staff: str | None,
    note: str = "",
    now: datetime,
) -> InspectionSummary:
    """Close an inspection whose every item has a verdict, with a summary note, audited.

    Args:
        session: a write session (the caller commits).
        inspection_id: the inspection.
        staff: the supervisor or admin finishing it.
        note: the summary (总结).
        now: when.

    Returns:
        The finished inspection's header.

    Raises:
        NotAllowed: no staff member, or one who is not a supervisor or admin.
        InspectionRefused: unknown or finished inspection, or items still unreviewed.
    """
    me = _inspector(session, staff)
    inspection = _open_inspection(session, inspection_id)
    header = _summaries(session, inspection_id=inspection_id)[0]
    if header.unreviewed:
        raise InspectionRefused(f"还有 {header.unreviewed} 条未检查，全部检查后才能结束")
    note = note.strip()
    inspection.status, inspection.finished_at, inspection.note = (
        InspectionStatus.FINISHED,
        now,
        note,
    )
    session.add(inspection)
    session.flush()
    audit.record(
        session,
        action="inspection.finish",
        entity="inspection",
        entity_id=inspection_id,
        before={"status": InspectionStatus.OPEN},
        after={
            "status": InspectionStatus.FINISHED,
            "passed": header.passed,
            "problems": header.problems,
        },
        staff_id=me.id,
        actor=me.name,
        note=note,
        at=now,
    )
    return _summaries(session, inspection_id=inspection_id)[0]


# --- reading -----------------------------------------------------------------------------


def list_inspections(
    *,
    session: Session,
    viewer: str | None = None,
    section: str | None = None,
    limit: int = 200,
) -> list[InspectionSummary]:
    """Inspections newest first, with their counts.

    Args:
        session: a read session.
        viewer: the staff member asking; a caller is refused (None: the operator's command line).
        section: only this section's inspections.
        limit: at most this many.

    Raises:
        NotAllowed: the viewer is not a supervisor or admin.
        InspectionRefused: unknown viewer or section.
    """
    _check_viewer(session, viewer)
    section_id = None
    if section is not None:
        try:
            section_id = staff_service.section_id(session, section)
        except staff_service.StaffError as exc:
            raise InspectionRefused(str(exc)) from None
    return _summaries(session, section_id=section_id, limit=limit)


def get_inspection(
    *, session: Session, inspection_id: int, viewer: str | None = None
) -> InspectionDetail:
    """One inspection with each sampled reminder and its attempts, in sample order.

    Raises:
        NotAllowed: the viewer is not a supervisor or admin.
        InspectionRefused: no such inspection.
    """
    _check_viewer(session, viewer)
    found = _summaries(session, inspection_id=inspection_id)
    if not found:
        raise InspectionRefused(f"检查记录 {inspection_id} 不存在")
    return InspectionDetail(found[0], tuple(_items(session, inspection_id)))


def _summaries(
    session: Session,
    *,
    inspection_id: int | None = None,
    section_id: int | None = None,
    limit: int = 200,
) -> list[InspectionSummary]:
    ins, item, sec, st = table(Inspection), table(InspectionItem), table(Section), table(Staff)
    passed = func.sum(case((item.c.verdict == Verdict.PASS.value, 1), else_=0))
    problems = func.sum(case((item.c.verdict == Verdict.PROBLEM.value, 1), else_=0))
    unreviewed = func.sum(case((item.c.verdict.is_(None), 1), else_=0))
    query = (
        select(
            ins.c.id,
            sec.c.name,
            st.c.name,
            ins.c.created_at,
            ins.c.sample_size,
            ins.c.seed,
            ins.c.status,
            ins.c.finished_at,
            ins.c.note,
            func.count(item.c.id),
            passed,
            problems,
            unreviewed,
        )
        .join(sec, sec.c.id == ins.c.section_id)
        .join(st, st.c.id == ins.c.supervisor_id)
        .outerjoin(item, item.c.inspection_id == ins.c.id)
        .group_by(ins.c.id, sec.c.name, st.c.name)
        .order_by(ins.c.created_at.desc(), ins.c.id.desc())
        .limit(limit)
    )
    if inspection_id is not None:
        query = query.where(ins.c.id == inspection_id)
    if section_id is not None:
        query = query.where(ins.c.section_id == section_id)
    return [
        InspectionSummary(
            id=row[0],
            section=row[1],
            supervisor=row[2],
            created_at=local(row[3]),
            sample_size=row[4],
            seed=row[5],
            status=row[6],
            status_label=STATUS_LABELS.get(row[6], row[6]),
            finished_at=local(row[7]) if row[7] else None,
            note=row[8],
            items=int(row[9]),
            passed=int(row[10] or 0),
            problems=int(row[11] or 0),
            unreviewed=int(row[12] or 0),
        )
        for row in session.execute(query).all()
    ]


def _items(session: Session, inspection_id: int) -> list[ItemView]:
    item, r, c = table(InspectionItem), table(Reminder), table(Certificate)
    cat, h = table(CatalogItem), table(Holder)
    reviewer = aliased(table(Staff))
    rows = session.execute(
        select(
            item.c.id,
            item.c.position,
            item.c.reminder_id,
            h.c.name,
            cat.c.certificate_name,
            c.c.number,
            c.c.issued_on,
            c.c.expires_on,
            r.c.remind_on,
            r.c.apply_by,
            r.c.state,
            item.c.verdict,
            item.c.comment,
            item.c.reviewed_at,
            reviewer.c.name,
        )
        .join(r, r.c.id == item.c.reminder_id)
        .join(c, c.c.id == r.c.certificate_id)
        .join(cat, cat.c.id == c.c.catalog_item_id)
        .join(h, h.c.id == r.c.holder_id)
        .outerjoin(reviewer, reviewer.c.id == item.c.reviewer_id)
        .where(item.c.inspection_id == inspection_id)
        .order_by(item.c.position)
    ).all()
    attempts = _attempts(session, [row[2] for row in rows])
    return [
        ItemView(
            id=row[0],
            position=row[1],
            reminder_id=row[2],
            holder=row[3],
            certificate=row[4],
            certificate_number=row[5],
            issued_on=row[6],
            expires_on=row[7],
            remind_on=row[8],
            apply_by=row[9],
            state=row[10],
            state_label=STATE_LABELS.get(row[10], row[10]),
            verdict=row[11],
            verdict_label=verdict_label(row[11]),
            comment=row[12],
            reviewed_at=local(row[13]) if row[13] else None,
            reviewer=row[14],
            attempts=tuple(attempts.get(row[2], ())),
        )
        for row in rows
    ]


def _attempts(session: Session, reminder_ids: list[int]) -> dict[int, list[AttemptLine]]:
    a, st = table(Attempt), table(Staff)
    out: dict[int, list[AttemptLine]] = {}
    if not reminder_ids:
        return out
    rows = session.execute(
        select(
            a.c.reminder_id,
            a.c.at,
            st.c.name,
            a.c.channel,
            a.c.outcome,
            a.c.conveyed,
            a.c.materials_ticked,
            a.c.note,
        )
        .outerjoin(st, st.c.id == a.c.staff_id)
        .where(a.c.reminder_id.in_(reminder_ids))
        .order_by(a.c.reminder_id, a.c.at, a.c.id)
    ).all()
    for rid, at, who, channel, outcome, conveyed, ticked, note in rows:
        told = tuple(conveyed or ())
        out.setdefault(rid, []).append(
            AttemptLine(
                at=local(at),
                staff=who or SYSTEM,
                channel=channel,
                channel_label=CHANNEL_LABELS.get(channel, channel),
                outcome=outcome,
                outcome_label=outcome_label(outcome),
                conveyed=told,
                conveyed_labels=tuple(CONVEYED_LABELS.get(t, t) for t in told),
                materials_ticked=tuple(ticked or ()),
                note=note,
            )
        )
    return out
