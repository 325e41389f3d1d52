"""The rejects workbook: rows that were not imported, as they were, with the reason beside each."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from callqueue.excel import (
    BODY_FONT,
    WRAP,
    for_print,
    put,
    save_atomic,
    sheet_title,
    title,
    write_table,
)
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
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    # A sheet that stacks several sections' tables gives one sheet per section: each names
    # its own section, so the rows go back where they came from when the file is imported.
    by_sheet: dict[tuple[str, str | None], list[RejectedRow]] = {}
    for r in rows:
        by_sheet.setdefault((r.sheet, r.section), []).append(r)
    for (sheet, _), sheet_rows in by_sheet.items():
        ws = wb.create_sheet(sheet_title(sheet, wb.sheetnames))
        keys = list(ANNEX2_KEYS) + [k for k in EXTRA_KEYS if any(k in r.values for r in sheet_rows)]
        headers = [HEADERS[k] for k in keys] + [REASON_HEADER]
        title(
            ws, row=1, text=f"{office_name}许可证书到期前提醒台账（未导入行）", columns=len(headers)
        )
        section = next((r.section for r in sheet_rows if r.section), "")
        cell = put(ws.cell(row=2, column=1), f"科室名称：{section}")
        cell.font = BODY_FONT
        body = [
            [r.values.get(k) for k in keys] + [f"原第{r.row}行：" + "；".join(r.reasons)]
            for r in sheet_rows
        ]
        write_table(
            ws,
            first_row=3,
            headers=headers,
            rows=body,
            widths=[6, 30, 24, 12, 12, 10, 22, 12, 12, 10][: len(keys)]
            + [14] * max(0, len(keys) - 10)
            + [50],
        )
        for row in ws.iter_rows(min_row=4, min_col=len(headers), max_col=len(headers)):
            row[0].alignment = WRAP
        ws.freeze_panes = "A4"
        for_print(ws, header_rows="3:3")
    return save_atomic(wb, path)
