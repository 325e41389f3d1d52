"""Change the catalog: load a catalog TOML file, edit items and office settings, all audited."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from callqueue import audit, clock
from callqueue.catalog import (
    METHOD_LABELS,
    OFFICE_KEYS,
    CatalogEntry,
    CatalogError,
    entries_of,
    name_key,
)
from callqueue.dates import DeadlineKind
from callqueue.models import CatalogItem, Channel, Section, SectionKind, Setting

_METHODS = {label: channel for channel, label in METHOD_LABELS.items()} | {
    c.value: c for c in Channel
}

# Fields an edit may change, with the Python type each must have.
EDITABLE: dict[str, tuple[type, ...]] = {
    "permit_item": (str,),
    "certificate_name": (str,),
    "validity_years": (list,),
    "method": (str,),
    "lead_months": (int,),
    "filing_deadline_days": (int, type(None)),
    "deadline_kind": (str,),
    "deadline_note": (str,),
    "legal_basis": (str,),
    "basis_level": (str,),
    "confidence": (str,),
    "materials": (list,),
    "sources": (list,),
    "place": (str, type(None)),
    "phone": (str, type(None)),
    "active": (bool,),
}
MAX_FILING_DAYS = 730
"""The longest renewal filing deadline an item may state (the longest lead is 24 months)."""


@dataclass(frozen=True)
class LoadResult:
    """What loading a catalog file did."""

    created: int
    updated: int
    unchanged: int


# --- reading ----------------------------------------------------------------------------


def read_catalog_file(path: Path) -> dict[str, Any]:
    """Parse and validate a catalog TOML file.

    Args:
        path: the file (usually `seeds/catalog.toml`).

    Returns:
        `{"office": {...}, "sections": [...], "items": [...]}` with items keyed by model field.

    Raises:
        CatalogError: the file is unreadable or an item is incomplete.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"目录文件 {path} 无法读取：{exc}") from exc
    sections = [dict(s) for s in raw.get("section", [])]
    items = [_item_from_toml(entry, path) for entry in raw.get("item", [])]
    seqs = [i["seq"] for i in items]
    if len(set(seqs)) != len(seqs):
        raise CatalogError(f"目录文件 {path} 中序号重复")
    # Two items of one name would leave an imported ledger row without one catalog item.
    named: dict[str, int] = {}
    for i in items:
        first = named.setdefault(name_key(i["certificate_name"]), i["seq"])
        if first != i["seq"]:
            raise CatalogError(
                f"目录文件 {path} 中许可证书名称“{i['certificate_name']}”在第{first}项和"
                f"第{i['seq']}项中重复"
            )
    return {"office": dict(raw.get("office", {})), "sections": sections, "items": items}


def _item_from_toml(entry: Mapping[str, Any], path: Path) -> dict[str, Any]:
    seq = entry.get("seq", "?")
    for key in ("seq", "permit_item", "certificate_name", "section", "lead_months"):
        if key not in entry:
            raise CatalogError(f"目录文件 {path} 第{seq}项缺少 {key}")
    method = _METHODS.get(str(entry.get("method", "人工电话通知")))
    if method is None:
        raise CatalogError(f"目录文件 {path} 第{seq}项的提醒方式“{entry['method']}”无法识别")
    item = {k: entry[k] for k in EDITABLE if k in entry}
    item.update(seq=int(entry["seq"]), section=str(entry["section"]), method=method.value)
    item.setdefault("deadline_kind", DeadlineKind.LATEST_FILING.value)
    _validate(item, where=f"目录文件 {path} 第{seq}项")
    return item


def check_values(values: Mapping[str, Any], *, where: str) -> None:
    """Refuse values a catalog file could not hold (types, ranges, vocabularies).

    Raises:
        CatalogError: the first value that is wrong, said for staff with `where` in front.
    """
    _validate(values, where=where)


def _validate(values: Mapping[str, Any], *, where: str) -> None:
    for key, value in values.items():
        allowed = EDITABLE.get(key)
        if allowed is not None and not isinstance(value, allowed):
            raise CatalogError(f"{where}：{key} 的值 {value!r} 类型不对")
    for key, label in (("permit_item", "许可事项名称"), ("certificate_name", "许可证书名称")):
        if key in values and not values[key].strip():
            raise CatalogError(f"{where}：{label}不能为空")
    if "deadline_kind" in values and values["deadline_kind"] not in set(DeadlineKind):
        raise CatalogError(f"{where}：申请时限类型“{values['deadline_kind']}”无法识别")
    if "lead_months" in values and not 0 < values["lead_months"] <= 24:
        raise CatalogError(f"{where}：提醒时限应为 1–24 个月")
    if "validity_years" in values and not all(
        isinstance(y, int) and 0 < y <= 30 for y in values["validity_years"]
    ):
        raise CatalogError(f"{where}：有效期限应为 1–30 年的整数")
    days = values.get("filing_deadline_days")
    if days is not None and not 0 <= days <= MAX_FILING_DAYS:
        raise CatalogError(f"{where}：申请换证时限应为 0–{MAX_FILING_DAYS} 日（不规定时留空）")
    if "method" in values and values["method"] not in set(Channel):
        raise CatalogError(f"{where}：提醒方式“{values['method']}”无法识别")


