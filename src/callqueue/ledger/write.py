"""Write checked ledger rows: new certificates and reminders, updated contacts, duplicates known.

Runs inside the caller's single transaction, in bulk (an executemany per table, not a statement
per row), so a 100,000-row ledger writes in seconds and a failure writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlmodel import Session

from callqueue import audit, clock
from callqueue.calendar import WorkCalendar
from callqueue.db import chunks, table
from callqueue.ledger.bulk import BATCH, import_cache, loading
from callqueue.ledger.bulk import insert_rows as _insert
from callqueue.ledger.check import Problem, ValidRow
from callqueue.ledger.phones import mask_phone
from callqueue.models import (
    OPEN_STATES,
    Certificate,
    CertificateStatus,
    Contact,
    ContactEmail,
    ContactPhone,
    Holder,
    Reminder,
    ReminderState,
    Section,
    Staff,
)
from callqueue.queue.reminders import plan


@dataclass
class WriteResult:
    """How the valid rows ended."""

    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: list[tuple[ValidRow, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    foreign: list[tuple[ValidRow, str]] = field(default_factory=list)
    """Rows naming a certificate of a section other than `only_section`, with that section."""


@dataclass
class _Existing:
    """What the database already holds for the holders in this file."""

    holders: dict[str, int]
    contacts: dict[tuple[int, str], int]
    contact_names: dict[int, str]
    phones: dict[int, set[tuple[str, str]]]
    emails: dict[int, set[str]]
    certs: dict[tuple[int, int, date], dict[str, Any]]
    latest: dict[tuple[int, int], dict[str, Any]]  # (holder, item) -> newest active certificate


def _load_existing(session: Session, keys: Iterable[str]) -> _Existing:
    keys = sorted(set(keys))
    holders: dict[str, int] = {}
    for key_part in chunks(keys):
        rows = session.execute(
            select(table(Holder).c.id, table(Holder).c.name_key).where(
                table(Holder).c.name_key.in_(key_part)
            )
        )
        holders.update({k: i for i, k in rows})
    ids = sorted(holders.values())
    ex = _Existing(holders, {}, {}, {}, {}, {}, {})
    for part in chunks(ids):
        for cid, hid, name in session.execute(
            select(table(Contact).c.id, table(Contact).c.holder_id, table(Contact).c.name).where(
                table(Contact).c.holder_id.in_(part)
            )
        ):
            ex.contacts.setdefault((hid, name), cid)
            ex.contact_names[cid] = name
        for row in session.execute(
            select(
                table(Certificate).c.id,
                table(Certificate).c.holder_id,
                table(Certificate).c.catalog_item_id,
                table(Certificate).c.expires_on,
                table(Certificate).c.status,
                table(Certificate).c.contact_id,
                table(Certificate).c.number,
                table(Certificate).c.issued_on,
                table(Certificate).c.section_id,
            ).where(table(Certificate).c.holder_id.in_(part))
        ):
            cert = dict(row._mapping)
            ex.certs[(cert["holder_id"], cert["catalog_item_id"], cert["expires_on"])] = cert
            if cert["status"] == CertificateStatus.ACTIVE:
                pair = (cert["holder_id"], cert["catalog_item_id"])
                if pair not in ex.latest or ex.latest[pair]["expires_on"] < cert["expires_on"]:
                    ex.latest[pair] = cert
    contact_ids = sorted(set(ex.contacts.values()))
    for part in chunks(contact_ids):
        for cid, e164, ext in session.execute(
            select(
                table(ContactPhone).c.contact_id,
                table(ContactPhone).c.e164,
                table(ContactPhone).c.extension,
            ).where(table(ContactPhone).c.contact_id.in_(part))
        ):
            ex.phones.setdefault(cid, set()).add((e164, ext))
        for cid, address in session.execute(
            select(table(ContactEmail).c.contact_id, table(ContactEmail).c.address).where(
                table(ContactEmail).c.contact_id.in_(part)
            )
        ):
            ex.emails.setdefault(cid, set()).add(address)
    return ex


def write_rows(
    session: Session,
    *,
    rows: list[ValidRow],
    batch_id: int,
    calendar: WorkCalendar,
    today: date,
    margin_workdays: int,
    actor: str,
    staff_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    only_section: str | None = None,
) -> WriteResult:
    """Write valid rows: create what is new, update changed contacts, recognise duplicates.

    Args:
        session: the import's single unit of work.
        rows: checked rows, in file order.
        batch_id: the ImportBatch the new certificates come from.
        calendar: working days, for reminder dates.
        today: the date in force, for reminder states.
        margin_workdays: see DESIGN.md §4.
        actor: who imports, for the audit trail.
        staff_id: their staff id.
        progress: called with the count of rows written so far, now and then.
        only_section: for a caller's import, the one section it may change: a row naming a
            certificate of another section leaves it alone and is listed in `foreign`.

    Returns:
        Counts and the problems found while writing.
    """
    models = (Holder, Contact, ContactPhone, ContactEmail, Certificate, Reminder)
    with import_cache(session), loading(session, models, len(rows)):
        return _write_rows(
            session,
            rows=rows,
            batch_id=batch_id,
            calendar=calendar,
            today=today,
            margin_workdays=margin_workdays,
            actor=actor,
            staff_id=staff_id,
            progress=progress,
            only_section=only_section,
        )


def _write_rows(
    session: Session,
    *,
    rows: list[ValidRow],
    batch_id: int,
    calendar: WorkCalendar,
    today: date,
    margin_workdays: int,
    actor: str,
    staff_id: int | None,
    progress: Callable[[int], None] | None,
    only_section: str | None,
) -> WriteResult:
    now = clock.now()
    result = WriteResult()
    sections = {
        name: sid
        for sid, name in session.execute(select(table(Section).c.id, table(Section).c.name))
    }
    staff = {
        name: sid for sid, name in session.execute(select(table(Staff).c.id, table(Staff).c.name))
    }
    ex = _load_existing(session, (r.holder_key for r in rows))

    new_holders = {r.holder_key: r.holder for r in rows if r.holder_key not in ex.holders}
    ids = _insert(
        session,
        Holder,
        ("name_key", "name"),
        list(new_holders.items()),
        {"created_at": now, "do_not_call": False, "note": ""},
    )
    ex.holders.update(zip(new_holders, ids, strict=True))

    seen: dict[tuple[int, int, date], tuple[str, int]] = {}
    creating: list[ValidRow] = []
    holder_ids: list[int] = []  # of each row in `creating`
    contact_needed: dict[tuple[int, str], None] = {}
    for r in rows:
        hid = ex.holders[r.holder_key]
        key = (hid, r.item.id, r.expires_on)
        if key in seen:
            result.duplicates += 1
            sheet, row = seen[key]
            where = f"第{row}行" if sheet == r.sheet else f"“{sheet}”第{row}行"
            result.problems.append(_warn(r, f"与{where}是同一张证书，已跳过"))
            continue
        seen[key] = (r.sheet, r.row)
        existing = ex.certs.get(key)
        if (
            existing is not None
            and only_section is not None
            and existing["section_id"] != sections[only_section]
        ):
            name = next(n for n, i in sections.items() if i == existing["section_id"])
            result.foreign.append((r, name))
            continue
        if existing is not None:
            if _update_existing(session, r, existing, ex, result, now, actor, staff_id):
                result.updated += 1
            else:
                result.duplicates += 1
            continue
        newest = ex.latest.get((hid, r.item.id))
        if newest is not None and newest["expires_on"] > r.expires_on:
            result.rejected.append(
                (
                    r,
                    f"已有该单位到期日更晚（{newest['expires_on']:%Y-%m-%d}）"
                    "的同类证书，此行是旧证",
                )
            )
            continue
        creating.append(r)
        holder_ids.append(hid)
        if (hid, r.contact_name) not in ex.contacts:
            contact_needed[(hid, r.contact_name)] = None

    pairs = list(contact_needed)
    ids = _insert(
        session,
        Contact,
        ("holder_id", "name"),
        pairs,
        {"invalid": False, "note": "", "created_at": now},
    )
    ex.contacts.update(zip(pairs, ids, strict=True))
    ex.contact_names.update({cid: name for (_, name), cid in zip(pairs, ids, strict=True)})

    # Rows are built and sent a batch at a time, so a large file never holds them all at once.
    contact_ids = [
        ex.contacts[(hid, r.contact_name)] for r, hid in zip(creating, holder_ids, strict=True)
    ]
    section_ids = [sections[r.section] for r in creating]
    cert_ids: list[int] = []
    for start in range(0, len(creating), BATCH):
        end = start + BATCH
        phone_rows: list[tuple[Any, ...]] = []
        email_rows: list[tuple[Any, ...]] = []
        cert_rows: list[tuple[Any, ...]] = []
        for r, hid, cid, sid in zip(
            creating[start:end],
            holder_ids[start:end],
            contact_ids[start:end],
            section_ids[start:end],
            strict=True,
        ):
            if r.phones:
                phone_rows += _new_phones(cid, r, ex)
            if r.emails:
                email_rows += _new_emails(cid, r, ex)
            cert_rows.append(
                (
                    hid,
                    r.item.id,
                    sid,
                    cid,
                    r.number,
                    r.issued_on,
                    r.expires_on,
                    r.validity_years,
                    r.expiry_computed,
                    # Already expired when imported: lapsed, like its reminder (refresh too).
                    _LAPSED if r.expires_on < today else _ACTIVE,
                    r.sheet,
                    r.row,
                )
            )
        _insert(session, ContactPhone, _PHONE_COLUMNS, phone_rows, _PHONE_FIXED)
        _insert(session, ContactEmail, _EMAIL_COLUMNS, email_rows, _EMAIL_FIXED)
        cert_ids += _insert(
            session,
            Certificate,
            _CERT_COLUMNS,
            cert_rows,
            {"previous_id": None, "import_batch_id": batch_id, "created_at": now},
        )

    # Oldest first per holder and permit, so each certificate closes the one before it, whatever
    # the order of the rows; one superseded within this file gets a closed reminder below.
    renewals: list[tuple[dict[str, Any], int]] = []
    superseded: set[int] = set()
    in_file: set[int] = set()
    chain = sorted(
        range(len(creating)),
        key=lambda i: (holder_ids[i], creating[i].item.id, creating[i].expires_on),
    )
    for i in chain:
        r, cert_id = creating[i], cert_ids[i]
        pair = (holder_ids[i], r.item.id)
        newest = ex.latest.get(pair)
        if newest is not None and newest["expires_on"] < r.expires_on:
            renewals.append((newest, cert_id))
            if newest["id"] in in_file:
                superseded.add(newest["id"])
            result.problems.append(
                _warn(r, f"视为换证：原证（到期{newest['expires_on']:%Y-%m-%d}）已关闭")
            )
        ex.latest[pair] = {"id": cert_id, "expires_on": r.expires_on}
        in_file.add(cert_id)
    # Before this file's reminders exist: closing touches only reminders already stored.
    _close_renewed(session, renewals, now, actor, staff_id)

    # What a reminder takes from its plan, worked out once per expiry date and kind of item.
    plans: dict[tuple[date, int, int | None, str], tuple[Any, ...]] = {}
    closed = (_RENEWED, now, "导入新证")
    done = 0
    for start in range(0, len(creating), BATCH):
        end = start + BATCH
        reminder_rows: list[tuple[Any, ...]] = []
        for r, cert_id, hid, sid in zip(
            creating[start:end],
            cert_ids[start:end],
            holder_ids[start:end],
            section_ids[start:end],
            strict=True,
        ):
            item = r.item
            when = (r.expires_on, item.lead_months, item.filing_deadline_days, item.deadline_kind)
            planned = plans.get(when)
            if planned is None:
                planned = plans[when] = _planned(when, calendar, today, margin_workdays)
            reminded = r.reminded_on if r.reminded_on and r.reminded_on <= today else None
            reminder_rows.append(
                (cert_id, hid, sid, item.method, r.expires_on, r.needs_repair)
                + planned[1:]
                + (closed if cert_id in superseded else (planned[0], None, ""))
                + (reminded, r.reminded_channel, staff.get(r.reminded_by))
            )
            done += 1
            if progress is not None and done % 2000 == 0:
                progress(done)
        _insert(session, Reminder, _REMINDER_COLUMNS, reminder_rows, _reminder_fixed(now))
    result.imported = len(creating)
    return result


_ACTIVE, _LAPSED = CertificateStatus.ACTIVE.value, CertificateStatus.LAPSED.value
_RENEWED = ReminderState.RENEWED.value
_CERT_COLUMNS = (
    "holder_id",
    "catalog_item_id",
    "section_id",
    "contact_id",
    "number",
    "issued_on",
    "expires_on",
    "validity_years",
    "expiry_computed",
    "status",
    "source_sheet",
    "source_row",
)
_REMINDER_COLUMNS = (
    "certificate_id",
    "holder_id",
    "section_id",
    "channel",
    "expires_on",
    "needs_repair",
    # from the plan, see _planned
    "remind_on",
    "planned_remind_on",
    "apply_by",
    "window_opens_on",
    "pulled_earlier",
    "late",
    # the state, or closed at once when a later row of the file renews the certificate
    "state",
    "closed_at",
    "close_reason",
    # from the ledger's 提醒日期 / 提醒方式 / 提醒人
    "last_reminded_on",
    "last_channel",
    "last_staff_id",
)
_PHONE_COLUMNS = ("contact_id", "e164", "extension", "raw", "kind", "position")
_PHONE_FIXED = {"invalid": False, "invalid_reason": ""}
_EMAIL_COLUMNS = ("contact_id", "address", "position")
_EMAIL_FIXED = {"invalid": False, "invalid_reason": ""}


def _reminder_fixed(now: Any) -> dict[str, Any]:
    """The columns every imported reminder starts with alike."""
    return {
        "follow_up": False,
        "attempts": 0,
        "assisted": False,
        "assisted_notes": "",
        "version": 1,
        "updated_at": now,
    }


def _planned(
    when: tuple[date, int, int | None, str],
    calendar: WorkCalendar,
    today: date,
    margin_workdays: int,
) -> tuple[Any, ...]:
    """(state, remind_on, planned_remind_on, apply_by, window_opens_on, pulled_earlier, late)."""
    expires_on, lead_months, filing_days, deadline_kind = when
    p = plan(
        expires_on=expires_on,
        lead_months=lead_months,
        filing_days=filing_days,
        deadline_kind=deadline_kind,
        calendar=calendar,
        today=today,
        margin_workdays=margin_workdays,
    )
    d = p.dates
    return (
        p.state.value,
        d.remind_on,
        d.planned_remind_on,
        d.apply_by,
        d.window_opens_on,
        d.pulled_earlier,
        p.late,
    )


def _warn(r: ValidRow, message: str, column: str | None = None) -> Problem:
    return Problem(r.sheet, r.row, column, None, "warning", message)


def _new_phones(cid: int, r: ValidRow, ex: _Existing) -> list[tuple[Any, ...]]:
    """The rows of `r`'s phones that contact `cid` does not have yet, in _PHONE_COLUMNS order."""
    have = ex.phones.setdefault(cid, set())
    out = []
    for p in r.phones:
        if (p.e164, p.extension) in have:
            continue
        have.add((p.e164, p.extension))
        out.append((cid, p.e164, p.extension, p.raw[:100], p.kind, len(have)))
    return out


