"""The call screen's fast paths: what a key changes lands in one frame, and stays correct.

Speed itself is measured by benchmarks/tui_latency.py under a real terminal; these tests pin the
behaviour the speed relies on (and that the screen still shows and saves the same things).
"""

from __future__ import annotations

import gc
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from sqlalchemy import Engine
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import DataTable
from textual.widgets._footer import FooterKey

from callqueue.queue.claims import QueueEntry
from callqueue.tui import collector
from callqueue.tui.screens import queue_view
from callqueue.tui.screens.queue import QueueScreen
from callqueue.tui.widgets.footer import CalmFooter
from callqueue.tui.widgets.queue_columns import COLUMNS
from callqueue.tui.widgets.queue_table import QueueTable

from .queue_world import TODAY, staff_id
from .test_tui_queue import (
    FIRST,
    SECOND,
    THIRD,
    app_for,
    reminders,
    settle,
    text_of,
    world,
)

OUTCOME_KEYS = {str(n) for n in range(1, 9)}


async def test_the_detail_pane_follows_the_cursor_at_once_and_reads_ahead(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world(engine, tmp_path)
    monkeypatch.setattr(queue_view, "PREFETCH", 1)  # the page prefetches FIRST only
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        table = screen.query_one(QueueTable)
        ids = {screen.entries[k].holder: k for k in screen.entries}
        assert set(screen.briefings) == {ids[FIRST]}

        # The move itself tells the screen: no message has to be handled before the pane
        # changes, so the pane is drawn in the cursor's own frame.
        table.action_cursor_down()
        assert screen.drawn is not None and screen.drawn[0].holder == SECOND
        detail = text_of(app, "#queue-detail")
        assert SECOND in detail and "正在读取联系人和记录" in detail

        await settle(app, pilot)
        detail = text_of(app, "#queue-detail")
        assert SECOND in detail and "联系人" in detail and "13800000002" not in detail
        assert "13800000003" in detail  # SECOND is holder 3 (queue order 002, 003, 001)
        assert ids[THIRD] in screen.briefings  # read ahead of the cursor
        await pilot.press("down")
        assert THIRD in text_of(app, "#queue-detail")
        assert "正在读取" not in text_of(app, "#queue-detail")  # drawn from memory

        await pilot.press("up", "up")
        await settle(app, pilot)
        assert FIRST in text_of(app, "#queue-detail")
        # browsing claims nothing
        assert all(r["claimed_by_id"] is None for r in reminders(engine).values())


async def test_the_footer_greys_and_ungreys_keys_in_place(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    me = staff_id(engine, "甲")
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)

        def keys() -> dict[str, FooterKey]:
            return {k.key: k for k in app.screen.query_one(CalmFooter).query(FooterKey)}

        before = keys()
        assert all(before[k].has_class("-disabled") for k in OUTCOME_KEYS)
        await pilot.press("n")
        await settle(app, pilot)
        assert reminders(engine)[FIRST]["claimed_by_id"] == me
        after = keys()
        assert all(after[k] is before[k] for k in before)  # the same widgets, not rebuilt
        assert not any(after[k].has_class("-disabled") for k in OUTCOME_KEYS)
        assert not any(after[k]._disabled for k in OUTCOME_KEYS)  # a click types the key

        await pilot.press("s")  # skip: nothing claimed, the outcome keys grey again
        await settle(app, pilot)
        assert reminders(engine)[FIRST]["claimed_by_id"] is None
        assert all(keys()[k].has_class("-disabled") for k in OUTCOME_KEYS)
        assert all(keys()[k]._disabled for k in OUTCOME_KEYS)


class TableApp(App[None]):
    """A QueueTable of 30 rows, 6 lines high."""

    CSS = "QueueTable { height: 6; }"

    def compose(self) -> ComposeResult:
        yield QueueTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(QueueTable)
        for n in range(30):
            table.add_row(*(Text(f"{n}-{c}") for c in range(7)), key=str(n))


async def test_the_table_scrolls_to_the_cursor_in_the_same_frame() -> None:
    app = TableApp()
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        table = app.query_one(QueueTable)
        for _ in range(8):
            table.action_cursor_down()
        # scrolled at once (ScrollView's own scroll_to), so rows and cursor share a frame
        assert table.cursor_row == 8 and table.scroll_y > 0
        assert table.keys_after(27, 5) == [28, 29]
        await pilot.pause()
        assert 8 in range(int(table.scroll_y), int(table.scroll_y) + table.size.height - 1)


async def test_a_layout_that_changes_nothing_leaves_the_scrollbar_alone() -> None:
    app = TableApp()
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        table = app.query_one(QueueTable)
        bar = table.vertical_scrollbar
        redrawn: list[object] = []
        refresh = bar.refresh
        bar.refresh = lambda *a, **k: (redrawn.append(a), refresh(*a, **k))[1]  # type: ignore[method-assign]
        app.screen.refresh(layout=True)  # what every cursor move did: the detail pane resized
        await pilot.pause()
        await pilot.pause()
        assert redrawn == []
        table.add_row(*(Text("new") for _ in range(7)), key="new")  # more rows: a new thumb
        await pilot.pause()
        await pilot.pause()
        assert redrawn


async def test_rows_a_page_gains_move_the_scrollbar_in_the_same_frame() -> None:
    """After an outcome the page gains a row at its end (the finished one stays, greyed): the
    table's size and its scrollbar follow at once, not after the frame (DataTable measures rows
    when idle, and the layout then redrew the scrollbar in a frame of its own)."""
    app = TwinApp()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        fast = app.query_one(QueueTable)
        page = [entry(n) for n in range(1, 21)]
        fast.fill(page, today=TODAY, marks={})
        await pilot.pause()
        await pilot.pause()
        bar = fast.vertical_scrollbar
        height = fast.virtual_size.height
        assert bar.window_virtual_size == height

        fast.mark_done(page[0], TODAY)
        fast.fill(page[1:] + [entry(21)], today=TODAY, marks={})
        # no pause: what the frame after this handler draws
        assert fast.virtual_size.height == height + 1
        assert bar.window_virtual_size == height + 1
        redrawn: list[object] = []
        refresh = bar.refresh
        bar.refresh = lambda *a, **k: (redrawn.append(a), refresh(*a, **k))[1]  # type: ignore[method-assign]
        fast.move_cursor(row=19, animate=False)  # scrolled now, not after the next refresh
        assert fast.scroll_y > 0
        scrolled = len(redrawn)
        await pilot.pause()
        await pilot.pause()
        assert len(redrawn) == scrolled  # the layout that follows leaves the scrollbar alone


async def test_a_key_greyed_by_a_change_is_greyed_before_the_next_frame(
    engine: Engine, tmp_path: Path
) -> None:
    """A key's state is set as the change is made, so it shares the frame of the change."""
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        held = screen.claimed
        assert held is not None
        keys = {k.key: k for k in screen.query_one(CalmFooter).query(FooterKey)}
        assert not keys["4"].has_class("-disabled")
        screen.claimed = None  # what a handler does: no pause, no message handled in between
        assert keys["4"].has_class("-disabled") and keys["4"]._disabled
        screen.claimed = held
        assert not keys["4"].has_class("-disabled") and not keys["4"]._disabled
        await settle(app, pilot)
        assert {k.key: k for k in screen.query_one(CalmFooter).query(FooterKey)} == keys


def test_full_collections_wait_for_a_pause() -> None:
    threshold = gc.get_threshold()
    try:
        assert not collector.collect_when_idle(60.0)  # not taken over: CPython decides
        gc.set_threshold(threshold[0], threshold[1], collector.MANUAL)
        for _ in range(collector.DUE):
            gc.collect(1)  # each young collection makes a full one more due
        assert gc.get_count()[2] >= collector.DUE
        assert not collector.collect_when_idle(0.0)  # keys are being pressed
        assert collector.collect_when_idle(collector.IDLE + 0.1)
        assert gc.get_count()[2] == 0
        for _ in range(collector.OVERDUE):
            gc.collect(1)
        assert collector.collect_when_idle(0.0)  # long overdue: collected even while typing
        collector.hand_back_collector()
        assert gc.get_threshold()[2] == collector.DUE
    finally:
        gc.set_threshold(*threshold)


class TwinApp(App[None]):
    """A QueueTable and a plain DataTable of the same size, to compare what each draws."""

    CSS = "DataTable { height: 12; }"

    def compose(self) -> ComposeResult:
        yield QueueTable(cursor_type="row", zebra_stripes=True, id="fast")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="plain")

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            for key, label, width in COLUMNS:
                if not isinstance(table, QueueTable):  # QueueTable adds its own
                    table.add_column(label, key=key, width=width)


