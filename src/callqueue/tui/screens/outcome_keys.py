"""The outcome keys 1–8 of the call screen: which dialog each opens, and saving the result.

`OutcomeFlow` does the work for `QueueScreen`: it opens the dialog an outcome needs, adds the
card's ticks and the pending note, and saves in a thread worker that ends with a message.
A save that fails keeps what was entered, and `ctrl+s` tries again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.message import Message

from callqueue.models import Outcome
from callqueue.queue.claims import QueueEntry
from callqueue.queue.outcome_terms import (
    CONVEYABLE,
    OUTCOME_LABELS,
    OutcomeInput,
    OutcomeRefused,
)
from callqueue.tui.desk import failure_text
from callqueue.tui.messages import (
    CallbackProposed,
    ClaimClosed,
    DeskFailed,
    HelpersRead,
    NumbersRead,
    SlotsRead,
)
from callqueue.tui.screens.confirm import ConfirmDialog, NoteDialog
from callqueue.tui.screens.dialogs import (
    Check,
    OutcomeDialog,
    RenewedDialog,
)
from callqueue.tui.screens.reason import ReasonDialog
from callqueue.tui.widgets.inform_card import InformCard

if TYPE_CHECKING:
    from callqueue.tui.screens.queue import QueueScreen

OUTCOME_BINDINGS = [
    Binding(
        "1",
        "outcome('informed')",
        "告知",
        tooltip="已告知：五项讲全、材料勾选后",
        id="queue.informed",
    ),
    Binding("2", "outcome('appointment')", "预约", tooltip="选择预约时段", id="queue.appointment"),
    Binding("3", "outcome('assisted')", "帮办", tooltip="登记帮办代办及备注", id="queue.assisted"),
    Binding(
        "4", "outcome('no_answer')", "未接", tooltip="无人接听，稍后重拨", id="queue.no_answer"
    ),
    Binding("5", "outcome('callback')", "回电", tooltip="约定回电日期和时间", id="queue.callback"),
    Binding(
        "6",
        "outcome('wrong_number')",
        "错号",
        tooltip="号码有误，转下一个号码",
        id="queue.wrong_number",
    ),
    Binding(
        "7", "outcome('renewed')", "换证", tooltip="已换证，结案，可填新证日期", id="queue.renewed"
    ),
    Binding(
        "8",
        "outcome('not_renewing')",
        "不续",
        tooltip="不再延续，填写原因后结案",
        id="queue.not_renewing",
    ),
    Binding(
        "b", "note", "备注", tooltip="为本次通话写备注，随结果保存", id="queue.note", show=False
    ),
    Binding(
        "ctrl+s",
        "retry_save",
        "重试保存",
        tooltip="再次保存上次未保存的结果",
        id="queue.retry_save",
    ),
]
NEEDS_CLAIM = frozenset({"outcome", "skip", "note"})
TOLD = frozenset({Outcome.INFORMED, Outcome.APPOINTMENT, Outcome.ASSISTED})
"""Outcomes after which the holder has been told: the card's ticks are saved with them."""


@dataclasses.dataclass(frozen=True)
class Unsaved:
    """An outcome whose save failed: kept so that nothing typed is lost."""

    entry: QueueEntry
    outcome: Outcome
    data: OutcomeInput
    ticked: dict[int, tuple[str, ...]]


@dataclasses.dataclass
class SaveFailed(Message):
    """Saving an outcome failed and changed nothing; `job` is kept for a retry, unless the
    rules refused it (`retry` False: saving it again would be refused again)."""

    message: str
    job: Unsaved
    retry: bool = True


