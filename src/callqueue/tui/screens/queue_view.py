"""The call screen's list, detail pane and card: filling the page and following the cursor."""

from __future__ import annotations

import dataclasses

from rich.text import Text
from textual import on
from textual.widgets import DataTable

from callqueue.queue.briefing import Briefing
from callqueue.queue.claims import QueueEntry
from callqueue.queue.script import Script
from callqueue.tui.messages import QueuePageLoaded
from callqueue.tui.screens.filter import describe
from callqueue.tui.screens.queue_workers import QueueWorkers
from callqueue.tui.widgets.entry_detail import EntryDetail
from callqueue.tui.widgets.inform_card import InformCard
from callqueue.tui.widgets.queue_table import BADGES, QueueTable

PREFETCH = 15  # about the rows a 40-line terminal shows


class QueueView(QueueWorkers):
    """Draws the page, the entry in view and its card for `QueueScreen`."""

    # --- following the cursor ------------------------------------------------------------

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

    def _hold(self, entry: QueueEntry) -> None:
        """Make `entry` the claimed one on screen."""
        if self.held_since is None or self.held_since[0] != entry.holder_id:
            self.held_since = (entry.holder_id, self.desk.now())
        self.claimed = entry
        self.entries[entry.holder_id] = entry
        self.query_one(QueueTable).show_claimed(entry, self._marks(entry))
        self._show_entry(entry)

    def _marks(self, e: QueueEntry) -> Text:
        marks = Text(" ".join(BADGES.get(b, b) for b in e.badges))
        if self._is_claimed(e):
            marks.append(" 认领中", style="bold green")
        elif e.claimed_by_id is not None:
            own = e.claimed_by_id == self.desk.staff.id
            marks.append(" 认领中" if own else " 他人处理中", style="green" if own else "dim")
        return marks
