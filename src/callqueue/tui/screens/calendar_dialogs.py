"""Dialogs of the calendar screen: a holiday-schedule file to load, a day to open or close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from callqueue.tui.screens.dialogs import parse_day


@dataclass(frozen=True)
class DayChange:
    """A day to open or close (or restore) and why."""

    day: date
    is_workday: bool | None
    reason: str


KIND_WORDS = {True: "设为上班", False: "设为休息", None: "恢复法定安排"}


class LoadFileDialog(ModalScreen[Path | None]):
    """载入节假日安排：the path of the office's schedule file."""

    BINDINGS = [Binding("escape", "cancel", "取消", tooltip="不载入", id="calload.cancel")]

    def compose(self) -> ComposeResult:
        """Title, the path field, the error line, hint."""
        with Vertical(classes="dialog-box"):
            yield Label(Text("载入节假日安排文件"), classes="dialog-title")
            yield Input(placeholder="例如：/home/zwfw/2027节假日.txt", id="calload-path")
            yield Static(id="dialog-error")
            yield Static(
                Text("回车先试运行并显示变化，确认后才保存 · 文件格式见 README · Esc 取消"),
                classes="dialog-hint",
            )

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        """Close with the path if the file is there, else say why inline."""
        text = event.value.strip().strip("'\"")
        if not text:
            self._error("请输入文件路径")
            return
        path = Path(text).expanduser()
        if not path.is_file():
            self._error(f"找不到文件：{path}")
            return
        self.dismiss(path)

    def _error(self, message: str) -> None:
        self.query_one("#dialog-error", Static).update(Text(message, style="bold red"))

    def action_cancel(self) -> None:
        """Close without loading."""
        self.dismiss(None)


class DayChangeDialog(ModalScreen[DayChange | None]):
    """设为休息 / 上班 / 恢复法定安排：a date and a reason."""

    BINDINGS = [Binding("escape", "cancel", "取消", tooltip="不修改", id="calday.cancel")]

    def __init__(self, is_workday: bool | None, day: date | None = None) -> None:
        super().__init__()
        self.is_workday = is_workday
        self.day = day

    def compose(self) -> ComposeResult:
        """Title, date and reason fields, the error line, hint."""
        with Vertical(classes="dialog-box"):
            yield Label(Text(f"{KIND_WORDS[self.is_workday]}"), classes="dialog-title")
            yield Input(
                value=self.day.isoformat() if self.day else "",
                placeholder="日期，如 2026-12-07",
                id="calday-date",
            )
            yield Input(placeholder="原因，如 停电闭馆（记入审计）", id="calday-reason")
            yield Static(id="dialog-error")
            yield Static(Text("回车保存 · Tab 切换 · Esc 取消"), classes="dialog-hint")

    @on(Input.Submitted)
    def submit(self) -> None:
        """Close with the change when the date is real and a closure has a reason."""
        text = self.query_one("#calday-date", Input).value
        reason = self.query_one("#calday-reason", Input).value.strip()
        try:
            day = parse_day(text)
        except ValueError:
            self._error(f"“{text.strip()}”不是有效日期，请写成 2026-12-07")
            self.query_one("#calday-date", Input).focus()
            return
        if self.is_workday is not None and not reason:
            self._error("请填写原因")
            self.query_one("#calday-reason", Input).focus()
            return
        self.dismiss(DayChange(day, self.is_workday, reason))

    def _error(self, message: str) -> None:
        self.query_one("#dialog-error", Static).update(Text(message, style="bold red"))

    def action_cancel(self) -> None:
        """Close without a change."""
        self.dismiss(None)
