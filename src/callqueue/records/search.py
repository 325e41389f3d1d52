"""Find holders by name, phone (any format), certificate name, number or id; a page at a time.

One search box serves every form, so the query decides the kind: `#123` is a certificate id,
a catalog certificate name finds its holders, text made of phone characters that reads as a
number someone has finds who has it, anything else is a name (or an exact 证书编号). Callers see holders
with a certificate in their own section; supervisors and admins see all.

Each kind walks holders in id order and stops at the page's end, probing indexes
(certificate.holder_id, contactphone.e164, catalogitem) rather than sorting every match.
A name search must read every holder's name (a substring has no index).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import ColumnElement, exists, or_, select
from sqlmodel import Session

from callqueue.catalog import name_key
from callqueue.db import table
from callqueue.ledger.phones import display_phone, read_contact
from callqueue.models import CatalogItem, Certificate, Contact, ContactPhone, Holder, Section
from callqueue.records import Viewer

PAGE_MAX = 200
_PHONE_CHARS = re.compile(r"[\d\s+\-()（）转分机号xX#.]+")
_CERT_ID = re.compile(r"#\s*(\d{1,12})")


class SearchKind(StrEnum):
    """How a query was read."""

    NAME = "name"
    PHONE = "phone"
    CERTIFICATE = "certificate"
    CERTIFICATE_ID = "certificate_id"


KIND_LABELS = {
    SearchKind.NAME: "按单位名称或证书编号",
    SearchKind.PHONE: "按电话号码",
    SearchKind.CERTIFICATE: "按证书名称",
    SearchKind.CERTIFICATE_ID: "按证书ID",
}


@dataclass(frozen=True)
class SearchHit:
    """One holder found: name, the sections and certificates the viewer may see, valid phones."""

    holder_id: int
    holder: str
    sections: tuple[str, ...]
    certificates: tuple[str, ...]
    phones: tuple[str, ...]


@dataclass(frozen=True)
class SearchPage:
    """A page of hits, how the query was read, and whether more follow."""

    query: str
    kind: SearchKind | None
    described: str
    hits: list[SearchHit] = field(default_factory=list)
    offset: int = 0
    has_more: bool = False


def search(
    session: Session, *, query: str, viewer: Viewer, limit: int = 50, offset: int = 0
) -> SearchPage:
    """A page of the holders that match `query`, in holder id order.

    Args:
        session: a read session.
        query: what staff typed.
        viewer: whose search (section scoping).
        limit: hits per page, at most PAGE_MAX.
        offset: hits to skip.

    Returns:
        The page; `described` says in Chinese how the query was read.
    """
    text = " ".join(query.split())
    limit = max(1, min(limit, PAGE_MAX))
    offset = max(0, offset)
    if not text:
        return SearchPage(query, None, "请输入单位名称、电话号码、证书名称或 #证书ID")
    own = None if viewer.sees_all else viewer.section_id
    kind, condition, described = _read_query(session, text, own)
    h = table(Holder)
    stmt = select(h.c.id).where(condition).order_by(h.c.id).limit(limit + 1).offset(offset)
    if not viewer.sees_all:
        stmt = stmt.where(
            _has_certificate(h.c.id, table(Certificate).c.section_id == viewer.section_id)
        )
    ids = list(session.execute(stmt).scalars())
    hits = _hits(session, ids[:limit], viewer)
    scope = "" if viewer.sees_all else "（本科室）"
    return SearchPage(
        query, kind, described + scope, hits, offset=offset, has_more=len(ids) > limit
    )


def _read_query(
    session: Session, text: str, own: int | None
) -> tuple[SearchKind, ColumnElement[bool], str]:
    """The kind of `text`, the condition on holder it becomes, and a description.

    With `own` (a caller's section), certificate matches count only in that section: another
    section's certificate must not reveal who holds it.
    """
    h, c = table(Holder), table(Certificate)
    mine = [c.c.section_id == own] if own is not None else []
    found = _CERT_ID.fullmatch(text)
    if found:
        cert_id = int(found.group(1))
        return (
            SearchKind.CERTIFICATE_ID,
            h.c.id.in_(select(c.c.holder_id).where(c.c.id == cert_id, *mine)),
            f"按证书ID {cert_id}",
        )
    items = _catalog_items(session, text)
    if items:
        return (
            SearchKind.CERTIFICATE,
            _has_certificate(h.c.id, c.c.catalog_item_id.in_(items), *mine),
            f"按证书名称“{text}”",
        )
    if _PHONE_CHARS.fullmatch(text):
        phones = read_contact(text).phones
        if phones:
            e164s = sorted({p.e164 for p in phones})
            p, ct = table(ContactPhone), table(Contact)
            # Holders from the phone index, not a probe per holder.
            has_phone = h.c.id.in_(
                select(ct.c.holder_id).join(p, p.c.contact_id == ct.c.id).where(p.c.e164.in_(e164s))
            )
            # A 证书编号 of digits and dashes reads as a number too: when nobody has that
            # number (an indexed probe), the text is searched as a name or 证书编号 below.
            if session.execute(select(p.c.id).where(p.c.e164.in_(e164s)).limit(1)).first():
                shown = "、".join(display_phone(e) for e in e164s)
                return SearchKind.PHONE, has_phone, f"按电话 {shown}"
    # SQLite's LIKE already ignores ASCII case; its ILIKE would add lower() on every row.
    sqlite = session.get_bind().dialect.name == "sqlite"
    clauses: list[ColumnElement[bool]] = []
    for column, value in ((h.c.name, text), (h.c.name_key, name_key(text))):
        if value == text and clauses:
            continue  # the normalised form adds nothing
        pattern = "%" + _escape(value) + "%"
        like = column.like if sqlite else column.ilike
        clauses.append(like(pattern, escape="\\"))
    what = "名称"
    if any(ch.isdigit() for ch in text):
        # A 证书编号 is typed whole; certificate.number has no index, so only exact matches.
        clauses.append(h.c.id.in_(select(c.c.holder_id).where(c.c.number == text, *mine)))
        what = "名称或证书编号"
    return SearchKind.NAME, or_(*clauses), f"按{what}“{text}”"


def _catalog_items(session: Session, text: str) -> list[int]:
    """Catalog items whose certificate or permit name is `text` (spaces and widths ignored)."""
    key = name_key(text)
    ci = table(CatalogItem)
    rows = session.execute(select(ci.c.id, ci.c.certificate_name, ci.c.permit_item)).all()
    return [i for i, cert, permit in rows if key in (name_key(cert), name_key(permit))]


def _has_certificate(
    holder_id: ColumnElement[int], *where: ColumnElement[bool]
) -> ColumnElement[bool]:
    c = table(Certificate)
    return exists(select(c.c.id).where(c.c.holder_id == holder_id, *where))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _hits(session: Session, ids: Sequence[int], viewer: Viewer) -> list[SearchHit]:
    """The page's holders with their certificates (the viewer's section only) and phones."""
    if not ids:
        return []
    h, c, ci, s = table(Holder), table(Certificate), table(CatalogItem), table(Section)
    p, ct = table(ContactPhone), table(Contact)
    names = {i: n for i, n in session.execute(select(h.c.id, h.c.name).where(h.c.id.in_(ids)))}
    certs: dict[int, dict[str, None]] = {i: {} for i in ids}
    sections: dict[int, dict[str, None]] = {i: {} for i in ids}
    stmt = (
        select(c.c.holder_id, c.c.section_id, ci.c.certificate_name, s.c.name)
        .join(ci, ci.c.id == c.c.catalog_item_id)
        .join(s, s.c.id == c.c.section_id)
        .where(c.c.holder_id.in_(ids))
        .order_by(c.c.holder_id, c.c.expires_on)
    )
    # The section is checked here, not in SQL: given both, SQLite prefers the section index
    # and walks a third of all certificates instead of these holders' few.
    for hid, sid, cert, section in session.execute(stmt):
        if viewer.sees_all or sid == viewer.section_id:
            certs[hid][cert] = None
            sections[hid][section] = None
    phones: dict[int, dict[str, None]] = {i: {} for i in ids}
    for hid, e164, ext in session.execute(
        select(ct.c.holder_id, p.c.e164, p.c.extension)
        .join(ct, ct.c.id == p.c.contact_id)
        .where(ct.c.holder_id.in_(ids), p.c.invalid.is_(False))
        .order_by(ct.c.holder_id, p.c.position, p.c.id)
    ):
        phones[hid][display_phone(e164, ext)] = None
    return [
        SearchHit(
            holder_id=i,
            holder=names.get(i, ""),
            sections=tuple(sections[i]),
            certificates=tuple(certs[i]),
            phones=tuple(phones[i]),
        )
        for i in ids
    ]
