"""登录: the chosen staff member types their PIN; refusals show in the dialog, which stays open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from callqueue.queue.pins import MAX_DIGITS, PIN_FORMAT
from callqueue.queue.signin import SignIn
from callqueue.queue.staff import StaffRow
from callqueue.tui.desk import failure_text

PinCheck = Callable[[int, str], SignIn]
"""Checks a PIN for a staff id and records the result (a unit of work; runs in a worker)."""


@dataclass
class PinChecked(Message):
    """A PIN was checked and the result recorded."""

    result: SignIn


@dataclass
class PinCheckFailed(Message):
    """The PIN could not be checked (database trouble); `message` is for staff."""

    message: str


class PinDialog(ModalScreen[StaffRow | None]):
    """Ask for a staff member's PIN; dismisses with them once signed in, None to go back."""

    BINDINGS = [
        Binding("escape", "back", "返回", tooltip="返回，重新选择工作人员", id="pin.back"),
    ]

    def __init__(self, staff: StaffRow, check: PinCheck) -> None:
        super().__init__()
        self.staff = staff
        self.check = check

    def compose(self) -> ComposeResult:
        """Title, the hidden PIN field, the error line, hint."""
        with Vertical(classes="dialog-box", id="pin-box"):
            yield Label(
                Text(f"登录：{self.staff.name}（{self.staff.section}）"), classes="dialog-title"
            )
            yield Input(
                placeholder=f"PIN（{PIN_FORMAT}）",
                password=True,
                restrict=r"[0-9]*",
                max_length=MAX_DIGITS,
                id="pin-input",
            )
            yield Static("", id="pin-error")
            yield Static(
                Text("回车登录 · Esc 返回名单 · 忘记 PIN 请找管理员重设"),
                classes="dialog-hint",
            )

    @on(Input.Submitted, "#pin-input")
    def submit(self, event: Input.Submitted) -> None:
        """Check the PIN; the field waits until the answer comes."""
        event.input.disabled = True
        self.check_pin(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def check_pin(self, pin: str) -> None:
        """Check the PIN and record the result, off the screen's thread (hashing is slow)."""
        try:
            result = self.check(self.staff.id, pin)
        except Exception as exc:
            self.post_message(PinCheckFailed(failure_text("登录失败", exc)))
            return
        self.post_message(PinChecked(result))

    @on(PinChecked)
    def checked(self, message: PinChecked) -> None:
        """Signed in: close. Refused: say why and let them type again."""
        if message.result.ok:
            self.dismiss(message.result.staff)
            return
        self._refused(message.result.message)

    @on(PinCheckFailed)
    def failed(self, message: PinCheckFailed) -> None:
        """Say the check failed; nothing was recorded."""
        self._refused(message.message)

    def _refused(self, why: str) -> None:
        self.query_one("#pin-error", Static).update(Text(why))
        field = self.query_one("#pin-input", Input)
        field.value = ""
        field.disabled = False
        field.focus()

    def action_back(self) -> None:
        """Back to choosing who works."""
        self.dismiss(None)
