"""Shared helpers for the workbooks the office prints: safe text cells and a plain house style."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple, cast

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from callqueue.files import replacing

FORMULA_PREFIXES = ("=", "+", "-", "@")
SHEET_TITLE_MAX = 31
SHEET_TITLE_FORBIDDEN = frozenset("[]:*?/\\")
DATE_FORMAT = "yyyy-mm-dd"
_THIN = Side(style="thin")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
TITLE_FONT = Font(name="宋体", size=16, bold=True)
HEADER_FONT = Font(name="宋体", size=11, bold=True)
BODY_FONT = Font(name="宋体", size=11)
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def put(cell: Cell | MergedCell, value: Any) -> Cell | MergedCell:
    """Write `value` so that it stays what it is: text never becomes a live formula.

    openpyxl turns any string starting with `=` into a formula; ledger data such as
    `=1+1`, `+86 138…` or `-` must stay text, so those cells are typed as strings.
    Control characters, which a worksheet cannot hold (text pasted from Word brings them),
    are left out instead of failing the whole workbook.
    """
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell.data_type = "s"
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    return cell


def sheet_title(name: str, taken: Collection[str], *, fallback: str = "Sheet") -> str:
    """A sheet name Excel and WPS accept for `name`, unlike any name in `taken`.

    Sheet names are at most 31 characters, without `[]:*?/\\`, not starting or ending with
    an apostrophe, and unique regardless of case; a section such as `环保/城管` or two long
    names alike in their first 31 characters would otherwise stop the export (openpyxl
    raises) or give a workbook Excel reports as damaged. The full name stays in the sheet.
    """
    kept = "".join(ch for ch in name if ch not in SHEET_TITLE_FORBIDDEN)
    clean = ILLEGAL_CHARACTERS_RE.sub("", kept).strip().strip("'")[:SHEET_TITLE_MAX] or fallback
    used = {t.casefold() for t in taken}
    candidate, n = clean, 2
    while candidate.casefold() in used:
        suffix = f"-{n}"
        candidate, n = clean[: SHEET_TITLE_MAX - len(suffix)].rstrip("'") + suffix, n + 1
    return candidate


def write_table(
    ws: Worksheet,
    *,
    first_row: int,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[int],
) -> int:
    """Write a bordered header and body starting at `first_row`; return the next free row."""
    for col, (title, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = put(ws.cell(row=first_row, column=col), title)
        cell.font, cell.alignment, cell.border = HEADER_FONT, CENTER, BORDER
        ws.column_dimensions[get_column_letter(col)].width = width
    row_no = first_row
    for row_no, row in enumerate(rows, start=first_row + 1):
        for col, value in enumerate(row, start=1):
            cell = put(ws.cell(row=row_no, column=col), value)
            cell.font, cell.border = BODY_FONT, BORDER
            cell.alignment = CENTER if isinstance(value, int | date) else WRAP
    return row_no + 1


def title(ws: Worksheet, *, row: int, text: str, columns: int) -> None:
    """A centred title merged across `columns`."""
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=columns)
    cell = put(ws.cell(row=row, column=1), text)
    cell.font, cell.alignment = TITLE_FONT, CENTER
    ws.row_dimensions[row].height = 30


def for_print(ws: Worksheet, *, header_rows: str | None = None) -> None:
    """Print on A4 landscape, one page wide, with `header_rows` (e.g. "4:4") atop every page.

    Every workbook here is wider than an A4 page is tall; without this Excel and WPS print
    the columns past the page on pages of their own, and the header only on the first page.
    """
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = Worksheet.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as the rows take
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    if header_rows:
        ws.print_title_rows = header_rows


@dataclass(frozen=True, eq=False)
class Look:
    """A cell's font, border, alignment and number format: one of the house looks.

    Compared by identity: a book registers each look once and looks it up by `id`, so a
    cell's look costs a dictionary read instead of hashing its font, border and alignment
    (openpyxl hashes each on every assignment: most of a large export's time).
    """

    font: Font | None = None
    border: Border | None = None
    alignment: Alignment | None = None
    number_format: str = "General"


TITLE_LOOK = Look(TITLE_FONT, alignment=CENTER)
LINE_LOOK = Look(BODY_FONT)
"""A line above a table such as `科室名称：…`."""
HEADING_LOOK = Look(HEADER_FONT)
"""A bold line above a table, such as a figure's name and count."""
HEADER_LOOK = Look(HEADER_FONT, BORDER, CENTER)
BODY_WRAP = Look(BODY_FONT, BORDER, WRAP)
BODY_CENTER = Look(BODY_FONT, BORDER, CENTER)
BODY_DATE = Look(BODY_FONT, BORDER, CENTER, DATE_FORMAT)


def body_look(value: Any) -> Look:
    """A table cell's look: numbers and dates centred, dates as dates, the rest wrapped."""
    if isinstance(value, date):
        return BODY_DATE
    return BODY_CENTER if isinstance(value, int) else BODY_WRAP


class Styled(NamedTuple):
    """A table value with a look of its own instead of `body_look`'s."""

    value: Any
    look: Look


def laid_out(ws: WriteOnlyWorksheet) -> Worksheet:
    """`ws` as the worksheet whose layout attributes it has (widths, heights, merges, print
    setup, frozen panes: openpyxl gives a streamed sheet the same ones; the stubs leave them out).
    """
    return cast(Worksheet, ws)


class StreamBook:
    """A write-only workbook: rows go to the file as they are written, none stay in memory.

    A ledger of 100,000 certificates held as openpyxl cells took over a gigabyte; streamed,
    memory stays flat. Sheets are written one after another, each from its first row down.
    """

    def __init__(self) -> None:
        self.wb = Workbook(write_only=True)
        self._styles: dict[int, tuple[Look, StyleArray]] = {}

    def style(self, look: Look, ws: WriteOnlyWorksheet) -> StyleArray:
        """The workbook's style for `look`, registered the first time (`ws`: any of its sheets)."""
        known = self._styles.get(id(look))
        if known is None:
            # Registered through openpyxl's own setters on a scratch cell that is never
            # written; the look is kept with it so that its id cannot pass to another object.
            cell = WriteOnlyCell(ws)
            if look.font is not None:
                cell.font = look.font
            if look.border is not None:
                cell.border = look.border
            if look.alignment is not None:
                cell.alignment = look.alignment
            cell.number_format = look.number_format
            known = self._styles[id(look)] = (look, cell._style)  # type: ignore[attr-defined]
        return known[1]

    def sheet(
        self,
        name: str,
        *,
        widths: Sequence[float],
        freeze: str | None = None,
        header_rows: str | None = None,
    ) -> SheetWriter:
        """A new sheet with its column widths, frozen panes and print setup (all set first:
        a streamed sheet writes them before its rows)."""
        ws = self.wb.create_sheet(name)
        layout = laid_out(ws)
        for col, width in enumerate(widths, start=1):
            layout.column_dimensions[get_column_letter(col)].width = width
        if freeze:
            layout.freeze_panes = freeze
        for_print(layout, header_rows=header_rows)
        return SheetWriter(self, ws)

    def save(self, path: Path) -> Path:
        """Write the book to `path` atomically (see `save_atomic`)."""
        try:
            return save_atomic(self.wb, path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Close the sheets of a book that will not be saved (an error on the way).

        Left open, each sheet's row writer is closed only when it is collected, after its
        temporary file: Python then printed a traceback per sheet under the Chinese message.
        """
        for ws in self.wb.worksheets:
            if isinstance(ws, WriteOnlyWorksheet) and not ws.closed:
                with contextlib.suppress(Exception):
                    ws.close()

    def __enter__(self) -> StreamBook:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.discard()


class SheetWriter:
    """The rows of one streamed sheet, written top to bottom in the house looks."""

    def __init__(self, book: StreamBook, ws: WriteOnlyWorksheet) -> None:
        self.book, self.ws = book, ws
        self.rows = 0
        """Rows written so far: the next row is `rows + 1`."""

    def cell(self, value: Any, look: Look | None) -> Cell:
        """A cell that stays what it is (see `put`), in `look` (None: unstyled)."""
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = WriteOnlyCell(self.ws, value)
        if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
            cell.data_type = "s"
        if look is not None:
            # Shared, never changed: the cell is written at once and then dropped.
            cell._style = self.book.style(look, self.ws)  # type: ignore[attr-defined]
        return cell

    def append(self, cells: Iterable[Cell | None]) -> None:
        """Write the next row; None leaves a cell out."""
        self.ws.append(list(cells))
        self.rows += 1

    def line(self, value: Any, look: Look | None = LINE_LOOK) -> None:
        """A row of one cell."""
        self.append([self.cell(value, look)])

    def blank(self) -> None:
        """An empty row."""
        self.append([])

    def title(self, text: str, *, columns: int) -> None:
        """A centred title merged across `columns`."""
        row = self.rows + 1
        layout = laid_out(self.ws)
        layout.merged_cells.add(CellRange(min_col=1, min_row=row, max_col=columns, max_row=row))
        layout.row_dimensions[row].height = 30
        self.line(text, TITLE_LOOK)

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """A bordered header and body: each value in `body_look`'s look or its `Styled` one."""
        self.append(self.cell(h, HEADER_LOOK) for h in headers)
        cell = self.cell
        for row in rows:
            self.append(
                cell(v.value, v.look) if isinstance(v, Styled) else cell(v, body_look(v))
                for v in row
            )


def save_atomic(wb: Workbook, path: Path) -> Path:
    """Save `wb` to a temporary file beside `path`, then move it into place.

    A failed save (disk full, killed process) never leaves half a workbook at `path`.
    """
    with replacing(path) as tmp:
        wb.save(tmp)
    return path