def _new_emails(cid: int, r: ValidRow, ex: _Existing) -> list[tuple[Any, ...]]:
    """The rows of `r`'s emails that contact `cid` does not have yet, in _EMAIL_COLUMNS order."""
    have = ex.emails.setdefault(cid, set())
    out = []
    for address in r.emails:
        if address in have:
            continue
        have.add(address)
        out.append((cid, address, len(have)))
    return out


def _update_existing(
    session: Session,
    r: ValidRow,
    cert: dict[str, Any],
    ex: _Existing,
    result: WriteResult,
    now: Any,
    actor: str,
    staff_id: int | None,
) -> bool:
    """Bring an existing certificate's contact up to date; True when anything changed."""
    hid = cert["holder_id"]
    cid = cert["contact_id"]
    if cid is None or (r.contact_name and ex.contact_names.get(cid) != r.contact_name):
        cid = ex.contacts.get((hid, r.contact_name))
        if cid is None:
            cid = _insert(
                session,
                Contact,
                ("holder_id", "name"),
                [(hid, r.contact_name)],
                {"invalid": False, "note": "", "created_at": now},
            )[0]
            ex.contacts[(hid, r.contact_name)] = cid
            ex.contact_names[cid] = r.contact_name
    phones = _new_phones(cid, r, ex)
    emails = _new_emails(cid, r, ex)
    changes: dict[str, Any] = {}
    if cid != cert["contact_id"]:
        changes["contact_id"] = cid
    if r.number and not cert["number"]:
        changes["number"] = r.number
    if r.issued_on and cert["issued_on"] is None:
        changes["issued_on"] = r.issued_on
    if not (phones or emails or changes):
        return False
    _insert(session, ContactPhone, _PHONE_COLUMNS, phones, _PHONE_FIXED)
    _insert(session, ContactEmail, _EMAIL_COLUMNS, emails, _EMAIL_FIXED)
    if changes:
        session.execute(
            update(Certificate).where(table(Certificate).c.id == cert["id"]).values(**changes)
        )
        cert.update(changes)
    if phones or emails:
        session.execute(
            update(Reminder)
            .where(table(Reminder).c.certificate_id == cert["id"])
            .where(table(Reminder).c.needs_repair.is_(True))
            .values(needs_repair=False, updated_at=now)
        )
    said = []
    if phones:
        said.append(f"新增电话{len(phones)}个")
    if emails:
        said.append(f"新增邮箱{len(emails)}个")
    if "contact_id" in changes:
        said.append("联系人已更换")
    if "number" in changes or "issued_on" in changes:
        said.append("补充了证书信息")
    result.problems.append(_warn(r, "已有此证书，已更新：" + "，".join(said)))
    audit.record(
        session,
        action="ledger.update",
        entity="certificate",
        entity_id=cert["id"],
        after={
            "phones": [mask_phone(e164) for _, e164, *_ in phones],
            "emails": len(emails),
            **{k: v for k, v in changes.items()},
        },
        actor=actor,
        staff_id=staff_id,
        note=f"{r.sheet} 第{r.row}行",
        at=now,
    )
    return True


