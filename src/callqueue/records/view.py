"""One holder's record: contacts with every number and email, certificates, reminders, attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, select
from sqlmodel import Session

from callqueue.clock import local
from callqueue.db import table
from callqueue.ledger.phones import display_phone
from callqueue.models import (
    Attempt,
    CatalogItem,
    Certificate,
    Contact,
    ContactEmail,
    ContactPhone,
    Holder,
    Reminder,
    Section,
    Staff,
)
from callqueue.queue.outcome_terms import CHANNEL_LABELS, outcome_label
from callqueue.queue.reminders import STATE_LABELS
from callqueue.records import RecordRefused, Viewer

ATTEMPTS_SHOWN = 20
STATUS_LABELS = {
    "active": "有效",
    "renewed": "已换证",
    "not_renewing": "不再延续",
    "lapsed": "已过期",
}


@dataclass(frozen=True)
class PhoneView:
    """One number of a contact, valid or not."""

    id: int
    contact_id: int
    e164: str
    extension: str
    display: str
    kind: str
    invalid: bool
    invalid_reason: str


@dataclass(frozen=True)
class EmailView:
    """One email address of a contact."""

    id: int
    contact_id: int
    address: str
    invalid: bool


@dataclass(frozen=True)
class ContactView:
    """A contact person with all their numbers and addresses."""

    id: int
    name: str
    invalid: bool
    phones: tuple[PhoneView, ...]
    emails: tuple[EmailView, ...]


@dataclass(frozen=True)
class AttemptView:
    """One earlier call or email."""

    at: datetime
    staff: str
    outcome: str
    outcome_label: str
    note: str


@dataclass(frozen=True)
class ReminderView:
    """A certificate's reminder case and its attempts, newest first."""

    id: int
    state: str
    state_label: str
    channel_label: str
    remind_on: date
    apply_by: date
    attempts: int
    needs_repair: bool
    history: tuple[AttemptView, ...]


@dataclass(frozen=True)
class CertificateView:
    """One certificate with its reminder."""

    id: int
    item: str
    section: str
    number: str
    issued_on: date | None
    expires_on: date
    status: str
    status_label: str
    contact_id: int | None
    reminder: ReminderView | None


@dataclass(frozen=True)
class HolderRecord:
    """Everything the record screen shows about one holder."""

    id: int
    name: str
    do_not_call: bool
    contacts: tuple[ContactView, ...]
    certificates: tuple[CertificateView, ...]

    def phone(self, phone_id: int) -> PhoneView | None:
        """The number with this id, if it is the holder's."""
        return next((p for c in self.contacts for p in c.phones if p.id == phone_id), None)


def ensure_visible(session: Session, *, holder_id: int, viewer: Viewer) -> str:
    """The holder's name, or RecordRefused when it does not exist or the viewer may not see it."""
    h, c = table(Holder), table(Certificate)
    name = session.execute(select(h.c.name).where(h.c.id == holder_id)).scalar()
    if name is None:
        raise RecordRefused(f"单位 {holder_id} 不存在")
    if not viewer.sees_all:
        mine = session.execute(
            select(
                exists(
                    select(c.c.id).where(
                        c.c.holder_id == holder_id, c.c.section_id == viewer.section_id
                    )
                )
            )
        ).scalar()
        if not mine:
            raise RecordRefused(f"“{name}”没有本科室的证书，无权查看或修改")
    return str(name)


def holder_record(session: Session, *, holder_id: int, viewer: Viewer) -> HolderRecord:
    """Read one holder's record as `viewer` may see it (callers: their section's certificates).

    Raises:
        RecordRefused: no such holder, or none of its certificates is in the caller's section.
    """
    name = ensure_visible(session, holder_id=holder_id, viewer=viewer)
    holder = session.get(Holder, holder_id)
    assert holder is not None
    return HolderRecord(
        id=holder_id,
        name=name,
        do_not_call=holder.do_not_call,
        contacts=contacts_of(session, holder_id),
        certificates=_certificates(session, holder_id, viewer),
    )


