"""What a caller needs on screen for one queue entry: contacts, due certificates, past attempts.

The 一次性告知 card is built from this: the office, each certificate's dates, where to file, the
service phone and the catalog item's materials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from callqueue.catalog import office
from callqueue.db import table
from callqueue.models import Attempt, CatalogItem, Certificate, Holder, Reminder, Staff
from callqueue.records.view import ContactView, contacts_of

HISTORY = 10  # past attempts shown; older ones are in the ledger and the audit


@dataclass(frozen=True)
class DueCertificate:
    """One certificate this call is about, with what the holder must be told."""

    reminder_id: int
    certificate_id: int
    certificate: str
    permit_item: str
    number: str
    issued_on: date | None
    expires_on: date
    apply_by: date
    window_opens_on: date | None
    state: str
    attempts: int
    materials: list[str]
    place: str
    phone: str


@dataclass(frozen=True)
class PastAttempt:
    """An earlier call or email on one of these reminders."""

    at: datetime
    staff: str
    channel: str
    outcome: str
    note: str
    certificate: str


@dataclass(frozen=True)
class Briefing:
    """Everything shown for one queue entry."""

    holder_id: int
    holder: str
    office_name: str
    contacts: list[ContactView]
    certificates: list[DueCertificate]
    attempts: list[PastAttempt]

    @property
    def materials(self) -> list[str]:
        """The materials of every certificate, each once, in catalog order."""
        return list(dict.fromkeys(m for c in self.certificates for m in c.materials))

    @property
    def has_email(self) -> bool:
        """Whether any valid email address is known."""
        return any(not e.invalid for c in self.contacts for e in c.emails)


def briefing(session: Session, *, holder_id: int, reminder_ids: list[int]) -> Briefing:
    """Read the briefing for a holder and the reminders of its queue entry.

    Args:
        session: a read session.
        holder_id: the holder called.
        reminder_ids: the entry's reminders (their certificates are shown in this order).

    Returns:
        The holder's contacts, the due certificates with their catalog facts, recent attempts.
    """
    h = table(Holder)
    holder = session.execute(select(h.c.name).where(h.c.id == holder_id)).scalar_one()
    places = office(session)
    certificates = _certificates(session, reminder_ids, places)
    return Briefing(
        holder_id=holder_id,
        holder=holder,
        office_name=places["name"],
        contacts=_contacts(session, holder_id, reminder_ids),
        certificates=certificates,
        attempts=_attempts(session, reminder_ids),
    )


def _certificates(
    session: Session, reminder_ids: list[int], places: dict[str, str]
) -> list[DueCertificate]:
    r, c, i = table(Reminder), table(Certificate), table(CatalogItem)
    rows = session.execute(
        select(
            r.c.id,
            r.c.certificate_id,
            r.c.expires_on,
            r.c.apply_by,
            r.c.window_opens_on,
            r.c.state,
            r.c.attempts,
            c.c.number,
            c.c.issued_on,
            i.c.certificate_name,
            i.c.permit_item,
            i.c.materials,
            i.c.place,
            i.c.phone,
        )
        .join(c, c.c.id == r.c.certificate_id)
        .join(i, i.c.id == c.c.catalog_item_id)
        .where(r.c.id.in_(reminder_ids))
    ).all()
    order = {rid: n for n, rid in enumerate(reminder_ids)}
    return [
        DueCertificate(
            reminder_id=row.id,
            certificate_id=row.certificate_id,
            certificate=row.certificate_name,
            permit_item=row.permit_item,
            number=row.number or "",
            issued_on=row.issued_on,
            expires_on=row.expires_on,
            apply_by=row.apply_by,
            window_opens_on=row.window_opens_on,
            state=row.state,
            attempts=row.attempts,
            materials=list(row.materials or []),
            place=row.place or places["place"],
            phone=row.phone or places["service_phone"],
        )
        for row in sorted(rows, key=lambda row: order[row.id])
    ]


def _contacts(session: Session, holder_id: int, reminder_ids: list[int]) -> list[ContactView]:
    """The holder's contacts (as the record screen reads them); those on these certificates first."""
    r, c = table(Reminder), table(Certificate)
    named = set(
        session.execute(
            select(c.c.contact_id)
            .join(r, r.c.certificate_id == c.c.id)
            .where(r.c.id.in_(reminder_ids), c.c.contact_id.is_not(None))
        ).scalars()
    )
    return sorted(contacts_of(session, holder_id), key=lambda card: card.id not in named)


def _attempts(session: Session, reminder_ids: list[int]) -> list[PastAttempt]:
    """The latest attempts on these reminders, newest first."""
    a, s, r, c, i = (
        table(Attempt),
        table(Staff),
        table(Reminder),
        table(Certificate),
        table(CatalogItem),
    )
    rows = session.execute(
        select(a.c.at, a.c.channel, a.c.outcome, a.c.note, s.c.name, i.c.certificate_name)
        .outerjoin(s, s.c.id == a.c.staff_id)
        .join(r, r.c.id == a.c.reminder_id)
        .join(c, c.c.id == r.c.certificate_id)
        .join(i, i.c.id == c.c.catalog_item_id)
        .where(a.c.reminder_id.in_(reminder_ids))
        .order_by(a.c.at.desc(), a.c.id.desc())
        .limit(HISTORY)
    ).all()
    return [
        PastAttempt(
            at=row.at,
            staff=row.name or "",
            channel=row.channel,
            outcome=row.outcome,
            note=row.note or "",
            certificate=row.certificate_name,
        )
        for row in rows
    ]
