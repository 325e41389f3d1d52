"""Add a certificate by hand for new business: one ledger row, checked and written as an import.

The row goes through the import's own check (`ledger.check`) and write path (`ledger.write`),
so it meets the same rules, gets the same Chinese messages and its reminder is planned the same
way. It is recorded as a one-row ImportBatch named 手工录入, so its origin stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from callqueue import audit, catalog, workdays
from callqueue.catalog import name_key
from callqueue.db import table
from callqueue.ledger.check import HEADERS, NO_CONTACT, check_workbook
from callqueue.ledger.phones import mask_phone, only_a_note
from callqueue.ledger.read import LedgerWorkbook, RawRow, SheetTable
from callqueue.ledger.write import write_rows
from callqueue.models import Certificate, Holder, ImportBatch, Reminder, Section
from callqueue.queue.reminders import STATE_LABELS
from callqueue.records import Viewer

SHEET = "手工录入"
FIELDS = (
    "section",
    "holder",
    "certificate",
    "number",
    "issued_on",
    "expires_on",
    "contact_name",
    "contact",
)
"""The form's fields, named as the import's canonical columns (section aside)."""
_FIELD_OF = {label: key for key, label in HEADERS.items()}


@dataclass(frozen=True)
class ManualCertificate:
    """What staff typed, as text; dates in any form a ledger may use."""

    holder: str
    certificate: str
    expires_on: str = ""
    issued_on: str = ""
    contact_name: str = ""
    contact: str = ""
    number: str = ""
    section: str = ""


class CertificateRefused(ValueError):
    """The row would be rejected by an import; `errors` maps each form field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("；".join(m for msgs in errors.values() for m in msgs))
        self.errors = errors


@dataclass(frozen=True)
class ManualResult:
    """The certificate written, its reminder, and the import's warnings about the row."""

    certificate_id: int
    holder_id: int
    reminder_state: str
    remind_on: date
    apply_by: date
    warnings: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        """One line for staff."""
        text = (
            f"已添加证书；提醒状态：{STATE_LABELS.get(self.reminder_state, self.reminder_state)}，"
            f"提醒日期 {self.remind_on:%Y-%m-%d}，申请换证截止 {self.apply_by:%Y-%m-%d}"
        )
        return text + ("（" + "；".join(self.warnings) + "）" if self.warnings else "")


def add_certificate(
    session: Session,
    *,
    entry: ManualCertificate,
    viewer: Viewer,
    today: date,
    now: datetime,
    margin_workdays: int,
) -> ManualResult:
    """Check and write one certificate as an imported ledger row would be.

    Callers add to their own section; supervisors name a section or leave it to the catalog.

    Raises:
        CertificateRefused: the import would reject the row, or the certificate exists already.
    """
    sections = {
        sid: name
        for sid, name in session.execute(select(table(Section).c.id, table(Section).c.name))
    }
    section = sections[viewer.section_id] if not viewer.sees_all else entry.section.strip()
    values: dict[str, object] = {
        key: getattr(entry, key).strip() or None for key in FIELDS if key != "section"
    }
    book = LedgerWorkbook(
        path=Path(SHEET),
        sha256="manual",
        tables=[
            SheetTable(
                sheet=SHEET,
                header_row=1,
                columns={key: i for i, key in enumerate(values)},
                section=section or None,
                rows=[RawRow(SHEET, 2, values)],
            )
        ],
    )
    checked = check_workbook(book, catalog=catalog.list_items(session), sections=sections.values())
    errors: dict[str, list[str]] = {}
    warnings: list[str] = []
    for problem in checked.problems:
        key = _FIELD_OF.get(problem.column or "", "section")
        # An import keeps a row whose contact cell it cannot read (flagged for repair); here
        # staff typed it just now, so a part that is no number or address is refused.
        unread = (
            key == "contact"
            and bool(entry.contact.strip())
            and problem.message != NO_CONTACT
            and not only_a_note(problem.message)
        )
        if problem.severity == "error" or unread:
            errors.setdefault(key, []).append(problem.message)
        else:
            warnings.append(problem.message)
    issued = checked.valid[0].issued_on if checked.valid else None
    if issued is not None and issued > today:  # an import takes it; typed today, it is a typo
        errors.setdefault("issued_on", []).append(
            f"颁发日期 {issued:%Y-%m-%d} 晚于今天（{today:%Y-%m-%d}），请核对"
        )
    if section and section not in sections.values():
        errors.setdefault("section", []).append(f"科室“{section}”不存在")
    if checked.rejected or errors or not checked.valid:
        raise CertificateRefused(errors or {"section": ["无法确定科室"]})
    row = checked.valid[0]
    batch = ImportBatch(
        file_name=SHEET,
        file_hash="manual",
        staff_id=viewer.staff_id,
        section_id=next((i for i, n in sections.items() if n == row.section), None),
        started_at=now,
        rows=1,
    )
    session.add(batch)
    session.flush()
    assert batch.id is not None
    written = write_rows(
        session,
        rows=[row],
        batch_id=batch.id,
        calendar=workdays.load_calendar(session),
        today=today,
        margin_workdays=margin_workdays,
        actor=viewer.name,
        staff_id=viewer.staff_id,
    )
    if written.rejected:
        raise CertificateRefused({"expires_on": [written.rejected[0][1]]})
    if not written.imported:
        raise CertificateRefused(
            {
                "expires_on": [
                    f"该单位已有这张证书（期满日期 {row.expires_on:%Y-%m-%d}），未重复添加"
                ]
            }
        )
    warnings += [p.message for p in written.problems]
    h, c, r = table(Holder), table(Certificate), table(Reminder)
    found = session.execute(
        select(c.c.id, c.c.holder_id, r.c.state, r.c.remind_on, r.c.apply_by)
        .join(h, h.c.id == c.c.holder_id)
        .join(r, r.c.certificate_id == c.c.id)
        .where(
            h.c.name_key == name_key(row.holder),
            c.c.catalog_item_id == row.item.id,
            c.c.expires_on == row.expires_on,
        )
    ).one()
    batch.imported, batch.warnings, batch.finished_at = 1, len(warnings), now
    session.add(batch)
    audit.record(
        session,
        action="certificate.add_manual",
        entity="certificate",
        entity_id=found.id,
        after={
            "holder": row.holder,
            "certificate": row.item.certificate_name,
            "section": row.section,
            "number": row.number,
            "issued_on": row.issued_on,
            "expires_on": row.expires_on,
            "phones": [mask_phone(p.e164) for p in row.phones],
            "emails": len(row.emails),
            "batch": batch.id,
        },
        staff_id=viewer.staff_id,
        actor=viewer.name,
        at=now,
    )
    return ManualResult(
        certificate_id=found.id,
        holder_id=found.holder_id,
        reminder_state=found.state,
        remind_on=found.remind_on,
        apply_by=found.apply_by,
        warnings=warnings,
    )
