"""The queue page as a table: one row per holder, with days left and badges."""

from __future__ import annotations

from datetime import date

from rich.text import Text
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


class QueueTable(DataTable[Text]):
    """A page of the queue; row keys are holder ids."""

    def on_mount(self) -> None:
        """Add the columns once."""
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def fill(self, entries: list[QueueEntry], *, today: date, marks: dict[int, Text]) -> None:
        """Replace the rows with this page, keeping the cursor's row number where it can."""
        row = self.cursor_row
        self.clear()
        for e in entries:
            self.add_row(
                Text(e.holder, overflow="ellipsis", no_wrap=True),
                Text(certificates_label(e), overflow="ellipsis", no_wrap=True),
                Text(f"{e.expires_on:%Y-%m-%d}" if e.expires_on else ""),
                Text(f"{e.apply_by:%Y-%m-%d}" if e.apply_by else ""),
                days_left(e, today),
                Text(str(e.attempts), justify="right"),
                marks.get(e.holder_id, Text("")),
                key=str(e.holder_id),
            )
        if entries:
            self.move_cursor(row=min(row, len(entries) - 1))

    def show_claimed(self, e: QueueEntry, marks: Text) -> None:
        """Mark the claimed holder's row and put the cursor on it, if it is on this page."""
        key = str(e.holder_id)
        if key not in (row.value for row in self.rows):
            return
        self.update_cell(key, "marks", marks)
        self.update_cell(key, "holder", Text(f"▶ {e.holder}", style="bold", overflow="ellipsis"))
        self.move_cursor(row=self.get_row_index(key))
