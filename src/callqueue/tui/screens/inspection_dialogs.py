"""Dialogs of the inspection screens: a new sample (section and size) and a problem's comment."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from callqueue.queue.inspection import InspectionDetail, InspectionRefused
from callqueue.roles import NotAllowed
from callqueue.tui.desk import failure_text
from callqueue.tui.inspection_desk import InspectionDesk
from callqueue.tui.inspection_messages import InspectionFailed, SampleDrawn, SectionsRead

MAX_SIZE = 500
"""A sample larger than this is not a sample; the dialog says so before asking the database."""


def parse_size(text: str) -> int:
    """A sample size typed by staff; ValueError with a Chinese message for anything else."""
    text = text.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_SIZE:
        raise ValueError(f"抽样数量应为 1 到 {MAX_SIZE} 之间的整数，例如 10")
    return int(text)


class NewInspectionDialog(ModalScreen[InspectionDetail | None]):
    """新建检查：choose a section and a sample size; closes once the sample is drawn and saved."""

    CSS_PATH = "inspection.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "取消", tooltip="不抽样，返回", id="inspect_new.cancel"),
    ]

    def __init__(self, desk: InspectionDesk) -> None:
        super().__init__()
        self.desk = desk
        self.drawing = False

    def compose(self) -> ComposeResult:
        """Title, the section, the size, an error line, a hint."""
        with Vertical(id="inspect-new-box", classes="inspect-dialog"):
            yield Label(Text("新建督促检查：随机抽取已处理的提醒"), classes="inspect-dialog-title")
            yield Label(Text("被检查的科室"))
            yield Select[str]([], prompt="选择科室", id="inspect-section")
            yield Label(Text("抽样数量"))
            yield Input(placeholder="例如 10", id="inspect-size")
            yield Static(id="inspect-new-error", classes="inspect-error")
            yield Static(
                Text("回车抽样 · Tab 切换 · Esc 取消（不抽样）"), classes="inspect-dialog-hint"
            )

    def on_mount(self) -> None:
        """Read the sections to choose from."""
        self.read_sections()

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-sections")
    def read_sections(self) -> None:
        """The sections that have ledgers."""
        try:
            self.post_message(SectionsRead(self.desk.sections()))
        except Exception as exc:  # shown inline; escape still works
            self.post_message(InspectionFailed(failure_text("读取科室失败", exc)))

    @on(SectionsRead)
    def show_sections(self, message: SectionsRead) -> None:
        """Offer the sections; the first is chosen so one key less is needed."""
        select = self.query_one("#inspect-section", Select)
        select.set_options([(Text(name), name) for name in message.sections])
        if message.sections:
            select.value = message.sections[0]
        self.query_one("#inspect-size", Input).focus()

    @on(Input.Submitted, "#inspect-size")
    def submit(self, event: Input.Submitted) -> None:
        """Check what was typed, then draw the sample in a thread."""
        if self.drawing:
            return
        section = self.query_one("#inspect-section", Select).value
        if not isinstance(section, str):
            self._error("请选择被检查的科室")
            return
        try:
            size = parse_size(event.value)
        except ValueError as exc:
            self._error(str(exc))
            return
        self.drawing = True
        self._error("正在抽样…")
        self.draw(section, size)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-draw")
    def draw(self, section: str, size: int) -> None:
        """Draw and save the sample in one transaction."""
        try:
            detail = self.desk.draw(section, size)
        except (InspectionRefused, NotAllowed) as exc:
            self.post_message(InspectionFailed(str(exc)))
            return
        except Exception as exc:  # nothing was written: one transaction
            self.post_message(InspectionFailed(failure_text("抽样失败", exc)))
            return
        self.post_message(SampleDrawn(detail))

    @on(SampleDrawn)
    def drawn(self, message: SampleDrawn) -> None:
        """Close with the new inspection."""
        self.dismiss(message.detail)

    @on(InspectionFailed)
    def refused(self, message: InspectionFailed) -> None:
        """Say why inline; the dialog stays for another try."""
        self.drawing = False
        self._error(message.message)

    def _error(self, text: str) -> None:
        self.query_one("#inspect-new-error", Static).update(Text(text))

    def action_cancel(self) -> None:
        """Close without drawing."""
        self.dismiss(None)


class ProblemDialog(ModalScreen[str | None]):
    """有问题：the supervisor's comment, required; escape saves nothing."""

    CSS_PATH = "inspection.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "取消", tooltip="不保存，返回", id="inspect_problem.cancel"),
    ]

    def __init__(self, holder: str, comment: str = "") -> None:
        super().__init__()
        self.holder = holder
        self.comment = comment

    def compose(self) -> ComposeResult:
        """Title (user data, as Text), the comment field, an error line, a hint."""
        with Vertical(id="inspect-problem-box", classes="inspect-dialog"):
            yield Label(Text(f"{self.holder} — 有问题"), classes="inspect-dialog-title")
            yield Input(
                value=self.comment,
                placeholder="检查意见，例如：未告知提交材料清单",
                id="inspect-comment",
            )
            yield Static(id="inspect-problem-error", classes="inspect-error")
            yield Static(Text("回车保存 · Esc 取消（不保存）"), classes="inspect-dialog-hint")

    @on(Input.Submitted, "#inspect-comment")
    def submit(self, event: Input.Submitted) -> None:
        """Dismiss with the comment, or say that one is needed."""
        comment = event.value.strip()
        if not comment:
            self.query_one("#inspect-problem-error", Static).update(
                Text("请写明检查意见，意见不能为空")
            )
            return
        self.dismiss(comment)

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)
