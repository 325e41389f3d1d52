"""Write the ledger in the plan's 附件2 layout, one sheet per section, readable back by import."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook

from callqueue.catalog import METHOD_LABELS
from callqueue.excel import (
    BODY_FONT,
    for_print,
    put,
    save_atomic,
    sheet_title,
    title,
    write_table,
)
from callqueue.ledger.check import ANNEX2_HEADERS, EXPORT_EXTRA_HEADERS, HEADERS
from callqueue.ledger.listing import LedgerRow
from callqueue.ledger.phones import display_phone
from callqueue.models import Channel
from callqueue.queue.reminders import STATE_LABELS

WIDTHS = (6, 32, 26, 12, 12, 10, 28, 12, 14, 10, 20, 14, 14, 10)
# After the plan's ten columns: the certificate's number (the import reads it back, so a
# ledger exported and imported elsewhere keeps it), then what the app adds for staff.
HEADERS_OUT = (*ANNEX2_HEADERS, HEADERS["number"], *EXPORT_EXTRA_HEADERS)


def contact_text(row: LedgerRow) -> str:
    """The 联系方式 cell: every number, then every email, separated by `；`."""
    parts = [display_phone(p, e) for p, e in zip(row.phones, row.extensions, strict=True)]
    return "；".join(parts + row.emails)


def export_ledger(
    rows: list[LedgerRow],
    path: Path,
    *,
    office_name: str,
    sections: Sequence[str] = (),
) -> Path:
    """Write `rows` as 附件2, a sheet per section, dates as real date cells.

    Args:
        rows: from `ledger_rows`, in section order.
        path: the .xlsx to write (replaced atomically; a failure leaves no partial file).
        office_name: for the title.
        sections: sections that get a sheet even with no certificate (`ledger_sections`),
            in sheet order; a section of `rows` not named here follows them.

    Returns:
        The written path.
    """
    wb = Workbook()
    default = wb.active
    assert default is not None
    wb.remove(default)
    by_section: dict[str, list[LedgerRow]] = {name: [] for name in sections}
    for row in rows:
        by_section.setdefault(row.section, []).append(row)
    if not by_section:
        by_section[""] = []
    for section, section_rows in by_section.items():
        # The sheet's name may be shortened; 科室名称 below keeps the section's full name.
        ws = wb.create_sheet(sheet_title(section, wb.sheetnames, fallback="台账"))
        put(ws.cell(row=1, column=1), "附件2").font = BODY_FONT
        headers = HEADERS_OUT
        title(ws, row=2, text=f"{office_name}许可证书到期前提醒台账", columns=len(headers))
        put(ws.cell(row=3, column=1), f"科室名称：{section}").font = BODY_FONT
        body = [
            (
                n,
                r.holder,
                r.certificate,
                r.issued_on,
                r.expires_on,
                r.contact_name,
                contact_text(r),
                r.reminded_on,
                METHOD_LABELS.get(Channel(r.reminded_channel), "") if r.reminded_channel else "",
                r.reminded_by or ("系统邮件" if r.reminded_channel == Channel.EMAIL else None),
                r.number or None,
                r.apply_by,
                r.remind_on,
                STATE_LABELS.get(r.state or "", ""),
            )
            for n, r in enumerate(section_rows, start=1)
        ]
        write_table(ws, first_row=4, headers=headers, rows=body, widths=WIDTHS)
        ws.freeze_panes = "C5"
        for_print(ws, header_rows="4:4")
    return save_atomic(wb, path)
