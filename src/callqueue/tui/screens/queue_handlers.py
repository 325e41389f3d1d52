"""The call screen's message handlers: the only place its widgets change after a worker."""

from __future__ import annotations

from textual import on

from callqueue.models import Outcome
from callqueue.queue.claims import NO_FILTER
from callqueue.tui.collector import calm_collector
from callqueue.tui.messages import (
    BriefingRead,
    CallbackProposed,
    ClaimClosed,
    ClaimRenewed,
    CountsRead,
    DeskFailed,
    EntryClaimed,
    HelpersRead,
    NumbersRead,
    QueuePageLoaded,
    SectionSwitched,
    SlotsRead,
)
from callqueue.tui.screens.dialogs import (
    AssistedDialog,
    CallbackDialog,
    SlotDialog,
    WrongNumberDialog,
)
from callqueue.tui.screens.outcome_keys import SaveFailed
from callqueue.tui.screens.queue_view import QueueView
from callqueue.tui.widgets.queue_table import QueueTable


class QueueHandlers(QueueView):
    """What `QueueScreen` does with its workers' messages."""

    @on(QueuePageLoaded)
    def show_page(self, message: QueuePageLoaded) -> None:
        """Fill the table; say what a refresh changed."""
        if message.desk is not None:
            self.desk = message.desk
            self._show_who()
        first = not self.entries
        self._fill(message)
        if first:
            self.call_after_refresh(calm_collector)
        elif self.drawn is None and (entry := self._in_view()) is not None:
            self._show_entry(entry)  # the page was read again for changed records
        note = ""
        if message.refreshed is not None and message.refreshed.changed:
            r = message.refreshed
            parts = [
                f"{label} {n}"
                for label, n in (
                    ("转为待联系", r.due),
                    ("需跟进", r.follow_ups),
                    ("已过期", r.lapsed),
                    ("释放超时认领", r.claims_released),
                )
                if n
            ]
            note = " · 已更新：" + "，".join(parts)
        self._say(note)

    @on(SectionSwitched)
    def section_switched(self, message: SectionSwitched) -> None:
        """Read the first page of the section now worked; a filter of the last one no longer fits."""
        self.busy = False
        self.desk, self.only, self.page_number = message.desk, NO_FILTER, 0
        self._show_who()
        self._status(f"正在读取{self.desk.section}的队列…")
        self.load_page()

    @on(EntryClaimed)
    def show_claim(self, message: EntryClaimed) -> None:
        """Show and mark the claimed entry."""
        self.busy = False
        entry = message.entry
        if entry is None:
            self._say(" · 队列中没有待联系的单位")
            self.notify("队列中没有待联系的单位", title="认领")
            return
        self._hold(entry)
        self._say(f" · 认领中：{entry.holder}")

    @on(ClaimRenewed)
    def claim_renewed(self, message: ClaimRenewed) -> None:
        """Tell staff at once when the holder went to another desk (the save will be refused)."""
        if message.kept or self.claimed is None:
            return
        if self.claimed.holder_id != message.entry.holder_id:
            return
        text = f"{message.entry.holder}的认领已超时，已由其他工作人员接手：结果将无法保存"
        self._status(text)
        self.notify(text, severity="warning", timeout=10)

    @on(ClaimClosed)
    def claim_closed(self, message: ClaimClosed) -> None:
        """Clear the claim and show the fresh page."""
        self.busy = False
        finished = self.claimed
        self.claimed = message.next_entry  # straight to the next one: the footer changes once
        self.flow.saved()
        self.show_note("")
        if message.page is None:
            self.load_page()
        else:
            if finished is not None and all(
                e.holder_id != finished.holder_id for e in message.page.entries
            ):  # out of the queue: greyed in place until a pause (`_tidy`), not moved at once
                self.query_one(QueueTable).mark_done(finished, self.desk.today)
            self._fill(message.page, changed=finished)
        said = message.message
        if message.next_entry is not None:
            self._hold(message.next_entry)
            said += f" · 下一户：{message.next_entry.holder}"
        self._say(f" · {said}")  # the status line says it; no toast per call

    @on(BriefingRead)
    def show_briefing(self, message: BriefingRead) -> None:
        """Draw the entry's detail and card, if it is still the one in view."""
        self.briefings[message.briefing.holder_id] = (message.briefing, message.script)
        listed = self.entries.get(message.briefing.holder_id)
        if listed is not None and not self._is_claimed(listed):
            grown = self._grown(listed)
            if grown is not listed:  # the card found certificates further down the order
                self.entries[grown.holder_id] = grown
                self.query_one(QueueTable).redraw(grown, self.desk.today, self._marks(grown))
        entry = self._in_view()
        # Drawn only if read for the entry's own reminders: one read for another set of them
        # (a prefetch from the list, say) leaves the entry to the read `_show_entry` asked for.
        if (
            entry is not None
            and entry.holder_id == message.briefing.holder_id
            and self._briefing_of(entry) is not None
        ):
            self._draw(entry, message.briefing, message.script)
        if self.claimed is not None and self.claimed.holder_id == message.briefing.holder_id:
            self.refresh_bindings()  # `e` depends on whether this holder has an address

    @on(CallbackProposed)
    def ask_callback(self, message: CallbackProposed) -> None:
        """Open the callback dialog with the proposed time."""
        self.busy = False
        self.flow.ask(Outcome.CALLBACK, lambda h, c: CallbackDialog(h, c, message.at))

    @on(HelpersRead)
    def ask_assisted(self, message: HelpersRead) -> None:
        """Open the 帮办代办 dialog with the section's staff to choose the helper from."""
        self.busy = False
        helpers = [(h.id, h.name) for h in message.helpers] or [
            (self.desk.staff.id, self.desk.staff.name)
        ]
        me = self.desk.staff.id
        self.flow.ask(Outcome.ASSISTED, lambda h, c: AssistedDialog(h, c, helpers, me))

    @on(NumbersRead)
    def ask_wrong_number(self, message: NumbersRead) -> None:
        """Open the wrong-number dialog with the holder's valid numbers."""
        self.busy = False
        numbers = message.numbers
        self.flow.ask(Outcome.WRONG_NUMBER, lambda h, c: WrongNumberDialog(h, c, numbers))

    @on(SlotsRead)
    def ask_slot(self, message: SlotsRead) -> None:
        """Open the slot dialog with the free slots."""
        self.busy = False
        self.flow.ask(Outcome.APPOINTMENT, lambda h, c: SlotDialog(h, c, message.slots))

    @on(SaveFailed)
    def save_failed(self, message: SaveFailed) -> None:
        """Keep what was entered; the claim stays; Ctrl+S tries again (not after a refusal)."""
        self.busy = False
        self.flow.unsaved = message.job if message.retry else None
        self.refresh_bindings()
        if message.retry:
            text = f"{message.message} · 按 Ctrl+S 重试保存（已填内容保留）"
        else:
            text = f"{message.message} · 未保存"
        self._status(text)
        self.notify(text, severity="error", timeout=10)

    @on(DeskFailed)
    def show_failure(self, message: DeskFailed) -> None:
        """Say what went wrong; keep the screen and any claim."""
        self.busy = False
        self._status(message.message)
        self.notify(message.message, severity="error", timeout=8)

    @on(CountsRead)
    def show_counts(self, message: CountsRead) -> None:
        """The counts were read again: the status line keeps what it said after them."""
        self.tally = message.tally
        if self.said is not None:  # else the line says something else (a failure, a wait)
            self._show_said()
