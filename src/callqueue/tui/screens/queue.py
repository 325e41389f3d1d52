"""The call-queue screen: a page of the section's queue, the entry in view, outcomes by key.

`QueueScreen` holds the keys: its bindings, what they do, and its timers. It stands on layers,
one module each: `queue_state` (what it holds, the status line), `queue_workers` (the reads and
writes), `queue_view` (the list, detail pane and card), `queue_handlers` (the workers' messages).
The outcome actions and their dialogs live in `outcome_keys.py`.
"""

from __future__ import annotations

import time
from datetime import timedelta

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Header, Static

from callqueue.models import Outcome
from callqueue.queue.claims import QueueFilter
from callqueue.tui.collector import IDLE
from callqueue.tui.desk import PAGE_SIZE, Desk, failure_text
from callqueue.tui.screens.filter import FilterDialog
from callqueue.tui.screens.outcome_keys import NEEDS_CLAIM, OUTCOME_BINDINGS, OutcomeFlow
from callqueue.tui.screens.queue_handlers import QueueHandlers
from callqueue.tui.widgets.entry_detail import EntryDetail
from callqueue.tui.widgets.footer import CalmFooter
from callqueue.tui.widgets.inform_card import InformCard
from callqueue.tui.widgets.queue_table import QueueTable

NOTES = (
    "列表按队列顺序排列：到时的回电（本人的优先）→ 待联系和到时的重拨（按申请截止日、期满日、已拨次数）。",
    "标记：回电＝约定的回电时间已到；重拨＝无人接听后到了重拨时间；补录＝导入时提醒日已过；"
    "跟进＝已告知但尚未换证，申请截止前再次跟进；认领中＝本人正在联系；"
    "他人处理中＝其他人正在联系该单位（不论哪个科室）。",
    "剩余天数：距申请截止日的天数；黄色为 10 天以内，红色为已过截止日。",
    "一次性告知：按右侧卡片逐项讲清期满日期、申请截止日期、办理地点、咨询电话和所需材料，"
    "讲到一项材料就在清单中勾选（Tab 进入清单，空格勾选，Esc 回到列表），再按 1 保存。",
)
"""What the help (`?`) says of the call screen besides its keys."""
EMAIL_HELP = "向认领的单位发送一次性告知邮件，然后认领下一户（单位需有有效邮箱）"


class QueueScreen(QueueHandlers):
    """呼叫队列：one staff member's section queue."""

    HELP_NOTES = NOTES

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
        Binding("question_mark", "app.help", "帮助", tooltip="本界面的按键及说明", id="queue.help"),
        Binding(
            "escape",
            "focus_list",
            "回到列表",
            tooltip="从材料清单回到队列列表（已勾选的保留）",
            id="queue.list",
            show=False,
        ),
    ]

    def __init__(self, desk: Desk) -> None:
        super().__init__(desk)
        self.flow = OutcomeFlow(self)

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

    def never_offered(self) -> frozenset[str]:
        """Actions this desk never offers (left out of the help): `v` is for supervisors."""
        return frozenset() if self.desk.viewer.sees_all else frozenset({"switch_section"})

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
        if action in self.never_offered():
            return False
        if action == "switch_section":  # supervisors only; not while holding a call
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

    # --- actions -------------------------------------------------------------------------

    def action_claim_next(self) -> None:
        """Claim the next holder."""
        self.busy = True
        self.claim_next()

    def action_outcome(self, name: str) -> None:
        """One of the keys 1–8: open the outcome's dialog, or save it at once."""
        self.flow.start(Outcome(name))

    def action_focus_list(self) -> None:
        """Esc: back from the checklist to the list, as Esc goes back elsewhere."""
        self.query_one(QueueTable).focus()

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
