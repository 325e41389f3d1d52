"""Add a catalog item under the next free 序号, validated like a catalog file entry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from callqueue import audit
from callqueue.catalog import CatalogEntry, CatalogError, entries_of
from callqueue.catalog_change.edit import require_editor, schedule
from callqueue.catalog_change.plans import FIELD_LABELS, ChangePlan
from callqueue.catalog_change.recompute import require_free_name
from callqueue.catalog_edit import check_values
from callqueue.db import table
from callqueue.models import CatalogItem, Channel, Section, SectionKind
from callqueue.queue.staff import StaffRow

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
    require_editor(staff, reason)
    assert staff is not None
    s = table(Section)
    found = session.execute(select(s.c.id, s.c.kind).where(s.c.name == section)).first()
    if found is None:
        names = "、".join(session.execute(select(s.c.name).order_by(s.c.name)).scalars())
        raise CatalogError(f"承办科室“{section}”不在科室列表中（现有：{names}）")
    section_id, kind = found
    if kind != SectionKind.APPROVAL.value:
        # The supervising section has no callers: its reminders would never be worked.
        approval = session.execute(
            select(s.c.name).where(s.c.kind == SectionKind.APPROVAL.value).order_by(s.c.id)
        ).scalars()
        raise CatalogError(f"承办科室应为审批科室（{'、'.join(approval)}），“{section}”负责督查")
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
    require_free_name(session, str(data["certificate_name"]))
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
        schedule(session, item, "activate", {"active": True}, plan, reason, staff, now, 10)
    return entries_of(session, [item])[0]
