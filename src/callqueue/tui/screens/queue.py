"""The call-queue screen: a page of the section's queue, the entry in view, outcomes by key.

The outcome actions and their dialogs live in `outcome_keys.py`; this module holds the page,
the claim, the detail pane and the card, and the workers that read them.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker, get_current_worker

from callqueue.models import Outcome
from callqueue.notify.outbox import MailRefused
from callqueue.queue.briefing import Briefing
from callqueue.queue.claims import NO_FILTER, QueueEntry, QueueFilter
from callqueue.queue.script import Script
from callqueue.queue.tally import Tally
from callqueue.tui.collector import IDLE, calm_collector
from callqueue.tui.desk import PAGE_SIZE, Desk, failure_text
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
from callqueue.tui.screens.filter import FilterDialog, describe
from callqueue.tui.screens.help import HelpScreen
from callqueue.tui.screens.outcome_keys import (
    NEEDS_CLAIM,
    OUTCOME_BINDINGS,
    OutcomeFlow,
    SaveFailed,
)
from callqueue.tui.widgets.entry_detail import EntryDetail
from callqueue.tui.widgets.footer import CalmFooter
from callqueue.tui.widgets.inform_card import InformCard
from callqueue.tui.widgets.queue_table import BADGES, QueueTable

PREFETCH = 15  # about the rows a 40-line terminal shows
PREFETCH_DELAY = 0.04  # seconds: a frame's drawing
SAID_FIRST = 8.0
"""Seconds what just happened leads the status line; then the counts lead again (behind them
it was cut off at 120 columns, where staff must read what was saved)."""
log = logging.getLogger("callqueue.tui")
EMAIL_HELP = "向认领的单位发送一次性告知邮件，然后认领下一户（单位需有有效邮箱）"


class QueueScreen(Screen[None]):
    """呼叫队列：one staff member's section queue."""

    BINDINGS = [
        Binding("n", "claim_next", "下一户", tooltip="认领队列中的下一户", id="queue.next"),
        *OUTCOME_BINDINGS,
        Binding("e", "email", "邮件", tooltip=EMAIL_HELP, id="queue.email"),
        Binding("s", "skip", "跳过", tooltip="放回队列，不记录结果", id="queue.skip"),
        Binding("f", "filter", "筛选", tooltip="按状态、证书、剩余天数筛选列表", id="queue.filter"),
        Binding(
            "]",
            "page(1)",
            "下页",
            tooltip=f"下一页（每页 {PAGE_SIZE} 户）",
            id="queue.next_page",
            show=False,
        ),
        Binding("[", "page(-1)", "上页", tooltip="上一页", id="queue.previous_page", show=False),
        Binding(
            "r",
            "reload",
            "刷新",
            tooltip="更新提醒状态并重新读取队列",
            id="queue.reload",
            show=False,
        ),
        Binding(
            "v",
            "switch_section",
            "科室",
            tooltip="主管：改看下一个科室的队列",
            id="queue.section",
            show=False,
        ),
        Binding("question_mark", "help", "帮助", tooltip="所有按键及说明", id="queue.help"),
    ]

    # The screen draws nothing of these itself (its widgets and the footer show them), so they
    # do not repaint it: a repaint of the screen redraws and resends every line of it, twice
    # per outcome key (busy on, busy off), one frame after the frame that mattered.
    claimed: reactive[QueueEntry | None] = reactive(None, bindings=True, repaint=False)
    """The entry this desk holds, if any; the outcome keys work on it."""
    busy: reactive[bool] = reactive(False, repaint=False)
    """A write is under way; keys that write wait for it (check_action refuses them)."""
    page_number: reactive[int] = reactive(0, bindings=True, repaint=False)
    """Which page of the queue is shown (from 0)."""
    only: reactive[QueueFilter] = reactive(NO_FILTER, repaint=False)
    """The list's filter."""

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self.entries: dict[int, QueueEntry] = {}
        self.briefing: Briefing | None = None
        """The briefing of the entry in view."""
        self.briefings: dict[int, tuple[Briefing, Script]] = {}
        """Briefings of this page's holders read so far (cleared when the page is read again)."""
        self.card_for: tuple[int, bool] | None = None
        """Whose card is drawn, and whether claimed: redrawing would clear the ticks."""
        self.drawn: tuple[QueueEntry, Briefing | None, bool] | None = None
        """What the detail pane shows: the entry, its briefing (if read), whether claimed."""
        self.reading_ahead: Worker[None] | None = None
        """The last prefetch of briefings."""
        self.page_read_ahead = False
        """The page's first rows are to be read ahead once its frame is drawn."""
        self.where = ""
        """The page part of the status line's counts."""
        self.tally: Tally | None = None
        self.counts_stale = False
        """The page was read again without its counts (after this desk's own write): they are
        read at the next pause."""
        self.said: str | None = None
        """What the status line says besides the counts; None when it shows no counts."""
        self.said_until = 0.0
        """Until when (monotonic) `said` comes before the counts."""
        self.held_since: tuple[int, datetime] | None = None
        """The holder claimed on screen and since when (the desk's clock): see _keep_claim."""
        self.flow = OutcomeFlow(self)
        self.records_stale = False
        """A holder was changed on a record screen over this one: read again on return."""

    def compose(self) -> ComposeResult:
        """Header, who is working, the queue, the entry and its card, the status line."""
        yield Header()
        yield Static(id="who")
        yield QueueTable(
            id="queue-table", cursor_type="row", zebra_stripes=True, follow=self._follow
        )
        with Horizontal(id="queue-bottom"):
            with VerticalScroll(id="entry-pane", can_focus=False):
                yield EntryDetail(id="queue-detail")
                yield Static(id="queue-note")
            yield InformCard(id="inform-card")
        yield Static(id="queue-status")
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Say who works, refresh the reminders, read the first page."""
        self.set_interval(IDLE, self._tidy)
        # Twice a lease: a claim held on screen is renewed before its lease can run out.
        self.set_interval(self.desk.settings.claim_lease_minutes * 30, self._keep_claim)
        self._show_who()
        self._status("正在更新提醒状态并读取队列…")
        self.load_page(refresh_first=True)

    def records_changed(self) -> None:
        """Contacts, marks or certificates were changed elsewhere: read the page on return."""
        self.records_stale = True

    def on_screen_resume(self) -> None:
        """Back from the records: drop what was read of the holders and read the page again
        (a number marked invalid, a holder marked 勿电话联系, a certificate added)."""
        if self.records_stale:
            self.records_stale = False
            self.briefings.clear()
            self.drawn = None  # the detail pane is drawn again once the page is read
            self.load_page()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Outcome keys need a claimed entry; no write key while another write runs."""
        if action in NEEDS_CLAIM and (self.claimed is None or self.busy):
            return None
        if action == "claim_next" and self.busy:
            return None
        if action == "retry_save":  # only shown while a save is pending
            return False if self.flow.unsaved is None else (None if self.busy else True)
        if action == "email":
            return True if self._can_email() else None
        if action == "page" and parameters == (-1,) and self.page_number == 0:
            return None
        if action == "switch_section":  # supervisors only; not while holding a call
            if not self.desk.viewer.sees_all:
                return False
            return None if self.claimed is not None or self.busy else True
        return True

    def _tidy(self) -> None:
        """Once staff pause (no key for `IDLE` seconds), take finished rows out of the list.

        Also puts the counts first on the status line again once a message has led it for
        `SAID_FIRST` seconds (in a pause too: no repaint lands between key presses).
        """
        quiet_since = getattr(self.app, "last_input", None)
        if quiet_since is None or time.monotonic() - quiet_since < IDLE or self.busy:
            return
        if self.said_until and time.monotonic() >= self.said_until:
            self.said_until = 0.0
            if self.said is not None:
                self._show_said()
        if self.counts_stale:
            self.counts_stale = False
            self.read_counts()
        table = self.query_one(QueueTable)
        if table.compact() and self.claimed is None:
            entry = self._in_view()
            if entry is not None:
                self._show_entry(entry)

    # --- actions -------------------------------------------------------------------------

    def action_claim_next(self) -> None:
        """Claim the next holder."""
        self.busy = True
        self.claim_next()

    def action_outcome(self, name: str) -> None:
        """One of the keys 1–8: open the outcome's dialog, or save it at once."""
        self.flow.start(Outcome(name))

    def action_note(self) -> None:
        """Write the note saved with the next outcome."""
        self.flow.edit_note()

    def action_retry_save(self) -> None:
        """Save again the outcome whose save failed."""
        self.flow.retry()

    def give_back_claim(self) -> None:
        """On quitting: the holder claimed with nothing recorded goes back to the queue now,
        not when the lease runs out, so colleagues of the section can call it meanwhile.

        A save still running keeps its claim (the outcome releases it). A failure here only
        goes to the log: quitting goes on, and the lease ends the claim anyway.
        """
        if self.claimed is None or self.busy:
            return
        try:
            self.desk.release(self.claimed)
        except Exception as exc:
            failure_text("退出时放回认领失败", exc)
        # Without watchers: the screen may be on its way out. A second call does nothing.
        self.set_reactive(QueueScreen.claimed, None)

    def on_unmount(self) -> None:
        """However the desk ends, the claim goes back: `q` gives it back before this, but a
        closed browser tab (`callqueue serve` ends its TUI with Textual's ExitApp) only
        unmounts the screens, and the holder stayed blocked for colleagues for the lease."""
        self.give_back_claim()

    def action_skip(self) -> None:
        """Give the claimed holder back to the queue."""
        if self.claimed is not None:
            if self.flow.note:
                self.notify("跳过后，本次备注未保存", severity="warning")
            self.busy = True
            self.release(self.claimed)

    def action_reload(self) -> None:
        """Refresh the reminders and read the page again."""
        self._status("正在刷新…")
        self.load_page(refresh_first=True)

    def action_page(self, step: int) -> None:
        """Show the next or previous page of the queue."""
        if step > 0 and len(self.entries) < PAGE_SIZE:
            self.notify("已是最后一页", timeout=2)
            return
        self.page_number = max(0, self.page_number + step)
        self._status(f"正在读取第 {self.page_number + 1} 页…")
        self.load_page()

    def action_filter(self) -> None:
        """Choose what the list shows."""
        self.app.push_screen(FilterDialog(self.desk, self.only), self._filter_chosen)

    def _filter_chosen(self, chosen: QueueFilter | None) -> None:
        if chosen is not None and chosen != self.only:
            self.only, self.page_number = chosen, 0
            self.load_page()

    def action_switch_section(self) -> None:
        """Supervisors: show the next section's queue."""
        self.busy = True
        self._status("正在切换科室…")
        self.switch_section()

    def action_help(self) -> None:
        """Show every key and what it does."""
        self.app.push_screen(HelpScreen(self))

    def _can_email(self) -> bool:
        """A claimed holder with a valid address (as far as its briefing says), and no write."""
        if self.claimed is None or self.busy:
            return False
        known = self.briefings.get(self.claimed.holder_id)
        return known is None or known[0].has_email

    def action_email(self) -> None:
        """Email the claimed holder now, then claim the next one."""
        if self.claimed is not None:
            if self.flow.note:
                self.notify("发送邮件不保存备注", severity="warning")
            self.busy = True
            self._say(f" · 正在给 {self.claimed.holder} 发送邮件…")
            self.send_email(self.claimed)

    # --- workers: database work only, then a message -------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-page")
    def load_page(self, refresh_first: bool = False) -> None:
        """Read the current page of the queue (after a refresh) and post it."""
        try:
            # The first read (and a refresh) opens on a section with a queue: a supervisor of
            # 政务服务科 starts on the first approval section, not on an empty list.
            desk = self.desk.opening() if refresh_first else self.desk
            page = desk.page(number=self.page_number, only=self.only, refresh_first=refresh_first)
        except Exception as exc:  # shown, the screen stays usable
            self.post_message(DeskFailed(failure_text("读取队列失败", exc)))
            return
        moved = desk if desk is not self.desk else None
        self.post_message(QueuePageLoaded(page.entries, page.tally, page.refreshed, moved))

    @work(thread=True, exclusive=True, exit_on_error=False, group="briefing")
    def read_briefing(self, entry: QueueEntry) -> None:
        """Read the entry's contacts, certificates, attempts and card."""
        try:
            found, script = self.desk.brief(entry)
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("读取联系人和记录失败", exc)))
            return
        self.post_message(BriefingRead(found, script))

    @work(thread=True, exclusive=True, exit_on_error=False, group="prefetch")
    def prefetch(self, entries: list[QueueEntry], wait: bool = True) -> None:
        """Read the briefings of the rows in view ahead of the cursor."""
        worker = get_current_worker()
        # Let the frame that asked for this be drawn first (unless started after it): reads in
        # a thread share the GIL with drawing, and slowed that frame by 20-40 ms on a busy
        # machine. Nothing waits for them.
        if wait:
            time.sleep(PREFETCH_DELAY)
        try:
            for entry in entries:
                found, script = self.desk.brief(entry)
                if worker.is_cancelled:  # a newer page is being read: these may be stale
                    return
                self.post_message(BriefingRead(found, script))
        except Exception:  # only a head start: the cursor reads what it needs itself
            log.debug("prefetch failed", exc_info=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-desk")
    def claim_next(self) -> None:
        """Claim the next entry and post it."""
        try:
            entry = self.desk.claim_next()
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("认领失败", exc)))
            return
        self.post_message(EntryClaimed(entry))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-desk")
    def switch_section(self) -> None:
        """Work out the next section this staff member may see, and post the desk for it."""
        try:
            desk = self.desk.next_section()
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("切换科室失败", exc)))
            return
        self.post_message(SectionSwitched(desk))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-desk")
    def release(self, entry: QueueEntry) -> None:
        """Release the claim, then read the page again."""
        try:
            self.desk.release(entry)
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("跳过失败", exc)))
            return
        self.post_message(ClaimClosed(f"已跳过 {entry.holder}，放回队列", self.fresh_page()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-desk")
    def send_email(self, entry: QueueEntry) -> None:
        """Queue (and send, with a mail server) the entry's emails, then claim the next holder."""
        try:
            message = self.desk.email(entry)
        except MailRefused as exc:  # nothing queued; the claim stays
            self.post_message(DeskFailed(str(exc)))
            return
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("发送邮件失败", exc)))
            return
        try:
            following = self.desk.claim_next()
        except Exception as exc:  # the email is queued all the same; `n` tries again
            message += f" · {failure_text('认领下一户失败', exc)}"
            following = None
        self.post_message(ClaimClosed(message, self.fresh_page(), following))

    def fresh_page(self) -> QueuePageLoaded | None:
        """The page after a write (in a worker); None, and the handler reads again, on failure."""
        try:
            page = self.desk.page(number=self.page_number, only=self.only, counts=False)
        except Exception:
            return None
        return QueuePageLoaded(page.entries, page.tally)

    @work(thread=True, exclusive=True, exit_on_error=False, group="counts")
    def read_counts(self) -> None:
        """Read the counts above the queue (in a pause, after this desk's own writes)."""
        try:
            counted = self.desk.counts()
        except Exception:  # only the counts: the next page read brings them
            log.debug("counts not read", exc_info=True)
            return
        self.post_message(CountsRead(counted))

    # --- handlers: the only place widgets change -----------------------------------------

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

    def _hold(self, entry: QueueEntry) -> None:
        """Make `entry` the claimed one on screen."""
        if self.held_since is None or self.held_since[0] != entry.holder_id:
            self.held_since = (entry.holder_id, self.desk.now())
        self.claimed = entry
        self.entries[entry.holder_id] = entry
        self.query_one(QueueTable).show_claimed(entry, self._marks(entry))
        self._show_entry(entry)

    def _keep_claim(self) -> None:
        """A long call keeps its holder: while the card is open the claim's lease is renewed.

        A desk that died renews nothing, so its lease runs out as before; a desk left open
        with a claim lets go after `claim_hold_max_minutes`, so a forgotten one does not keep
        the holder from colleagues all day.
        """
        entry = self.claimed
        if entry is None or self.held_since is None or self.held_since[0] != entry.holder_id:
            return
        most = timedelta(minutes=self.desk.settings.claim_hold_max_minutes)
        if self.desk.now() - self.held_since[1] < most:
            self.renew_claim(entry)

    @work(thread=True, exclusive=True, exit_on_error=False, group="claim-lease")
    def renew_claim(self, entry: QueueEntry) -> None:
        """Lengthen the claim's lease; say so only when another desk has the holder now."""
        try:
            kept = self.desk.renew(entry)
        except Exception as exc:  # the next tick tries again; the save says what is wrong
            failure_text("延长认领失败", exc)
            return
        self.post_message(ClaimRenewed(entry, kept))

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

    @on(DataTable.RowHighlighted, "#queue-table")
    def follow_cursor(self, event: DataTable.RowHighlighted) -> None:
        """Show the highlighted entry (usually already shown: the table told `_follow`)."""
        if event.row_key.value is not None:
            self._follow(int(event.row_key.value))

    def _follow(self, holder_id: int) -> None:
        """The cursor is on `holder_id`: show it, unless one is claimed (that one stays in view).

        Also reads ahead the briefings of the rows below, so that moving down draws from memory.
        """
        entry = self.entries.get(holder_id)
        if self.claimed is not None:
            return
        if entry is None:
            done = self.query_one(QueueTable).done.get(str(holder_id))
            if done is not None:
                self.query_one(EntryDetail).update(Text(f"{done}：已处理，稍后移出列表"))
                self.query_one(InformCard).show(None, None, claimed=False)
                self.card_for = self.drawn = None
            return
        known = self._briefing_of(entry)
        drawn = self.drawn
        if drawn is None or drawn[0] != entry or drawn[1] is not (known and known[0]) or drawn[2]:
            self._show_entry(entry)
        self._read_ahead(holder_id)

    def _prefetch_page(self) -> None:
        """Read the briefings of the page's first rows that are not read yet."""
        self.page_read_ahead = False
        entries = list(self.entries.values())[:PREFETCH]
        missing = [e for e in entries if e.holder_id not in self.briefings]
        if missing:
            self.reading_ahead = self.prefetch(missing, wait=False)

    def _read_ahead(self, holder_id: int) -> None:
        """Prefetch the rows below the cursor, a batch at a time, once some are not read yet."""
        if self.page_read_ahead:  # the page's own read-ahead comes first
            return
        if self.reading_ahead is not None and not self.reading_ahead.is_finished:
            return
        table = self.query_one(QueueTable)
        ahead = table.keys_after(holder_id, 2 * PREFETCH)
        if any(k not in self.briefings for k in ahead[:PREFETCH]):
            missing = [self.entries[k] for k in ahead if k in self.entries]
            self.reading_ahead = self.prefetch(
                [e for e in missing if e.holder_id not in self.briefings]
            )

    # --- drawing -------------------------------------------------------------------------

    def _in_view(self) -> QueueEntry | None:
        if self.claimed is not None:
            return self.claimed
        table = self.query_one(QueueTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.entries.get(int(key)) if key is not None else None

    def _briefing_of(self, entry: QueueEntry) -> tuple[Briefing, Script] | None:
        """The cached briefing of `entry`, if it covers the entry's reminders.

        A briefing covers the holder's callable certificates when it was read (`Desk.brief`),
        which may be more than a list entry names.

        A holder's entry can change under the same key: the claim takes every callable
        reminder of the holder, and a reminder may have come due since the list was read. A
        card drawn for fewer certificates than the outcome records would tell the holder less
        than the ledger then says they were told.
        """
        cached = self.briefings.get(entry.holder_id)
        if cached is None:
            return None
        shown, wanted = {c.reminder_id for c in cached[0].certificates}, set(entry.reminders)
        if self._is_claimed(entry):  # what the outcome records: exactly these
            return cached if shown == wanted else None
        return cached if shown >= wanted else None

    def _show_entry(self, entry: QueueEntry) -> None:
        """Draw the entry from the cache, or draw what is known and read the rest."""
        cached = self._briefing_of(entry)
        if cached is None:
            claimed = self._is_claimed(entry)
            self.query_one(EntryDetail).show(entry, None, claimed=claimed)
            self.drawn = (entry, None, claimed)
            self.read_briefing(entry)
            return
        self._draw(entry, *cached)

    def _grown(self, entry: QueueEntry) -> QueueEntry:
        """`entry` with the certificates its card's read found further down the order.

        The desk's page lists a holder with the rows it read (`Desk.page`); the card's read
        completes the entry (`Desk.brief`), and the list row then names them all too.
        """
        cached = self.briefings.get(entry.holder_id)
        if cached is None:
            return entry
        listed = set(entry.reminders)
        more = [c for c in cached[0].certificates if c.reminder_id not in listed]
        if not more or not listed <= {c.reminder_id for c in cached[0].certificates}:
            return entry
        return dataclasses.replace(
            entry,
            reminders=[*entry.reminders, *(c.reminder_id for c in more)],
            certificates=[*entry.certificates, *(c.certificate for c in more)],
        )

    def _is_claimed(self, entry: QueueEntry) -> bool:
        return self.claimed is not None and self.claimed.holder_id == entry.holder_id

    def _draw(self, entry: QueueEntry, found: Briefing, script: Script) -> None:
        """Detail and card for `entry`; the card is redrawn only when it changes (ticks stay)."""
        claimed = self._is_claimed(entry)
        self.briefing = found
        self.query_one(EntryDetail).show(entry, found, claimed=claimed)
        self.drawn = (entry, found, claimed)
        if self.card_for != (entry.holder_id, claimed):
            self.card_for = (entry.holder_id, claimed)
            self.query_one(InformCard).show(found, script, claimed=claimed)

    def _fill(self, page: QueuePageLoaded, *, changed: QueueEntry | None = None) -> None:
        """Show a page; after this desk's own outcome only `changed` holder's briefing is stale."""
        if changed is None:
            self.briefings.clear()  # a reload: other desks may have changed anything
        else:
            self.briefings.pop(changed.holder_id, None)
        entries = [self._grown(e) for e in page.entries]
        self.entries = {e.holder_id: e for e in entries}
        if any(e.holder_id not in self.briefings for e in entries[:PREFETCH]):
            # After the frame this page is drawn in: a fixed delay put the reads where the next
            # key's save and frame were (40 ms on, on a fast-typing desk).
            self.page_read_ahead = True
            self.call_after_refresh(self._prefetch_page)
        self.query_one(QueueTable).fill(
            entries,
            today=self.desk.today,
            marks={e.holder_id: self._marks(e) for e in entries},
        )
        if page.tally is None:
            self.counts_stale = True
        else:
            self.tally, self.counts_stale = page.tally, False
        self.where = f"第 {self.page_number + 1} 页 {len(entries)} 户"
        if self.only.active:
            self.where += f"（筛选：{describe(self.only, self.desk.today)}）"
        mine = [e for e in entries if e.claimed_by_id == self.desk.staff.id]
        if self.claimed is None and mine and not self.busy:
            self._hold(mine[0])  # a restarted desk picks up the call it was on
            return
        if self.claimed is None:
            self.query_one(QueueTable).step_off_done()
        entry = self._in_view()
        if entry is None:
            self.query_one(EntryDetail).update(
                Text("队列为空" if not self.only.active else "没有符合筛选的单位")
            )
            self.query_one(InformCard).nothing()
            self.card_for = self.drawn = None
        else:
            self._show_entry(entry)

    @property
    def counts(self) -> str:
        """The status line's counts: the page, then the section's work (the last counts read)."""
        t = self.tally
        if t is None and not self.where:
            return ""  # no page shown yet
        work = (
            f"待联系 {t.callable_now} · 今日已办 {t.done_today}（本人 {t.done_today_mine}）"
            f" · 已过申请截止 {t.past_apply_by}"
            if t is not None
            else "正在统计…"
        )
        return f"{self.where} · {work}"

    @on(CountsRead)
    def show_counts(self, message: CountsRead) -> None:
        """The counts were read again: the status line keeps what it said after them."""
        self.tally = message.tally
        if self.said is not None:  # else the line says something else (a failure, a wait)
            self._show_said()

    def _say(self, text: str) -> None:
        """The status line: the counts and `text` (" · what happened", or ""); a new `text`
        comes first for `SAID_FIRST` seconds, so that it is never cut off while it is news."""
        self.said = text
        self.said_until = time.monotonic() + SAID_FIRST if text else 0.0
        self._show_said()

    def _show_said(self) -> None:
        said, counts = (self.said or "").removeprefix(" · "), self.counts
        if said and self.said_until and counts:
            line = f"{said} · {counts}"
        else:
            line = counts + (f" · {said}" if said and counts else said)
        self.query_one("#queue-status", Static).update(Text(line))

    def show_note(self, note: str) -> None:
        """Show the pending note under the entry."""
        self.query_one("#queue-note", Static).update(
            Text(f"备注（随结果保存）：{note}" if note else "")
        )

    def _marks(self, e: QueueEntry) -> Text:
        marks = Text(" ".join(BADGES.get(b, b) for b in e.badges))
        if self._is_claimed(e):
            marks.append(" 认领中", style="bold green")
        elif e.claimed_by_id is not None:
            own = e.claimed_by_id == self.desk.staff.id
            marks.append(" 认领中" if own else " 他人处理中", style="green" if own else "dim")
        return marks

    def _status(self, text: str) -> None:
        self.said = None
        self.query_one("#queue-status", Static).update(Text(text))

    def _show_who(self) -> None:
        me, desk = self.desk.staff, self.desk
        where = desk.section + ("（v 切换科室）" if desk.viewer.sees_all else "")
        self.query_one("#who", Static).update(
            Text(f"{me.name} · {where} · 日期 {desk.today:%Y-%m-%d}")
        )
