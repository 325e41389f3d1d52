"""Plan, confirm, apply: the catalog dialogs show what a change does before they make it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from callqueue.catalog import CatalogError
from callqueue.catalog_change import ChangePlan, ChangeResult
from callqueue.clock import parse_day
from callqueue.roles import NotAllowed
from callqueue.tui.desk import failure_text
from callqueue.tui.screens.confirm import ConfirmDialog


class FieldInvalid(ValueError):
    """A field that cannot be read; the message is for staff."""


def read_day(text: str, what: str = "生效日期") -> date:
    """A date typed as YYYY-MM-DD.

    Raises:
        FieldInvalid: blank or not a date.
    """
    text = text.strip()
    if not text:
        raise FieldInvalid(f"请填写{what}（YYYY-MM-DD）")
    try:
        return parse_day(text)
    except ValueError as exc:
        raise FieldInvalid(f"{what}应为 YYYY-MM-DD，现在是“{text}”") from exc


def read_reason(text: str) -> str:
    """The reason, required.

    Raises:
        FieldInvalid: blank.
    """
    if not text.strip():
        raise FieldInvalid("请填写修改原因（记入审计）")
    return text.strip()


def saved_notice(result: ChangeResult) -> str:
    """What the status line says after a change was made or stored."""
    plan = result.plan
    head = f"第{plan.seq}项“{plan.certificate_name}”"
    if not result.applied:
        return (
            f"{head}的修改已登记，将于 {plan.effective_on:%Y-%m-%d} 生效"
            f"（预计改动提醒 {plan.reminders_changed} 条），已记入审计"
        )
    verb = "已停用" if plan.kind == "retire" else "已保存"
    return f"{head}{verb}，已记入审计；改动提醒 {result.reminders_changed} 条"


@dataclass
class PlanWorkedOut(Message):
    """The change was previewed; the plan waits for confirmation."""

    plan: ChangePlan


@dataclass
class ChangeSaved(Message):
    """The change was made (or stored for its day) and audited."""

    notice: str


@dataclass
class ChangeRefused(Message):
    """The service refused the change or the database failed; nothing was saved."""

    message: str


class PlannedChangeDialog(ModalScreen[str | None]):
    """A dialog whose save previews, asks, then applies; dismisses with the notice or None."""

    busy = False
    """A preview or a save is running: another key press waits."""

    def __init__(self) -> None:
        super().__init__()
        self._apply: Callable[[], ChangeResult] | None = None

    def show_error(self, message: str) -> None:
        """One line under the fields."""
        self.query_one(".catalog-error", Static).update(Text(message))

    def plan_and_confirm(
        self, preview: Callable[[], ChangePlan], apply: Callable[[], ChangeResult]
    ) -> None:
        """Work out the plan in a thread, then ask; `apply` runs only after a yes."""
        if self.busy:
            return
        self.busy, self._apply = True, apply
        self.show_error("正在计算受影响的提醒…")
        self.preview(preview)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def preview(self, preview: Callable[[], ChangePlan]) -> None:
        """Read-only: the plan, or why not."""
        try:
            plan = preview()
        except (CatalogError, NotAllowed) as exc:
            self.post_message(ChangeRefused(str(exc)))
            return
        except Exception as exc:
            self.post_message(ChangeRefused(failure_text("计算失败", exc)))
            return
        self.post_message(PlanWorkedOut(plan))

    @on(PlanWorkedOut)
    def ask(self, message: PlanWorkedOut) -> None:
        """Show the plan with its count of reminders and ask before saving."""
        self.show_error("")
        self.app.push_screen(
            ConfirmDialog("确认目录修改", "\n".join(message.plan.lines(examples=3))), self._answered
        )

    def _answered(self, yes: bool | None) -> None:
        if not yes or self._apply is None:
            self.busy = False
            self.show_error("未保存：可修改后再保存，或按 Esc 取消")
            return
        self.show_error("正在保存…")
        self.save(self._apply)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def save(self, apply: Callable[[], ChangeResult]) -> None:
        """One transaction; a refusal leaves everything as it was."""
        try:
            result = apply()
        except (CatalogError, NotAllowed) as exc:
            self.post_message(ChangeRefused(str(exc)))
            return
        except Exception as exc:
            self.post_message(ChangeRefused(failure_text("保存目录失败", exc)))
            return
        self.post_message(ChangeSaved(saved_notice(result)))

    @on(ChangeSaved)
    def saved(self, message: ChangeSaved) -> None:
        """Close with what was saved."""
        self.dismiss(message.notice)

    @on(ChangeRefused)
    def refused(self, message: ChangeRefused) -> None:
        """Say why inline; what was typed stays."""
        self.busy = False
        self.show_error(message.message)

    def action_cancel(self) -> None:
        """Close: nothing is saved."""
        self.dismiss(None)
