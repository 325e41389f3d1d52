"""The ledger as plain data: one LedgerRow per certificate, with contacts and reminder columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from callqueue.audit import jsonable
from callqueue.db import chunks, table
from callqueue.models import (
    CatalogItem,
    Certificate,
    CertificateStatus,
    Contact,
    ContactEmail,
    ContactPhone,
    Holder,
    Reminder,
    Section,
    SectionKind,
    Staff,
)

FLAG_LABELS = {
    "expired": "已过期满日",
    "late": "补录",
    "pulled_earlier": "提醒日已提前",
    "expiry_computed": "期满日为推算",
    "needs_repair": "需补充联系方式",
    "no_contact": "无联系方式",
}
"""The ledger's flags in words (`callqueue ledger`; the JSON keeps the codes)."""


@dataclass
class LedgerRow:
    """One certificate as the ledger (附件2) and `callqueue ledger --json` show it."""

    id: int
    section: str
    holder: str
    certificate: str
    catalog_seq: int
    number: str
    issued_on: date | None
    expires_on: date
    status: str
    contact_name: str
    phones: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    reminder_id: int | None = None
    remind_on: date | None = None
    apply_by: date | None = None
    window_opens_on: date | None = None
    state: str | None = None
    attempts: int = 0
    reminded_on: date | None = None
    reminded_channel: str | None = None
    reminded_by: str = ""
    flags: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with ISO dates."""
        return dict(jsonable(self.__dict__))


def certificate_count(session: Session) -> int:
    """How many certificates the database holds."""
    return int(session.execute(select(func.count()).select_from(table(Certificate))).scalar_one())


def ledger_sections(
    session: Session, *, sections: Sequence[str] | None, rows: Sequence[LedgerRow]
) -> list[str]:
    """The sections an exported ledger has a sheet for, empty ones included.

    Args:
        session: a read session.
        sections: the sections asked for (each gets a sheet); None for every approval
            section, as `callqueue report` counts them.
        rows: the listed certificates: a section holding one always gets its sheet.

    Returns:
        Section names, those asked for in their order, otherwise in name order.
    """
    listed = list(dict.fromkeys(r.section for r in rows))
    if sections is not None:
        return list(dict.fromkeys([*sections, *listed]))
    sec = table(Section)
    approval = session.execute(
        select(sec.c.name).where(sec.c.kind == SectionKind.APPROVAL.value)
    ).scalars()
    return sorted({*approval, *listed})


def ledger_rows(
    session: Session,
    *,
    today: date,
    sections: Sequence[str] | None = None,
    include_closed: bool = False,
) -> list[LedgerRow]:
    """The ledger in section, expiry and holder order.

    Args:
        session: a read session.
        today: the date in force (the `expired` flag).
        sections: only these sections' certificates (None: every section).
        include_closed: also certificates already renewed or given up (lapsed ones are always listed).

    Returns:
        One row per certificate.
    """
    last_staff = table(Staff).alias()
    query = (
        select(
            table(Certificate).c.id,
            table(Section).c.name,
            table(Holder).c.name,
            table(CatalogItem).c.certificate_name,
            table(CatalogItem).c.seq,
            table(Certificate).c.number,
            table(Certificate).c.issued_on,
            table(Certificate).c.expires_on,
            table(Certificate).c.status,
            table(Certificate).c.contact_id,
            table(Certificate).c.expiry_computed,
            table(Certificate).c.import_batch_id,
            table(Certificate).c.source_sheet,
            table(Certificate).c.source_row,
            table(Reminder).c.id,
            table(Reminder).c.remind_on,
            table(Reminder).c.apply_by,
            table(Reminder).c.window_opens_on,
            table(Reminder).c.state,
            table(Reminder).c.attempts,
            table(Reminder).c.last_reminded_on,
            table(Reminder).c.last_channel,
            last_staff.c.name,
            table(Reminder).c.late,
            table(Reminder).c.pulled_earlier,
            table(Reminder).c.needs_repair,
            table(Contact).c.name,
        )
        .join(Section, table(Section).c.id == table(Certificate).c.section_id)
        .join(Holder, table(Holder).c.id == table(Certificate).c.holder_id)
        .join(CatalogItem, table(CatalogItem).c.id == table(Certificate).c.catalog_item_id)
        .outerjoin(Reminder, table(Reminder).c.certificate_id == table(Certificate).c.id)
        .outerjoin(last_staff, last_staff.c.id == table(Reminder).c.last_staff_id)
        .outerjoin(Contact, table(Contact).c.id == table(Certificate).c.contact_id)
        .order_by(
            table(Section).c.name,
            table(Certificate).c.expires_on,
            table(Holder).c.name,
            table(Certificate).c.id,
        )
    )
    if sections is not None:
        query = query.where(table(Section).c.name.in_(list(sections)))
    if not include_closed:
        query = query.where(
            table(Certificate).c.status.in_(
                [CertificateStatus.ACTIVE.value, CertificateStatus.LAPSED.value]
            )
        )
    rows: list[LedgerRow] = []
    contact_of: dict[int, int] = {}
    for r in session.execute(query):
        (
            cid,
            sec,
            holder,
            cert,
            seq,
            number,
            issued,
            expires,
            status,
            contact_id,
            computed,
            batch,
            sheet,
            src_row,
            rid,
            remind_on,
            apply_by,
            window,
            state,
            attempts,
            reminded_on,
            channel,
            staff,
            late,
            pulled,
            repair,
            contact_name,
        ) = r
        flags = [
            name
            for name, on in (
                ("expired", expires < today),
                ("late", late),
                ("pulled_earlier", pulled),
                ("expiry_computed", computed),
                ("needs_repair", repair),
            )
            if on
        ]
        rows.append(
            LedgerRow(
                id=cid,
                section=sec,
                holder=holder,
                certificate=cert,
                catalog_seq=seq,
                number=number,
                issued_on=issued,
                expires_on=expires,
                status=status,
                contact_name=contact_name or "",
                reminder_id=rid,
                remind_on=remind_on,
                apply_by=apply_by,
                window_opens_on=window,
                state=state,
                attempts=attempts or 0,
                reminded_on=reminded_on,
                reminded_channel=channel,
                reminded_by=staff or "",
                flags=flags,
                source={"batch": batch, "sheet": sheet, "row": src_row},
            )
        )
        if contact_id is not None:
            contact_of[cid] = contact_id
    _attach_contacts(session, rows, contact_of)
    return rows


def _attach_contacts(session: Session, rows: list[LedgerRow], contact_of: dict[int, int]) -> None:
    ids = sorted(set(contact_of.values()))
    phones: dict[int, list[tuple[str, str]]] = {}
    emails: dict[int, list[str]] = {}
    for part in chunks(ids):
        for cid, e164, ext in session.execute(
            select(
                table(ContactPhone).c.contact_id,
                table(ContactPhone).c.e164,
                table(ContactPhone).c.extension,
            )
            .where(
                table(ContactPhone).c.contact_id.in_(part), table(ContactPhone).c.invalid.is_(False)
            )
            .order_by(
                table(ContactPhone).c.contact_id,
                table(ContactPhone).c.position,
                table(ContactPhone).c.id,
            )
        ):
            phones.setdefault(cid, []).append((e164, ext))
        for cid, address in session.execute(
            select(table(ContactEmail).c.contact_id, table(ContactEmail).c.address)
            .where(
                table(ContactEmail).c.contact_id.in_(part), table(ContactEmail).c.invalid.is_(False)
            )
            .order_by(
                table(ContactEmail).c.contact_id,
                table(ContactEmail).c.position,
                table(ContactEmail).c.id,
            )
        ):
            emails.setdefault(cid, []).append(address)
    for row in rows:
        contact = contact_of.get(row.id)
        pairs = phones.get(contact, []) if contact is not None else []
        row.phones = [p for p, _ in pairs]
        row.extensions = [e for _, e in pairs]
        row.emails = emails.get(contact, []) if contact is not None else []
        if not row.phones and not row.emails:
            row.flags.append("no_contact")
