"""A yes/no dialog with an optional note; dismisses with the note ("" for none) or None."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class NotedConfirmDialog(ModalScreen[str | None]):
    """确认：enter confirms (with the note typed, if any); escape changes nothing."""

    CSS_PATH = "confirm_note.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "取消", tooltip="不做更改，返回", id="confirm.cancel"),
    ]

    def __init__(self, title: Text, question: str, note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.note = note  # one typed before a save that failed, typed again by no one

    def compose(self) -> ComposeResult:
        """The title (user data, as Text), the question, a note field, a hint."""
        with Vertical(id="confirm-box"):
            yield Label(self.title_text, id="confirm-title")
            yield Static(Text(self.question), id="confirm-question")
            yield Input(value=self.note, placeholder="备注（可不填）", id="confirm-note")
            yield Static(Text("回车确认 · Esc 取消（不做更改）"), id="confirm-hint")

    @on(Input.Submitted, "#confirm-note")
    def confirm(self, event: Input.Submitted) -> None:
        """Dismiss with the note."""
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)
