"""What the call screen holds (its reactives, the page and briefings read) and its status line."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker

from callqueue.queue.briefing import Briefing
from callqueue.queue.claims import NO_FILTER, QueueEntry, QueueFilter
from callqueue.queue.script import Script
from callqueue.queue.tally import Tally
from callqueue.tui.desk import Desk

if TYPE_CHECKING:
    from callqueue.tui.screens.outcome_keys import OutcomeFlow

SAID_FIRST = 8.0
"""Seconds what just happened leads the status line; then the counts lead again (behind them
it was cut off at 120 columns, where staff must read what was saved)."""


class QueueState(Screen[None]):
    """The state under `QueueScreen`, and the status line that reports it."""

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

    flow: OutcomeFlow
    """The outcome keys' dialogs and saves (made by `QueueScreen`, which they work for)."""

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
        self.records_stale = False
        """A holder was changed on a record screen over this one: read again on return."""

    # --- the status line -----------------------------------------------------------------

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

    def _status(self, text: str) -> None:
        self.said = None
        self.query_one("#queue-status", Static).update(Text(text))

    def _show_who(self) -> None:
        me, desk = self.desk.staff, self.desk
        where = desk.section + ("（v 切换科室）" if desk.viewer.sees_all else "")
        self.query_one("#who", Static).update(
            Text(f"{me.name} · {where} · 日期 {desk.today:%Y-%m-%d}")
        )
