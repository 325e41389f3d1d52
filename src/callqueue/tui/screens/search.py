"""The search screen: find a holder by name, phone, certificate name, number or #id; open the record."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from callqueue.records.search import SearchHit, SearchKind, SearchPage
from callqueue.tui.messages import RecordsChanged
from callqueue.tui.record_messages import RecordFailed, SearchDone
from callqueue.tui.records_desk import SEARCH_PAGE, RecordsDesk, refusal_text
from callqueue.tui.screens.record import RecordScreen
from callqueue.tui.screens.record_dialogs import CertificateDialog
from callqueue.tui.widgets.footer import CalmFooter

COLUMNS = (  # key, label, width (cells) at 120 columns; narrower screens scale them down
    ("holder", "单位（个人）名称", 34),
    ("sections", "科室", 20),
    ("certificates", "证书", 30),
    ("phones", "电话", 26),
)
_FRAME = 2 * len(COLUMNS) + 2  # each cell's padding, and the scrollbar


def column_widths(screen_width: int) -> list[int]:
    """The columns' widths on a screen this wide: as designed for 120 columns, scaled down so
    that every column, the phones last, stays on a narrower screen (80 columns)."""
    designed = sum(width for _, _, width in COLUMNS)
    scale = min(1.0, max(0, screen_width - _FRAME) / designed)
    return [max(6, int(width * scale)) for _, _, width in COLUMNS]


PLACEHOLDER = "单位名称 / 电话（任意写法）/ 证书名称 / 证书编号 / #证书ID，回车查找"


class SearchScreen(Screen[None]):
    """查找：holders by name, phone or certificate; Enter opens the record."""

    CSS_PATH = "search.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "返回", tooltip="回到上一屏", id="search.back"),
        Binding("slash", "focus_query", "查找", tooltip="输入查找内容", id="search.query"),
        Binding(
            "pagedown", "next_page", "下一页", tooltip="下一页结果", id="search.next", priority=True
        ),
        Binding(
            "pageup", "prev_page", "上一页", tooltip="上一页结果", id="search.prev", priority=True
        ),
        Binding("ctrl+n", "new_certificate", "新增证书", tooltip="手工录入新证书", id="search.new"),
    ]

    def __init__(self, records: RecordsDesk) -> None:
        super().__init__()
        self.records = records
        self.page: SearchPage | None = None
        self.hits: dict[str, SearchHit] = {}
        self.widths: list[int] = []

    def compose(self) -> ComposeResult:
        """Header, who, the query, what it was read as, the results."""
        yield Header()
        yield Static(id="search-who")
        yield Input(placeholder=PLACEHOLDER, id="search-input")
        yield Static(id="search-status")
        yield DataTable(id="search-table", cursor_type="row", zebra_stripes=True)
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Columns, who is looking, focus on the query."""
        me = self.records.desk.staff
        scope = "全部科室" if self.records.viewer.sees_all else me.section
        self.query_one("#search-who", Static).update(Text(f"查找 · {me.name} · 范围：{scope}"))
        self._columns(self.app.size.width)
        self._status("输入后回车查找；↑↓ 选择，回车打开记录，Esc 返回")
        self.query_one(Input).focus()

    def on_resize(self, event: events.Resize) -> None:
        """Fit the columns to the new width, with the rows shown."""
        if column_widths(event.size.width) != self.widths:
            self._columns(event.size.width)
            self._fill()

    def _columns(self, screen_width: int) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        self.widths = column_widths(screen_width)
        for (key, label, _), width in zip(COLUMNS, self.widths, strict=True):
            table.add_column(label, key=key, width=width)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Paging needs a page with more before or after it."""
        if action == "next_page":
            return self.page is not None and self.page.has_more
        if action == "prev_page":
            return self.page is not None and self.page.offset > 0
        return True

    # --- actions -------------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the screen search was opened from."""
        self.dismiss(None)

    def action_focus_query(self) -> None:
        """Put the cursor in the query box."""
        self.query_one(Input).focus()

    def action_next_page(self) -> None:
        """The next page of the same search."""
        if self.page is not None and self.page.has_more:
            self.run_search(self.page.query, self.page.offset + SEARCH_PAGE)

    def action_prev_page(self) -> None:
        """The previous page of the same search."""
        if self.page is not None and self.page.offset > 0:
            self.run_search(self.page.query, max(0, self.page.offset - SEARCH_PAGE))

    def action_new_certificate(self) -> None:
        """Add a certificate by hand; its holder's record opens once saved."""
        # A name typed for a search that found nothing is likely the new holder's name.
        named = self.page is not None and self.page.kind is SearchKind.NAME
        holder = self.page.query.strip() if named and self.page else ""
        dialog = CertificateDialog(self.records, holder=holder)
        self.app.push_screen(dialog, self._certificate_added)

    def _certificate_added(self, holder_id: int | None) -> None:
        if holder_id is not None:
            self.app.post_message(RecordsChanged())
            self.app.push_screen(RecordScreen(self.records, holder_id))

    @on(Input.Submitted, "#search-input")
    def submit(self, event: Input.Submitted) -> None:
        """Search for what was typed."""
        self._status("正在查找…")
        self.run_search(event.value, 0)

    @on(DataTable.RowSelected, "#search-table")
    def open_record(self, event: DataTable.RowSelected) -> None:
        """Open the chosen holder's record."""
        hit = self.hits.get(str(event.row_key.value))
        if hit is not None:
            self.app.push_screen(RecordScreen(self.records, hit.holder_id))

    # --- workers -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def run_search(self, query: str, offset: int) -> None:
        """Search in a thread and post the page."""
        try:
            page = self.records.search(query, offset)
        except Exception as exc:  # shown; the screen stays usable
            self.post_message(RecordFailed(refusal_text("查找失败", exc)))
            return
        self.post_message(SearchDone(page))

    # --- handlers ------------------------------------------------------------------------

    @on(SearchDone)
    def show_page(self, message: SearchDone) -> None:
        """Fill the table with the page and say how the query was read."""
        page = self.page = message.page
        self.refresh_bindings()
        self._fill()
        table = self.query_one(DataTable)
        if page.kind is None:
            self._status(page.described)
            return
        if not page.hits:
            self._status(f"{page.described}：没有找到" + ("" if page.offset == 0 else "更多结果"))
            return
        first, last = page.offset + 1, page.offset + len(page.hits)
        more = "，PgDn 下一页" if page.has_more else ""
        self._status(f"{page.described}：第 {first}–{last} 条{more}；回车打开记录")
        table.focus()

    @on(RecordFailed)
    def show_failure(self, message: RecordFailed) -> None:
        """Say what went wrong; the query stays as typed."""
        self._status(message.message)
        self.notify(message.message, severity="error")

    def _fill(self) -> None:
        """The page's hits as the table's rows."""
        table = self.query_one(DataTable)
        table.clear()
        hits = self.page.hits if self.page is not None else []
        self.hits = {str(h.holder_id): h for h in hits}
        for h in hits:
            table.add_row(
                Text(h.holder, overflow="ellipsis", no_wrap=True),
                Text("、".join(h.sections), overflow="ellipsis", no_wrap=True),
                Text(_certificates(h), overflow="ellipsis", no_wrap=True),
                Text("、".join(h.phones) or "—", overflow="ellipsis", no_wrap=True),
                key=str(h.holder_id),
            )

    def _status(self, text: str) -> None:
        self.query_one("#search-status", Static).update(Text(text))


def _certificates(hit: SearchHit) -> str:
    if len(hit.certificates) <= 1:
        return "".join(hit.certificates) or "—"
    return f"{hit.certificates[0]} 等{len(hit.certificates)}种"