# --- writing ----------------------------------------------------------------------------


def load_catalog(
    session: Session, *, path: Path, actor: str = "seed", staff_id: int | None = None
) -> LoadResult:
    """Bring sections, office settings and items in line with a catalog file.

    Loading the same file twice changes nothing; each changed item is audited.

    Args:
        session: the unit of work.
        path: the catalog TOML file.
        actor: who loads it, for the audit trail.
        staff_id: the staff member who loads it, if any.

    Returns:
        Counts of created, updated and unchanged items.
    """
    data = read_catalog_file(path)
    now = clock.now()
    sections = {s.name: s for s in session.exec(select(Section)).all()}
    for spec in data["sections"]:
        if spec["name"] not in sections:
            section = Section(name=spec["name"], kind=spec.get("kind", SectionKind.APPROVAL))
            session.add(section)
            sections[section.name] = section
            audit.record(
                session,
                action="section.create",
                entity="section",
                entity_id=section.name,
                after=spec,
                actor=actor,
                staff_id=staff_id,
            )
    for key, setting_key in OFFICE_KEYS.items():
        if key in data["office"]:
            _set_setting(
                session,
                setting_key,
                str(data["office"][key]),
                actor,
                staff_id,
                only_if_missing=True,
            )
    session.flush()
    existing = {i.seq: i for i in session.exec(select(CatalogItem)).all()}
    created = updated = 0
    for spec in data["items"]:
        values = dict(spec)
        section_name = values.pop("section")
        if section_name not in sections:
            raise CatalogError(f"第{spec['seq']}项的承办科室“{section_name}”不在科室列表中")
        values["section_id"] = sections[section_name].id
        item = existing.get(spec["seq"])
        if item is None:
            item = CatalogItem(**values, updated_at=now)
            session.add(item)
            session.flush()
            created += 1
            audit.record(
                session,
                action="catalog.create",
                entity="catalogitem",
                entity_id=item.seq,
                after=values,
                actor=actor,
                staff_id=staff_id,
            )
        elif _apply(session, item, values, actor=actor, staff_id=staff_id, note=str(path.name)):
            updated += 1
    return LoadResult(
        created=created, updated=updated, unchanged=len(data["items"]) - created - updated
    )


def _apply(
    session: Session,
    item: CatalogItem,
    values: Mapping[str, Any],
    *,
    actor: str,
    staff_id: int | None,
    note: str,
) -> bool:
    before = {k: getattr(item, k) for k, v in values.items() if getattr(item, k) != v}
    if not before:
        return False
    after = {k: values[k] for k in before}
    for key, value in after.items():
        setattr(item, key, value)
    item.updated_at = clock.now()
    session.add(item)
    audit.record(
        session,
        action="catalog.update",
        entity="catalogitem",
        entity_id=item.seq,
        before=before,
        after=after,
        actor=actor,
        staff_id=staff_id,
        note=note,
    )
    return True


def update_item(
    session: Session,
    *,
    seq: int,
    changes: Mapping[str, Any],
    reason: str,
    actor: str,
    staff_id: int | None = None,
) -> CatalogEntry:
    """Edit one catalog item and record an AuditEvent with before and after.

    Args:
        session: the unit of work.
        seq: the item's 序号.
        changes: field → new value; only the fields in `EDITABLE`.
        reason: why, kept in the audit trail.
        actor: who edits it.
        staff_id: their staff id.

    Returns:
        The item as it now is.

    Raises:
        CatalogError: unknown item or field, or a value of the wrong kind.
    """
    item = session.exec(select(CatalogItem).where(CatalogItem.seq == seq)).first()
    if item is None:
        raise CatalogError(f"目录中没有序号为 {seq} 的事项")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise CatalogError(f"不能修改的字段：{'、'.join(sorted(unknown))}")
    _validate(changes, where=f"第{seq}项")
    _apply(session, item, changes, actor=actor, staff_id=staff_id, note=reason)
    return entries_of(session, [item])[0]


def _set_setting(
    session: Session,
    key: str,
    value: str,
    actor: str,
    staff_id: int | None,
    *,
    only_if_missing: bool = False,
) -> None:
    current = session.get(Setting, key)
    if current is not None and (only_if_missing or current.value == value):
        return
    before = None if current is None else {"value": current.value}
    if current is None:
        current = Setting(key=key, value=value, updated_at=clock.now())
    else:
        current.value, current.updated_at = value, clock.now()
    session.add(current)
    audit.record(
        session,
        action="setting.set",
        entity="setting",
        entity_id=key,
        before=before,
        after={"value": value},
        actor=actor,
        staff_id=staff_id,
    )


def set_office(
    session: Session, *, key: str, value: str, actor: str, staff_id: int | None = None
) -> None:
    """Change an office-wide setting (`name`, `place` or `service_phone`), audited."""
    if key not in OFFICE_KEYS:
        raise CatalogError(f"未知的办公室设置：{key}")
    _set_setting(session, OFFICE_KEYS[key], value.strip(), actor, staff_id)
