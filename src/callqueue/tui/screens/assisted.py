"""帮办代办 cases: the section's open cases by stage, moved forward as the renewal progresses."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Header, Static

from callqueue.models import AssistStage
from callqueue.queue.assisted import STAGE_LABELS, STAGES, AssistedCase, AssistRefused
from callqueue.tui.assisted_desk import AssistedDesk
from callqueue.tui.desk import failure_text
from callqueue.tui.office_desk import read_failure
from callqueue.tui.screens.assisted_dialogs import StageDialog, StageStep
from callqueue.tui.screens.side import SideScreen
from callqueue.tui.widgets.footer import CalmFooter

COLUMNS = (  # key, label, width (cells); sized to fit 120 columns
    ("holder", "单位（个人）名称", 28),
    ("certificate", "证书", 20),
    ("stage", "帮办状态", 10),
    ("helper", "帮办人", 8),
    ("registered", "登记日期", 10),
    ("apply_by", "申请截止", 10),
    ("expires", "期满日期", 10),
    ("section", "科室", 14),
)
STAGE_STYLES = {AssistStage.FILED: "green", AssistStage.PREPARING: "yellow"}


@dataclass
class CasesRead(Message):
    """The open 帮办代办 cases were read."""

    cases: list[AssistedCase]


@dataclass
class CasesFailed(Message):
    """Reading or changing a case failed and changed nothing; `message` is for staff."""

    message: str


@dataclass
class CaseAdvanced(Message):
    """A case moved forward."""

    case: AssistedCase


class AssistedScreen(SideScreen):
    """帮办代办：open cases and their stage (已登记 → 材料准备中 → 已提交申请)."""

    BINDINGS = [
        Binding(
            "m",
            "advance('preparing')",
            "材料准备中",
            tooltip="所选案件改为“材料准备中”",
            id="assisted.preparing",
        ),
        Binding(
            "t",
            "advance('filed')",
            "已提交申请",
            tooltip="所选案件改为“已提交申请”（填提交日期）",
            id="assisted.filed",
        ),
        Binding("r", "reload", "刷新", tooltip="重新读取", id="assisted.reload"),
    ]

    current: reactive[AssistedCase | None] = reactive(None, bindings=True)
    """The highlighted case."""
    busy: reactive[bool] = reactive(False, bindings=True)
    """A read or write is under way."""

    def __init__(self, desk: AssistedDesk) -> None:
        super().__init__()
        self.desk = desk
        self.cases: dict[str, AssistedCase] = {}

    def compose(self) -> ComposeResult:
        """Header, who, the cases, status line."""
        yield Header()
        yield Static(id="who")
        yield DataTable(id="assisted-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="assisted-status")
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Set up the table and read the cases."""
        me = self.desk.staff
        scope = "全部科室" if self.desk.sees_all else me.section
        self.query_one("#who", Static).update(
            Text(f"帮办案件（{scope}） · {me.name} · 日期 {self.desk.today:%Y-%m-%d}")
        )
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self.read()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A stage may only move forward, one case at a time."""
        if action == "advance":
            case = self.current
            if self.busy or case is None:
                return None
            rank = {s.value: n for n, s in enumerate(STAGES)}
            return True if rank[str(parameters[0])] > rank.get(case.stage or "", 0) else None
        if action == "reload" and self.busy:
            return None
        return super().check_action(action, parameters)

    def action_reload(self) -> None:
        """Read the cases again."""
        self.read()

    def action_advance(self, stage: str) -> None:
        """Ask for the note (and filing date), then move the highlighted case."""
        case = self.current
        if case is None:
            return
        dialog = StageDialog(case.holder, AssistStage(stage), self.desk.today, case.registered_on)

        def answered(step: StageStep | None) -> None:
            if step is not None:
                self.busy = True
                self._status("正在保存…")
                self.save(case, step)

        self.app.push_screen(dialog, answered)

    # --- workers (no widgets here) ---------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="assisted-read")
    def read(self) -> None:
        """Read the open cases."""
        try:
            cases = self.desk.cases()
        except Exception as exc:  # shown; the screen stays usable
            self.post_message(CasesFailed(read_failure("读取帮办代办案件失败", exc)))
            return
        self.post_message(CasesRead(cases))

    @work(thread=True, exclusive=True, exit_on_error=False, group="assisted-write")
    def save(self, case: AssistedCase, step: StageStep) -> None:
        """Move the case in one transaction."""
        try:
            moved = self.desk.advance(
                case.reminder_id, step.stage, filed_on=step.filed_on, note=step.note
            )
        except AssistRefused as exc:
            self.post_message(CasesFailed(str(exc)))
            return
        except Exception as exc:  # one transaction: nothing was written
            self.post_message(CasesFailed(failure_text("保存帮办状态失败", exc)))
            return
        self.post_message(CaseAdvanced(moved))

    # --- messages --------------------------------------------------------------------------

    @on(CasesRead)
    def show(self, message: CasesRead) -> None:
        """Fill the table, keeping the cursor's case if it is still open."""
        keep = self.current.reminder_id if self.current else None
        self.busy = False
        table = self.query_one(DataTable)
        table.clear()
        self.cases = {str(c.reminder_id): c for c in message.cases}
        for c in message.cases:
            stage = AssistStage(c.stage) if c.stage else None
            table.add_row(
                Text(c.holder, overflow="ellipsis", no_wrap=True),
                Text(c.certificate, overflow="ellipsis", no_wrap=True),
                Text(c.stage_label, style=STAGE_STYLES.get(stage, "") if stage else ""),
                Text(c.helper or ""),
                Text(f"{c.registered_on:%Y-%m-%d}" if c.registered_on else ""),
                Text(f"{c.apply_by:%Y-%m-%d}"),
                Text(f"{c.expires_on:%Y-%m-%d}"),
                Text(c.section, overflow="ellipsis", no_wrap=True),
                key=str(c.reminder_id),
            )
        if keep is not None and str(keep) in self.cases:
            table.move_cursor(row=table.get_row_index(str(keep)))
        self.current = self._at_cursor()
        counts = {s: sum(1 for c in message.cases if c.stage == s.value) for s in STAGES}
        line = f"进行中 {len(message.cases)} 件：" + "，".join(
            f"{STAGE_LABELS[s]} {counts[s]}" for s in STAGES
        )
        self._status(line if message.cases else "没有进行中的帮办代办案件")

    @on(CaseAdvanced)
    def advanced(self, message: CaseAdvanced) -> None:
        """Say what was saved and read the cases again."""
        case = message.case
        filed = f"（提交于 {case.filed_on:%Y-%m-%d}）" if case.filed_on else ""
        text = f"{case.holder}：帮办状态为“{case.stage_label}”{filed}"
        self.notify(text, title="帮办代办")
        self.read()
        self._status(text)

    @on(CasesFailed)
    def failed(self, message: CasesFailed) -> None:
        """Say what went wrong; keep the screen."""
        self.busy = False
        self._status(message.message)
        self.notify(message.message, title="帮办代办", severity="error")

    @on(DataTable.RowHighlighted)
    def follow_cursor(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted case is the one the keys act on."""
        self.current = self.cases.get(str(event.row_key.value))

    def _at_cursor(self) -> AssistedCase | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.cases.get(str(key.value))

    def _status(self, text: str) -> None:
        self.query_one("#assisted-status", Static).update(Text(text))
