"""The command palette (Ctrl+P) in Chinese: the screen's keys that work now, by name."""

from __future__ import annotations

from rich.align import Align
from rich.text import Text
from textual.command import CommandList, CommandPalette
from textual.widgets.option_list import Option

PLACEHOLDER = "输入功能名称，例如：预约、查找、导入…"
NO_MATCHES = "没有这样的功能（当前可用的操作才会列出）"


class Palette(CommandPalette):
    """Textual's command palette with its own words in Chinese."""

    def __init__(self) -> None:
        super().__init__(placeholder=PLACEHOLDER, id="--command-palette")

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual's own (pinned 8.2.8) with the words changed: it writes "No matches found"
        # from inside this method, and nothing else sets that text.
        self._stop_no_matches_countdown()

        def _show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text(NO_MATCHES, style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, _show_no_matches)
