"""The rejects workbook: rows that were not imported, as they were, with the reason beside each."""

from __future__ import annotations

from pathlib import Path

from callqueue.excel import StreamBook, sheet_title
from callqueue.ledger.check import ANNEX2_KEYS, HEADERS, REASON_HEADER, RejectedRow

EXTRA_KEYS = ("number", "email", "note")


def write_rejects(rows: list[RejectedRow], path: Path, *, office_name: str) -> Path:
    """Write rejected rows, one sheet per source sheet, in a layout `import` reads back.

    Args:
        rows: the rejected rows in file order.
        path: the .xlsx to write (replaced atomically).
        office_name: for the title.

    Returns:
        The written path.
    """
    with StreamBook() as book:
        names: list[str] = []
        # A sheet that stacks several sections' tables gives one sheet per section: each names
        # its own section, so the rows go back where they came from when the file is imported.
        by_sheet: dict[tuple[str, str | None], list[RejectedRow]] = {}
        for r in rows:
            by_sheet.setdefault((r.sheet, r.section), []).append(r)
        for (sheet_name, _), sheet_rows in by_sheet.items():
            names.append(sheet_title(sheet_name, names))
            keys = list(ANNEX2_KEYS) + [
                k for k in EXTRA_KEYS if any(k in r.values for r in sheet_rows)
            ]
            headers = [HEADERS[k] for k in keys] + [REASON_HEADER]
            widths = (
                [6, 30, 24, 12, 12, 10, 22, 12, 12, 10][: len(keys)]
                + [14] * max(0, len(keys) - 10)
                + [50]
            )
            sheet = book.sheet(names[-1], widths=widths, freeze="A4", header_rows="3:3")
            sheet.title(f"{office_name}许可证书到期前提醒台账（未导入行）", columns=len(headers))
            section = next((r.section for r in sheet_rows if r.section), "")
            sheet.line(f"科室名称：{section}")
            sheet.table(
                headers,
                (
                    [r.values.get(k) for k in keys] + [f"原第{r.row}行：" + "；".join(r.reasons)]
                    for r in sheet_rows
                ),
            )
        return book.save(path)
