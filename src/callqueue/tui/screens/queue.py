"""The call-queue screen: a page of the section's queue, claim the next holder, record outcomes."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from callqueue.models import Outcome
from callqueue.queue.claims import QueueEntry
from callqueue.queue.outcomes import CONVEYABLE, OUTCOME_LABELS, OutcomeInput
from callqueue.tui.desk import Desk, failure_text
from callqueue.tui.messages import (
    CallbackProposed,
    ClaimClosed,
    DeskFailed,
    EntryClaimed,
    QueuePageLoaded,
    SlotsRead,
)
from callqueue.tui.screens.dialogs import (
    AssistedDialog,
    CallbackDialog,
    Check,
    OutcomeDialog,
    RenewedDialog,
    SlotDialog,
    WrongNumberDialog,
)
from callqueue.tui.screens.reason import ReasonDialog

COLUMNS = (  # key, label, width (cells); sized to fit 120 columns
    ("holder", "单位（个人）名称", 32),
    ("certificates", "证书", 26),
    ("expires_on", "期满日期", 10),
    ("apply_by", "申请截止", 10),
    ("days_left", "剩余天数", 8),
    ("attempts", "已拨", 4),
    ("marks", "标记", 14),
)
BADGES = {"callback": "回电", "retry": "重拨", "late": "补录", "follow_up": "跟进"}
NEEDS_CLAIM = frozenset({o.value for o in Outcome} | {"skip"})  # action names = outcome values
KEYS_HINT = " · ".join(
    [*(f"{n} {OUTCOME_LABELS[o]}" for n, o in enumerate(Outcome, start=1)), "s 跳过"]
)


class QueueScreen(Screen[None]):
    """呼叫队列：one staff member's section queue."""

    BINDINGS = [
        Binding("n", "claim_next", "下一户", tooltip="认领队列中的下一户", id="queue.next"),
        Binding("1", "informed", "已告知", tooltip="已一次性告知五项内容", id="queue.informed"),
        Binding("2", "appointment", "已预约", tooltip="选择预约时段", id="queue.appointment"),
        Binding("3", "assisted", "帮办", tooltip="登记帮办代办及备注", id="queue.assisted"),
        Binding("4", "no_answer", "无人接听", tooltip="稍后重拨", id="queue.no_answer"),
        Binding("5", "callback", "约定回电", tooltip="约定回电日期和时间", id="queue.callback"),
        Binding(
            "6",
            "wrong_number",
            "号码有误",
            tooltip="第一个有效号码标记为有误",
            id="queue.wrong_number",
        ),
        Binding("7", "renewed", "已换证", tooltip="结案，可填新证日期", id="queue.renewed"),
        Binding("8", "not_renewing", "不再延续", tooltip="填写原因后结案", id="queue.not_renewing"),
        Binding("s", "skip", "跳过", tooltip="放回队列，不记录结果", id="queue.skip"),
        Binding("r", "reload", "刷新", tooltip="更新提醒状态并重新读取队列", id="queue.reload"),
    ]

    claimed: reactive[QueueEntry | None] = reactive(None, bindings=True)
    """The entry this desk holds, if any; the outcome keys work on it."""
    busy: reactive[bool] = reactive(False, bindings=True)
    """A write is under way; keys that write wait for it."""

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self.entries: dict[str, QueueEntry] = {}

    def compose(self) -> ComposeResult:
        """Header, who is working, the queue, the detail pane, the status line."""
        yield Header()
        yield Static(id="who")
        yield DataTable(id="queue-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="queue-detail")
        yield Static(id="queue-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Set up the table, refresh the reminders, read the first page."""
        me = self.desk.staff
        self.query_one("#who", Static).update(
            Text(f"{me.name} · {me.section} · 日期 {self.desk.today:%Y-%m-%d}")
        )
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self._status("正在更新提醒状态并读取队列…")
        self.load_page(refresh_first=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Outcome keys need a claimed entry; no write key while another write runs."""
        if action in NEEDS_CLAIM and (self.claimed is None or self.busy):
            return None
        if action == "claim_next" and self.busy:
            return None
        return True

    # --- actions -------------------------------------------------------------------------

    def action_claim_next(self) -> None:
        """Claim the next holder."""
        self.busy = True
        self.claim_next()

    def action_informed(self) -> None:
        """已告知: all five items conveyed."""
        self._save(Outcome.INFORMED, OutcomeInput(conveyed=CONVEYABLE))

    def action_no_answer(self) -> None:
        """无人接听."""
        self._save(Outcome.NO_ANSWER, OutcomeInput())

    def action_not_renewing(self) -> None:
        """不再延续: ask for the reason first."""
        if self.claimed is not None:
            self.app.push_screen(ReasonDialog(self.claimed.holder), self._reason_given)

    def _reason_given(self, reason: str | None) -> None:
        if reason:
            self._save(Outcome.NOT_RENEWING, OutcomeInput(reason=reason))

    def action_appointment(self) -> None:
        """已预约: read the free slots, then let staff pick one."""
        if self.claimed is not None and not self.busy:
            self.busy = True
            self.read_slots()

    def action_assisted(self) -> None:
        """帮办代办: notes; the helper is this desk's staff member."""
        me = self.desk.staff
        self._ask(Outcome.ASSISTED, lambda h, c: AssistedDialog(h, c, me.id, me.name))

    def action_callback(self) -> None:
        """约定回电: work out the usual time, then let staff change it."""
        if self.claimed is not None and not self.busy:
            self.busy = True
            self.read_callback_proposal()

    def action_wrong_number(self) -> None:
        """号码有误: confirm first."""
        self._ask(Outcome.WRONG_NUMBER, WrongNumberDialog)

    def action_renewed(self) -> None:
        """已换证: the new certificate's dates, if known."""
        self._ask(Outcome.RENEWED, RenewedDialog)

    def _ask(self, outcome: Outcome, dialog: Callable[[str, Check], OutcomeDialog]) -> None:
        """Open the outcome's dialog; it checks with the service, and this screen saves."""
        entry = self.claimed
        if entry is None or self.busy:
            return

        def check(data: OutcomeInput) -> str | None:
            return self.desk.refusal(entry, outcome, data)

        def chosen(data: OutcomeInput | None) -> None:
            if data is not None:
                self._save(outcome, data)

        self.app.push_screen(dialog(entry.holder, check), chosen)

    def action_skip(self) -> None:
        """Give the claimed holder back to the queue."""
        if self.claimed is not None:
            self.busy = True
            self.release(self.claimed)

    def action_reload(self) -> None:
        """Refresh the reminders and read the page again."""
        self._status("正在刷新…")
        self.load_page(refresh_first=True)

    def _save(self, outcome: Outcome, data: OutcomeInput) -> None:
        if self.claimed is not None and not self.busy:
            self.busy = True
            self.save_outcome(self.claimed, outcome, data)

    # --- workers: database work only, then a message -------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-page")
    def load_page(self, refresh_first: bool = False) -> None:
        """Read a page of the queue (after a refresh) and post it."""
        try:
            page = self.desk.page(refresh_first=refresh_first)
        except Exception as exc:  # shown, the screen stays usable
            self.post_message(DeskFailed(failure_text("读取队列失败", exc)))
            return
        self.post_message(QueuePageLoaded(page.entries, page.refreshed))

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
    def save_outcome(self, entry: QueueEntry, outcome: Outcome, data: OutcomeInput) -> None:
        """Record the outcome on every reminder of the entry, then read the page again."""
        try:
            results = self.desk.record(entry, outcome, data)
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("保存结果失败", exc)))
            return
        said = results[0].message if results else OUTCOME_LABELS[outcome]
        count = f"（{len(results)} 张证书）" if len(results) > 1 else ""
        self.post_message(ClaimClosed(f"{entry.holder}：{said}{count}", self._fresh_page()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-desk")
    def read_callback_proposal(self) -> None:
        """Work out the usual callback time from the office calendar."""
        try:
            at = self.desk.callback_proposal()
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("读取工作日失败", exc)))
            return
        self.post_message(CallbackProposed(at))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-desk")
    def read_slots(self) -> None:
        """Read the section's next free appointment slots."""
        try:
            slots = self.desk.free_slots()
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("读取预约时段失败", exc)))
            return
        self.post_message(SlotsRead(slots))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-desk")
    def release(self, entry: QueueEntry) -> None:
        """Release the claim, then read the page again."""
        try:
            self.desk.release(entry)
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("跳过失败", exc)))
            return
        self.post_message(ClaimClosed(f"已跳过 {entry.holder}，放回队列", self._fresh_page()))

    def _fresh_page(self) -> list[QueueEntry] | None:
        """The page after a write; None (and the handler reads again) if reading fails."""
        try:
            return self.desk.page().entries
        except Exception:
            return None

    # --- handlers: the only place widgets change -----------------------------------------

    @on(QueuePageLoaded)
    def show_page(self, message: QueuePageLoaded) -> None:
        """Fill the table; say what a refresh changed."""
        self._fill(message.entries)
        note = ""
        if message.refreshed is not None and message.refreshed.changed:
            r = message.refreshed
            note = f" · 已更新：转为待联系 {r.due}，需跟进 {r.follow_ups}，已过期 {r.lapsed}"
        self._status(self._counts() + note)

    @on(EntryClaimed)
    def show_claim(self, message: EntryClaimed) -> None:
        """Show and mark the claimed entry."""
        self.busy = False
        entry = message.entry
        if entry is None:
            self._status(self._counts() + " · 队列中没有待联系的单位")
            self.notify("队列中没有待联系的单位", title="认领")
            return
        self.claimed = entry
        key = str(entry.holder_id)
        self.entries[key] = entry
        table = self.query_one(DataTable)
        if key in (row.value for row in table.rows):
            table.update_cell(key, "marks", self._marks(entry))
            table.update_cell(
                key, "holder", Text(f"▶ {entry.holder}", style="bold", overflow="ellipsis")
            )
            table.move_cursor(row=table.get_row_index(key))
        self._detail(entry)
        self._status(self._counts() + f" · 认领中：{entry.holder}")

    @on(ClaimClosed)
    def claim_closed(self, message: ClaimClosed) -> None:
        """Clear the claim and show the fresh page."""
        self.busy = False
        self.claimed = None
        if message.entries is None:
            self.load_page()
        else:
            self._fill(message.entries)
        self._status(self._counts() + f" · {message.message}")
        self.notify(message.message, title="已保存")

    @on(CallbackProposed)
    def ask_callback(self, message: CallbackProposed) -> None:
        """Open the callback dialog with the proposed time."""
        self.busy = False
        self._ask(Outcome.CALLBACK, lambda h, c: CallbackDialog(h, c, message.at))

    @on(SlotsRead)
    def ask_slot(self, message: SlotsRead) -> None:
        """Open the slot dialog with the free slots."""
        self.busy = False
        self._ask(Outcome.APPOINTMENT, lambda h, c: SlotDialog(h, c, message.slots))

    @on(DeskFailed)
    def show_failure(self, message: DeskFailed) -> None:
        """Say what went wrong; keep the screen and any claim."""
        self.busy = False
        self._status(message.message)
        self.notify(message.message, severity="error")

    @on(DataTable.RowHighlighted, "#queue-table")
    def follow_cursor(self, event: DataTable.RowHighlighted) -> None:
        """Show the highlighted entry, unless one is claimed (that one stays in view)."""
        if self.claimed is not None:
            return
        entry = self.entries.get(str(event.row_key.value))
        if entry is not None:
            self._detail(entry)

    # --- drawing -------------------------------------------------------------------------

    def _fill(self, entries: list[QueueEntry]) -> None:
        self.entries = {str(e.holder_id): e for e in entries}
        table = self.query_one(DataTable)
        table.clear()
        today = self.desk.today
        for e in entries:
            left = (e.apply_by - today).days if e.apply_by else None
            style = "bold red" if left is not None and left < 0 else ""
            if left is not None and 0 <= left <= 10:
                style = "bold yellow"
            table.add_row(
                Text(e.holder, overflow="ellipsis", no_wrap=True),
                Text(_certificates(e), overflow="ellipsis", no_wrap=True),
                Text(f"{e.expires_on:%Y-%m-%d}" if e.expires_on else ""),
                Text(f"{e.apply_by:%Y-%m-%d}" if e.apply_by else ""),
                Text("" if left is None else str(left), style=style, justify="right"),
                Text(str(e.attempts), justify="right"),
                self._marks(e),
                key=str(e.holder_id),
            )
        if entries:
            self._detail(entries[0])
        else:
            self.query_one("#queue-detail", Static).update(Text("队列为空"))

    def _marks(self, e: QueueEntry) -> Text:
        marks = Text(" ".join(BADGES.get(b, b) for b in e.badges))
        if self.claimed is not None and self.claimed.holder_id == e.holder_id:
            marks.append(" 认领中", style="bold green")
        elif e.claimed_by_id is not None:
            own = e.claimed_by_id == self.desk.staff.id
            marks.append(" 认领中" if own else " 他人处理中", style="green" if own else "dim")
        return marks

    def _detail(self, e: QueueEntry) -> None:
        claimed = self.claimed is not None and self.claimed.holder_id == e.holder_id
        lines = Text()
        if claimed:
            lines.append("认领中 ", style="bold reverse green")
        lines.append(f"{e.holder}\n", style="bold")
        lines.append(f"证书：{'、'.join(e.certificates)}\n")
        lines.append(f"期满日期：{e.expires_on or '—'}    申请换证截止：{e.apply_by or '—'}\n")
        badges = "、".join(BADGES.get(b, b) for b in e.badges) or "—"
        lines.append(f"已拨 {e.attempts} 次    标记：{badges}")
        if claimed:
            lines.append(f"\n{KEYS_HINT}", style="dim")
        self.query_one("#queue-detail", Static).update(lines)

    def _counts(self) -> str:
        callbacks = sum(1 for e in self.entries.values() if "callback" in e.badges)
        text = f"本页 {len(self.entries)} 户"
        return text + (f"（其中回电 {callbacks} 户）" if callbacks else "")

    def _status(self, text: str) -> None:
        self.query_one("#queue-status", Static).update(Text(text))


def _certificates(e: QueueEntry) -> str:
    """The first certificate's name, and how many more (the detail pane lists them all)."""
    if len(e.certificates) <= 1:
        return "".join(e.certificates)
    return f"{e.certificates[0]} 等{len(e.certificates)}张"
