"""The queue page as a table: one row per holder, with days left and badges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from rich.text import Text
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.widgets import DataTable

from callqueue.queue.claims import QueueEntry

COLUMNS = (  # key, label, width (cells); sized to fit 120 columns
    ("holder", "单位（个人）名称", 32),
    ("certificates", "证书", 26),
    ("expires_on", "期满日期", 10),
    ("apply_by", "申请截止", 10),
    ("days_left", "剩余天数", 8),
    ("attempts", "已拨", 4),
    ("marks", "标记", 14),
)
BADGES = {"callback": "回电", "retry": "重拨", "late": "补录", "follow_up": "跟进"}


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


def _cells(e: QueueEntry, today: date, marks: dict[int, Text]) -> tuple[Text, ...]:
    return (
        Text(e.holder, overflow="ellipsis", no_wrap=True),
        Text(certificates_label(e), overflow="ellipsis", no_wrap=True),
        Text(f"{e.expires_on:%Y-%m-%d}" if e.expires_on else ""),
        Text(f"{e.apply_by:%Y-%m-%d}" if e.apply_by else ""),
        days_left(e, today),
        Text(str(e.attempts), justify="right"),
        marks.get(e.holder_id, Text("")),
    )


def _same(a: Text, b: object) -> bool:
    return isinstance(b, Text) and a.plain == b.plain and a.spans == b.spans and a.style == b.style


class QueueTable(DataTable[Text]):
    """A page of the queue; row keys are holder ids."""

    def __init__(self, *, follow: Callable[[int], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._follow = follow
        """Told the holder id under the cursor each time the cursor changes row."""
        self._sized: tuple[tuple[Size, Size, Size, Size], bool] | None = None

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
        resized = super()._size_updated(size, virtual_size, container_size, layout)
        self._sized = (key, resized)
        return resized

    def keys_after(self, holder_id: int, count: int) -> list[int]:
        """The holder ids of up to `count` rows below `holder_id`'s row."""
        row = self.get_row_index(str(holder_id))
        return [int(str(r.key.value)) for r in self.ordered_rows[row + 1 : row + 1 + count]]

    def on_mount(self) -> None:
        """Add the columns once."""
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def fill(self, entries: list[QueueEntry], *, today: date, marks: dict[int, Text]) -> None:
        """Show this page, changing only what changed when the rows kept their order.

        After an outcome the page is usually the old one minus a row: removing that row and
        updating a few cells keeps the table from measuring and redrawing every row again.
        """
        rows = {str(e.holder_id): _cells(e, today, marks) for e in entries}
        old = [str(row.key.value) for row in self.ordered_rows]
        kept = [key for key in old if key in rows]
        if not old or kept != list(rows)[: len(kept)]:
            self._refill(rows)
            return
        for key in old:
            if key not in rows:
                self.remove_row(key)
        for key, cells in rows.items():
            if key not in self.rows:
                self.add_row(*cells, key=key)
                continue
            for (column, *_), value, before in zip(COLUMNS, cells, self.get_row(key), strict=True):
                if not _same(value, before):
                    self.update_cell(key, column, value)

    def _refill(self, rows: dict[str, tuple[Text, ...]]) -> None:
        """Replace every row, keeping the cursor's row number where it can."""
        row = self.cursor_row
        self.clear()
        for key, cells in rows.items():
            self.add_row(*cells, key=key)
        if rows:
            self.move_cursor(row=min(row, len(rows) - 1))

    def show_claimed(self, e: QueueEntry, marks: Text) -> None:
        """Mark the claimed holder's row and put the cursor on it, if it is on this page."""
        key = str(e.holder_id)
        if key not in (row.value for row in self.rows):
            return
        self.update_cell(key, "marks", marks)
        self.update_cell(key, "holder", Text(f"▶ {e.holder}", style="bold", overflow="ellipsis"))
        self.move_cursor(row=self.get_row_index(key))
