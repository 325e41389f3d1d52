"""The supervision dashboard: the figures per section and in total, and the coming workload."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Header, Static

from callqueue.reports.figures import (
    FIGURE_LABELS,
    FIGURES,
    RATE_LABEL,
    TOTAL,
    Report,
    SectionFigures,
)
from callqueue.roles import role_label
from callqueue.tui.desk import failure_text
from callqueue.tui.screens.figure_list import FigureListScreen
from callqueue.tui.screens.side import SideScreen
from callqueue.tui.supervision_desk import Overview, SupervisionDesk
from callqueue.tui.widgets.footer import CalmFooter
from callqueue.tui.widgets.workload_chart import WorkloadChart

RATE = "renewal_rate"
LABEL_WIDTH = 16


@dataclass
class OverviewLoaded(Message):
    """The figures and the weekly workload were read."""

    overview: Overview


@dataclass
class OverviewFailed(Message):
    """Reading the figures failed; `message` is for staff."""

    message: str


def rate_text(rate: float | None) -> str:
    """The renewal rate as a percentage, or a dash when there is nothing to divide by."""
    return "—" if rate is None else f"{rate:.1%}"


class DashboardScreen(SideScreen):
    """督查：the figures per section and in total; each number opens the list behind it."""

    CSS_PATH = "dashboard.tcss"
    BINDINGS = [
        Binding("enter", "open_figure", "明细", tooltip="打开所选数字背后的清单", id="dash.open"),
        Binding("r", "reload", "刷新", tooltip="重新读取数字和图表", id="dash.reload"),
    ]

    report: reactive[Report | None] = reactive(None, bindings=True)
    """The figures on screen, once read."""
    busy: reactive[bool] = reactive(False, bindings=True)
    """A read is under way."""

    def __init__(self, supervision: SupervisionDesk) -> None:
        super().__init__()
        self.supervision = supervision
        self.columns: list[SectionFigures] = []
        """The figures of each column after the label column, in order."""

    def compose(self) -> ComposeResult:
        """Header, who and the scope, the figures, the chart, the status line."""
        yield Header()
        yield Static(id="who")
        yield DataTable(id="dash-table", cursor_type="cell", zebra_stripes=True)
        yield WorkloadChart(id="dash-chart")
        yield Static(id="dash-status")
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Say who looks at what, then read the figures."""
        me = self.supervision.desk.staff
        scope = "全部科室" if self.supervision.sees_all else me.section
        self.query_one("#who", Static).update(
            Text(
                f"督查 · {me.name}（{role_label(me.role)}）· 范围：{scope}"
                f" · 日期 {self.supervision.desk.today:%Y-%m-%d}"
            )
        )
        self.action_reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A list opens from a number (not the label column or the rate); nothing while busy."""
        if action == "open_figure":
            return True if self._figure_at_cursor() is not None else None
        if action == "reload" and self.busy:
            return None
        return super().check_action(action, parameters)

    # --- actions ---------------------------------------------------------------------------

    def action_reload(self) -> None:
        """Read the figures and the workload again."""
        self.busy = True
        self._status("正在读取…")
        self.read_overview()

    def action_open_figure(self) -> None:
        """Open the list behind the number under the cursor."""
        chosen = self._figure_at_cursor()
        if chosen is None:
            return
        figure, column = chosen
        section = None if column.section == TOTAL else column.section
        count = getattr(column, figure)
        self.app.push_screen(FigureListScreen(self.supervision, figure, section, count))

    # --- workers (no widgets here) ---------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="dash-read")
    def read_overview(self) -> None:
        """Read the report and the weekly workload."""
        try:
            overview = self.supervision.overview()
        except Exception as exc:  # shown; the screen stays usable
            self.post_message(OverviewFailed(failure_text("读取督查数据失败", exc)))
            return
        self.post_message(OverviewLoaded(overview))

    # --- messages --------------------------------------------------------------------------

    @on(OverviewLoaded)
    def show_overview(self, message: OverviewLoaded) -> None:
        """Fill the table (figures as rows, sections as columns) and draw the chart."""
        report = message.overview.report
        self.busy = False
        # One section (a caller's): its total is the same numbers, so it is not shown twice.
        self.columns = [*report.sections] + ([report.total] if len(report.sections) != 1 else [])
        table = self.query_one(DataTable)
        keep = table.cursor_coordinate
        table.clear(columns=True)
        table.add_column(Text("指标"), key="figure", width=LABEL_WIDTH)
        for column in self.columns:
            width = max(cell_len(column.section), 8)
            table.add_column(Text(column.section, justify="right"), key=column.section, width=width)
        for figure in FIGURES:
            cells = [Text(str(getattr(c, figure)), justify="right") for c in self.columns]
            table.add_row(Text(FIGURE_LABELS.get(figure, figure)), *cells, key=figure)
        rates = [Text(rate_text(c.renewal_rate), justify="right") for c in self.columns]
        table.add_row(Text(RATE_LABEL, style="bold"), *rates, key=RATE)
        if keep.row < table.row_count and keep.column < len(table.columns):
            table.cursor_coordinate = keep
        if table.cursor_coordinate.column == 0 and self.columns:
            table.cursor_coordinate = table.cursor_coordinate._replace(column=1)
        self.query_one(WorkloadChart).show(
            message.overview.weeks, [s.section for s in report.sections]
        )
        self.report = report
        self._status(
            f"{report.date:%Y-%m-%d} · {len(report.sections)} 个科室 · "
            "方向键选择数字，回车打开清单；r 刷新"
        )
        table.focus()

    @on(OverviewFailed)
    def failed(self, message: OverviewFailed) -> None:
        """Say what went wrong; keep what is shown."""
        self.busy = False
        self._status(message.message)
        self.notify(message.message, title="督查", severity="error")

    @on(DataTable.CellHighlighted)
    def follow_cursor(self) -> None:
        """Whether `enter` opens a list depends on the cell under the cursor."""
        self.refresh_bindings()

    @on(DataTable.CellSelected)
    def cell_selected(self) -> None:
        """Enter (or a click) on a number opens its list."""
        self.action_open_figure()

    def _figure_at_cursor(self) -> tuple[str, SectionFigures] | None:
        table = self.query_one(DataTable)
        if self.report is None or not table.row_count:
            return None
        row, col = table.cursor_coordinate
        if col == 0 or col > len(self.columns) or row >= len(FIGURES):
            return None
        return FIGURES[row], self.columns[col - 1]

    def _status(self, text: str) -> None:
        self.query_one("#dash-status", Static).update(Text(text))
