"""Builders of ledger workbooks (附件2) for tests: the plan's layout, its variants and its faults."""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

TITLE = "东丽区政务服务办公室许可证书到期前提醒台账"
ANNEX2_HEADERS = (
    "序号",
    "单位（个人）名称",
    "许可证书名称",
    "颁发日期",
    "期满日期",
    "联系人",
    "联系方式",
    "提醒日期",
    "提醒方式",
    "提醒人",
)
# Canonical key of each 附件2 column, in the plan's order (see callqueue.ledger.read.COLUMNS).
ANNEX2_KEYS = (
    "seq",
    "holder",
    "certificate",
    "issued_on",
    "expires_on",
    "contact_name",
    "contact",
    "reminded_on",
    "method",
    "reminder",
)

# A row is a sequence in header order, a mapping by canonical key, or None for a blank row.
Row = Sequence[Any] | Mapping[str, Any] | None


def licence_row(n: int, **values: Any) -> dict[str, Any]:
    """A plausible 附件2 row keyed by canonical column; keyword arguments override cells."""
    row: dict[str, Any] = {
        "seq": n,
        "holder": f"天津市东丽区第{n}号商贸有限公司",
        "certificate": "农药经营许可证",
        "issued_on": date(2021, 5, 1 + n % 28),
        "expires_on": date(2026, 5, 1 + n % 28),
        "contact_name": "王经理",
        "contact": f"1380000{n % 10000:04d}",
        "reminded_on": None,
        "method": "人工电话通知",
        "reminder": "张三",
    }
    row.update(values)
    return row


def fill_annex2(
    ws: Worksheet,
    rows: Iterable[Row],
    *,
    section: str | None = "社会事务科",
    title: bool = True,
    headers: Sequence[str] = ANNEX2_HEADERS,
    keys: Sequence[str] = ANNEX2_KEYS,
    section_row: bool = True,
    blank_rows_before: int = 0,
) -> int:
    """Lay out 附件2 on `ws`: 附件2 label, merged title, 科室名称 row, header, rows.

    Returns the header's row number; data starts on the next row (a None row stays blank).
    """
    width = len(headers)
    line = 1 + blank_rows_before
    if title:
        ws.cell(line, 1, "附件2")
        ws.cell(line + 1, 1, TITLE)
        ws.merge_cells(start_row=line + 1, start_column=1, end_row=line + 1, end_column=width)
        line += 2
    if section_row:
        ws.cell(line, 1, f"科室名称：{section or ''}")
        line += 1
    header = line
    for col, text in enumerate(headers, start=1):
        ws.cell(header, col, text)
    for offset, row in enumerate(rows, start=1):
        if row is None:
            continue
        cells = [row.get(key) for key in keys] if isinstance(row, Mapping) else list(row)
        for col, value in enumerate(cells, start=1):
            if value is not None:
                ws.cell(header + offset, col, value)
    return header


def write_annex2(
    path: Path,
    rows: Iterable[Row],
    *,
    section: str | None = "社会事务科",
    title: bool = True,
    sheet: str = "Sheet1",
    extra_sheets: Mapping[str, Iterable[Row]] | None = None,
    hidden_sheets: Mapping[str, Iterable[Row]] | None = None,
    very_hidden_sheets: Mapping[str, Iterable[Row]] | None = None,
    headers: Sequence[str] = ANNEX2_HEADERS,
    keys: Sequence[str] = ANNEX2_KEYS,
    section_row: bool = True,
    blank_rows_before: int = 0,
) -> Path:
    """Write a 附件2 workbook; extra, hidden and very hidden sheets use their name as 科室名称."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    fill_annex2(
        ws,
        rows,
        section=section,
        title=title,
        headers=headers,
        keys=keys,
        section_row=section_row,
        blank_rows_before=blank_rows_before,
    )
    for mapping, state in (
        (extra_sheets, "visible"),
        (hidden_sheets, "hidden"),
        (very_hidden_sheets, "veryHidden"),
    ):
        for name, sheet_rows in (mapping or {}).items():
            extra = wb.create_sheet(name)
            fill_annex2(extra, sheet_rows, section=name)
            extra.sheet_state = state
    wb.save(path)
    return path


def write_annex2_bulk(path: Path, count: int, *, section: str = "社会事务科") -> Path:
    """Write a large 附件2 workbook quickly with openpyxl's write-only mode."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(section)
    ws.append(["附件2"])
    ws.append([TITLE])
    ws.append([f"科室名称：{section}"])
    ws.append(list(ANNEX2_HEADERS))
    for n in range(1, count + 1):
        row = licence_row(n)
        ws.append([row[key] for key in ANNEX2_KEYS])
    wb.save(path)
    return path


@contextmanager
def edit(path: Path) -> Iterator[Workbook]:
    """Open `path` with openpyxl, let the caller change it, and save it back."""
    wb = load_workbook(path)
    yield wb
    wb.save(path)


def rewrite_parts(path: Path, pattern: str, change: Callable[[bytes], bytes]) -> Path:
    """Pass every zip member whose name matches `pattern` through `change`, in place."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, change(data) if re.fullmatch(pattern, item.filename) else data)
    shutil.move(tmp, path)
    return path


def break_dimension(path: Path, ref: str = "A1:J1") -> Path:
    """Rewrite every sheet's `<dimension ref=...>` to `ref`, as WPS sometimes writes it."""

    def change(data: bytes) -> bytes:
        data, count = re.subn(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
        assert count == 1, "the sheet has no <dimension> to break"
        return data

    return rewrite_parts(path, r"xl/worksheets/sheet\d+\.xml", change)


def drop_sheets(path: Path) -> Path:
    """Empty the workbook's sheet list, leaving a package that opens but has no worksheet."""
    return rewrite_parts(
        path,
        r"xl/workbook\.xml",
        lambda data: re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", data, flags=re.S),
    )
