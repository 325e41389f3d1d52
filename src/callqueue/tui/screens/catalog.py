"""The catalog screen: the 附件1 items, their filing deadlines and too-late warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from callqueue import catalog, db, workdays
from callqueue.tui.messages import CatalogLoaded, LoadFailed

if TYPE_CHECKING:
    from callqueue.tui.app import CallqueueApp

COLUMNS = ("序号", "提醒", "许可证书名称", "承办科室", "有效期", "提醒时限", "申请换证时限")


class CatalogScreen(Screen[None]):
    """许可证书到期前提醒目录."""

    BINDINGS = [
        Binding("r", "reload", "刷新", tooltip="重新读取目录", id="catalog.reload"),
    ]

    def compose(self) -> ComposeResult:
        """Header, who is working, the table, the selected item's detail."""
        yield Header()
        yield Static(id="who")
        yield DataTable(id="catalog-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="catalog-detail")
        yield Static(id="catalog-status")
        yield Footer()

    @property
    def cq_app(self) -> CallqueueApp:
        """The app, typed."""
        return cast("CallqueueApp", self.app)

    def on_mount(self) -> None:
        """Set up the table and start reading the catalog."""
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self._show_who(None)
        self.entries: list[catalog.CatalogEntry] = []
        self.load_catalog()

    def action_reload(self) -> None:
        """Read the catalog again."""
        self.load_catalog()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load_catalog(self) -> None:
        """Read the catalog in a thread and post it back."""
        try:
            today = self.cq_app.today
            with db.session_scope(self.cq_app.engine, write=False) as session:
                entries = catalog.list_items(session)
                warning = workdays.load_calendar(session).coverage_warning(
                    [today.year, today.year + 1]
                )
        except Exception as exc:  # any failure is shown, the screen stays usable
            self.post_message(LoadFailed(f"读取目录失败：{type(exc).__name__}"))
            return
        self.post_message(CatalogLoaded(entries, catalog.late_items(entries), warning))

    @on(CatalogLoaded)
    def show_catalog(self, message: CatalogLoaded) -> None:
        """Fill the table."""
        self.entries = message.entries
        self._show_who(message.calendar_warning)
        late = {item.seq for item in message.late}
        table = self.query_one(DataTable)
        table.clear()
        for e in message.entries:
            flag = Text("⚠ 偏晚", style="bold yellow") if e.seq in late else Text("")
            table.add_row(
                Text(str(e.seq)),
                flag,
                Text(e.certificate_name),
                Text(e.section),
                Text(e.validity_label),
                Text(f"到期前{e.lead_months}个月"),
                Text(e.deadline_label),
                key=str(e.seq),
            )
        self.query_one("#catalog-status", Static).update(
            Text(f"共 {len(message.entries)} 项，其中 {len(late)} 项提醒时限晚于申请时限")
        )
        if message.entries:
            self._show_detail(message.entries[0])

    def _show_who(self, warning: str | None) -> None:
        who = self.cq_app.staff_name or "未选择工作人员"
        line = Text(f"{who} · 日期 {self.cq_app.today:%Y-%m-%d}")
        if warning:
            line.append(f"  ⚠ {warning}", style="bold yellow")
        self.query_one("#who", Static).update(line)

    @on(LoadFailed)
    def show_failure(self, message: LoadFailed) -> None:
        """Say what went wrong, keep the screen."""
        self.query_one("#catalog-status", Static).update(Text(message.message))
        self.notify(message.message, severity="error")

    @on(DataTable.RowHighlighted)
    def follow_cursor(self, event: DataTable.RowHighlighted) -> None:
        """Show the highlighted item's renewal facts."""
        key = event.row_key.value
        entry = next((e for e in self.entries if str(e.seq) == key), None)
        if entry is not None:
            self._show_detail(entry)

    def _show_detail(self, e: catalog.CatalogEntry) -> None:
        lines = Text()
        lines.append(f"{e.permit_item}\n", style="bold")
        lines.append(f"申请换证时限：{e.deadline_label}。{e.deadline_note}\n")
        lines.append(f"依据：{e.legal_basis}（可信度：{e.confidence}）\n")
        lines.append("提交材料：" + "；".join(e.materials))
        self.query_one("#catalog-detail", Static).update(lines)
