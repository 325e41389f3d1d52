"""The import screen: pick a workbook, dry-run it, read its problems, then import for real."""

from __future__ import annotations

import threading
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widgets import (
    DataTable,
    DirectoryTree,
    Header,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
)

from callqueue.ledger.check import Problem
from callqueue.ledger.read import UnreadableWorkbook
from callqueue.tui.desk import failure_text
from callqueue.tui.office_desk import SAVING, OfficeDesk, read_failure
from callqueue.tui.screens.import_parts import (
    PROBLEM_COLUMNS,
    PROBLEM_LIMIT,
    ImportCancelled,
    ImportDone,
    ImportFailed,
    ImportProgressed,
    SectionsRead,
    WorkbookTree,
    summary,
)
from callqueue.tui.screens.side import SideScreen
from callqueue.tui.widgets.footer import CalmFooter

__all__ = ["PROBLEM_LIMIT", "ImportScreen", "WorkbookTree"]


class ImportScreen(SideScreen):
    """导入台账：dry run first, then import with a progress bar."""

    CSS_PATH = "import_screen.tcss"
    BINDINGS = [
        *SideScreen.BINDINGS,  # a class's binding of a key hides its base's: Esc is both here
        Binding("ctrl+o", "browse", "选择文件", tooltip="浏览文件夹选择工作簿", id="import.browse"),
        Binding("ctrl+r", "check", "试运行", tooltip="只检查，不写入", id="import.check"),
        Binding("ctrl+g", "import", "正式导入", tooltip="按试运行结果导入", id="import.run"),
        Binding(
            "escape",
            "cancel",
            "取消",
            tooltip="停止试运行或导入；已写入的全部撤销",
            id="import.cancel",
        ),
    ]

    busy: reactive[bool] = reactive(False, bindings=True)
    """A dry run or import is under way."""
    checked: reactive[tuple[Path, str | None] | None] = reactive(None, bindings=True)
    """The workbook and section the last dry run was for; importing needs one."""

    def __init__(self, office: OfficeDesk) -> None:
        super().__init__()
        self.office = office
        self.cancelling = threading.Event()
        """Set to stop the run under way at its next progress report (it rolls back)."""
        self.saving = False
        """The import under way is committing: too late to cancel."""
        self.problems: list[Problem] = []
        """The problems in the table (a page of the report's)."""

    def compose(self) -> ComposeResult:
        """Path and section, the picker, the summary, the progress bar, the problems table."""
        yield Header()
        yield Static(id="who")
        with Horizontal(id="import-pick"):
            yield Label(Text("工作簿"), id="import-path-label")
            yield Input(placeholder="路径，例如 /data/台账.xlsx；回车试运行", id="import-path")
            yield Select[str]([], prompt="按工作表注明的科室", id="import-section")
        yield Static(
            Text("选择或填写工作簿后回车：先试运行，确认无误再正式导入"), id="import-summary"
        )
        with Horizontal(id="import-progress-row"):
            yield Static(id="import-stage")
            yield ProgressBar(id="import-progress", show_eta=False)
        yield DataTable(id="import-problems", cursor_type="row", zebra_stripes=True)
        yield Static(id="import-detail")
        yield Static(id="import-status")
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Set up the problems table, read the sections, focus the path."""
        me = self.office.staff
        who = f"{me.name} · {me.section}" if me else "未指定工作人员"
        self.query_one("#who", Static).update(Text(f"{who} · 日期 {self.office.today:%Y-%m-%d}"))
        table = self.query_one(DataTable)
        for key, label, width in PROBLEM_COLUMNS:
            table.add_column(label, key=key, width=width)
        self.query_one("#import-progress-row").display = False
        self.query_one("#import-path", Input).focus()
        self.read_sections()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Nothing new while a run is under way, but Esc cancels it (until the commit);
        importing needs a dry run of what is chosen."""
        if action == "cancel":
            if not self.busy:
                return False  # Esc goes back instead
            return None if self.saving or self.cancelling.is_set() else True
        if action == "back" and self.busy:
            return False  # Esc cancels instead
        if action in ("browse", "check", "import") and self.busy:
            return None
        if action == "import" and (self.checked is None or self.checked != self._choice()):
            return None
        return super().check_action(action, parameters)

    # --- choosing --------------------------------------------------------------------------

    def _choice(self) -> tuple[Path, str | None] | None:
        try:
            text = self.query_one("#import-path", Input).value.strip()
            section = self.query_one("#import-section", Select).value
        except NoMatches:  # asked before the widgets are there
            return None
        if not text:
            return None
        return Path(text).expanduser(), section if isinstance(section, str) else None

    def action_browse(self) -> None:
        """Show or hide the folder picker, opened at the typed path's folder."""
        choice = self._choice()
        folder = choice[0] if choice else Path.cwd()
        if not folder.is_dir():
            folder = folder.parent if folder.parent.is_dir() else Path.cwd()
        trees = self.query(WorkbookTree)
        if not trees:  # made on first use: its loader is a worker that runs until unmounted
            tree = WorkbookTree(folder, id="import-tree")
            self.mount(tree, after="#import-pick")
        else:
            tree = trees.first()
            tree.display = not tree.display
            if not tree.display:
                self.query_one("#import-path", Input).focus()
                return
            if folder != tree.path:
                tree.path = folder
        tree.focus()

    @on(DirectoryTree.FileSelected)
    def picked(self, event: DirectoryTree.FileSelected) -> None:
        """A workbook was picked: fill the path and dry-run it."""
        path_input = self.query_one("#import-path", Input)
        path_input.value = str(event.path)
        self.query_one(WorkbookTree).display = False
        path_input.focus()
        self.action_check()

    @on(Input.Changed, "#import-path")
    @on(Select.Changed, "#import-section")
    def choice_changed(self) -> None:
        """Another workbook or section needs its own dry run first."""
        self.refresh_bindings()

    @on(Input.Submitted, "#import-path")
    def path_submitted(self) -> None:
        """Enter on the path: dry run."""
        self.action_check()

    # --- running ---------------------------------------------------------------------------

    def action_check(self) -> None:
        """Dry-run the chosen workbook: counts and problems, nothing written."""
        self._start(dry_run=True)

    def action_import(self) -> None:
        """Import the workbook that was dry-run."""
        if self.checked is not None and self.checked == self._choice():
            self._start(dry_run=False)

    def _start(self, *, dry_run: bool) -> None:
        if self.busy:
            return
        choice = self._choice()
        if choice is None:
            self._status("请填写工作簿路径，或按 Ctrl+O 选择文件")
            return
        self.cancelling.clear()
        self.saving = False
        self.busy = True
        self.query_one("#import-progress-row").display = True
        self.query_one(ProgressBar).update(total=None, progress=0)
        self._status("正在试运行（只检查，不写入）…" if dry_run else "正在导入…")
        self.query_one("#import-summary", Static).update(Text(""))
        self.query_one("#import-detail", Static).update(Text(""))
        self.query_one(DataTable).clear()
        self.problems = []
        self.run_import(choice[0], choice[1], dry_run)

    def action_cancel(self) -> None:
        """Stop the run under way: it rolls back at its next progress report."""
        if not self.busy or self.saving:
            return
        self.cancelling.set()
        self.refresh_bindings()
        self._status("正在取消…")

    @work(thread=True, exclusive=True, exit_on_error=False, group="import-sections")
    def read_sections(self) -> None:
        """Read the section names for the section picker."""
        try:
            names = self.office.sections()
        except Exception as exc:
            self.post_message(ImportFailed(read_failure("读取科室失败", exc)))
            return
        self.post_message(SectionsRead(names))

    @work(thread=True, exclusive=True, exit_on_error=False, group="import")
    def run_import(self, path: Path, section: str | None, dry_run: bool) -> None:
        """Dry-run or import in one transaction, posting progress now and then."""
        last: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage == SAVING:  # from here on the import stands: no more cancelling
                self.saving = True
            elif self.cancelling.is_set() and not self.saving:
                raise _Cancelled  # rolls the transaction back; the reader process is stopped
            # Post at most ~50 updates a stage: each one is a message for the UI thread.
            step = max(1, total // 50)
            if stage not in last or done >= total or done - last[stage] >= step:
                last[stage] = done
                self.post_message(ImportProgressed(stage, done, total))

        try:
            report = self.office.import_ledger(
                path, section=section, dry_run=dry_run, progress=progress
            )
        except _Cancelled:
            self.post_message(ImportCancelled(dry_run))
            return
        except UnreadableWorkbook as exc:
            self.post_message(ImportFailed(f"{exc}没有写入任何内容"))
            return
        except Exception as exc:  # one transaction: nothing was written
            self.post_message(ImportFailed(failure_text("导入失败", exc)))
            return
        self.post_message(ImportDone(report, path, section))

    # --- messages --------------------------------------------------------------------------

    @on(SectionsRead)
    def show_sections(self, message: SectionsRead) -> None:
        """Offer the sections."""
        self.query_one("#import-section", Select).set_options((n, n) for n in message.names)

    @on(ImportProgressed)
    def show_progress(self, message: ImportProgressed) -> None:
        """Move the bar."""
        stage = self.query_one("#import-stage", Static)
        bar = self.query_one(ProgressBar)
        if message.stage == SAVING:
            self.refresh_bindings()  # Esc cannot cancel the commit
        if message.total <= 0:  # a stage of unknown length: the bar just moves
            stage.update(Text(f"{message.stage}…"))
            bar.update(total=None)
            return
        stage.update(Text(f"{message.stage} {message.done}/{message.total}"))
        bar.update(total=message.total, progress=message.done)

    @on(ImportDone)
    def show_report(self, message: ImportDone) -> None:
        """The counts, the problems (a page of them), where the rejects went."""
        report = message.report
        self.busy = False
        self.checked = (message.path, message.section) if report.dry_run else None
        self.query_one("#import-summary", Static).update(summary(report))
        self.query_one("#import-stage", Static).update(Text("完成"))
        bar = self.query_one(ProgressBar)
        bar.update(total=bar.total or 1, progress=bar.total or 1)
        table = self.query_one(DataTable)
        table.clear()
        self.problems = report.problems[:PROBLEM_LIMIT]
        for p in self.problems:
            error = p.severity == "error"
            table.add_row(
                Text("✗" if error else "·", style="bold red" if error else "yellow"),
                Text(p.sheet, overflow="ellipsis", no_wrap=True),
                Text("" if p.row is None else str(p.row)),
                Text(p.column or "", overflow="ellipsis", no_wrap=True),
                Text(p.value or "", overflow="ellipsis", no_wrap=True),
                Text(p.message),
                height=None,  # long messages wrap onto a second line rather than being cut
            )
        more = len(report.problems) - PROBLEM_LIMIT
        shown = f"问题 {len(report.problems)} 条" + (
            f"，表中列出前 {PROBLEM_LIMIT} 条（全部可用 callqueue import --dry-run --json 查看）"
            if more > 0
            else ""
        )
        self._status(shown if report.problems else "没有发现问题")
        if not report.dry_run:
            self.notify(summary(report).plain.split("\n")[0], title="导入")

    @on(ImportCancelled)
    def show_cancelled(self, message: ImportCancelled) -> None:
        """The run stopped on request; a cancelled import keeps its dry run for Ctrl+G."""
        self.busy = False
        if message.dry_run:
            self.checked = None
        self.query_one("#import-progress-row").display = False
        self._status(
            "已取消试运行"
            if message.dry_run
            else "已取消导入，没有写入任何内容（可按 Ctrl+G 重新导入）"
        )

    @on(ImportFailed)
    def show_failure(self, message: ImportFailed) -> None:
        """Say what went wrong; keep what was typed."""
        self.busy = False
        self.query_one("#import-progress-row").display = False
        self._status(message.message)
        self.notify(message.message, title="导入", severity="error")

    @on(DataTable.RowHighlighted, "#import-problems")
    def show_problem(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted problem in full, under the table."""
        if 0 <= event.cursor_row < len(self.problems):
            p = self.problems[event.cursor_row]
            where = f"{p.sheet} 第{p.row}行" if p.row else p.sheet
            line = Text(f"{where}" + (f"［{p.column}］" if p.column else "") + "：")
            if p.value and f"“{p.value}”" not in p.message:  # most messages quote it
                line.append(f"“{p.value}” ")
            line.append(p.message, style="bold red" if p.severity == "error" else "")
            self.query_one("#import-detail", Static).update(line)

    def _status(self, text: str) -> None:
        self.query_one("#import-status", Static).update(Text(text))


class _Cancelled(Exception):
    """Raised from the progress callback of a run that staff cancelled."""
