"""Help: every key of the screen below and of the app, with what it does."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
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
    "pagedown": "PgDn",
    "pageup": "PgUp",
}


def key_name(key: str) -> str:
    """A key as staff read it on the keyboard (`/` and `]`, not `slash`, `right_square_bracket`)."""
    if key.startswith("ctrl+"):
        return "Ctrl+" + key_name(key.removeprefix("ctrl+")).upper()
    return KEY_NAMES.get(key) or key_to_character(key) or key


def _key(binding: Binding) -> str:
    return "、".join(key_name(k) for k in binding.key.split(","))


def _ours(bindings: Iterable[object]) -> Iterator[Binding]:
    """The bindings staff read about: named in Chinese (not Textual's own Focus Next, Copy…)."""
    for b in bindings:
        if isinstance(b, Binding) and b.description and not b.description.isascii():
            yield b


def help_rows(app: App[Any], screen: Screen[Any]) -> list[tuple[str, str, str]]:
    """Key, name, explanation of every key of `screen` and of the app's keys that work there.

    The screen's own keys include those of the screens it is built on (Esc 返回 of a side
    screen), a subclass's binding of a key replacing its base's, less those the screen's
    `never_offered()` names, if it has one. Of the app's keys, those
    hidden on this screen are left out (the key of the screen itself, search before
    signing in). Call it while `screen` is the app's screen: what the app allows depends on it.
    """
    found: dict[str, Binding] = {}
    # Keys the screen never offers this member of staff (a caller's `v 科室`); keys only
    # unavailable for now (an outcome before a claim, Ctrl+S with nothing to save) stay.
    never: frozenset[str] = getattr(screen, "never_offered", frozenset)()
    for cls in reversed(type(screen).__mro__):
        for b in _ours(cls.__dict__.get("BINDINGS", ())):
            if b.action not in never:
                found[b.key] = b
    for b in _ours(app.BINDINGS):
        if b.key not in found and app.check_action(b.action, ()) is not False:
            found[b.key] = b
    return [(_key(b), b.description, b.tooltip or "") for b in found.values()]


class HelpScreen(ModalScreen[None]):
    """帮助：the keys of the screen it was opened from, and of the app; notes on that screen."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "关闭", tooltip="关闭帮助", id="help.close")
    ]

    def __init__(self, rows: list[tuple[str, str, str]], notes: Sequence[str] = ()) -> None:
        super().__init__()
        self.rows = rows
        """Key, name, explanation: see `help_rows`."""
        self.notes = notes
        """What the screen below shows, in a few sentences."""

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
        with VerticalScroll(classes="dialog-box", id="help-box") as box:
            # In the frame, not a line of its own: the call screen's keys and notes fill 120×40.
            box.border_title = "帮助（↑↓ 翻看 · Esc 关闭）"
            yield Static(table)
            if self.notes:
                with Vertical(id="help-notes"):
                    for note in self.notes:
                        yield Static(Text(note), classes="help-note")

    def action_close(self) -> None:
        """Back to the screen below."""
        self.dismiss(None)
