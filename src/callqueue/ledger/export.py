"""Write the ledger in the plan's 附件2 layout, one sheet per section, readable back by import."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from callqueue.catalog import METHOD_LABELS
from callqueue.excel import StreamBook, sheet_title
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


def by_section(rows: list[LedgerRow], sections: Sequence[str] = ()) -> dict[str, list[LedgerRow]]:
    """`rows` per sheet: every one of `sections` first (even with no rows), then any other."""
    sheets: dict[str, list[LedgerRow]] = {name: [] for name in sections}
    for row in rows:
        sheets.setdefault(row.section, []).append(row)
    if not sheets:
        sheets[""] = []
    return sheets


def body(section_rows: list[LedgerRow]) -> Iterator[tuple[object, ...]]:
    """The values of a sheet's table, a tuple per certificate in `HEADERS_OUT` order."""
    for n, r in enumerate(section_rows, start=1):
        channel = Channel(r.reminded_channel) if r.reminded_channel else None
        yield (
            n,
            r.holder,
            r.certificate,
            r.issued_on,
            r.expires_on,
            r.contact_name,
            contact_text(r),
            r.reminded_on,
            METHOD_LABELS.get(channel, "") if channel else "",
            r.reminded_by or ("系统邮件" if channel == Channel.EMAIL else None),
            r.number or None,
            r.apply_by,
            r.remind_on,
            STATE_LABELS.get(r.state or "", ""),
        )


def export_ledger(
    rows: list[LedgerRow],
    path: Path,
    *,
    office_name: str,
    sections: Sequence[str] = (),
) -> Path:
    """Write `rows` as 附件2, a sheet per section, dates as real date cells.

    The workbook is streamed (rows go to the file as they are made), so memory does not grow
    with the ledger; each cell look is registered once.

    Args:
        rows: from `ledger_rows`, in section order.
        path: the .xlsx to write (replaced atomically; a failure leaves no partial file).
        office_name: for the title.
        sections: sections that get a sheet even with no certificate (`ledger_sections`),
            in sheet order; a section of `rows` not named here follows them.

    Returns:
        The written path.
    """
    with StreamBook() as book:
        names: list[str] = []
        for section, section_rows in by_section(rows, sections).items():
            # The sheet's name may be shortened; 科室名称 below keeps the section's full name.
            names.append(sheet_title(section, names, fallback="台账"))
            sheet = book.sheet(names[-1], widths=WIDTHS, freeze="C5", header_rows="4:4")
            sheet.line("附件2")
            sheet.title(f"{office_name}许可证书到期前提醒台账", columns=len(HEADERS_OUT))
            sheet.line(f"科室名称：{section}")
            sheet.table(HEADERS_OUT, body(section_rows))
        return book.save(path)
