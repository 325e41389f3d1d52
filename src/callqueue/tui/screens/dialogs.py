"""Outcome dialogs: each asks for its outcome's details and closes only once the service agrees.

A dialog parses what was typed (errors shown inline), then asks `check` — a dry run of the
service, in a thread — and dismisses with the `OutcomeInput` only when nothing would be refused.
The screen that opened it then saves for real. Escape dismisses with None: nothing is saved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Select, Static

from callqueue.clock import SHANGHAI
from callqueue.queue.appointments import Slot
from callqueue.queue.outcome_terms import OutcomeInput
from callqueue.tui.desk import Number, failure_text

Check = Callable[[OutcomeInput], str | None]
"""A dry run of the outcome with these details: the service's refusal, or None."""

DATE_FORM = re.compile(r"\d{4}-\d{2}-\d{2}")
TIME_FORM = re.compile(r"\d{1,2}:\d{2}")


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date; ValueError for anything else."""
    text = text.strip()
    if not DATE_FORM.fullmatch(text):
        raise ValueError(text)
    return date.fromisoformat(text)


def parse_clock(text: str) -> time:
    """An HH:MM time of day; ValueError for anything else."""
    text = text.strip()
    if not TIME_FORM.fullmatch(text):
        raise ValueError(text)
    hour, minute = (int(part) for part in text.split(":"))
    return time(hour, minute)


@dataclass
class OutcomeChecked(Message):
    """The dry run of an outcome finished; `refusal` is the service's message, if any."""

    data: OutcomeInput
    refusal: str | None


class OutcomeDialog(ModalScreen[OutcomeInput | None]):
    """The frame every outcome dialog shares: title, fields, an error line, a hint."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "取消", tooltip="不保存，返回队列", id="dialog.cancel"),
    ]
    HEADING: ClassVar[str] = ""
    HINT: ClassVar[str] = "回车保存 · Tab 切换 · Esc 取消（不保存）"

    def __init__(self, holder: str, check: Check) -> None:
        super().__init__()
        self.holder = holder
        self.check = check
        self.checking = False

    def compose(self) -> ComposeResult:
        """Title, the dialog's own fields, the error line, the hint."""
        with Vertical(classes="dialog-box"):
            yield Label(Text(f"{self.holder} — {self.HEADING}"), classes="dialog-title")
            yield from self.fields()
            yield Static(id="dialog-error")
            yield Static(Text(self.HINT), classes="dialog-hint")

    def fields(self) -> list[Widget]:
        """The widgets between the title and the error line."""
        return []

    def show_error(self, message: str) -> None:
        """Say what is wrong; the dialog stays open with what was typed."""
        self.query_one("#dialog-error", Static).update(Text(message))

    def propose(self, data: OutcomeInput) -> None:
        """Ask the service (dry run) whether these details would be accepted."""
        if self.checking:
            return
        self.checking = True
        self.show_error("")
        self.run_check(data)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_check(self, data: OutcomeInput) -> None:
        """The dry run, in a thread; the answer comes back as a message."""
        try:
            refusal = self.check(data)
        except Exception as exc:  # shown inline; the dialog stays usable
            refusal = failure_text("检查失败", exc)
        self.post_message(OutcomeChecked(data, refusal))

    @on(OutcomeChecked)
    def checked(self, message: OutcomeChecked) -> None:
        """Close with the details, or show the refusal and stay."""
        self.checking = False
        if message.refusal:
            self.show_error(message.refusal)
        else:
            self.dismiss(message.data)

    def action_cancel(self) -> None:
        """Close without saving anything."""
        self.dismiss(None)


class CallbackDialog(OutcomeDialog):
    """约定回电：date and time, prefilled with the usual proposal."""

    HEADING = "约定回电"

    def __init__(self, holder: str, check: Check, proposal: datetime) -> None:
        super().__init__(holder, check)
        self.proposal = proposal

    def fields(self) -> list[Widget]:
        """Date and time inputs."""
        return [
            Label("回电日期（YYYY-MM-DD）"),
            Input(value=f"{self.proposal:%Y-%m-%d}", placeholder="YYYY-MM-DD", id="callback-date"),
            Label("回电时间（HH:MM）"),
            Input(value=f"{self.proposal:%H:%M}", placeholder="HH:MM", id="callback-time"),
        ]

    @on(Input.Submitted)
    def submit(self) -> None:
        """Parse both fields, then ask the service."""
        day_text = self.query_one("#callback-date", Input).value
        time_text = self.query_one("#callback-time", Input).value
        try:
            day = parse_day(day_text)
        except ValueError:
            self.show_error(f"日期无效：“{day_text}”，请按 YYYY-MM-DD 填写，例如 2026-11-25")
            return
        try:
            at = parse_clock(time_text)
        except ValueError:
            self.show_error(f"时间无效：“{time_text}”，请按 HH:MM 填写，例如 10:00")
            return
        self.propose(OutcomeInput(callback_at=datetime.combine(day, at, SHANGHAI)))


