"""The call screen in an 80×24 terminal: the list, the status line and the keys stay in view."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from textual.containers import VerticalScroll

from callqueue.tui.app import CallqueueApp
from callqueue.tui.widgets.inform_card import InformCard
from callqueue.tui.widgets.queue_table import QueueTable

from .queue_world import build, due_row
from .test_tui_dialogs import claim_first
from .test_tui_queue import FIRST, app_for, settle, world


def screen_lines(app: CallqueueApp) -> list[str]:
    """The screen as staff see it, one string a line (wide characters once each)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_80_by_24_keeps_the_list_and_the_status_line(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await claim_first(app, pilot)
        screen = app.screen
        assert screen.max_scroll_y == 0  # the screen itself does not overflow
        table = screen.query_one(QueueTable)
        assert table.region.height >= 5  # the header and at least four rows
        lines = screen_lines(app)
        assert len(lines) == 24
        assert any(FIRST in line for line in lines[2:10])  # a queue row
        assert any("甲 ·" in line for line in lines[:3])  # who works, where
        status = screen.query_one("#queue-status")
        assert 0 < status.region.y < 23 and status.region.height == 1
        assert "待联系" in lines[status.region.y]
        assert "换证" in lines[-1]  # every outcome key keeps its label in the footer
        # what does not fit below scrolls
        pane = screen.query_one("#entry-pane", VerticalScroll)
        card = screen.query_one(InformCard)
        assert card.region.height < 20 and pane.region.height < 20
        assert card.max_scroll_y > 0 or card.virtual_size.height <= card.region.height


async def test_the_row_under_the_cursor_stays_in_view_when_the_terminal_shrinks(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine, tmp_path, [due_row(n) for n in range(1, 16)])
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(QueueTable)
        await pilot.press(*["down"] * 12)
        await settle(app, pilot)
        assert table.cursor_row == 12
        await pilot.resize_terminal(80, 24)
        await settle(app, pilot)
        top = round(table.scroll_y)
        shown = table.region.height - 1  # the header row
        assert top <= table.cursor_row < top + shown, (top, shown)
