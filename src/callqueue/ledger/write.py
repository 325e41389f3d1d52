"""Write checked ledger rows: new certificates and reminders, updated contacts, duplicates known.

Runs inside the caller's single transaction, in bulk (one INSERT … RETURNING per table, not a
statement per row), so a 100,000-row ledger writes in seconds and a failure writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session

from callqueue import audit, clock
from callqueue.calendar import WorkCalendar
from callqueue.db import table
from callqueue.ledger.check import Problem, ValidRow
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

_CHUNK = 500  # bound parameters per IN (...) well below SQLite's limit


@dataclass
class WriteResult:
    """How the valid rows ended."""

    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: list[tuple[ValidRow, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


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


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _load_existing(session: Session, keys: Iterable[str]) -> _Existing:
    keys = sorted(set(keys))
    holders: dict[str, int] = {}
    for part in _chunks(keys):
        rows = session.execute(
            select(table(Holder).c.id, table(Holder).c.name_key).where(
                table(Holder).c.name_key.in_(part)
            )
        )
        holders.update({k: i for i, k in rows})
    ids = sorted(holders.values())
    ex = _Existing(holders, {}, {}, {}, {}, {}, {})
    for part in _chunks(ids):
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
            ).where(table(Certificate).c.holder_id.in_(part))
        ):
            cert = dict(row._mapping)
            ex.certs[(cert["holder_id"], cert["catalog_item_id"], cert["expires_on"])] = cert
            if cert["status"] == CertificateStatus.ACTIVE:
                pair = (cert["holder_id"], cert["catalog_item_id"])
                if pair not in ex.latest or ex.latest[pair]["expires_on"] < cert["expires_on"]:
                    ex.latest[pair] = cert
    contact_ids = sorted(set(ex.contacts.values()))
    for part in _chunks(contact_ids):
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


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in bulk and return their new ids in order."""
    if not rows:
        return []
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    return [r[0] for r in session.execute(stmt, rows)]


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

    Returns:
        Counts and the problems found while writing.
    """
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
    keys = list(new_holders)
    ids = _insert(
        session,
        Holder,
        [
            {
                "name": new_holders[k],
                "name_key": k,
                "created_at": now,
                "do_not_call": False,
                "note": "",
            }
            for k in keys
        ],
    )
    ex.holders.update(zip(keys, ids, strict=True))

    seen: dict[tuple[int, int, date], int] = {}
    creating: list[ValidRow] = []
    contact_needed: dict[tuple[int, str], None] = {}
    for r in rows:
        hid = ex.holders[r.holder_key]
        key = (hid, r.item.id, r.expires_on)
        if key in seen:
            result.duplicates += 1
            result.problems.append(_warn(r, f"与第{seen[key]}行是同一张证书，已跳过"))
            continue
        seen[key] = r.row
        existing = ex.certs.get(key)
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
        if (hid, r.contact_name) not in ex.contacts:
            contact_needed[(hid, r.contact_name)] = None

    pairs = list(contact_needed)
    ids = _insert(
        session,
        Contact,
        [
            {"holder_id": h, "name": n, "invalid": False, "note": "", "created_at": now}
            for h, n in pairs
        ],
    )
    ex.contacts.update(zip(pairs, ids, strict=True))
    ex.contact_names.update({cid: name for (_, name), cid in zip(pairs, ids, strict=True)})

    phone_rows: list[dict[str, Any]] = []
    email_rows: list[dict[str, Any]] = []
    cert_rows: list[dict[str, Any]] = []
    for r in creating:
        hid = ex.holders[r.holder_key]
        cid = ex.contacts[(hid, r.contact_name)]
        phone_rows += _new_phones(cid, r, ex)
        email_rows += _new_emails(cid, r, ex)
        cert_rows.append(
            {
                "holder_id": hid,
                "catalog_item_id": r.item.id,
                "section_id": sections[r.section],
                "contact_id": cid,
                "number": r.number,
                "issued_on": r.issued_on,
                "expires_on": r.expires_on,
                "validity_years": r.validity_years,
                "expiry_computed": r.expiry_computed,
                "status": CertificateStatus.ACTIVE.value,
                "previous_id": None,
                "import_batch_id": batch_id,
                "source_sheet": r.sheet,
                "source_row": r.row,
                "created_at": now,
            }
        )
    _insert(session, ContactPhone, phone_rows)
    _insert(session, ContactEmail, email_rows)
    cert_ids = _insert(session, Certificate, cert_rows)

    reminder_rows: list[dict[str, Any]] = []
    for done, (r, cert_id, cert) in enumerate(zip(creating, cert_ids, cert_rows, strict=True), 1):
        p = plan(
            expires_on=r.expires_on,
            lead_months=r.item.lead_months,
            filing_days=r.item.filing_deadline_days,
            deadline_kind=r.item.deadline_kind,
            calendar=calendar,
            today=today,
            margin_workdays=margin_workdays,
        )
        reminder_rows.append(
            {
                "certificate_id": cert_id,
                "holder_id": cert["holder_id"],
                "section_id": cert["section_id"],
                "state": p.state.value,
                "channel": r.item.method,
                "remind_on": p.dates.remind_on,
                "planned_remind_on": p.dates.planned_remind_on,
                "apply_by": p.dates.apply_by,
                "window_opens_on": p.dates.window_opens_on,
                "pulled_earlier": p.dates.pulled_earlier,
                "late": p.late,
                "follow_up": False,
                "attempts": 0,
                "assisted": False,
                "assisted_notes": "",
                "needs_repair": r.needs_repair,
                "close_reason": "",
                "last_reminded_on": r.reminded_on
                if r.reminded_on and r.reminded_on <= today
                else None,
                "last_channel": r.reminded_channel,
                "last_staff_id": staff.get(r.reminded_by),
                "version": 1,
                "updated_at": now,
            }
        )
        if progress is not None and done % 2000 == 0:
            progress(done)
        newest = ex.latest.get((cert["holder_id"], r.item.id))
        if newest is not None and newest["expires_on"] < r.expires_on:
            _close_renewed(session, newest, cert_id, now, actor, staff_id)
            result.problems.append(
                _warn(r, f"视为换证：原证（到期{newest['expires_on']:%Y-%m-%d}）已关闭")
            )
        ex.latest[(cert["holder_id"], r.item.id)] = {**cert, "id": cert_id}
    _insert(session, Reminder, reminder_rows)
    result.imported = len(creating)
    return result


def _warn(r: ValidRow, message: str, column: str | None = None) -> Problem:
    return Problem(r.sheet, r.row, column, None, "warning", message)


def _new_phones(cid: int, r: ValidRow, ex: _Existing) -> list[dict[str, Any]]:
    have = ex.phones.setdefault(cid, set())
    out = []
    for p in r.phones:
        if (p.e164, p.extension) in have:
            continue
        have.add((p.e164, p.extension))
        out.append(
            {
                "contact_id": cid,
                "e164": p.e164,
                "extension": p.extension,
                "raw": p.raw[:100],
                "kind": p.kind,
                "position": len(have),
                "invalid": False,
                "invalid_reason": "",
            }
        )
    return out


def _new_emails(cid: int, r: ValidRow, ex: _Existing) -> list[dict[str, Any]]:
    have = ex.emails.setdefault(cid, set())
    out = []
    for address in r.emails:
        if address in have:
            continue
        have.add(address)
        out.append(
            {
                "contact_id": cid,
                "address": address,
                "position": len(have),
                "invalid": False,
                "invalid_reason": "",
            }
        )
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
                [
                    {
                        "holder_id": hid,
                        "name": r.contact_name,
                        "invalid": False,
                        "note": "",
                        "created_at": now,
                    }
                ],
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
    _insert(session, ContactPhone, phones)
    _insert(session, ContactEmail, emails)
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
            "phones": [p["e164"][:-4] + "****" for p in phones],
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
    session: Session, old: dict[str, Any], new_id: int, now: Any, actor: str, staff_id: int | None
) -> None:
    """A newer certificate for the same holder and permit arrived: the old cycle is renewed."""
    session.execute(
        update(Certificate)
        .where(table(Certificate).c.id == old["id"])
        .values(status=CertificateStatus.RENEWED.value)
    )
    session.execute(
        update(Certificate).where(table(Certificate).c.id == new_id).values(previous_id=old["id"])
    )
    session.execute(
        update(Reminder)
        .where(table(Reminder).c.certificate_id == old["id"])
        .where(table(Reminder).c.state.in_([s.value for s in OPEN_STATES | {ReminderState.LAPSED}]))
        .values(
            state=ReminderState.RENEWED.value,
            closed_at=now,
            close_reason="导入新证",
            claimed_by_id=None,
            claim_expires_at=None,
            updated_at=now,
        )
    )
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
