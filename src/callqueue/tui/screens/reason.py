"""A dialog that asks why a holder will not renew; dismisses with the reason or None."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class ReasonDialog(ModalScreen[str | None]):
    """不再延续：the reason, required; escape saves nothing."""

    BINDINGS = [
        Binding("escape", "cancel", "取消", tooltip="不保存，返回队列", id="reason.cancel"),
    ]

    def __init__(self, holder: str) -> None:
        super().__init__()
        self.holder = holder

    def compose(self) -> ComposeResult:
        """Title, the reason field, an error line, a hint."""
        with Vertical(id="reason-box"):
            yield Label(Text(f"{self.holder} — 不再延续的原因"), id="reason-title")
            yield Input(placeholder="例如：已停业、不再从事该项经营", id="reason-input")
            yield Static(id="reason-error")
            yield Static(Text("回车保存 · Esc 取消（不保存）"), id="reason-hint")

    @on(Input.Submitted, "#reason-input")
    def submit(self, event: Input.Submitted) -> None:
        """Dismiss with the reason, or say that one is needed."""
        reason = event.value.strip()
        if not reason:
            self.query_one("#reason-error", Static).update(Text("请填写原因，原因不能为空"))
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        """Close without a reason: nothing is saved."""
        self.dismiss(None)