class SlotDialog(OutcomeDialog):
    """已预约：pick one of the next free slots."""

    HEADING = "选择预约时段"
    HINT = "↑↓ 选择 · 回车预约 · Esc 取消（不保存）"

    def __init__(self, holder: str, check: Check, slots: list[Slot]) -> None:
        super().__init__(holder, check)
        self.slots = slots

    def fields(self) -> list[Widget]:
        """The slots, one a line; or why there are none."""
        if not self.slots:
            return [Static(Text("近 5 个工作日没有空闲时段，请按 Esc 返回"), id="slot-none")]
        return [OptionList(*(Text(s.label()) for s in self.slots), id="slot-list")]

    @on(OptionList.OptionSelected, "#slot-list")
    def pick(self, event: OptionList.OptionSelected) -> None:
        """Ask the service whether the chosen slot can still be booked."""
        self.propose(OutcomeInput(slot_at=self.slots[event.option_index].starts_at))


class AssistedDialog(OutcomeDialog):
    """帮办代办：who helps (the desk's staff member unless changed) and optional notes."""

    HEADING = "帮办代办"

    def __init__(
        self, holder: str, check: Check, helpers: list[tuple[int, str]], helper_id: int
    ) -> None:
        super().__init__(holder, check)
        self.helpers = helpers
        self.helper_id = helper_id

    def fields(self) -> list[Widget]:
        """The notes field, then who helps (usually the one at the desk, so second).

        The cursor starts in the first field on screen and Tab follows the screen's order:
        it started in the notes below the helper, and what was typed went where not expected.
        """
        return [
            Label("备注"),
            Input(placeholder="可不填，例如：代为准备材料、约定上门", id="assisted-notes"),
            Label("帮办人（Tab 选择）"),
            Select(
                [(Text(name), sid) for sid, name in self.helpers],
                value=self.helper_id,
                allow_blank=False,
                id="assisted-helper",
            ),
        ]

    def on_mount(self) -> None:
        """Start in the notes, the first field."""
        self.query_one("#assisted-notes", Input).focus()

    @on(Input.Submitted, "#assisted-notes")
    def submit(self, event: Input.Submitted) -> None:
        """Ask the service with the helper chosen and the notes as typed."""
        helper = self.query_one("#assisted-helper", Select).value
        chosen = helper if isinstance(helper, int) else self.helper_id
        self.propose(OutcomeInput(helper_staff_id=chosen, assisted_notes=event.value.strip()))


class WrongNumberDialog(OutcomeDialog):
    """号码有误：the number to mark, shown; with several valid ones, staff pick the one dialled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "确认", tooltip="标记号码有误", id="dialog.confirm"),
    ]
    HEADING = "号码有误"
    HINT = "回车确认 · Esc 取消（不保存）"

    def __init__(self, holder: str, check: Check, numbers: list[Number]) -> None:
        super().__init__(holder, check)
        self.numbers = numbers

    def fields(self) -> list[Widget]:
        """The number that will be marked, or the list to choose it from."""
        after = "标记为有误，并转下一个号码或电子邮件。"
        if not self.numbers:
            return [Static(Text("该单位已没有有效号码可标记。"), id="wrong-number")]
        if len(self.numbers) == 1:
            return [
                Static(
                    Text(f"将把 {self._label(self.numbers[0])} {after}确认？"), id="wrong-number"
                )
            ]
        return [
            Label(f"拨打的是哪个号码？所选号码将{after}"),
            OptionList(*(Text(self._label(n)) for n in self.numbers), id="wrong-number-list"),
        ]

    @staticmethod
    def _label(number: Number) -> str:
        return f"{number.display}（{number.contact}）" if number.contact else number.display

    @on(OptionList.OptionSelected, "#wrong-number-list")
    def pick(self, event: OptionList.OptionSelected) -> None:
        """Ask the service with the number chosen."""
        self.propose(OutcomeInput(phone_id=self.numbers[event.option_index].phone_id))

    def action_confirm(self) -> None:
        """Ask the service with the number shown (none left: its own answer)."""
        if len(self.numbers) == 1:
            self.propose(OutcomeInput(phone_id=self.numbers[0].phone_id))
        elif not self.numbers:
            self.propose(OutcomeInput())
        else:
            index = self.query_one("#wrong-number-list", OptionList).highlighted or 0
            self.propose(OutcomeInput(phone_id=self.numbers[index].phone_id))


class RenewedDialog(OutcomeDialog):
    """已换证：the new certificate's dates, both optional."""

    HEADING = "已换证（新证日期可不填）"

    def fields(self) -> list[Widget]:
        """Issue-date and expiry-date inputs."""
        return [
            Label("新证颁发日期（YYYY-MM-DD，可不填）"),
            Input(placeholder="YYYY-MM-DD", id="renewed-issued"),
            Label("新证期满日期（YYYY-MM-DD，填了颁发日期则必填）"),
            Input(placeholder="YYYY-MM-DD", id="renewed-expires"),
        ]

    @on(Input.Submitted)
    def submit(self) -> None:
        """Parse the dates (empty means unknown), then ask the service."""
        found: list[date | None] = []
        for selector, what in (("#renewed-issued", "颁发日期"), ("#renewed-expires", "期满日期")):
            text = self.query_one(selector, Input).value
            try:
                found.append(parse_day(text) if text.strip() else None)
            except ValueError:
                self.show_error(f"{what}无效：“{text}”，请按 YYYY-MM-DD 填写，或留空")
                return
        issued, expires = found
        self.propose(OutcomeInput(new_issued_on=issued, new_expires_on=expires))
