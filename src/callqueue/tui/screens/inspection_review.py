"""Reviewing one inspection: each sampled reminder with its attempts, marked pass or problem."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import DataTable, Header, Static

from callqueue.models import InspectionStatus, Verdict
from callqueue.queue.inspection import (
    InspectionDetail,
    InspectionRefused,
    ItemView,
)
from callqueue.roles import NotAllowed
from callqueue.tui.desk import failure_text
from callqueue.tui.inspection_desk import InspectionDesk
from callqueue.tui.inspection_messages import (
    InspectionFailed,
    InspectionFinished,
    InspectionRead,
    VerdictSaved,
)
from callqueue.tui.office_desk import read_failure
from callqueue.tui.screens.confirm_note import NotedConfirmDialog
from callqueue.tui.screens.inspection_dialogs import ProblemDialog
from callqueue.tui.screens.side import SideScreen
from callqueue.tui.widgets.footer import CalmFooter

VERDICT_STYLES = {Verdict.PASS.value: "green", Verdict.PROBLEM.value: "bold red"}
NONE = "—"


def item_text(item: ItemView, total: int) -> Text:
    """Everything the supervisor reviews about one sampled reminder (user data never markup)."""
    out = Text()
    out.append(f"第 {item.position}/{total} 条 · ", style="bold")
    out.append(item.holder, style="bold")
    out.append(f"\n{item.certificate}")
    if item.certificate_number:
        out.append(f"（证书编号 {item.certificate_number}）")
    issued = f"{item.issued_on}" if item.issued_on else NONE
    out.append(
        f"\n颁发 {issued} · 期满 {item.expires_on} · 提醒日期 {item.remind_on} · "
        f"申请换证时限 {item.apply_by} · 当前状态 {item.state_label}"
    )
    out.append(f"\n\n提醒记录（{len(item.attempts)} 次）", style="bold")
    for n, a in enumerate(item.attempts, start=1):
        out.append(f"\n{n}. {a.at:%Y-%m-%d %H:%M} {a.staff} {a.channel_label} ")
        out.append(a.outcome_label, style="bold")
        out.append("\n   告知：" + ("、".join(a.conveyed_labels) or NONE))
        out.append("\n   材料已勾选：" + ("、".join(a.materials_ticked) or NONE))
        out.append("\n   备注：" + (a.note or NONE))
    out.append("\n\n检查结论：", style="bold")
    out.append(item.verdict_label, style=VERDICT_STYLES.get(item.verdict or "", "yellow"))
    if item.comment:
        out.append(f"：{item.comment}")
    if item.reviewer and item.reviewed_at:
        out.append(f"（{item.reviewer} {item.reviewed_at:%Y-%m-%d %H:%M}）", style="dim")
    return out


class InspectionReviewScreen(SideScreen):
    """逐条检查：one inspection's sampled reminders, one at a time."""

    CSS_PATH = "inspection.tcss"
    BINDINGS = [
        Binding("y", "verdict('pass')", "合格", tooltip="本条记为合格，转下一条", id="review.pass"),
        Binding(
            "x",
            "verdict('problem')",
            "有问题",
            tooltip="本条记为有问题（须写意见），转下一条",
            id="review.problem",
        ),
        Binding("n", "step(1)", "下一条", tooltip="下一条抽中的提醒", id="review.next"),
        Binding("p", "step(-1)", "上一条", tooltip="上一条抽中的提醒", id="review.prev"),
        Binding(
            "f",
            "finish",
            "结束检查",
            tooltip="全部条目都有结论后结束本次检查（可写总结）",
            id="review.finish",
        ),
        Binding("r", "reload", "刷新", tooltip="重新读取", id="review.reload", show=False),
    ]

    detail: reactive[InspectionDetail | None] = reactive(None, bindings=True)
    """The inspection as last read."""
    current: reactive[ItemView | None] = reactive(None, bindings=True)
    """The item in view; the keys act on it."""
    busy: reactive[bool] = reactive(False, bindings=True)
    """A save is under way."""

    def __init__(self, desk: InspectionDesk, inspection_id: int) -> None:
        super().__init__()
        self.desk = desk
        self.inspection_id = inspection_id
        # What the supervisor wrote for a save that has not succeeded yet (a problem's comment
        # by item id, the summary note): the dialog opens with it again, nothing is typed twice.
        self.drafts: dict[int, str] = {}
        self.note_draft = ""
        self.kept = ""  # said after a failed save: what was kept for the next try

    def compose(self) -> ComposeResult:
        """Header, the inspection, its items, the item in view, the status line."""
        yield Header()
        yield Static(id="review-head")
        yield DataTable(id="review-items", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="review-pane"):
            yield Static(id="review-item")
        yield Static(id="review-status")
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Set up the item list and read the inspection."""
        table = self.query_one(DataTable)
        table.add_column("序号", width=4)
        table.add_column("单位（个人）名称", width=34)
        table.add_column("许可证书名称", width=22)
        table.add_column("提醒", width=5)
        table.add_column("结论", width=7)
        table.add_column("检查意见", width=30)
        self.read(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Verdicts need an open inspection and an item; finishing needs every item reviewed."""
        d = self.detail
        open_ = d is not None and d.header.status == InspectionStatus.OPEN and not self.busy
        if action == "verdict":
            return True if open_ and self.current is not None else None
        if action == "finish":
            return True if open_ and d is not None and d.header.unreviewed == 0 else None
        if action == "step":
            return True if d is not None and len(d.items) > 1 else None
        return super().check_action(action, parameters)

    # --- actions ---------------------------------------------------------------------------

    def action_verdict(self, verdict: str) -> None:
        """Pass at once; a problem asks for the comment first."""
        item = self.current
        if item is None:
            return
        if verdict == Verdict.PASS:
            self._save(item, verdict, "")
            return
        self.app.push_screen(
            ProblemDialog(item.holder, self.drafts.get(item.id, item.comment)),
            lambda comment: None if comment is None else self._save(item, verdict, comment),
        )

    def _save(self, item: ItemView, verdict: str, comment: str) -> None:
        if verdict == Verdict.PROBLEM:
            self.drafts[item.id] = comment
            self.kept = "已写的检查意见已保留，按 x 重试"
        else:
            self.kept = ""
        self.busy = True
        self._status("正在保存…")
        self.save(item, verdict, comment)

    def action_step(self, step: int) -> None:
        """Show the next or previous item."""
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=(table.cursor_row + step) % table.row_count)

    def action_finish(self) -> None:
        """Ask for a summary note, then finish the inspection."""
        d = self.detail
        if d is None:
            return
        h = d.header
        title = Text(f"检查记录 {h.id} · {h.section}")
        question = f"结束本次检查？合格 {h.passed} 条，有问题 {h.problems} 条。结束后不能再修改。"
        self.app.push_screen(
            NotedConfirmDialog(title, question, self.note_draft),
            lambda note: None if note is None else self._finish(note),
        )

    def _finish(self, note: str) -> None:
        self.note_draft = note
        self.kept = "已写的总结已保留，按 f 重试" if note else ""
        self.busy = True
        self._status("正在保存…")
        self.close_inspection(note)

    def action_reload(self) -> None:
        """Read the inspection again."""
        self.read(self.current.id if self.current else None)

    # --- workers (no widgets here) ---------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="review-read")
    def read(self, focus: int | None) -> None:
        """Read the inspection and its items."""
        try:
            detail = self.desk.detail(self.inspection_id)
        except (InspectionRefused, NotAllowed) as exc:
            self.post_message(InspectionFailed(str(exc)))
            return
        except Exception as exc:  # shown; the screen stays usable
            self.post_message(InspectionFailed(read_failure("读取检查记录失败", exc)))
            return
        self.post_message(InspectionRead(detail, focus))

    @work(thread=True, exclusive=True, exit_on_error=False, group="review-write")
    def save(self, item: ItemView, verdict: str, comment: str) -> None:
        """Save one verdict in one transaction."""
        try:
            saved = self.desk.review(item.id, verdict, comment)
        except (InspectionRefused, NotAllowed) as exc:
            self.post_message(InspectionFailed(str(exc)))
            return
        except Exception as exc:  # nothing was written: one transaction
            self.post_message(InspectionFailed(failure_text("保存检查结论失败", exc)))
            return
        self.post_message(VerdictSaved(saved))

    @work(thread=True, exclusive=True, exit_on_error=False, group="review-write")
    def close_inspection(self, note: str) -> None:
        """Finish the inspection in one transaction."""
        try:
            header = self.desk.finish(self.inspection_id, note)
        except (InspectionRefused, NotAllowed) as exc:
            self.post_message(InspectionFailed(str(exc)))
            return
        except Exception as exc:  # nothing was written: one transaction
            self.post_message(InspectionFailed(failure_text("结束检查失败", exc)))
            return
        self.post_message(InspectionFinished(header))

    # --- messages --------------------------------------------------------------------------

    @on(InspectionRead)
    def show(self, message: InspectionRead) -> None:
        """Fill the item list and show the focused item (else the first unreviewed one)."""
        detail = message.detail
        self.detail = detail
        self.busy = False
        h = detail.header
        head = Text(f"检查记录 {h.id} · {h.section} · 检查人 {h.supervisor} · ")
        head.append(f"{h.created_at:%Y-%m-%d} · {h.status_label} · ")
        head.append(f"合格 {h.passed} · 有问题 {h.problems} · 未检查 {h.unreviewed}")
        if h.note:
            head.append(f" · 总结：{h.note}")
        self.query_one("#review-head", Static).update(head)
        table = self.query_one(DataTable)
        table.clear()
        for item in detail.items:
            table.add_row(
                Text(str(item.position)),
                Text(item.holder, overflow="ellipsis", no_wrap=True),
                Text(item.certificate, overflow="ellipsis", no_wrap=True),
                Text(f"{len(item.attempts)} 次"),
                Text(item.verdict_label, style=VERDICT_STYLES.get(item.verdict or "", "yellow")),
                Text(item.comment, overflow="ellipsis", no_wrap=True),
                key=str(item.id),
            )
        focus = message.focus
        if focus is None:
            focus = next((i.id for i in detail.items if i.verdict is None), None)
        index = next((n for n, i in enumerate(detail.items) if i.id == focus), 0)
        if detail.items:
            table.move_cursor(row=index)
            self._show_item(detail.items[index])
        table.focus()
        if h.status == InspectionStatus.FINISHED:
            self._status("本次检查已结束，只能查看")
        elif h.unreviewed == 0:
            self._status("全部条目都已有结论 · 按 f 结束检查")
        else:
            self._status("y 合格 · x 有问题 · n/p 下一条/上一条")

    @on(VerdictSaved)
    def saved(self, message: VerdictSaved) -> None:
        """Say what was saved and move on to the next item."""
        item = message.item
        self.drafts.pop(item.id, None)
        self.kept = ""
        self.notify(f"第 {item.position} 条：{item.verdict_label}", title="督促检查")
        detail = self.detail
        items = detail.items if detail else ()
        after = next((i.id for i in items if i.position == item.position + 1), item.id)
        self.read(after)

    @on(InspectionFinished)
    def finished(self, message: InspectionFinished) -> None:
        """Say the inspection is closed and read it again."""
        h = message.header
        self.note_draft = self.kept = ""
        self.notify(
            f"检查记录 {h.id} 已结束：合格 {h.passed}，有问题 {h.problems}", title="督促检查"
        )
        self.read(self.current.id if self.current else None)

    @on(InspectionFailed)
    def failed(self, message: InspectionFailed) -> None:
        """Say what went wrong, and what was kept for another try; keep the screen."""
        self.busy = False
        text = f"{message.message} · {self.kept}" if self.kept else message.message
        self.kept = ""
        self._status(text)
        self.notify(text, title="督促检查", severity="error")

    @on(DataTable.RowHighlighted)
    def follow_cursor(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted item is the one in view."""
        detail = self.detail
        if detail is None:
            return
        found = next((i for i in detail.items if str(i.id) == event.row_key.value), None)
        if found is not None:
            self._show_item(found)

    def _show_item(self, item: ItemView) -> None:
        self.current = item
        total = len(self.detail.items) if self.detail else 0
        self.query_one("#review-item", Static).update(item_text(item, total))
        self.query_one("#review-pane", VerticalScroll).scroll_home(animate=False)

    def _status(self, text: str) -> None:
        self.query_one("#review-status", Static).update(Text(text))
