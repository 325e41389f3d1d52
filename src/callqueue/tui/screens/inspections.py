"""The inspections screen (督促检查): every inspection record, a new sample, open one to review."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import DataTable, Header, Static

from callqueue.queue.inspection import InspectionDetail, InspectionRefused, InspectionSummary
from callqueue.roles import NotAllowed, role_label
from callqueue.tui.inspection_desk import InspectionDesk
from callqueue.tui.inspection_messages import InspectionFailed, InspectionsListed
from callqueue.tui.office_desk import read_failure
from callqueue.tui.screens.inspection_dialogs import NewInspectionDialog
from callqueue.tui.screens.inspection_review import InspectionReviewScreen
from callqueue.tui.screens.side import SideScreen
from callqueue.tui.widgets.footer import CalmFooter

COLUMNS = (  # label, width (cells); sized to fit 120 columns
    ("编号", 5),
    ("检查日期", 11),
    ("科室", 22),
    ("检查人", 8),
    ("状态", 7),
    ("抽样", 5),
    ("合格", 5),
    ("有问题", 6),
    ("未检查", 6),
    ("总结", 24),
)


class InspectionsScreen(SideScreen):
    """督促检查：the inspection records, newest first."""

    CSS_PATH = "inspection.tcss"
    BINDINGS = [
        Binding("n", "new", "新建检查", tooltip="选择科室和抽样数量，随机抽取", id="inspect.new"),
        Binding("enter", "open", "检查", tooltip="逐条检查所选记录", id="inspect.open"),
        Binding("r", "reload", "刷新", tooltip="重新读取检查记录", id="inspect.reload"),
    ]

    current: reactive[InspectionSummary | None] = reactive(None, bindings=True)
    """The highlighted inspection."""

    def __init__(self, desk: InspectionDesk) -> None:
        super().__init__()
        self.desk = desk
        self.rows: dict[str, InspectionSummary] = {}

    def compose(self) -> ComposeResult:
        """Header, who is working, the table, the status line."""
        yield Header()
        yield Static(id="who")
        yield DataTable(id="inspect-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="inspect-list-status")
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Set up the table and read the inspections."""
        me = self.desk.staff
        who = f"{me.name}（{role_label(me.role)}）" if me else "未指定工作人员"
        self.query_one("#who", Static).update(Text(f"督促检查 · {who}"))
        table = self.query_one(DataTable)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        refusal = self.desk.refusal()
        if refusal is not None:  # the app does not open this screen for callers; say so anyway
            self._status(refusal)
            return
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Opening needs a record under the cursor; nothing for those who may not inspect."""
        if action in ("new", "open", "reload") and self.desk.refusal() is not None:
            return None
        if action == "open" and self.current is None:
            return None
        return super().check_action(action, parameters)

    def action_reload(self) -> None:
        """Read the inspections again."""
        self.load()

    def action_new(self) -> None:
        """Ask for a section and a sample size; the new inspection opens for review."""
        self.app.push_screen(NewInspectionDialog(self.desk), self._drawn)

    def _drawn(self, detail: InspectionDetail | None) -> None:
        if detail is None:  # escape: nothing drawn
            return
        h = detail.header
        self.notify(f"已从{h.section}抽取 {h.items} 条（随机种子 {h.seed}）", title="督促检查")
        self.load()
        self.app.push_screen(InspectionReviewScreen(self.desk, h.id), self._returned)

    def action_open(self) -> None:
        """Review the highlighted inspection item by item."""
        if self.current is not None:
            self.app.push_screen(InspectionReviewScreen(self.desk, self.current.id), self._returned)

    def _returned(self, _result: None) -> None:
        self.load()  # verdicts were given over there: the counts changed

    @on(DataTable.RowSelected)
    def selected(self, _event: DataTable.RowSelected) -> None:
        """Enter on a row opens it."""
        self.action_open()

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-list")
    def load(self) -> None:
        """Read the inspections in a thread."""
        try:
            rows = self.desk.inspections()
        except (InspectionRefused, NotAllowed) as exc:
            self.post_message(InspectionFailed(str(exc)))
            return
        except Exception as exc:  # shown; the screen stays usable
            self.post_message(InspectionFailed(read_failure("读取检查记录失败", exc)))
            return
        self.post_message(InspectionsListed(rows))

    @on(InspectionsListed)
    def show(self, message: InspectionsListed) -> None:
        """Fill the table, keeping the cursor on the same record."""
        keep = self.current.id if self.current else None
        table = self.query_one(DataTable)
        table.clear()
        self.rows = {str(r.id): r for r in message.rows}
        for r in message.rows:
            table.add_row(
                Text(str(r.id)),
                Text(f"{r.created_at:%Y-%m-%d}"),
                Text(r.section, overflow="ellipsis", no_wrap=True),
                Text(r.supervisor, overflow="ellipsis", no_wrap=True),
                Text(r.status_label, style="dim" if r.status == "finished" else "bold"),
                Text(str(r.items)),
                Text(str(r.passed)),
                Text(str(r.problems), style="bold red" if r.problems else ""),
                Text(str(r.unreviewed)),
                Text(r.note, overflow="ellipsis", no_wrap=True),
                key=str(r.id),
            )
        if keep is not None and str(keep) in self.rows:
            table.move_cursor(row=table.get_row_index(str(keep)))
        self.current = self._row_at_cursor()
        if message.rows:
            open_ = sum(1 for r in message.rows if r.status == "open")
            self._status(f"共 {len(message.rows)} 条检查记录，其中 {open_} 条检查中 · 回车逐条检查")
        else:
            self._status("还没有检查记录 · 按 n 新建检查（随机抽取已处理的提醒）")

    @on(InspectionFailed)
    def failed(self, message: InspectionFailed) -> None:
        """Say what went wrong; keep the screen."""
        self._status(message.message)
        self.notify(message.message, title="督促检查", severity="error")

    @on(DataTable.RowHighlighted)
    def follow_cursor(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted record is the one enter opens."""
        self.current = self.rows.get(str(event.row_key.value))

    def _row_at_cursor(self) -> InspectionSummary | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.rows.get(str(key.value))

    def _status(self, text: str) -> None:
        self.query_one("#inspect-list-status", Static).update(Text(text))
