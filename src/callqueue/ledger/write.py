"""Write checked ledger rows: new certificates and reminders, updated contacts, duplicates known.

Runs inside the caller's single transaction, in bulk (an executemany per table, not a statement
per row), so a 100,000-row ledger writes in seconds and a failure writes nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, or_, select, update
from sqlmodel import Session

from callqueue import audit, clock
from callqueue.calendar import WorkCalendar
from callqueue.db import chunks, table
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
from callqueue.queue.reminders import Plan, plan

_BATCH = 10_000  # rows converted and sent per executemany: bounds the copies held at once


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


# A key unique among the rows of one insert, to match new ids to rows; no key, no ids.
_KEYS: dict[type[Any], tuple[str, ...]] = {
    Holder: ("name_key",),
    Contact: ("holder_id", "name"),
    Certificate: ("holder_id", "catalog_item_id", "expires_on"),
}


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in bulk and return their new ids in order (none for a table without a key).

    Every row must give the same columns, and every column that has a default.
    """
    if not rows:
        return []
    t, key, conn = table(model), _KEYS.get(model), session.connection()
    if conn.dialect.name != "sqlite" or not conn.dialect.positional:
        return _insert_returning(conn, t, rows, key)
    # SQLAlchemy builds and converts a parameter dict per row (~15 µs, most of a 100,000-row
    # write) and cannot return SQLite's RETURNING rows in order without a statement per row.
    # So the rows go to the driver's executemany, each column converted by the dialect's own
    # bind processor once per distinct value, and the ids are read back by key: the write
    # transaction began with BEGIN IMMEDIATE, so every row above the old maximum id is ours.
    before = conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one() if key else 0
    compiled = insert(t).compile(dialect=conn.dialect, column_keys=list(rows[0]))
    names = compiled.positiontup or ()
    if len(names) < 2:  # itemgetter would return bare values, not tuples
        return _insert_returning(conn, t, rows, key)
    convert = [t.c[n].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for n in names]
    get = operator.itemgetter(*names)
    sent: list[tuple[Any, ...]] = []  # each row's key as stored
    for part in chunks(rows, _BATCH):
        columns: list[Sequence[Any]] = list(zip(*map(get, part), strict=True))
        for i, process in enumerate(convert):
            if process is not None:
                done = {value: process(value) for value in set(columns[i])}
                columns[i] = tuple(map(done.__getitem__, columns[i]))
        if key:
            sent += zip(*(columns[names.index(k)] for k in key), strict=True)
        conn.exec_driver_sql(compiled.string, list(zip(*columns, strict=True)))
    if key is None:
        return []
    query = select(t.c.id, *(t.c[k] for k in key)).where(t.c.id > bindparam("before"))
    found = conn.exec_driver_sql(query.compile(dialect=conn.dialect).string, (before,))
    return _match_ids(t, sent, key, found)


def _insert_returning(
    conn: Connection, t: Table, rows: list[dict[str, Any]], key: tuple[str, ...] | None
) -> list[int]:
    """Insert through SQLAlchemy's batched INSERT … RETURNING; ids matched to rows by key."""
    if key is None:
        conn.execute(insert(t), rows)
        return []
    stmt = insert(t).returning(t.c.id, *(t.c[k] for k in key))
    sent = [tuple(row[k] for k in key) for row in rows]
    return _match_ids(t, sent, key, conn.execute(stmt, rows))


def _match_ids(
    t: Table, sent: list[tuple[Any, ...]], key: tuple[str, ...], found: Iterable[Any]
) -> list[int]:
    """The new ids in the order of the keys sent, from (id, *key) rows in any order."""
    ids = {tuple(row[1:]): row[0] for row in found}
    if len(ids) != len(sent):
        raise ValueError(f"{t.name}: {len(ids)} new keys {key} for {len(sent)} inserted rows")
    return [ids[k] for k in sent]


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

    seen: dict[tuple[int, int, date], tuple[str, int]] = {}
    creating: list[ValidRow] = []
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

    # Rows are built and sent a batch at a time, so a large file never holds them all at once.
    cert_ids: list[int] = []
    for part in chunks(creating, _BATCH):
        phone_rows: list[dict[str, Any]] = []
        email_rows: list[dict[str, Any]] = []
        cert_rows: list[dict[str, Any]] = []
        for r in part:
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
                    # Already expired when imported: lapsed, like its reminder (refresh does the same).
                    "status": (
                        CertificateStatus.LAPSED
                        if r.expires_on < today
                        else CertificateStatus.ACTIVE
                    ).value,
                    "previous_id": None,
                    "import_batch_id": batch_id,
                    "source_sheet": r.sheet,
                    "source_row": r.row,
                    "created_at": now,
                }
            )
        _insert(session, ContactPhone, phone_rows)
        _insert(session, ContactEmail, email_rows)
        cert_ids += _insert(session, Certificate, cert_rows)

    # Oldest first per holder and permit, so each certificate closes the one before it, whatever
    # the order of the rows; one superseded within this file gets a closed reminder below.
    renewals: list[tuple[dict[str, Any], int]] = []
    superseded: set[int] = set()
    in_file: set[int] = set()
    chain = sorted(
        zip(creating, cert_ids, strict=True),
        key=lambda pair: (ex.holders[pair[0].holder_key], pair[0].item.id, pair[0].expires_on),
    )
    for r, cert_id in chain:
        pair = (ex.holders[r.holder_key], r.item.id)
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

    plans: dict[tuple[date, int, int | None, str], Plan] = {}
    done = 0
    for pairs_part in chunks(list(zip(creating, cert_ids, strict=True)), _BATCH):
        reminder_rows: list[dict[str, Any]] = []
        for r, cert_id in pairs_part:
            item = r.item
            when = (r.expires_on, item.lead_months, item.filing_deadline_days, item.deadline_kind)
            p = plans.get(when)
            if p is None:
                p = plans[when] = plan(
                    expires_on=r.expires_on,
                    lead_months=item.lead_months,
                    filing_days=item.filing_deadline_days,
                    deadline_kind=item.deadline_kind,
                    calendar=calendar,
                    today=today,
                    margin_workdays=margin_workdays,
                )
            closed = cert_id in superseded
            reminder_rows.append(
                {
                    "certificate_id": cert_id,
                    "holder_id": ex.holders[r.holder_key],
                    "section_id": sections[r.section],
                    "state": ReminderState.RENEWED.value if closed else p.state.value,
                    "closed_at": now if closed else None,
                    "channel": item.method,
                    "expires_on": r.expires_on,
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
                    "close_reason": "导入新证" if closed else "",
                    "last_reminded_on": r.reminded_on
                    if r.reminded_on and r.reminded_on <= today
                    else None,
                    "last_channel": r.reminded_channel,
                    "last_staff_id": staff.get(r.reminded_by),
                    "version": 1,
                    "updated_at": now,
                }
            )
            done += 1
            if progress is not None and done % 2000 == 0:
                progress(done)
        _insert(session, Reminder, reminder_rows)
    result.imported = len(creating)
    return result


def _warn(r: ValidRow, message: str, column: str | None = None) -> Problem:
    return Problem(r.sheet, r.row, column, None, "warning", message)


def _new_phones(cid: int, r: ValidRow, ex: _Existing) -> list[dict[str, Any]]:
    if not r.phones:
        return []
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
    if not r.emails:
        return []
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
            "phones": [mask_phone(p["e164"]) for p in phones],
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