def contacts_of(session: Session, holder_id: int) -> tuple[ContactView, ...]:
    """A holder's contacts with every number (as the ledger writes it) and address."""
    ct, p, e = table(Contact), table(ContactPhone), table(ContactEmail)
    contacts = session.execute(
        select(ct.c.id, ct.c.name, ct.c.invalid)
        .where(ct.c.holder_id == holder_id)
        .order_by(ct.c.id)
    ).all()
    ids = [row.id for row in contacts]
    phones: dict[int, list[PhoneView]] = {i: [] for i in ids}
    emails: dict[int, list[EmailView]] = {i: [] for i in ids}
    if ids:
        for row in session.execute(
            select(p).where(p.c.contact_id.in_(ids)).order_by(p.c.position, p.c.id)
        ):
            phones[row.contact_id].append(
                PhoneView(
                    id=row.id,
                    contact_id=row.contact_id,
                    e164=row.e164,
                    extension=row.extension,
                    display=display_phone(row.e164, row.extension),
                    kind=row.kind,
                    invalid=row.invalid,
                    invalid_reason=row.invalid_reason,
                )
            )
        for row in session.execute(
            select(e).where(e.c.contact_id.in_(ids)).order_by(e.c.position, e.c.id)
        ):
            emails[row.contact_id].append(
                EmailView(row.id, row.contact_id, row.address, row.invalid)
            )
    return tuple(
        ContactView(row.id, row.name, row.invalid, tuple(phones[row.id]), tuple(emails[row.id]))
        for row in contacts
    )


def _certificates(session: Session, holder_id: int, viewer: Viewer) -> tuple[CertificateView, ...]:
    c, ci, s, r = table(Certificate), table(CatalogItem), table(Section), table(Reminder)
    stmt = (
        select(
            c.c.id,
            ci.c.certificate_name,
            s.c.name.label("section"),
            c.c.number,
            c.c.issued_on,
            c.c.expires_on,
            c.c.status,
            c.c.contact_id,
            r.c.id.label("reminder_id"),
            r.c.state,
            r.c.channel,
            r.c.remind_on,
            r.c.apply_by,
            r.c.attempts,
            r.c.needs_repair,
        )
        .join(ci, ci.c.id == c.c.catalog_item_id)
        .join(s, s.c.id == c.c.section_id)
        .outerjoin(r, r.c.certificate_id == c.c.id)
        .where(c.c.holder_id == holder_id)
        .order_by(c.c.expires_on.desc(), c.c.id)
    )
    if not viewer.sees_all:
        stmt = stmt.where(c.c.section_id == viewer.section_id)
    rows = session.execute(stmt).all()
    history = _history(session, [row.reminder_id for row in rows if row.reminder_id is not None])
    out = []
    for row in rows:
        reminder = None
        if row.reminder_id is not None:
            reminder = ReminderView(
                id=row.reminder_id,
                state=row.state,
                state_label=STATE_LABELS.get(row.state, row.state),
                channel_label=CHANNEL_LABELS.get(row.channel, row.channel),
                remind_on=row.remind_on,
                apply_by=row.apply_by,
                attempts=row.attempts,
                needs_repair=row.needs_repair,
                history=tuple(history.get(row.reminder_id, [])),
            )
        out.append(
            CertificateView(
                id=row.id,
                item=row.certificate_name,
                section=row.section,
                number=row.number,
                issued_on=row.issued_on,
                expires_on=row.expires_on,
                status=row.status,
                status_label=STATUS_LABELS.get(row.status, row.status),
                contact_id=row.contact_id,
                reminder=reminder,
            )
        )
    return tuple(out)


def _history(session: Session, reminder_ids: list[int]) -> dict[int, list[AttemptView]]:
    """The newest attempts of each reminder (ATTEMPTS_SHOWN at most), newest first."""
    if not reminder_ids:
        return {}
    a, st = table(Attempt), table(Staff)
    out: dict[int, list[AttemptView]] = {}
    for row in session.execute(
        select(a.c.reminder_id, a.c.at, st.c.name, a.c.outcome, a.c.note)
        .outerjoin(st, st.c.id == a.c.staff_id)
        .where(a.c.reminder_id.in_(reminder_ids))
        .order_by(a.c.at.desc(), a.c.id.desc())
    ):
        shown = out.setdefault(row.reminder_id, [])
        if len(shown) < ATTEMPTS_SHOWN:
            label = outcome_label(row.outcome)
            shown.append(
                AttemptView(local(row.at), row.name or "系统", row.outcome, label, row.note)
            )
    return out
