"""What the database already holds for a file's holders, and what an import does to it.

An existing certificate named again gets the contact details the row adds; certificates a newer
one of the file renews are closed. Used by `ledger.write.RowWriter`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, or_, select, update
from sqlmodel import Session

from callqueue import audit
from callqueue.db import chunks, table
from callqueue.ledger.bulk import insert_rows as _insert
from callqueue.ledger.check import Problem, ValidRow
from callqueue.ledger.phones import mask_phone
from callqueue.models import (
    OPEN_STATES,
    Certificate,
    CertificateStatus,
    Channel,
    Contact,
    ContactEmail,
    ContactPhone,
    Holder,
    Reminder,
    ReminderState,
)
from callqueue.queue import reach


@dataclass
class Existing:
    """What the database already holds for the holders in this file."""

    holders: dict[str, int]
    contacts: dict[tuple[int, str], int]
    contact_names: dict[int, str]
    phones: dict[int, set[tuple[str, str]]]
    emails: dict[int, set[str]]
    certs: dict[tuple[int, int, date], dict[str, Any]]
    latest: dict[tuple[int, int], dict[str, Any]]
    """(holder, item) -> the newest certificate not closed: active, or lapsed (a newer one in
    the file is its renewal, made late)."""
    numbered: dict[tuple[int, int, str], dict[str, Any]] = field(default_factory=dict)
    """(holder, item, 证书编号) -> the newest certificate not closed with that number."""
    invalid: dict[int, set[tuple[str, str]]] = field(default_factory=dict)
    """holder -> the numbers (e164, extension) marked invalid under any of its contacts."""
    reachable: set[int] = field(default_factory=set)
    """Holders with a valid number or address under a valid contact."""
    named: set[int] = field(default_factory=set)
    """Contacts a row of this import named as they are named: no later row renames them."""


_OPEN = (CertificateStatus.ACTIVE.value, CertificateStatus.LAPSED.value)


def load_existing(session: Session, keys: Iterable[str], ex: Existing) -> None:
    """Add to `ex` what the database holds for the holders of `keys`."""
    holders: dict[str, int] = {}
    for key_part in chunks(sorted(keys)):
        rows = session.execute(
            select(table(Holder).c.id, table(Holder).c.name_key).where(
                table(Holder).c.name_key.in_(key_part)
            )
        )
        holders.update({k: i for i, k in rows})
    ex.holders.update(holders)
    ids = sorted(holders.values())
    holder_of: dict[int, int] = {}  # contact -> holder
    valid_contacts: set[int] = set()
    ct = table(Contact).c
    for part in chunks(ids):
        for cid, hid, name, invalid in session.execute(
            select(ct.id, ct.holder_id, ct.name, ct.invalid).where(ct.holder_id.in_(part))
        ):
            ex.contacts.setdefault((hid, name), cid)
            ex.contact_names[cid] = name
            holder_of[cid] = hid
            if not invalid:
                valid_contacts.add(cid)
        for row in session.execute(_certificates().where(table(Certificate).c.holder_id.in_(part))):
            cert = dict(row._mapping)
            ex.certs[(cert["holder_id"], cert["catalog_item_id"], cert["expires_on"])] = cert
            if cert["status"] in _OPEN:
                keep_open(ex, cert)
    p, e = table(ContactPhone).c, table(ContactEmail).c
    for part in chunks(sorted(holder_of)):
        for cid, e164, ext, invalid in session.execute(
            select(p.contact_id, p.e164, p.extension, p.invalid).where(p.contact_id.in_(part))
        ):
            ex.phones.setdefault(cid, set()).add((e164, ext))
            if invalid:
                ex.invalid.setdefault(holder_of[cid], set()).add((e164, ext))
            elif cid in valid_contacts:
                ex.reachable.add(holder_of[cid])
        for cid, address, invalid in session.execute(
            select(e.contact_id, e.address, e.invalid).where(e.contact_id.in_(part))
        ):
            ex.emails.setdefault(cid, set()).add(address)
            if not invalid and cid in valid_contacts:
                ex.reachable.add(holder_of[cid])


def _certificates() -> Select[Any]:
    """The columns of a certificate that `Existing.certs` holds."""
    c = table(Certificate).c
    return select(
        c.id,
        c.holder_id,
        c.catalog_item_id,
        c.expires_on,
        c.status,
        c.contact_id,
        c.number,
        c.issued_on,
        c.section_id,
    )


def load_written(session: Session, keys: set[tuple[int, int, date]], ex: Existing) -> None:
    """Add to `ex.certs` the certificates of `keys` that this import wrote, as written."""
    for part in chunks(sorted({hid for hid, _, _ in keys})):
        for row in session.execute(_certificates().where(table(Certificate).c.holder_id.in_(part))):
            cert = dict(row._mapping)
            key = (cert["holder_id"], cert["catalog_item_id"], cert["expires_on"])
            if key in keys:
                ex.certs[key] = cert


PHONE_COLUMNS = ("contact_id", "e164", "extension", "raw", "kind", "position")
PHONE_FIXED = {"invalid": False, "invalid_reason": ""}
EMAIL_COLUMNS = ("contact_id", "address", "position")
EMAIL_FIXED = {"invalid": False, "invalid_reason": ""}


def new_phones(
    cid: int,
    phones: Iterable[tuple[str, ...]],
    ex: Existing,
    hid: int,
    refused: list[str] | None = None,
) -> list[tuple[Any, ...]]:
    """The rows of `phones` (Phone or its plain tuple) that contact `cid` of holder `hid` does
    not have yet, in PHONE_COLUMNS order.

    A number the holder has marked invalid (a wrong number, under this or another contact
    person) is not added again: an old ledger still lists it. Its E.164 goes to `refused`.
    """
    have = ex.phones.setdefault(cid, set())
    wrong = ex.invalid.get(hid)
    out = []
    for e164, extension, raw, kind in phones:
        if (e164, extension) in have:
            continue
        have.add((e164, extension))
        if wrong is not None and (e164, extension) in wrong:
            if refused is not None:
                refused.append(e164)
            continue
        out.append((cid, e164, extension, raw[:100], kind, len(have)))
    return out


def refused_phones(sheet: str, row: int, refused: Iterable[str]) -> Problem:
    """The warning for a row whose numbers the holder has marked invalid."""
    shown = "、".join(mask_phone(e) for e in refused)
    said = f"号码 {shown} 已在该单位标记为无效，未导入；如已核实可用，请在单位记录中添加"
    return Problem(sheet, row, "contact", None, "warning", said)


def new_emails(cid: int, emails: Iterable[str], ex: Existing) -> list[tuple[Any, ...]]:
    """The rows of `emails` that contact `cid` does not have yet, in EMAIL_COLUMNS order."""
    have = ex.emails.setdefault(cid, set())
    out = []
    for address in emails:
        if address in have:
            continue
        have.add(address)
        out.append((cid, address, len(have)))
    return out


def update_existing(
    session: Session,
    r: ValidRow,
    cert: dict[str, Any],
    ex: Existing,
    problems: list[Problem],
    now: Any,
    actor: str,
    staff_id: int | None,
    *,
    earlier: str | None = None,
) -> bool:
    """Bring an existing certificate's contact up to date; True when anything changed.

    A row naming another contact person changes the certificate's contact to them, unless
    `earlier` names the row of this file that gave the certificate: then that row's contact
    stays, and the person this row names is kept as another contact of the holder, with the
    numbers this row gives. (Changing it would make each import of the same file change the
    contact again, back to the earlier row's.) A person at a number or address of the
    certificate's contact, whom the holder has no contact of that name for, is that contact
    renamed (王经理 → 王总): its numbers, their invalid marks and the calls made to them stay.
    """
    hid = cert["holder_id"]
    cid = cert["contact_id"]
    target, added = cid, False  # where the row's phones and emails go
    former: str | None = None  # the contact's name before this row renamed them
    if cid is not None and r.contact_name and ex.contact_names.get(cid) == r.contact_name:
        ex.named.add(cid)
    elif cid is None or r.contact_name:
        target = ex.contacts.get((hid, r.contact_name))
        if target is None and earlier is None and _same_person(r, cid, ex):
            assert cid is not None
            former, target = _rename(session, ex, hid, cid, r.contact_name), cid
        elif target is None:
            target = _insert(
                session,
                Contact,
                ("holder_id", "name"),
                [(hid, r.contact_name)],
                {"invalid": False, "note": "", "created_at": now},
            )[0]
            ex.contacts[(hid, r.contact_name)] = target
            ex.contact_names[target] = r.contact_name
            added = True
        if earlier is None or cid is None:
            cid = target
    other = target != cid  # another contact of the holder, not the certificate's
    refused: list[str] = []
    phones = new_phones(target, r.phones, ex, hid, refused)
    if former is not None and hid in ex.invalid:
        # Known numbers are no news, but one marked wrong is still listed: said, as for others.
        refused += [e164 for e164, ext, *_ in r.phones if (e164, ext) in ex.invalid[hid]]
    if refused:
        problems.append(refused_phones(r.sheet, r.row, refused))
    emails = new_emails(target, r.emails, ex)
    changes: dict[str, Any] = {}
    if cid != cert["contact_id"]:
        changes["contact_id"] = cid
    if r.number and not cert["number"]:
        changes["number"] = r.number
    if r.issued_on and cert["issued_on"] is None:
        changes["issued_on"] = r.issued_on
    if not (phones or emails or changes or added or former is not None):
        return False
    _insert(session, ContactPhone, PHONE_COLUMNS, phones, PHONE_FIXED)
    _insert(session, ContactEmail, EMAIL_COLUMNS, emails, EMAIL_FIXED)
    if changes:
        session.execute(
            update(Certificate).where(table(Certificate).c.id == cert["id"]).values(**changes)
        )
        cert.update(changes)
    if phones or emails:  # a holder is reached through any of its contacts
        reached_by = Channel.PHONE if phones else Channel.EMAIL
        reach.repaired(
            session,
            holder_id=hid,
            now=now,
            why="导入台账补充了联系方式",
            actor=actor,
            reopen=reached_by,
        )
    said = [] if former is None else [f"联系人由 {former} 改为 {r.contact_name}"]
    if other:
        said.append("新增联系人" if added else "联系人不同，记入该单位的另一联系人")
    if phones:
        said.append(f"新增电话{len(phones)}个")
    if emails:
        said.append(f"新增邮箱{len(emails)}个")
    if "contact_id" in changes:
        said.append("联系人已更换")
    if "number" in changes or "issued_on" in changes:
        said.append("补充了证书信息")
    head = "已有此证书，已更新：" if earlier is None else f"与{earlier}是同一张证书，已合并："
    problems.append(Problem(r.sheet, r.row, None, None, "warning", head + "，".join(said)))
    audit.record(
        session,
        action="ledger.update",
        entity="certificate",
        entity_id=cert["id"],
        after={
            "phones": [mask_phone(e164) for _, e164, *_ in phones],
            "emails": len(emails),
            **({"other_contact_id": target} if other else {}),
            **({"contact_renamed": cid} if former is not None else {}),
            **{k: v for k, v in changes.items()},
        },
        actor=actor,
        staff_id=staff_id,
        note=f"{r.sheet} 第{r.row}行",
        at=now,
    )
    return True


def _same_person(r: ValidRow, cid: int | None, ex: Existing) -> bool:
    """Whether the row names contact `cid` by another name: it gives one of their numbers or
    addresses, and no earlier row of this import named them as they are."""
    if cid is None or cid in ex.named:
        return False
    have, emails = ex.phones.get(cid, set()), ex.emails.get(cid, set())
    return any((p[0], p[1]) in have for p in r.phones) or any(e in emails for e in r.emails)


def _rename(session: Session, ex: Existing, hid: int, cid: int, name: str) -> str:
    """Rename contact `cid` of holder `hid` to `name`; return their former name."""
    former = ex.contact_names[cid]
    session.execute(update(Contact).where(table(Contact).c.id == cid).values(name=name))
    if ex.contacts.get((hid, former)) == cid:
        del ex.contacts[(hid, former)]
    ex.contacts[(hid, name)] = cid
    ex.contact_names[cid] = name
    ex.named.add(cid)
    return former


def keep_open(ex: Existing, cert: dict[str, Any]) -> None:
    """Note `cert` (holder_id, catalog_item_id, expires_on, number, issued_on, status) as a
    certificate not closed, for the renewals of later rows."""
    pair = (cert["holder_id"], cert["catalog_item_id"])
    newest = ex.latest.get(pair)
    if newest is None or newest["expires_on"] < cert["expires_on"]:
        ex.latest[pair] = cert
    if cert["number"]:
        key = (*pair, cert["number"])
        same = ex.numbered.get(key)
        if same is None or same["expires_on"] < cert["expires_on"]:
            ex.numbered[key] = cert


def forget_open(ex: Existing, cert: dict[str, Any]) -> None:
    """`cert` was closed (renewed): no later row renews it again, nor is older than it."""
    pair = (cert["holder_id"], cert["catalog_item_id"])
    if ex.latest.get(pair) is cert:
        del ex.latest[pair]
    key = (*pair, cert["number"])
    if cert["number"] and ex.numbered.get(key) is cert:
        del ex.numbered[key]


def renewed_by(
    ex: Existing, pair: tuple[int, int], number: str, issued_on: date | None, expires_on: date
) -> dict[str, Any] | None:
    """The certificate not closed that a certificate of the holder and permit renews, or None.

    The one with the same number first, whatever the others (a renewal usually keeps it);
    else the newest, if `renews` says so: a certificate issued long before it expires, under
    another number, is another premises' own. A lapsed one is renewed only by a certificate
    issued within a year after it lapsed: a new permit years later is not its renewal.
    """
    same = ex.numbered.get((*pair, number)) if number else None
    if same is not None:
        return same if same["expires_on"] < expires_on else None
    old = ex.latest.get(pair)
    if old is None or old["expires_on"] >= expires_on:
        return None
    if not renews(old["number"], old["expires_on"], number, issued_on):
        return None
    lapsed = old.get("status") == CertificateStatus.LAPSED.value
    if lapsed and issued_on is not None and issued_on > old["expires_on"] + timedelta(days=366):
        return None
    return old


def older_than(
    ex: Existing, pair: tuple[int, int], number: str, expires_on: date
) -> dict[str, Any] | None:
    """The certificate not closed that a row expiring `expires_on` is an older version of."""
    same = ex.numbered.get((*pair, number)) if number else None
    if same is not None:
        return same if same["expires_on"] > expires_on else None
    newest = ex.latest.get(pair)
    if newest is None or newest["expires_on"] <= expires_on:
        return None
    return newest if renews(number, expires_on, newest["number"], newest["issued_on"]) else None


def renews(
    old_number: str | None, old_expires: date, number: str | None, issued_on: date | None
) -> bool:
    """Whether a later certificate of the same holder and permit is the renewal of the old one.

    Without both numbers, or with the same number, it is (a ledger rarely gives numbers). Two
    different numbers are two certificates (two premises of one business, say) unless the later
    one was issued within a year before the old one expired, as renewals are: closing the other
    premises' certificate as renewed would leave it to lapse unreminded.
    """
    if not old_number or not number or old_number == number:
        return True
    return issued_on is not None and issued_on >= old_expires - timedelta(days=366)


def close_renewed(
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
            before={"status": old.get("status", CertificateStatus.ACTIVE.value)},
            after={"status": "renewed", "next": new_id},
            actor=actor,
            staff_id=staff_id,
            at=now,
        )
