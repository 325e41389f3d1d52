"""The queue page as a table: one row per holder, with days left and badges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual._types import SegmentLines
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from callqueue.queue.claims import QueueEntry
from callqueue.queue.reminders import BADGE_LABELS
from callqueue.tui.widgets.queue_columns import Column, fit_columns

_RowLines = tuple[SegmentLines, SegmentLines]
"""What DataTable renders for one line of a row: fixed cells' lines, scrollable cells' lines."""

BADGES = BADGE_LABELS


def certificates_label(e: QueueEntry) -> str:
    """The first certificate's name, and how many more (the detail pane lists them all)."""
    if len(e.certificates) <= 1:
        return "".join(e.certificates)
    return f"{e.certificates[0]} 等{len(e.certificates)}张"


def days_left(e: QueueEntry, today: date) -> Text:
    """Days until the apply-by date: red once passed, yellow within ten days."""
    if e.apply_by is None:
        return Text("")
    left = (e.apply_by - today).days
    style = "bold red" if left < 0 else "bold yellow" if left <= 10 else ""
    return Text(str(left), style=style, justify="right")


Cells = dict[str, Text]
"""A row's cells by column key, every column's (shown or not at this width)."""


def _cells(e: QueueEntry, today: date, marks: dict[int, Text]) -> Cells:
    return {
        "holder": Text(e.holder, overflow="ellipsis", no_wrap=True),
        "certificates": Text(certificates_label(e), overflow="ellipsis", no_wrap=True),
        "expires_on": Text(f"{e.expires_on:%Y-%m-%d}" if e.expires_on else ""),
        "apply_by": Text(f"{e.apply_by:%Y-%m-%d}" if e.apply_by else ""),
        "days_left": days_left(e, today),
        "attempts": Text(str(e.attempts), justify="right"),
        "marks": marks.get(e.holder_id, Text("")),
    }


def _same_mark(a: Text | None, b: Text | None) -> bool:
    return a is b or (a is not None and b is not None and _same(a, b))


def _same(a: Text, b: object) -> bool:
    return isinstance(b, Text) and a.plain == b.plain and a.spans == b.spans and a.style == b.style


