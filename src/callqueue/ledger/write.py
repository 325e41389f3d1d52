"""Write checked ledger rows: new certificates and reminders, updated contacts, duplicates known.

Runs inside the caller's single transaction, in bulk (an executemany per table, not a statement
per row), so a 100,000-row ledger writes in seconds and a failure writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from callqueue import clock
from callqueue.calendar import WorkCalendar
from callqueue.db import table
from callqueue.ledger.bulk import BATCH, import_cache, loading
from callqueue.ledger.bulk import insert_rows as _insert
from callqueue.ledger.check import Problem, ValidRow
from callqueue.ledger.existing import (
    EMAIL_COLUMNS,
    EMAIL_FIXED,
    PHONE_COLUMNS,
    PHONE_FIXED,
    Existing,
    close_renewed,
    forget_open,
    keep_open,
    load_existing,
    load_written,
    new_emails,
    new_phones,
    older_than,
    refused_phones,
    renewed_by,
    update_existing,
)
from callqueue.ledger.plans import plan_columns, plan_key
from callqueue.models import (
    Certificate,
    CertificateStatus,
    Contact,
    ContactEmail,
    ContactPhone,
    Holder,
    Reminder,
    Section,
    Staff,
)

# The tables an import writes rows into (for bulk.loading).
WRITTEN_MODELS = (Holder, Contact, ContactPhone, ContactEmail, Certificate, Reminder)


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


def write_rows(
    session: Session,
    *,
    rows: Sequence[ValidRow],
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
    with import_cache(session):
        with loading(session, WRITTEN_MODELS, len(rows)):
            writer = RowWriter(
                session,
                batch_id=batch_id,
                calendar=calendar,
                today=today,
                margin_workdays=margin_workdays,
                actor=actor,
                staff_id=staff_id,
                only_section=only_section,
            )
            for start in range(0, len(rows), BATCH):
                writer.add(rows[start : start + BATCH])
                if progress is not None:
                    progress(writer.done)
        return writer.finish()


class RowWriter:
    """Writes checked rows a part at a time, in file order, within one unit of work.

    `add` each part as it comes (rows as ValidRow or as plain tuples in ValidRow's field
    order), then `finish` once: only when every row is in can renewals within the file be
    told apart, so certificates renewed by a later row are closed there. On SQLite, run it
    inside `bulk.import_cache` and `bulk.loading` as `write_rows` does; `finish` may run
    after `loading` has rebuilt the indexes.
    """

    def __init__(
        self,
        session: Session,
        *,
        batch_id: int,
        calendar: WorkCalendar,
        today: date,
        margin_workdays: int,
        actor: str,
        staff_id: int | None = None,
        only_section: str | None = None,
    ) -> None:
        self.session, self.batch_id, self.calendar = session, batch_id, calendar
        self.today, self.margin_workdays = today, margin_workdays
        self.actor, self.staff_id = actor, staff_id
        self.now = clock.now()
        self.result = WriteResult()
        self.done = 0  # rows added so far
        self.sections = {
            name: sid
            for sid, name in session.execute(select(table(Section).c.id, table(Section).c.name))
        }
        self.staff = {
            name: sid
            for sid, name in session.execute(select(table(Staff).c.id, table(Staff).c.name))
        }
        self.ex = Existing({}, {}, {}, {}, {}, {}, {})
        self.looked_up: set[str] = set()  # holder keys loaded from the database or created
        # No holder before this import (a first load): nothing in the database to look up. On
        # SQLite the transaction sees no other writer's rows, so every holder it meets later is
        # one this writer made (PostgreSQL's READ COMMITTED could show another import's).
        self.nothing_before = (
            session.connection().dialect.name == "sqlite"
            and session.execute(select(table(Holder).c.id).limit(1)).first() is None
        )
        self.seen: dict[tuple[int, int, date], tuple[str, int]] = {}
        # Why a certificate of the file was rejected as older than one the database holds: a
        # row repeating it is rejected alike (the clerk correcting one must see the other).
        self.older: dict[tuple[int, int, date], str] = {}
        # (holder id, item id, expires_on, certificate id, sheet, row) of each new certificate
        # (holder, item, expires_on, certificate id, sheet, row, number, issued_on) of each new one
        self.created: list[tuple[int, int, date, int, str, int, str, date | None]] = []
        # What a reminder takes from its plan, worked out once per expiry date and kind of item.
        # A reading process may work them out ahead (`Planner`) and hand them over.
        self.plans: dict[tuple[date, int, int | None, str], tuple[Any, ...]] = {}
        self.memo: dict[tuple[str, str], dict[Any, Any]] = {}  # see bulk.insert_rows
        # A caller's import may change only their section's certificates (see WriteResult).
        self.only_section_id = None if only_section is None else self.sections[only_section]

    def add(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write the next rows of the file (ValidRow field order)."""
        session, ex, result, now = self.session, self.ex, self.result, self.now
        self.done += len(rows)
        if not self.nothing_before:
            fresh = {r[_KEY] for r in rows} - self.looked_up
            if fresh:
                load_existing(session, fresh, ex)
                self.looked_up |= fresh
        new_holders: dict[str, str] = {}
        for r in rows:
            # A new holder only for a row that can make a certificate: not for one that names
            # a retired item (refused below), which would leave a holder without any.
            if r[_KEY] not in ex.holders and r[_ITEM].active:
                new_holders.setdefault(r[_KEY], r[_HOLDER])
        ids = _insert(
            session,
            Holder,
            ("name_key", "name"),
            list(new_holders.items()),
            {"created_at": now, "do_not_call": False, "note": ""},
            self.memo,
        )
        ex.holders.update(zip(new_holders, ids, strict=True))

        seen = self.seen
        creating: list[tuple[Any, ...]] = []
        holder_ids: list[int] = []  # of each row in `creating`
        contact_needed: dict[tuple[int, str], None] = {}
        repeated: list[tuple[Any, ...]] = []  # rows of a certificate an earlier row gave
        for r in rows:
            hid = ex.holders.get(r[_KEY])
            if hid is None:  # a new holder whose rows so far all name a retired item
                result.rejected.append((ValidRow._make(r), _retired(r)))
                continue
            item_id, expires_on = r[_ITEM].id, r[_EXPIRES]
            key = (hid, item_id, expires_on)
            if key in seen:
                repeated.append(r)
                continue
            seen[key] = (r[_SHEET], r[_ROW])
            existing = ex.certs.get(key)
            if (
                existing is not None
                and self.only_section_id is not None
                and existing["section_id"] != self.only_section_id
            ):
                name = next(n for n, i in self.sections.items() if i == existing["section_id"])
                result.foreign.append((ValidRow._make(r), name))
                continue
            if existing is not None:
                if update_existing(
                    session,
                    ValidRow._make(r),
                    existing,
                    ex,
                    result.problems,
                    now,
                    self.actor,
                    self.staff_id,
                ):
                    result.updated += 1
                else:
                    result.duplicates += 1
                continue
            newer = older_than(ex, (hid, item_id), r[_NUMBER], expires_on)
            if newer is not None:
                why = (
                    f"已有该单位到期日更晚（{newer['expires_on']:%Y-%m-%d}）的同类证书，此行是旧证"
                )
                self.older[key] = why
                result.rejected.append((ValidRow._make(r), why))
                continue
            if not r[_ITEM].active:  # known certificates of a retired item stay, as above
                self.older[key] = why = _retired(r)  # a repeat of the row is rejected alike
                result.rejected.append((ValidRow._make(r), why))
                continue
            creating.append(r)
            holder_ids.append(hid)
            cid = ex.contacts.get((hid, r[_CONTACT_NAME]))
            if cid is None:
                contact_needed[(hid, r[_CONTACT_NAME])] = None
            else:  # named as they are: a later row of the file does not rename them
                ex.named.add(cid)

        pairs = list(contact_needed)
        ids = _insert(
            session,
            Contact,
            ("holder_id", "name"),
            pairs,
            {"invalid": False, "note": "", "created_at": now},
            self.memo,
        )
        ex.contacts.update(zip(pairs, ids, strict=True))
        ex.contact_names.update({cid: name for (_, name), cid in zip(pairs, ids, strict=True)})
        for start in range(0, len(creating), BATCH):
            end = start + BATCH
            self._create(creating[start:end], holder_ids[start:end])
        if repeated:  # after the certificates they repeat are written
            self._merge(repeated)

    def _merge(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows repeating a certificate of an earlier row of the file: what contact details
        they add goes to its contact (then they count as updated), else they are duplicates."""
        session, ex, result, seen = self.session, self.ex, self.result, self.seen
        keys = [(ex.holders[r[_KEY]], r[_ITEM].id, r[_EXPIRES]) for r in rows]
        unknown = set(keys) - ex.certs.keys()  # written by this import: not looked up yet
        if unknown:
            load_written(session, unknown, ex)
        for r, key in zip(rows, keys, strict=True):
            sheet, row = seen[key]
            where = f"第{row}行" if sheet == r[_SHEET] else f"“{sheet}”第{row}行"
            older = self.older.get(key)
            if older is not None:
                result.rejected.append((ValidRow._make(r), f"{older}（与{where}是同一张证书）"))
                continue
            cert = ex.certs.get(key)
            # Another section's certificate stays as it is (the import is refused anyway).
            if (
                cert is not None
                and (self.only_section_id is None or cert["section_id"] == self.only_section_id)
                and update_existing(
                    session,
                    ValidRow._make(r),
                    cert,
                    ex,
                    result.problems,
                    self.now,
                    self.actor,
                    self.staff_id,
                    earlier=where,
                )
            ):
                result.updated += 1
            else:
                result.duplicates += 1
                result.problems.append(_warn(r, f"与{where}是同一张证书，已跳过"))

    def _create(self, creating: Sequence[tuple[Any, ...]], holder_ids: Sequence[int]) -> None:
        """Insert the new certificates of `creating`, with their phones, emails and reminders."""
        session, ex, today, sections = self.session, self.ex, self.today, self.sections
        phone_rows: list[tuple[Any, ...]] = []
        email_rows: list[tuple[Any, ...]] = []
        cert_rows: list[tuple[Any, ...]] = []
        invalid = ex.invalid  # numbers the file's known holders have marked wrong: rarely any
        repair: set[int] = set()  # rows left with no valid way to reach the holder
        for r, hid in zip(creating, holder_ids, strict=True):
            item, expires_on = r[_ITEM], r[_EXPIRES]
            cid = ex.contacts[(hid, r[_CONTACT_NAME])]
            if hid in invalid:
                self._known_wrong(r, cid, hid, len(cert_rows), phone_rows, repair)
            elif r[_PHONES]:
                phone_rows += new_phones(cid, r[_PHONES], ex, hid)
            if r[_EMAILS]:
                email_rows += new_emails(cid, r[_EMAILS], ex)
            cert_rows.append(
                (
                    hid,
                    item.id,
                    sections[r[_SECTION]],
                    cid,
                    r[_NUMBER],
                    r[_ISSUED],
                    expires_on,
                    r[_VALIDITY],
                    r[_COMPUTED],
                    # Already expired when imported: lapsed, like its reminder (refresh too).
                    _LAPSED if expires_on < today else _ACTIVE,
                    r[_SHEET],
                    r[_ROW],
                )
            )
        memo = self.memo
        _insert(session, ContactPhone, PHONE_COLUMNS, phone_rows, PHONE_FIXED, memo)
        _insert(session, ContactEmail, EMAIL_COLUMNS, email_rows, EMAIL_FIXED, memo)
        cert_ids = _insert(
            session,
            Certificate,
            _CERT_COLUMNS,
            cert_rows,
            {"previous_id": None, "import_batch_id": self.batch_id, "created_at": self.now},
            memo,
        )
        plans, staff, created = self.plans, self.staff, self.created
        reminder_rows: list[tuple[Any, ...]] = []
        rows = zip(creating, cert_ids, holder_ids, cert_rows, strict=True)
        for n, (r, cert_id, hid, cert) in enumerate(rows):
            item, expires_on = r[_ITEM], r[_EXPIRES]
            when = plan_key(r)
            planned = plans.get(when)
            if planned is None:
                planned = plans[when] = plan_columns(
                    when, self.calendar, today, self.margin_workdays
                )
            reminded_on = r[_REMINDED_ON]
            reminded = reminded_on if reminded_on and reminded_on <= today else None
            # A certificate a later row of the file renews is closed by `finish`.
            reminder_rows.append(
                (
                    cert_id,
                    hid,
                    cert[_CERT_SECTION],
                    item.method,
                    expires_on,
                    r[_NEEDS_REPAIR] or n in repair,
                )
                + planned
                + (reminded, r[_CHANNEL], staff.get(r[_REMINDED_BY]))
            )
            created.append(
                (hid, item.id, expires_on, cert_id, r[_SHEET], r[_ROW], r[_NUMBER], r[_ISSUED])
            )
        _insert(
            session, Reminder, _REMINDER_COLUMNS, reminder_rows, _reminder_fixed(self.now), memo
        )
        self.result.imported += len(creating)

    def _known_wrong(
        self,
        r: tuple[Any, ...],
        cid: int,
        hid: int,
        n: int,
        phone_rows: list[tuple[Any, ...]],
        repair: set[int],
    ) -> None:
        """The phones of row `r` (the `n`-th created) of a holder with numbers marked wrong:
        those are not added again (said), and a row left with none and no address, of a
        holder with no other way to reach it, needs its contact details repaired."""
        ex = self.ex
        refused: list[str] = []
        if r[_PHONES]:
            added = new_phones(cid, r[_PHONES], ex, hid, refused)
            phone_rows += added
            if added or r[_EMAILS]:
                ex.reachable.add(hid)
        if refused:
            self.result.problems.append(refused_phones(r[_SHEET], r[_ROW], refused))
            wrong = ex.invalid[hid]
            if hid not in ex.reachable and all((p[0], p[1]) in wrong for p in r[_PHONES]):
                repair.add(n)

    def finish(self) -> WriteResult:
        """Close what the file's newer certificates renew; return how every row ended."""
        ex, result = self.ex, self.result
        # Only a holder and permit that this file creates twice, or that already had an active
        # certificate, can renew anything: the rest (nearly every row of a first import) are
        # left out before the sort (counting and comparing them runs in C).
        pairs = Counter(map(itemgetter(0, 1), self.created))
        renewing = {p for p, n in pairs.items() if n > 1} | (pairs.keys() & ex.latest.keys())
        # Oldest first per holder and permit, so each certificate closes the one before it,
        # whatever the order of the rows. (holder, item, expiry) is unique among the created
        # (`seen`), so sorting whole tuples orders by it, without a key function per row.
        renewals: list[tuple[dict[str, Any], int]] = []
        candidates = [c for c in self.created if (c[0], c[1]) in renewing] if renewing else []
        for hid, item_id, expires_on, cert_id, sheet, row, number, issued in sorted(candidates):
            pair = (hid, item_id)
            old = renewed_by(ex, pair, number, issued, expires_on)
            newest = ex.latest.get(pair)
            if old is not None:
                renewals.append((old, cert_id))
                said = f"视为换证：原证（到期{old['expires_on']:%Y-%m-%d}）已关闭"
                result.problems.append(Problem(sheet, row, None, None, "warning", said))
                forget_open(ex, old)
            elif newest is not None and newest["expires_on"] < expires_on:
                # two certificates of the holder for one permit (two premises, say)
                when = "未填颁发日期" if issued is None else "颁发早于原证到期一年以上"
                said = (
                    f"证书编号与原证（到期{newest['expires_on']:%Y-%m-%d}）不同，且{when}，"
                    "未视为换证，两张都保留；如确为换证，请在原证的提醒上记录“已换证”"
                )
                result.problems.append(Problem(sheet, row, None, None, "warning", said))
            keep_open(
                ex,
                {
                    "id": cert_id,
                    "holder_id": hid,
                    "catalog_item_id": item_id,
                    "expires_on": expires_on,
                    "number": number,
                    "issued_on": issued,
                    "status": CertificateStatus.ACTIVE.value,
                },
            )
        close_renewed(self.session, renewals, self.now, self.actor, self.staff_id)
        return result


# Positions of ValidRow's fields: the writer reads rows by position, so that plain tuples
# handed over from another process (ledger/pipeline.py) need no conversion.
_FIELD = {name: i for i, name in enumerate(ValidRow._fields)}
_SHEET, _ROW, _HOLDER, _KEY = _FIELD["sheet"], _FIELD["row"], _FIELD["holder"], _FIELD["holder_key"]
_SECTION, _ITEM, _NUMBER = _FIELD["section"], _FIELD["item"], _FIELD["number"]
_ISSUED, _EXPIRES, _COMPUTED = _FIELD["issued_on"], _FIELD["expires_on"], _FIELD["expiry_computed"]
_VALIDITY = _FIELD["validity_years"]
_CONTACT_NAME, _PHONES, _EMAILS = _FIELD["contact_name"], _FIELD["phones"], _FIELD["emails"]
_REMINDED_ON, _REMINDED_BY = _FIELD["reminded_on"], _FIELD["reminded_by"]
_CHANNEL, _NEEDS_REPAIR = _FIELD["reminded_channel"], _FIELD["needs_repair"]
_ACTIVE, _LAPSED = CertificateStatus.ACTIVE.value, CertificateStatus.LAPSED.value
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
    # from the plan, see plans.plan_columns
    "remind_on",
    "planned_remind_on",
    "apply_by",
    "window_opens_on",
    "pulled_earlier",
    "late",
    # the state (a certificate a later row of the file renews is closed by RowWriter.finish)
    "state",
    "closed_at",
    "close_reason",
    # from the ledger's 提醒日期 / 提醒方式 / 提醒人
    "last_reminded_on",
    "last_channel",
    "last_staff_id",
)
_CERT_SECTION = _CERT_COLUMNS.index("section_id")


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


def _warn(r: tuple[Any, ...], message: str, column: str | None = None) -> Problem:
    return Problem(r[_SHEET], r[_ROW], column, None, "warning", message)


def _retired(r: tuple[Any, ...]) -> str:
    """Why a new certificate of a retired catalog item is not imported."""
    return f"“{r[_ITEM].certificate_name}”已从目录停用，不再导入新证书（已有的证书不受影响）"
