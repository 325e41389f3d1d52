"""The reminder catalog (附件1) as staff see it: entries, office settings, the too-late check."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlmodel import Session, select

from callqueue.dates import DeadlineKind, lead_shortfall
from callqueue.models import CatalogItem, Channel, Section, Setting

METHOD_LABELS = {Channel.PHONE: "人工电话通知", Channel.EMAIL: "电子邮件告知"}
OFFICE_KEYS = {"name": "office.name", "place": "office.place", "service_phone": "office.phone"}
DEFAULT_OFFICE = {"office.name": "东丽区政务服务办公室", "office.place": "", "office.phone": ""}


CONFIDENCE_WORDS = {
    "high": "高",
    "medium-high": "中高",
    "medium": "中",
    "medium-low": "中低",
    "low": "低",
    "deadline": "期限",
    "materials": "材料",
    "non-Tianjin guides": "参照外地办事指南",
}
"""The research's confidence words (seeds/catalog.toml writes them in English) for staff."""
CONFIDENCE_PART = re.compile(r"\s*([A-Za-z-]+)\s*(?:\(([^)]*)\))?\s*")


def confidence_label(text: str) -> str:
    """A confidence as staff read it: `high (deadline); medium (materials)` → `期限高；材料中`.

    Words it does not know are kept as written.
    """
    parts = []
    for part in text.split(";"):
        found = CONFIDENCE_PART.fullmatch(part)
        if found is None:
            parts.append(part.strip())
            continue
        level = CONFIDENCE_WORDS.get(found[1], found[1])
        what = [w.strip() for w in (found[2] or "").split(",") if w.strip()]
        aspect = CONFIDENCE_WORDS.get(what[0], what[0]) if what else ""
        extra = "、".join(CONFIDENCE_WORDS.get(w, w) for w in what[1:])
        parts.append(f"{aspect}{level}" + (f"（{extra}）" if extra else ""))
    return "；".join(p for p in parts if p)


class CatalogError(ValueError):
    """A catalog file or edit that cannot be used; the message is for staff."""


def name_key(text: str) -> str:
    """A certificate or holder name reduced for matching: full/half width, spaces, brackets."""
    # str.split() splits on exactly the characters str.isspace() accepts.
    folded = "".join(unicodedata.normalize("NFKC", text).split())
    return folded.replace("【", "[").replace("】", "]")


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog item as the faces show it."""

    id: int
    seq: int
    permit_item: str
    certificate_name: str
    section: str
    validity_years: list[int]
    method: str
    lead_months: int
    filing_deadline_days: int | None
    deadline_kind: str
    deadline_note: str
    legal_basis: str
    basis_level: str
    confidence: str
    materials: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    place: str = ""
    phone: str = ""
    active: bool = True

    @property
    def confidence_label(self) -> str:
        """How sure the research behind the deadline and materials is, in Chinese."""
        return confidence_label(self.confidence)

    @property
    def validity_label(self) -> str:
        """许可证书法定有效期限 as 附件1 writes it, e.g. `5年` or `2年/3年/4年`."""
        return "/".join(f"{y}年" for y in self.validity_years)

    @property
    def method_label(self) -> str:
        """提醒方式 in words."""
        return METHOD_LABELS.get(Channel(self.method), self.method)

    @property
    def lead_label(self) -> str:
        """提醒时限 as 附件1 writes it."""
        return f"有效期到期前{self.lead_months}个月"

    @property
    def deadline_label(self) -> str:
        """申请换证时限 in words."""
        if self.filing_deadline_days is None:
            return "未规定（按届满30日前）"
        if self.deadline_kind == DeadlineKind.WINDOW_OPENS:
            return f"到期前{self.filing_deadline_days}日内"
        return f"到期{self.filing_deadline_days}日前"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, with the labels."""
        data = asdict(self)
        data.update(
            method_label=self.method_label,
            validity_label=self.validity_label,
            lead_label=self.lead_label,
            deadline_label=self.deadline_label,
        )
        return data


@dataclass(frozen=True)
class LateItem:
    """A catalog item whose reminder comes too late for the legal filing deadline."""

    seq: int
    certificate_name: str
    lead_months: int
    filing_deadline_days: int | None
    deadline_kind: str
    shortfall_days: int
    message: str


# --- reading back -----------------------------------------------------------------------


def office(session: Session) -> dict[str, str]:
    """Office name, place and service phone as set in the database."""
    stored = {s.key: s.value for s in session.exec(select(Setting)).all()}
    return {key: stored.get(skey, DEFAULT_OFFICE[skey]) for key, skey in OFFICE_KEYS.items()}


def list_items(session: Session, *, include_retired: bool = False) -> list[CatalogEntry]:
    """The catalog in 序号 order."""
    query = select(CatalogItem).order_by(CatalogItem.seq)  # type: ignore[arg-type]
    if not include_retired:
        query = query.where(CatalogItem.active == True)  # noqa: E712
    return entries_of(session, list(session.exec(query).all()))


def entries_of(session: Session, items: list[CatalogItem]) -> list[CatalogEntry]:
    names = {s.id: s.name for s in session.exec(select(Section)).all()}
    place = office(session)
    return [
        CatalogEntry(
            id=i.id or 0,
            seq=i.seq,
            permit_item=i.permit_item,
            certificate_name=i.certificate_name,
            section=names.get(i.section_id, ""),
            validity_years=list(i.validity_years),
            method=i.method,
            lead_months=i.lead_months,
            filing_deadline_days=i.filing_deadline_days,
            deadline_kind=i.deadline_kind,
            deadline_note=i.deadline_note,
            legal_basis=i.legal_basis,
            basis_level=i.basis_level,
            confidence=i.confidence,
            materials=list(i.materials),
            sources=list(i.sources),
            place=i.place or place["place"],
            phone=i.phone or place["service_phone"],
            active=i.active,
        )
        for i in items
    ]


def late_items(entries: list[CatalogEntry], *, margin_workdays: int = 10) -> list[LateItem]:
    """The items whose reminder comes too late to file for renewal in time.

    Args:
        entries: the catalog, from `list_items`.
        margin_workdays: working days the reminder must leave before the filing deadline.

    Returns:
        One LateItem per such item, with the numbers and a Chinese explanation.
    """
    late = []
    margin_days = margin_workdays * 7 // 5
    for e in entries:
        short = lead_shortfall(
            lead_months=e.lead_months,
            filing_days=e.filing_deadline_days,
            deadline_kind=e.deadline_kind,
            margin_workdays=margin_workdays,
        )
        if short <= 0:
            continue
        days = e.filing_deadline_days if e.filing_deadline_days is not None else 30
        message = (
            f"{e.certificate_name}：提醒时限为到期前{e.lead_months}个月（约{e.lead_months * 30}天），"
            f"但须在到期{days}日前申请换证，还需留出{margin_workdays}个工作日（约{margin_days}天）"
            f"准备材料，差约{short}天；提醒日期将提前到申请截止日前{margin_workdays}个工作日。"
        )
        late.append(
            LateItem(
                seq=e.seq,
                certificate_name=e.certificate_name,
                lead_months=e.lead_months,
                filing_deadline_days=days,
                deadline_kind=e.deadline_kind,
                shortfall_days=short,
                message=message,
            )
        )
    return late