def entry(n: int, *, attempts: int = 0) -> QueueEntry:
    return QueueEntry(
        holder_id=n,
        holder=f"东丽区第{n:03d}号公司",
        section_id=1,
        certificates=["食品经营许可证"],
        apply_by=TODAY + timedelta(days=n),
        expires_on=TODAY + timedelta(days=30 + n),
        attempts=attempts,
    )


async def drawn(pilot: Pilot[None], table: DataTable[Any]) -> list[list[tuple[str, object]]]:
    """Every visible line of `table` as (text, style) segments, drawn while it has focus."""
    table.focus()
    await pilot.pause()
    width, height = table.size
    lines = table.render_lines(Region(0, 0, width, height))
    return [[(s.text, s.style) for s in line] for line in lines]


def mirror(fast: QueueTable, plain: DataTable[Any]) -> None:
    """Give the plain table the fast one's rows, cells and cursor."""
    plain.clear()
    for row in fast.ordered_rows:
        plain.add_row(*fast.get_row(row.key), key=row.key.value)
    plain.move_cursor(row=fast.cursor_row, animate=False)
    plain.show_cursor = fast.show_cursor
    plain.scroll_to(y=fast.scroll_y, animate=False, immediate=True)


async def test_the_queue_table_draws_what_a_plain_table_draws_through_every_change() -> None:
    """The table's own caches (cells, rows, lines) never show a stale cell or highlight."""
    app = TwinApp()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        fast = app.query_one(QueueTable)
        plain = app.query_one("#plain", DataTable)
        page = [entry(n) for n in range(1, 21)]
        steps = [
            lambda: fast.fill(page, today=TODAY, marks={}),
            lambda: fast.move_cursor(row=3, animate=False),
            lambda: fast.show_claimed(page[3], Text("认领中", style="bold green")),
            lambda: fast.mark_done(page[3], TODAY),
            lambda: fast.fill(page[:3] + page[4:], today=TODAY, marks={}),  # kept, greyed
            lambda: fast.move_cursor(row=4, animate=False),
            lambda: fast.update_cell("6", "attempts", Text("2", justify="right")),
            lambda: fast.fill(
                [entry(n, attempts=1 if n == 9 else 0) for n in range(1, 23) if n != 4],
                today=TODAY,
                marks={2: Text("回电")},
            ),
            lambda: fast.move_cursor(row=15, animate=False),  # scrolls
            fast.compact,  # rows move up and change stripe
            lambda: fast.move_cursor(row=0, animate=False),
            lambda: setattr(fast, "show_cursor", False),
        ]
        for number, step in enumerate(steps):
            step()
            await pilot.pause()
            mirror(fast, plain)
            await pilot.pause()
            assert await drawn(pilot, fast) == await drawn(pilot, plain), f"step {number}"


async def test_an_unchanged_cell_is_rendered_once() -> None:
    app = TwinApp()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        fast = app.query_one(QueueTable)
        fast.fill([entry(n) for n in range(1, 21)], today=TODAY, marks={})
        await pilot.pause()
        await drawn(pilot, fast)
        rendered: list[tuple[int, int]] = []
        parent = DataTable._render_cell

        def spy(self: DataTable[Any], row: int, column: int, *args: Any) -> Any:
            rendered.append((row, column))
            return parent(self, row, column, *args)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(DataTable, "_render_cell", spy)
            fast.update_cell("3", "marks", Text("重拨"))  # DataTable would redraw every row
            await drawn(pilot, fast)
            assert rendered == [(2, 6)]
            rendered.clear()
            fast.move_cursor(row=1, animate=False)  # the row left and the row reached
            await drawn(pilot, fast)
            assert {row for row, _ in rendered} == {0, 1}
