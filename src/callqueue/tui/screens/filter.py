"""The list filter of the call screen: by state, certificate kind and days left to apply-by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from callqueue.catalog import CatalogEntry
from callqueue.queue.claims import FILTER_KINDS, NO_FILTER, QueueFilter
from callqueue.tui.desk import Desk, failure_text

MAX_DAYS = 3650


def describe(only: QueueFilter, today: date) -> str:
    """The filter in words for the status line."""
    parts = []
    if only.kind:
        parts.append(FILTER_KINDS[only.kind])
    if only.catalog_item_id is not None:
        parts.append("指定证书")
    if only.apply_by_until is not None:
        parts.append(f"剩余 ≤ {(only.apply_by_until - today).days} 天")
    return "、".join(parts) or "无"


@dataclass
class ItemsRead(Message):
    """The section's catalog items were read (or could not be: `error`)."""

    items: list[CatalogEntry]
    error: str | None = None


class FilterDialog(ModalScreen[QueueFilter | None]):
    """Choose what the list shows; `n` still claims in queue order."""

    BINDINGS = [
        Binding("escape", "cancel", "取消", tooltip="不改变筛选", id="filter.cancel"),
        Binding("ctrl+r", "clear", "清除", tooltip="清除所有筛选条件", id="filter.clear"),
    ]

    def __init__(self, desk: Desk, current: QueueFilter) -> None:
        super().__init__()
        self.desk = desk
        self.current = current

    def compose(self) -> ComposeResult:
        """State, certificate, days left, the error line, the hint."""
        days = ""
        if self.current.apply_by_until is not None:
            days = str((self.current.apply_by_until - self.desk.today).days)
        with Vertical(classes="dialog-box"):
            yield Label(Text("筛选列表"), classes="dialog-title")
            yield Label("状态")
            yield Select(
                [(label, key) for key, label in FILTER_KINDS.items()],
                value=self.current.kind,
                allow_blank=False,
                id="filter-kind",
            )
            yield Label("证书")
            yield Select[int]([], prompt="全部证书", id="filter-item")
            yield Label("距申请截止的天数不超过（可不填；填 0 只看今天截止及已过截止的）")
            yield Input(value=days, placeholder="例如 30", id="filter-days")
            yield Static(id="dialog-error")
            yield Static(
                Text(
                    "在天数栏回车应用 · Tab 切换 · Ctrl+R 清除 · Esc 取消\n筛选只改变列表，n 仍按队列顺序认领"
                ),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        """Read the certificate kinds."""
        self.read_items()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def read_items(self) -> None:
        """The section's catalog items, in a thread."""
        try:
            items = self.desk.catalog()
        except Exception as exc:
            self.post_message(ItemsRead([], failure_text("读取证书目录失败", exc)))
            return
        self.post_message(ItemsRead(items))

    @on(ItemsRead)
    def fill_items(self, message: ItemsRead) -> None:
        """Offer the certificate kinds."""
        if message.error:
            self.query_one("#dialog-error", Static).update(Text(message.error))
        select = self.query_one("#filter-item", Select)
        select.set_options([(i.certificate_name, i.id) for i in message.items])
        if self.current.catalog_item_id in {i.id for i in message.items}:
            select.value = self.current.catalog_item_id

    @on(Input.Submitted, "#filter-days")
    def apply(self) -> None:
        """Check the days and close with the filter."""
        text = self.query_one("#filter-days", Input).value.strip()
        until = None
        if text:
            try:
                days = int(text)
            except ValueError:
                days = MAX_DAYS + 1
            if abs(days) > MAX_DAYS:
                self.query_one("#filter-days", Input).focus()
                self.query_one("#dialog-error", Static).update(
                    Text(f"天数无效：“{text}”，请填写 -{MAX_DAYS} 到 {MAX_DAYS} 之间的整数，或留空")
                )
                return
            until = self.desk.today + timedelta(days=days)
        kind = self.query_one("#filter-kind", Select).value
        item = self.query_one("#filter-item", Select).value
        self.dismiss(
            QueueFilter(
                kind=kind if isinstance(kind, str) else "",
                catalog_item_id=item if isinstance(item, int) else None,
                apply_by_until=until,
            )
        )

    def action_clear(self) -> None:
        """Close with no filter."""
        self.dismiss(NO_FILTER)

    def action_cancel(self) -> None:
        """Close, keeping the filter as it was."""
        self.dismiss(None)