class QueueTable(DataTable[Text]):
    """A page of the queue; row keys are holder ids."""

    def __init__(self, *, follow: Callable[[int], None] | None = None, **kwargs: Any) -> None:
        self._drawn_cells: LRUCache[tuple[object, ...], tuple[object, SegmentLines]] = LRUCache(
            4000
        )
        """Rendered cells, kept across changes to other cells (see `_render_cell`); made first:
        DataTable's own set-up clears caches."""
        self._drawn_rows: LRUCache[tuple[object, ...], tuple[tuple[object, ...], _RowLines]] = (
            LRUCache(400)
        )
        """Rendered rows, kept across cursor moves and changes to other rows."""
        self._drawn_lines: LRUCache[tuple[object, ...], tuple[tuple[object, ...], Strip]] = (
            LRUCache(400)
        )
        """Finished lines (cropped to the view), kept likewise."""
        self._frame_style: Style | None = None
        """The table's own style while a frame is drawn (DataTable works it out per line)."""
        super().__init__(**kwargs)
        self._shown: dict[str, tuple[QueueEntry, date, Text | None]] = {}
        """Per row, the entry (and day and marks) its cells were last made from by `fill`."""
        self.done: dict[str, str] = {}
        """Rows of holders this desk has finished (row key: holder name), greyed in place until
        `compact` takes them out."""
        self._follow = follow
        """Told the holder id under the cursor each time the cursor changes row."""
        self._cells: dict[str, Cells] = {}
        """Per row, its cells in every column, so that a column left out can come back."""
        self._columns: tuple[Column, ...] = ()
        """The columns shown, fitted to the width (`fit_columns`)."""
        self._sized: tuple[tuple[Size, Size, Size, Size], bool] | None = None
        self._scrolled_for: Size | None = None  # the virtual size `settle` showed

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        """Move the cursor, and say at once which holder is now under it.

        DataTable says so with a RowHighlighted message, which reaches the screen only after
        the table has had its frame drawn: the detail pane then followed one frame (17 ms or
        more) later. Told here, the pane changes in the same frame as the cursor.
        """
        super().watch_cursor_coordinate(old, new)
        if self._follow is not None and old.row != new.row and new.row < self.row_count:
            key = self.coordinate_to_cell_key(new).row_key.value
            if key is not None:
                self._follow(int(key))

    def settle(self) -> None:
        """Work out the table's size now, not when its message queue is next idle.

        DataTable measures added rows and changed cells in its `on_idle`. After an outcome
        that ran after the frame showing the next holder, so the rows the page gained moved
        the scrollbar in a frame of its own, 20-30 ms later; and a cursor move waited for it
        (`call_after_refresh`) before scrolling. Settled here, both land in the same frame.
        """
        if self._updated_cells:
            updated, self._updated_cells = self._updated_cells, set()
            self._update_column_widths(updated)
        if self._require_update_dimensions:
            self._require_update_dimensions = False
            new_rows, self._new_rows = self._new_rows, set()
            self._update_dimensions(new_rows)
            if self._sized is not None:  # laid out before: the scrollbar can follow now
                self._scroll_update(self.virtual_size)
                self._scrolled_for = self.virtual_size

    def move_cursor(
        self,
        *,
        row: int | None = None,
        column: int | None = None,
        animate: bool = False,
        scroll: bool = True,
    ) -> None:
        """Move the cursor, scrolling to it in this frame (see `settle`)."""
        self.settle()
        super().move_cursor(row=row, column=column, animate=animate, scroll=scroll)

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """Take the size a layout gave; do nothing when it is the size of the last layout.

        ScrollView redraws its scrollbar after every layout of the screen, whatever changed
        (it compares its own virtual size, the rows, with the one the layout passes). On the
        call screen each cursor move lays out the detail pane, so the scrollbar was drawn
        again, unchanged, one frame after every move.
        """
        key = (size, virtual_size, container_size, self.virtual_size)
        if self._sized is not None and self._sized[0] == key:
            return self._sized[1]
        if (
            self._sized is not None
            and self._sized[0][:3] == key[:3]
            and self.virtual_size == self._scrolled_for
        ):  # only the rows changed, and `settle` has already moved the scrollbar
            self._sized = (key, False)
            return False
        shrunk = self._sized is not None and size.height < self._sized[0][0].height
        resized = super()._size_updated(size, virtual_size, container_size, layout)
        self._sized = (key, resized)
        if shrunk:  # a smaller terminal: the row under the cursor may have left the view
            self.call_after_refresh(self._scroll_cursor_into_view)
        return resized

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        """Render a cell, or reuse its last rendering if the cell and its place are unchanged.

        DataTable keys its cell cache on a count of every change to the table, so after one
        cell changed (an outcome marks two rows) every visible cell was rendered again through
        Rich: 15-25 ms a frame on the call screen. Here a cell is drawn again only when its
        own value (a new object: cells are never changed in place), its row number (the
        rendering carries it for the mouse), its style, width or highlight changed.
        """
        if column_index < 0:  # row labels: this table has none
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        column_key = self._column_locations.get_key(column_index)
        row_key = self._header_row_key if row_index < 0 else self._row_locations.get_key(row_index)
        if column_key is None or row_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        value: object = (
            self.columns[column_key].label if row_index < 0 else self._data[row_key].get(column_key)
        )
        key = (
            row_key,
            column_key,
            id(value),  # the cache holds `value`: no other object can take its id meanwhile
            row_index,
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        found = self._drawn_cells.get(key)
        if found is not None:
            return found[1]
        lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        self._drawn_cells[key] = (value, lines)
        return lines

    def render_lines(self, crop: Region) -> list[Strip]:
        """Draw the lines in `crop`, working out the table's style once, not once per line."""
        self._frame_style = self.rich_style  # walks every ancestor's CSS: ~0.1 ms a call
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    def render_line(self, y: int) -> Strip:
        """DataTable's `render_line` for a table without fixed rows, with the frame's style."""
        style = self._frame_style
        if style is None or self.fixed_rows:
            return super().render_line(y)
        scroll_x, scroll_y = self.scroll_offset
        if not self.show_header or y >= self.header_height:
            y += scroll_y
        return self._render_line(y, scroll_x, scroll_x + self.size.width, style)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """A finished line, reused while its row, its place and its highlight are unchanged."""
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        place = self._row_values(row_key)
        if place is None:
            return super()._render_line(y, x1, x2, base_style)
        row_index, values = place
        cursor, hover = self.cursor_coordinate, self.hover_coordinate
        key = (y, x1, x2) + self._row_key(
            row_key, values, line_no, row_index, base_style, cursor, hover
        )
        found = self._drawn_lines.get(key)
        if found is not None:
            return found[1]
        strip = super()._render_line(y, x1, x2, base_style)
        self._drawn_lines[key] = (values, strip)
        return strip

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> _RowLines:
        """Render a row's line, or reuse it if its cells and its own highlight are unchanged.

        DataTable renders every visible row again after any change to the table (its row cache
        is keyed on a count of changes) and after any cursor move (keyed on the cursor's place,
        not on whether this row has it). The row cursor only changes the row it leaves and the
        row it reaches.
        """
        place = self._row_values(row_key)
        if place is None:
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )
        row_index, values = place
        key = self._row_key(
            row_key, values, line_no, row_index, base_style, cursor_location, hover_location
        )
        found = self._drawn_rows.get(key)
        if found is not None:
            return found[1]
        lines = super()._render_line_in_row(
            row_key, line_no, base_style, cursor_location, hover_location
        )
        self._drawn_rows[key] = (values, lines)
        return lines

    def _row_key(
        self,
        row_key: RowKey,
        values: tuple[object, ...],
        line_no: int,
        row_index: int,
        base_style: Style,
        cursor: Coordinate,
        hover: Coordinate,
    ) -> tuple[object, ...]:
        """What a row's line looks like depends on: its cells, place, style and own highlight."""
        return (
            row_key,
            tuple(map(id, values)),  # the cache entry holds `values`, as in `_render_cell`
            line_no,
            row_index,
            base_style,
            cursor.row == row_index,
            hover.row == row_index,
            self.show_cursor,
            self._show_hover_cursor,
            self._pseudo_class_state,
            self.size.width,
            tuple(column.get_render_width(self) for column in self.ordered_columns),
        )

    def _row_values(self, row_key: RowKey) -> tuple[int, tuple[object, ...]] | None:
        """The row's number (-1: the header) and its cells, if its drawing may be reused.

        Reuse is only worked out for what this table is: a row cursor, no fixed columns, no
        row labels. Anything else is drawn by DataTable as it is.
        """
        if self.cursor_type != "row" or self.fixed_columns or self._labelled_row_exists:
            return None
        if row_key is self._header_row_key:
            return -1, tuple(column.label for column in self.ordered_columns)
        row_index = self._row_locations.get(row_key)
        if row_index is None:
            return None
        return row_index, tuple(self._data[row_key].values())

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._forget_drawn()

    def notify_style_update(self) -> None:
        self._forget_drawn()  # before the repaint the parent asks for
        super().notify_style_update()

    def _forget_drawn(self) -> None:
        self._drawn_cells.clear()
        self._drawn_rows.clear()
        self._drawn_lines.clear()

    def keys_after(self, holder_id: int, count: int) -> list[int]:
        """The holder ids of up to `count` rows below `holder_id`'s row."""
        row = self.get_row_index(str(holder_id))
        return [int(str(r.key.value)) for r in self.ordered_rows[row + 1 : row + 1 + count]]

    def on_mount(self) -> None:
        """Add the columns that fit the terminal (the table spans it)."""
        self.refit(self.app.size.width)

    def on_resize(self, event: events.Resize) -> None:
        """Another width: fit the columns to it."""
        self.refit(event.size.width)

    def refit(self, width: int) -> None:
        """Show the columns that fit `width`, rebuilding the rows if the columns change."""
        columns = fit_columns(width)
        if columns == self._columns:
            return
        self._columns = columns
        at, rows = self._cursor_key(), [str(row.key.value) for row in self.ordered_rows]
        self.clear(columns=True)
        for key, label, w in columns:
            self.add_column(label, key=key, width=w)
        for key in rows:
            self.add_row(*self._shown_cells(self._cells[key]), key=key)
        if at is not None:
            self.move_cursor(row=self.get_row_index(at), animate=False)

    def _shown_cells(self, cells: Cells) -> list[Text]:
        return [cells[key] for key, *_ in self._columns]

    def _add(self, key: str, cells: Cells) -> None:
        self._cells[key] = cells
        self.add_row(*self._shown_cells(cells), key=key)

    def _remove(self, key: str) -> None:
        self._cells.pop(key, None)
        self.remove_row(key)

    def _change(self, key: str, cells: Cells) -> None:
        """Set the row's cells that differ from `cells` (those shown, on screen too)."""
        now = self._cells[key]
        for column, value in cells.items():
            if not _same(value, now[column]):
                now[column] = value
                if column in self.columns:
                    self.update_cell(key, column, value)

    def fill(self, entries: list[QueueEntry], *, today: date, marks: dict[int, Text]) -> None:
        """Show this page, changing only what changed when the rows kept their order.

        After an outcome the page is usually the old one minus a row: that row stays where it
        is, marked done (`mark_done`), until `compact` takes done rows out in a pause. Removing
        it at once moved every row below it up and changed its stripe, so every visible row
        was drawn again (15-25 ms) in the frame that shows the next holder.
        """
        shown = {str(e.holder_id): (e, today, marks.get(e.holder_id)) for e in entries}
        old = [str(row.key.value) for row in self.ordered_rows]
        kept = [key for key in old if key in shown]
        if not old or kept != list(shown)[: len(kept)]:
            self._refill({key: _cells(e, today, marks) for key, (e, *_) in shown.items()})
            self._shown = shown
            return
        for key in old:
            if key in shown:
                if self.done.pop(key, None) is not None:  # back in the queue
                    self._shown.pop(key, None)
            elif key not in self.done:
                self._remove(key)
        for key, (e, _, mark) in shown.items():
            last = self._shown.get(key)
            if last is not None and last[0] == e and last[1] == today and _same_mark(mark, last[2]):
                continue  # drawn from an equal entry: nothing to compare cell by cell
            cells = _cells(e, today, marks)
            if key not in self.rows:
                self._add(key, cells)
                continue
            self._change(key, cells)
        self._shown = shown
        self.settle()

    def mark_done(self, e: QueueEntry, today: date) -> None:
        """Grey out `e`'s row where it is: this desk has just finished with the holder."""
        key = str(e.holder_id)
        if key not in self.rows:
            return
        self._shown.pop(key, None)
        self.done[key] = e.holder
        greyed = {
            column: Text(cell.plain, style="dim", justify=cell.justify)
            for column, cell in _cells(e, today, {}).items()
        }
        greyed["holder"] = Text(f"✓ {e.holder}", style="dim", overflow="ellipsis", no_wrap=True)
        greyed["marks"] = Text("已处理", style="dim")
        self._change(key, greyed)

    def compact(self) -> bool:
        """Take the done rows out, keeping the cursor on the row it was on; False if none."""
        if not self.done:
            return False
        at = self._cursor_key()
        for key in self.done:
            self._remove(key)
        self.done.clear()
        if at is not None and at in self.rows:
            self.move_cursor(row=self.get_row_index(at), animate=False)
        return True

    def step_off_done(self) -> None:
        """If the cursor is on a done row, move it to the nearest holder still in the queue."""
        at = self._cursor_key()
        if at is None or at not in self.done:
            return
        keys = [str(row.key.value) for row in self.ordered_rows]
        row = keys.index(at)
        for index in [*range(row + 1, len(keys)), *range(row - 1, -1, -1)]:
            if keys[index] not in self.done:
                self.move_cursor(row=index, animate=False)
                return

    def _cursor_key(self) -> str | None:
        if self.row_count == 0:
            return None
        value = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return None if value is None else str(value)

    def _refill(self, rows: dict[str, Cells]) -> None:
        """Replace every row, keeping the cursor's row number where it can."""
        row = self.cursor_row
        self.clear()
        self.done.clear()
        self._cells.clear()
        for key, cells in rows.items():
            self._add(key, cells)
        if rows:
            self.move_cursor(row=min(row, len(rows) - 1))

    def redraw(self, e: QueueEntry, today: date, marks: Text) -> None:
        """Draw `e`'s row again where its cells changed (an entry that grew), if it is shown."""
        key = str(e.holder_id)
        if key not in self.rows or key in self.done:
            return
        self._shown[key] = (e, today, marks)
        self._change(key, _cells(e, today, {e.holder_id: marks}))

    def show_claimed(self, e: QueueEntry, marks: Text) -> None:
        """Mark the claimed holder's row and put the cursor on it, if it is on this page."""
        key = str(e.holder_id)
        if key not in self.rows:
            return
        self._shown.pop(key, None)
        claimed = Text(f"▶ {e.holder}", style="bold", overflow="ellipsis")
        self._change(key, {"marks": marks, "holder": claimed})
        self.move_cursor(row=self.get_row_index(key))
