"""The catalog screen: the 附件1 items, their filing deadlines and too-late warnings."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Static

from callqueue import catalog
from callqueue.roles import role_label
from callqueue.tui.messages import CatalogLoaded, LoadFailed
from callqueue.tui.office_desk import OfficeDesk, read_failure
from callqueue.tui.screens.catalog_dialogs import AddItemDialog, RetireDialog
from callqueue.tui.screens.catalog_edit import CatalogEditDialog
from callqueue.tui.screens.side import SideScreen
from callqueue.tui.widgets.footer import CalmFooter

COLUMNS = ("序号", "提醒", "许可证书名称", "承办科室", "有效期", "提醒时限", "申请换证时限")


class CatalogScreen(SideScreen):
    """许可证书到期前提醒目录."""

    BINDINGS = [
        Binding("r", "reload", "刷新", tooltip="重新读取目录", id="catalog.reload"),
        Binding("e", "edit", "修改", tooltip="修改所选事项（仅限主管）", id="catalog.edit"),
        Binding("x", "retire", "停用", tooltip="停用所选事项（仅限主管）", id="catalog.retire"),
        Binding("n", "add", "新增", tooltip="新增目录事项（仅限主管）", id="catalog.add"),
    ]

    def __init__(self, office: OfficeDesk) -> None:
        super().__init__()
        self.office = office
        self.entries: list[catalog.CatalogEntry] = []
        self.late: dict[int, catalog.LateItem] = {}
        self.notice: str | None = None
        """What was just saved; the status line shows it after the reload."""

    def compose(self) -> ComposeResult:
        """Header, who is working, the table, the selected item's detail."""
        yield Header()
        yield Static(id="who")
        yield DataTable(id="catalog-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="catalog-detail")
        yield Static(id="catalog-status")
        yield CalmFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Set up the table and start reading the catalog."""
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self._show_who(None)
        self.load_catalog()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Editing needs an item under the cursor (who may edit is checked on the key)."""
        if action in ("edit", "retire") and self._current() is None:
            return None
        return super().check_action(action, parameters)

    def action_reload(self) -> None:
        """Read the catalog again."""
        self.load_catalog()

    def action_edit(self) -> None:
        """Open the edit dialog for a supervisor; tell anyone else why not."""
        entry = self._current()
        if entry is not None and self._may_edit():
            self.app.push_screen(CatalogEditDialog(entry, self.office), self._edited)

    def action_retire(self) -> None:
        """Open the retire dialog for a supervisor; tell anyone else why not."""
        entry = self._current()
        if entry is not None and self._may_edit():
            self.app.push_screen(RetireDialog(entry, self.office), self._edited)

    def action_add(self) -> None:
        """Open the add-item dialog for a supervisor; tell anyone else why not."""
        if self._may_edit():
            current = self._current()
            section = current.section if current is not None else ""
            self.app.push_screen(AddItemDialog(self.office, section), self._edited)

    def _may_edit(self) -> bool:
        refusal = self.office.may_edit_catalog()
        if refusal is not None:
            self.query_one("#catalog-status", Static).update(Text(refusal))
            self.notify(refusal, title="目录", severity="warning")
        return refusal is None

    def _edited(self, notice: str | None) -> None:
        if notice is None:  # escape: nothing saved
            return
        self.notice = notice
        self.notify(notice, title="目录")
        self.load_catalog()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load_catalog(self) -> None:
        """Read the catalog in a thread and post it back."""
        try:
            view = self.office.catalog()
        except Exception as exc:  # any failure is shown, the screen stays usable
            self.post_message(LoadFailed(read_failure("读取目录失败", exc)))
            return
        self.post_message(CatalogLoaded(view.entries, view.late, view.calendar_warning))

    @on(CatalogLoaded)
    def show_catalog(self, message: CatalogLoaded) -> None:
        """Fill the table, keeping the cursor on the same item."""
        current = self._current()
        self.entries = message.entries
        self.late = {item.seq: item for item in message.late}
        self._show_who(message.calendar_warning)
        table = self.query_one(DataTable)
        table.clear()
        for e in message.entries:
            flag = Text("⚠ 偏晚", style="bold yellow") if e.seq in self.late else Text("")
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
        if current is not None and any(e.seq == current.seq for e in message.entries):
            table.move_cursor(row=table.get_row_index(str(current.seq)))
        self.refresh_bindings()
        counts = f"共 {len(message.entries)} 项，其中 {len(self.late)} 项提醒时限晚于申请时限"
        self.query_one("#catalog-status", Static).update(Text(self.notice or counts))
        self.notice = None
        shown = self._current()
        if shown is not None:
            self._show_detail(shown)

    def _show_who(self, warning: str | None) -> None:
        me = self.office.staff
        if me is not None:
            who = f"{me.name}（{role_label(me.role)}）"
        else:
            who = self.cq_app.staff_name or "未选择工作人员"
        line = Text(f"{who} · 日期 {self.office.today:%Y-%m-%d}")
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
        self.refresh_bindings()

    def _current(self) -> catalog.CatalogEntry | None:
        table = self.query_one(DataTable)
        if not table.row_count or not self.entries:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((e for e in self.entries if str(e.seq) == key), None)

    def _show_detail(self, e: catalog.CatalogEntry) -> None:
        lines = Text()
        lines.append(f"{e.permit_item}\n", style="bold")
        lines.append(f"申请换证时限：{e.deadline_label}。{e.deadline_note}\n")
        late = self.late.get(e.seq)
        if late is not None:
            lines.append(f"⚠ {late.message}\n", style="bold yellow")
        lines.append(f"依据：{e.legal_basis}（可信度：{e.confidence_label}）\n")
        lines.append(f"办理地点：{e.place or '（未设置）'} · 服务电话：{e.phone or '（未设置）'}\n")
        lines.append("提交材料：" + "；".join(e.materials))
        self.query_one("#catalog-detail", Static).update(lines)
