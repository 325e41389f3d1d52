"""The 一次性告知 card: the words to say, and the materials as a checklist ticked while saying them."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import SelectionList, Static

from callqueue.queue.briefing import Briefing
from callqueue.queue.script import Script
from callqueue.tui.widgets.snug import SnugStatic


class InformCard(VerticalScroll, can_focus=False):
    """The script for the entry in view; its checklist is live while the entry is claimed.

    It scrolls when the terminal is too short for the words and the checklist (80×24).
    """

    def compose(self) -> ComposeResult:
        """The words, the warnings, the checklist."""
        yield SnugStatic(id="inform-words")
        yield SelectionList[str](id="materials")

    def on_mount(self) -> None:
        """No materials until an entry is shown."""
        self.materials: list[str] = []

    def show(self, b: Briefing | None, script: Script | None, *, claimed: bool) -> None:
        """Fill the card; the ticks start empty for every newly claimed entry.

        While browsing (nothing claimed) the materials are plain lines of the text; the live
        checklist is only built for a claimed entry, which keeps cursor moves cheap.
        """
        words = self.query_one("#inform-words", Static)
        checklist = self.query_one("#materials", SelectionList)
        materials = list(b.materials) if b is not None and script is not None and claimed else []
        # The next holder usually needs the same materials: the list stays (only its ticks and
        # highlight go back), so the screen is neither laid out nor the list drawn again.
        keep = bool(materials) and materials == self.materials and checklist.display
        if not keep:
            if self.materials or checklist.option_count:
                checklist.clear_options()
            self.materials = []
            checklist.display = False
        if b is None or script is None:
            words.update(Text("一次性告知：正在读取…", style="dim"))
            return
        t = Text()
        t.append("一次性告知", style="bold underline")
        for warning in script.warnings:
            t.append(f"\n! {warning}", style="bold red")
        t.append("\n" + script.opening)
        for paragraph in script.paragraphs:
            t.append("\n" + paragraph)
        t.append("\n" + script.closing)
        if b.materials and not claimed:
            t.append("\n材料清单（认领后逐项勾选）", style="bold")
            for material in b.materials:
                t.append(f"\n  □ {material}")
        elif b.materials:
            t.append("\n材料清单（Tab 进入，空格勾选，讲一项勾一项）", style="bold")
        words.update(t)
        if keep:
            if checklist.selected:
                checklist.deselect_all()
            if checklist.highlighted != 0:
                checklist.highlighted = 0
        elif materials:
            self.materials = materials
            checklist.add_options([(Text(m), m) for m in materials])
            checklist.highlighted = 0
            checklist.display = True

    def nothing(self) -> None:
        """No entry to show (the queue, or the filtered list, is empty): no words, no checklist."""
        self.show(None, None, claimed=False)
        self.query_one("#inform-words", Static).update(
            Text("一次性告知：没有要联系的单位", style="dim")
        )

    @property
    def ticked(self) -> list[str]:
        """The materials ticked so far, in list order."""
        chosen = set(self.query_one("#materials", SelectionList).selected)
        return [m for m in self.materials if m in chosen]
