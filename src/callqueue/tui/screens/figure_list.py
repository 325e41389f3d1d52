"""The list behind one number of the dashboard, paged from the database; Enter opens the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from callqueue.queue.reminders import STATE_LABELS
from callqueue.reports.figures import FIGURE_LABELS, FigureRow
from callqueue.roles import NotAllowed
from callqueue.tui.desk import failure_text
from callqueue.tui.records_desk import RecordsDesk
from callqueue.tui.screens.record import RecordScreen
from callqueue.tui.supervision_desk import FIGURE_PAGE, FigurePage, SupervisionDesk
from callqueue.tui.widgets.footer import CalmFooter

COLUMNS = (  # key, label, width (cells); sized to fit 120 columns
    ("section", "科室", 12),
    ("holder", "单位（个人）名称", 26),
    ("certificate", "证书", 18),
    ("expires_on", "期满日", 8),
    ("apply_by", "申请截止", 8),
    ("remind_on", "提醒日", 8),
    ("state", "状态", 6),
    ("attempts", "次数", 4),
    ("last", "最近提醒", 8),
)


@dataclass
class FigurePageLoaded(Message):
    """A page of the list was read."""

    page: FigurePage


@dataclass
class HolderFound(Message):
    """The holder of the chosen row was found (None: not visible to this staff member)."""

    holder_id: int | None


@dataclass
class FigureListFailed(Message):
    """Reading failed; `message` is for staff."""

    message: str


def short_date(day: date | None) -> Text:
    """26-11-24, or a dash."""
    return Text(f"{day:%y-%m-%d}" if day else "—")


class FigureListScreen(Screen[None]):
    """指标明细：the reminders counted by one number, 100 a page."""

    CSS_PATH = "dashboard.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "返回", tooltip="回到督查", id="figure.back"),
        Binding(
            "]", "page(1)", "下页", tooltip=f"下一页（每页 {FIGURE_PAGE} 条）", id="figure.next"
        ),
        Binding("[", "page(-1)", "上页", tooltip="上一页", id="figure.previous"),
    ]

    page: reactive[FigurePage | None] = reactive(None, bindings=True)
    """The page on screen, once read."""
    busy: reactive[bool] = reactive(False, bindings=True)
    """A read is under way."""

    def __init__(
        self, supervision: SupervisionDesk, figure: str, section: str | None, count: int
    ) -> None:
        super().__init__()
        self.supervision = supervision
        self.figure = figure
        self.section = section
        self.count = count
        self.rows: dict[str, FigureRow] = {}

    def compose(self) -> ComposeResult:
        """Header, which number this is, the rows, the status line."""
        yield Header()
        yield Static(id="figure-title")
        yield DataTable(id="figure-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="figure-status")
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Columns, the title, the first page."""
        where = (
            self.section
            or "合计（" + ("全部科室" if self.supervision.sees_all else "本科室") + "）"
        )
        title = Text(f"{FIGURE_LABELS.get(self.figure, self.figure)} · ", style="bold")
        title.append(f"{where} · 共 {self.count} 条")
        self.query_one("#figure-title", Static).update(title)
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self.load(0)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Paging needs a page before or after this one, and no read under way."""
        if action == "page":
            page = self.page
            if page is None or self.busy:
                return None
            forward = parameters == (1,)
            return True if (page.has_more if forward else page.offset > 0) else None
        return True

    # --- actions ---------------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the dashboard."""
        self.dismiss(None)

    def action_page(self, step: int) -> None:
        """The next or previous page."""
        if self.page is not None:
            self.load(max(0, self.page.offset + step * FIGURE_PAGE))

    def load(self, offset: int) -> None:
        """Read the page starting at `offset`."""
        self.busy = True
        self._status("正在读取…")
        self.read_page(offset)

    @on(DataTable.RowSelected, "#figure-table")
    def open_record(self, event: DataTable.RowSelected) -> None:
        """Open the chosen row's holder record."""
        row = self.rows.get(str(event.row_key.value))
        if row is not None:
            self._status(f"正在打开 {row.holder} 的记录…")
            self.find_holder(row.certificate_id)

    # --- workers (no widgets here) ---------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="figure-read")
    def read_page(self, offset: int) -> None:
        """Read one page of the list."""
        try:
            page = self.supervision.rows(self.figure, self.section, offset)
        except NotAllowed as exc:
            self.post_message(FigureListFailed(str(exc)))
            return
        except Exception as exc:  # shown; the screen stays usable
            self.post_message(FigureListFailed(failure_text("读取清单失败", exc)))
            return
        self.post_message(FigurePageLoaded(page))

    @work(thread=True, exclusive=True, exit_on_error=False, group="figure-holder")
    def find_holder(self, certificate_id: int) -> None:
        """Find whose record to open."""
        try:
            holder_id = self.supervision.holder_of(certificate_id)
        except Exception as exc:
            self.post_message(FigureListFailed(failure_text("打开记录失败", exc)))
            return
        self.post_message(HolderFound(holder_id))

    # --- messages --------------------------------------------------------------------------

    @on(FigurePageLoaded)
    def show_page(self, message: FigurePageLoaded) -> None:
        """Fill the table with the page."""
        page = message.page
        self.busy = False
        self.page = page
        table = self.query_one(DataTable)
        table.clear()
        self.rows = {str(r.reminder_id): r for r in page.rows}
        for r in page.rows:
            table.add_row(
                Text(r.section, overflow="ellipsis", no_wrap=True),
                Text(r.holder, overflow="ellipsis", no_wrap=True),
                Text(r.certificate, overflow="ellipsis", no_wrap=True),
                short_date(r.expires_on),
                short_date(r.apply_by),
                short_date(r.remind_on),
                Text(STATE_LABELS.get(r.state, r.state)),
                Text(str(r.attempts), justify="right"),
                short_date(r.last_reminded_on),
                key=str(r.reminder_id),
            )
        self._status(self._page_line())
        table.focus()

    @on(HolderFound)
    def show_record(self, message: HolderFound) -> None:
        """Open the record, or say it cannot be seen."""
        if message.holder_id is None:
            self._status("找不到这个单位的记录（或不在您的查看范围内）")
            return
        records = RecordsDesk(self.supervision.desk)
        self.app.push_screen(RecordScreen(records, message.holder_id))
        self._status(self._page_line())

    @on(FigureListFailed)
    def failed(self, message: FigureListFailed) -> None:
        """Say what went wrong; keep what is shown."""
        self.busy = False
        self._status(message.message)
        self.notify(message.message, title="督查", severity="error")

    def _page_line(self) -> str:
        page = self.page
        if page is None or not page.rows:
            return "没有记录" if page is None or page.offset == 0 else "没有更多记录"
        first, last = page.offset + 1, page.offset + len(page.rows)
        keys = [k for k, ok in (("[ 上页", page.offset > 0), ("] 下页", page.has_more)) if ok]
        more = f"；{'，'.join(keys)}" if keys else ""
        return f"第 {first}–{last} 条，共 {self.count} 条{more}；回车打开单位记录"

    def _status(self, text: str) -> None:
        self.query_one("#figure-status", Static).update(Text(text))
