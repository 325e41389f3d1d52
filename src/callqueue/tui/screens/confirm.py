"""Small dialogs of the call screen: a yes/no question, and the note for the next outcome."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class ConfirmDialog(ModalScreen[bool]):
    """A question answered with y/enter (yes) or n/escape (no)."""

    BINDINGS = [
        Binding("y,Y,enter", "answer(True)", "确认", tooltip="确认", id="confirm.yes"),
        Binding("n,N,escape", "answer(False)", "返回", tooltip="返回，不保存", id="confirm.no"),
    ]

    def __init__(self, title: str, question: str) -> None:
        super().__init__()
        self.title_text = title
        self.question = question

    def compose(self) -> ComposeResult:
        """Title, question, hint."""
        with Vertical(classes="dialog-box"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Static(Text(self.question))
            yield Static(Text("Y 或回车确认 · N 或 Esc 返回（不保存）"), classes="dialog-hint")

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)


class NoteDialog(ModalScreen[str | None]):
    """备注：free text saved with the next outcome of this call; escape keeps the old note."""

    BINDINGS = [
        Binding("escape", "cancel", "取消", tooltip="不修改备注", id="note.cancel"),
    ]

    def __init__(self, holder: str, note: str) -> None:
        super().__init__()
        self.holder = holder
        self.note = note

    def compose(self) -> ComposeResult:
        """Title, the note field, hint."""
        with Vertical(classes="dialog-box"):
            yield Label(Text(f"{self.holder} — 备注"), classes="dialog-title")
            yield Input(
                value=self.note, placeholder="例如：联系人下周出差，请找财务李女士", id="note-input"
            )
            yield Static(
                Text("回车确定（随下一个结果保存）· 清空后回车删除备注 · Esc 取消"),
                classes="dialog-hint",
            )

    @on(Input.Submitted, "#note-input")
    def submit(self, event: Input.Submitted) -> None:
        """Close with the note as typed (empty removes it)."""
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Close and keep the note as it was."""
        self.dismiss(None)
