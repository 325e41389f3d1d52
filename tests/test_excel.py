"""The workbook helpers: streamed sheets look exactly as built ones, and large exports stay cheap."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles.styleable import StyleDescriptor
from openpyxl.worksheet.worksheet import Worksheet

from callqueue.excel import (
    BODY_FONT,
    StreamBook,
    for_print,
    put,
    save_atomic,
    title,
    write_table,
)
from callqueue.ledger.check import RejectedRow
from callqueue.ledger.export import export_ledger
from callqueue.ledger.listing import LedgerRow
from callqueue.ledger.rejects import write_rejects

HEADERS = ("序号", "名称", "日期", "时间", "备注", "比率")
WIDTHS = (6, 30, 12, 16, 20, 10)
ROWS: list[list[Any]] = [
    [1, "天津市鑫瑞达商贸有限公司", date(2027, 3, 1), datetime(2026, 11, 25, 9, 30), None, 0.5],
    [2, "=1+1", None, None, "+86 138 0013 8000", -1],
    [True, "-", date(2026, 1, 1), None, "@备注\x07", None],
    [None, "", None, None, "多行\n备注", 3.25],
]


def facts(ws: Worksheet) -> dict[str, Any]:
    """What Excel shows of a sheet: every written cell's value and look, and the layout."""
    cells = {
        c.coordinate: (
            c.value,
            c.data_type,
            c.number_format,
            repr(c.font),
            repr(c.border),
            repr(c.alignment),
            repr(c.fill),
        )
        for row in ws.iter_rows()
        for c in row
        if c.value is not None or c.has_style
    }
    return {
        "cells": cells,
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "freeze": ws.freeze_panes,
        "widths": {k: v.width for k, v in ws.column_dimensions.items()},
        "heights": {k: v.height for k, v in ws.row_dimensions.items() if v.height},
        "page_setup": repr(ws.page_setup),
        "print_options": repr(ws.print_options),
        "fit": repr(ws.sheet_properties.pageSetUpPr),
        "titles": ws.print_title_rows,
    }


def test_a_streamed_sheet_looks_exactly_as_one_built_cell_by_cell(tmp_path: Path) -> None:
    built = Workbook()
    ws = built.active
    assert ws is not None
    put(ws.cell(row=1, column=1), "附件2").font = BODY_FONT
    title(ws, row=2, text="标题", columns=len(HEADERS))
    write_table(ws, first_row=3, headers=HEADERS, rows=ROWS, widths=WIDTHS)
    ws.freeze_panes = "C4"
    for_print(ws, header_rows="3:3")
    save_atomic(built, tmp_path / "built.xlsx")

    book = StreamBook()
    sheet = book.sheet("Sheet", widths=WIDTHS, freeze="C4", header_rows="3:3")
    sheet.line("附件2")
    sheet.title("标题", columns=len(HEADERS))
    sheet.table(HEADERS, ROWS)
    book.save(tmp_path / "streamed.xlsx")

    a = facts(load_workbook(tmp_path / "built.xlsx")["Sheet"])
    b = facts(load_workbook(tmp_path / "streamed.xlsx")["Sheet"])
    assert a == b
    assert b["cells"]["B5"][:2] == ("=1+1", "s")  # never a live formula
    assert b["cells"]["E6"][0] == "@备注"  # no control character


@contextmanager
def style_settings() -> Iterator[list[int]]:
    """Count every font/border/alignment/number format set on a cell while inside."""
    count = [0]
    original = StyleDescriptor.__set__

    def counting(self: StyleDescriptor, instance: Any, value: Any) -> None:
        count[0] += 1
        original(self, instance, value)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(StyleDescriptor, "__set__", counting)
        yield count


def ledger_rows(n: int) -> list[LedgerRow]:
    return [
        LedgerRow(
            id=i,
            section="社会事务科",
            holder=f"单位{i}",
            certificate="农药经营许可证",
            catalog_seq=7,
            number=f"No.{i}",
            issued_on=date(2022, 3, 1),
            expires_on=date(2027, 2, 28),
            status="active",
            contact_name="王经理",
            phones=["+8613800138000"],
            extensions=[""],
            remind_on=date(2026, 11, 30),
            apply_by=date(2026, 12, 30),
            state="due",
        )
        for i in range(n)
    ]


def test_a_large_ledger_sets_each_cell_look_once_not_once_a_cell(tmp_path: Path) -> None:
    # Setting font, border and alignment on every cell hashed each style object each time:
    # 19,920 certificates took 13 s, most of it there. The cost must not grow with the rows.
    counts = []
    for n in (5, 200):
        with style_settings() as count:
            export_ledger(ledger_rows(n), tmp_path / f"{n}.xlsx", office_name="办公室")
        counts.append(count[0])
    assert counts[0] == counts[1]
    ws = load_workbook(tmp_path / "200.xlsx")["社会事务科"]
    assert ws.max_row == 204 and ws["B204"].value == "单位199"


def test_a_large_rejects_workbook_sets_each_cell_look_once(tmp_path: Path) -> None:
    def rejected(n: int) -> list[RejectedRow]:
        values: dict[str, object] = {"holder": "单位", "expires_on": "2025-02-30"}
        return [RejectedRow("台账", i + 5, "社会事务科", values, ("日期无效",)) for i in range(n)]

    counts = []
    for n in (5, 200):
        with style_settings() as count:
            write_rejects(rejected(n), tmp_path / f"{n}.xlsx", office_name="办公室")
        counts.append(count[0])
    assert counts[0] == counts[1]


def _unraisable_after(work: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What Python reports as "Exception ignored" while `work` runs and its garbage goes."""
    import gc
    import sys

    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(repr(u.exc_value)))
    work()
    gc.collect()
    return seen


def test_a_streamed_book_that_cannot_be_saved_leaves_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file where a folder should be: the Chinese message only, no traceback per sheet
    when the book's row writers are collected (they wrote to closed files)."""
    (tmp_path / "afile").write_text("x")

    def save_and_fail() -> None:
        book = StreamBook()
        for name in ("甲", "乙"):
            sheet = book.sheet(name, widths=[10, 10])
            sheet.table(["a", "b"], [[1, 2], [3, 4]])
        with pytest.raises(OSError):
            book.save(tmp_path / "afile" / "x.xlsx")

    assert _unraisable_after(save_and_fail, monkeypatch) == []


def test_a_streamed_book_left_by_an_error_leaves_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail_while_writing() -> None:
        with pytest.raises(RuntimeError), StreamBook() as book:
            book.sheet("甲", widths=[10]).table(["a"], [[1]])
            raise RuntimeError("the database went away")

    assert _unraisable_after(fail_while_writing, monkeypatch) == []
