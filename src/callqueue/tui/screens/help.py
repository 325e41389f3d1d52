"""Help: every key of the screen below and of the app, with what it does."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.keys import key_to_character
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "escape": "Esc",
    "enter": "回车",
    "ctrl+s": "Ctrl+S",
    "ctrl+p": "Ctrl+P",
}
NOTES = (
    "列表按队列顺序排列：到时的回电（本人的优先）→ 待联系和到时的重拨（按申请截止日、期满日、已拨次数）。",
    "标记：回电＝约定的回电时间已到；重拨＝无人接听后到了重拨时间；补录＝导入时提醒日已过；"
    "跟进＝已告知但尚未换证，申请截止前再次跟进；他人处理中＝同科室其他人正在通话。",
    "剩余天数：距申请截止日的天数；黄色为 10 天以内，红色为已过截止日。",
    "一次性告知：按右侧卡片逐项讲清期满日期、申请截止日期、办理地点、咨询电话和所需材料，"
    "讲到一项材料就在清单中勾选（Tab 进入清单，空格勾选），再按 1 保存。",
)


def key_name(key: str) -> str:
    """A key as staff read it on the keyboard (`/` and `]`, not `slash`, `right_square_bracket`)."""
    return KEY_NAMES.get(key) or key_to_character(key) or key


def _key(binding: Binding) -> str:
    return "、".join(key_name(k) for k in binding.key.split(","))


class HelpScreen(ModalScreen[None]):
    """帮助：the keys of the screen it was opened from, and of the app."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "关闭", tooltip="关闭帮助", id="help.close")
    ]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    @property
    def rows(self) -> list[tuple[str, str, str]]:
        """Key, name, explanation of every binding of the screen below and of the app."""
        bindings = [*self.under.BINDINGS, *self.app.BINDINGS]
        return [
            (_key(b), b.description, b.tooltip or "")
            for b in bindings
            if isinstance(b, Binding) and b.description
        ]

    def compose(self) -> ComposeResult:
        """A table of keys, then notes."""
        table = Table(show_header=True, header_style="bold", box=None, expand=True)
        table.add_column("按键", no_wrap=True)
        table.add_column("功能", no_wrap=True)
        # Chinese has no spaces to wrap at: without folding, a long explanation lost its end
        # to an ellipsis in a narrow terminal.
        table.add_column("说明", overflow="fold")
        for row in self.rows:
            table.add_row(row[0], row[1], Text(row[2]))
        with VerticalScroll(classes="dialog-box", id="help-box"):
            yield Static(Text("帮助（↑↓ 翻看 · Esc 关闭）", style="bold"))
            yield Static(table)
            with Vertical(id="help-notes"):
                for note in NOTES:
                    yield Static(Text(note), classes="help-note")

    def action_close(self) -> None:
        """Back to the screen below."""
        self.dismiss(None)