class OutcomeFlow:
    """Opens each outcome's dialog and saves the outcome for the screen."""

    def __init__(self, screen: QueueScreen) -> None:
        self.screen = screen
        self.note = ""
        """A note typed with `b`, saved with the next outcome."""
        self.unsaved: Unsaved | None = None

    def start(self, outcome: Outcome) -> None:
        """The key for `outcome` was pressed on a claimed entry."""
        s = self.screen
        entry = s.claimed
        if entry is None or s.busy:
            return
        if outcome is Outcome.INFORMED:
            self._informed()
        elif outcome is Outcome.NO_ANSWER:
            self.save(Outcome.NO_ANSWER, OutcomeInput())
        elif outcome is Outcome.NOT_RENEWING:
            s.app.push_screen(ReasonDialog(entry.holder), self._reason_given)
        elif outcome is Outcome.APPOINTMENT:
            self._read(s.desk.free_slots, SlotsRead, "读取预约时段失败")
        elif outcome is Outcome.CALLBACK:
            self._read(s.desk.callback_proposal, CallbackProposed, "读取工作日失败")
        elif outcome is Outcome.ASSISTED:
            self._read(s.desk.helpers, HelpersRead, "读取工作人员失败")
        elif outcome is Outcome.WRONG_NUMBER:  # read now: another desk may have marked one
            self._read(lambda: s.desk.numbers(entry), NumbersRead, "读取号码失败")
        elif outcome is Outcome.RENEWED:
            self.ask(Outcome.RENEWED, RenewedDialog)

    def _informed(self) -> None:
        """已告知: all five items, unless the materials were not all ticked (then ask)."""
        card = self.screen.query_one(InformCard)
        ticked, total = len(card.ticked), len(card.materials)
        if ticked == total:
            self.save(Outcome.INFORMED, OutcomeInput(conveyed=CONVEYABLE))
            return
        question = (
            f"材料清单只勾选了 {ticked}/{total} 项。一次性告知应讲全所有材料。\n"
            "仍记为已告知（材料一项记为未讲全）？"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                told = tuple(c for c in CONVEYABLE if c != "materials")
                self.save(Outcome.INFORMED, OutcomeInput(conveyed=told))

        self.screen.app.push_screen(ConfirmDialog("已告知", question), answered)

    def _reason_given(self, reason: str | None) -> None:
        if reason:
            self.save(Outcome.NOT_RENEWING, OutcomeInput(reason=reason))

    def _read(self, read: Callable[[], object], done: type, what: str) -> None:
        """Read what a dialog needs (slots, a proposal) in a thread, then post `done`."""
        s = self.screen
        s.busy = True

        def work() -> None:
            try:
                value = read()
            except Exception as exc:
                s.post_message(DeskFailed(failure_text(what, exc)))
                return
            s.post_message(done(value))

        s.run_worker(work, thread=True, exclusive=True, exit_on_error=False, group="queue-desk")

    def ask(self, outcome: Outcome, dialog: Callable[[str, Check], OutcomeDialog]) -> None:
        """Open the outcome's dialog; it checks with the service, and the flow saves."""
        s = self.screen
        entry = s.claimed
        if entry is None or s.busy:
            return

        def check(data: OutcomeInput) -> str | None:
            return s.desk.refusal(entry, outcome, data)

        def chosen(data: OutcomeInput | None) -> None:
            if data is not None:
                self.save(outcome, data)

        s.app.push_screen(dialog(entry.holder, check), chosen)

    def edit_note(self) -> None:
        """Type or change the note that goes with the next outcome."""
        entry = self.screen.claimed
        if entry is None:
            return

        def typed(note: str | None) -> None:
            if note is not None:
                self.note = note
                self.screen.show_note(note)

        self.screen.app.push_screen(NoteDialog(entry.holder, self.note), typed)

    def save(self, outcome: Outcome, data: OutcomeInput) -> None:
        """Save the outcome (with the card's ticks and the note) in a worker."""
        s = self.screen
        entry = s.claimed
        if entry is None or s.busy:
            return
        if self.note:
            note = f"{self.note}；{data.note}" if data.note else self.note
            data = dataclasses.replace(data, note=note)
        ticked = self._ticks() if outcome in TOLD else {}
        self._run(Unsaved(entry, outcome, data, ticked))

    def retry(self) -> None:
        """Save the outcome that failed last time, as it was entered."""
        if self.unsaved is not None and not self.screen.busy:
            self._run(self.unsaved)

    def _ticks(self) -> dict[int, tuple[str, ...]]:
        """Per reminder, the ticked materials that belong to its certificate."""
        briefing = self.screen.briefing
        if briefing is None:
            return {}
        chosen = set(self.screen.query_one(InformCard).ticked)
        return {
            c.reminder_id: tuple(m for m in c.materials if m in chosen)
            for c in briefing.certificates
        }

    def _run(self, job: Unsaved) -> None:
        s = self.screen
        s.busy = True

        def work() -> None:
            try:
                results = s.desk.record(job.entry, job.outcome, job.data, ticked=job.ticked)
            except OutcomeRefused as exc:  # e.g. a colleague took the holder after the lease
                s.post_message(SaveFailed(f"{job.entry.holder}：{exc}", job, retry=False))
                return
            except Exception as exc:
                s.post_message(SaveFailed(failure_text("保存结果失败", exc), job))
                return
            said = results[0].message if results else OUTCOME_LABELS[job.outcome]
            count = f"（{len(results)} 张证书）" if len(results) > 1 else ""
            message = f"{job.entry.holder}：{said}{count}"
            try:
                following = s.desk.claim_next()
            except Exception as exc:  # saved all the same; `n` tries again
                message += f" · {failure_text('认领下一户失败', exc)}"
                following = None
            s.post_message(ClaimClosed(message, s.fresh_page(), following))  # page after the claim

        s.run_worker(work, thread=True, exclusive=True, exit_on_error=False, group="queue-desk")

    def saved(self) -> None:
        """The last save went through: nothing is pending any more."""
        self.note = ""
        self.unsaved = None
