"""The dialog that moves a 帮办代办 case forward: the filing date (for 已提交申请) and a note."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from callqueue.models import AssistStage
from callqueue.queue.assisted import STAGE_LABELS
from callqueue.tui.screens.dialogs import DATE_FORM, parse_day


@dataclass(frozen=True)
class StageStep:
    """The stage to move to, the filing date when filed, and what happened."""

    stage: AssistStage
    filed_on: date | None
    note: str


class StageDialog(ModalScreen[StageStep | None]):
    """推进帮办状态：a note, and for 已提交申请 the day it was filed (today by default)."""

    BINDINGS = [Binding("escape", "cancel", "取消", tooltip="不修改", id="stage.cancel")]

    def __init__(
        self, holder: str, stage: AssistStage, today: date, registered_on: date | None = None
    ) -> None:
        super().__init__()
        self.holder = holder
        self.stage = stage
        self.today = today
        self.registered_on = registered_on

    def compose(self) -> ComposeResult:
        """Title, the date (filed only), the note, the error line, hint."""
        with Vertical(classes="dialog-box"):
            title = Text(f"{self.holder} — 帮办状态改为“{STAGE_LABELS[self.stage]}”")
            yield Label(title, classes="dialog-title")
            if self.stage == AssistStage.FILED:
                yield Label("提交申请的日期")
                yield Input(value=self.today.isoformat(), id="stage-date")
            yield Label("备注")
            yield Input(placeholder="可不填，例如：材料已齐，代为网上提交", id="stage-note")
            yield Static(id="dialog-error")
            yield Static(Text("回车保存 · Tab 切换 · Esc 取消（不保存）"), classes="dialog-hint")

    def on_mount(self) -> None:
        """Start in the first field on screen (the date when filed): typing replaces it."""
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submit(self) -> None:
        """Close with the step when the date is a real day, not after today."""
        filed_on = None
        if self.stage == AssistStage.FILED:
            text = self.query_one("#stage-date", Input).value
            try:
                filed_on = parse_day(text)
            except ValueError:
                self._error(f"“{text.strip()}”不是有效日期，请写成 {self.today:%Y-%m-%d}")
                self.query_one("#stage-date", Input).focus()
                return
            if filed_on > self.today:
                self._error("提交日期不能晚于今天")
                self.query_one("#stage-date", Input).focus()
                return
            if self.registered_on and filed_on < self.registered_on:
                self._error(f"提交日期不能早于帮办登记日期 {self.registered_on:%Y-%m-%d}")
                self.query_one("#stage-date", Input).focus()
                return
        note = self.query_one("#stage-note", Input).value.strip()
        if self.stage == AssistStage.FILED and DATE_FORM.fullmatch(note):
            # A date alone in the note was meant for the date field: saved as a note, the case
            # would be filed on the date proposed instead.
            self._error(f"备注中只写了日期 {note}：提交日期请填在上面的“提交申请的日期”")
            self.query_one("#stage-date", Input).focus()
            return
        self.dismiss(StageStep(self.stage, filed_on, note))

    def _error(self, message: str) -> None:
        self.query_one("#dialog-error", Static).update(Text(message, style="bold red"))

    def action_cancel(self) -> None:
        """Close without a change."""
        self.dismiss(None)