def _close_renewed(
    session: Session,
    renewals: list[tuple[dict[str, Any], int]],
    now: Any,
    actor: str,
    staff_id: int | None,
) -> None:
    """Newer certificates for the same holders and permits arrived: the old cycles are renewed.

    Args:
        session: the import's unit of work.
        renewals: (old certificate, new certificate id) pairs.
        now: the time of the import.
        actor: who imports.
        staff_id: their staff id.
    """
    if not renewals:
        return
    cert, reminder = table(Certificate), table(Reminder)
    pairs = [{"old_id": old["id"], "new_id": new_id} for old, new_id in renewals]
    session.execute(
        update(cert)
        .where(cert.c.id == bindparam("old_id"))
        .values(status=CertificateStatus.RENEWED.value),
        pairs,
    )
    session.execute(
        update(cert)
        .where(cert.c.id == bindparam("new_id"))
        .values(previous_id=bindparam("old_id")),
        pairs,
    )
    session.execute(
        update(reminder)
        .where(reminder.c.certificate_id == bindparam("old_id"))
        # state = … OR …, not IN: an expanding IN cannot go into an executemany.
        .where(or_(*(reminder.c.state == s.value for s in OPEN_STATES | {ReminderState.LAPSED})))
        .values(
            state=ReminderState.RENEWED.value,
            closed_at=now,
            close_reason="导入新证",
            claimed_by_id=None,
            claim_expires_at=None,
            updated_at=now,
        ),
        pairs,
    )
    for old, new_id in renewals:
        audit.record(
            session,
            action="certificate.renewed_by_import",
            entity="certificate",
            entity_id=old["id"],
            before={"status": "active"},
            after={"status": "renewed", "next": new_id},
            actor=actor,
            staff_id=staff_id,
            at=now,
        )
