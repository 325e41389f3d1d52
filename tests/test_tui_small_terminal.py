"""The call screen in an 80×24 terminal: the list, the status line and the keys stay in view."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from textual.containers import VerticalScroll

from callqueue.tui.app import CallqueueApp
from callqueue.tui.screens.record import RecordScreen
from callqueue.tui.widgets.inform_card import InformCard
from callqueue.tui.widgets.queue_table import QueueTable

from .queue_world import build, due_row
from .records_world import world as records_world
from .test_tui_dialogs import claim_first
from .test_tui_queue import FIRST, app_for, settle, world
from .test_tui_records import search_for


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


async def test_80_columns_every_footer_shows_help_and_quit(engine: Engine, tmp_path: Path) -> None:
    # The call screen's footer ran out after `s 跳过 f…`: `? 帮助` and `q 退出` were cut off,
    # and on the appointments, calendar and record screens `q 退出` was. Keys that do not fit
    # give way (they are all in `?` and Ctrl+P); help and quit always show.
    records_world(engine, tmp_path)
    app = app_for(engine, "主任")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for claimed in (False, True):
            footer = screen_lines(app)[-1]
            assert "? 帮助" in footer and "q 退出" in footer, footer
            for digit, name in enumerate(("告知", "预约", "帮办", "未接"), start=1):
                assert f"{digit} {name}" in footer, footer  # the outcome keys keep their place
            assert "8 不续" in footer and "n 下一户" in footer
            if not claimed:
                await pilot.press("n")
                await settle(app, pilot)
        for key in ("a", "c", "h", "w", "d", "k"):
            await pilot.press(key)
            await settle(app, pilot)
            footer = screen_lines(app)[-1]
            assert "? 帮助" in footer and "q 退出" in footer, (key, footer)
            assert footer.lstrip().startswith("esc 返回"), (key, footer)
            await pilot.press("escape")
            await settle(app, pilot)
        await search_for(app, pilot, "华明")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        footer = screen_lines(app)[-1]
        assert "? 帮助" in footer and "q 退出" in footer and "n 勿电话联系" in footer, footer


async def test_footer_gives_back_keys_when_the_terminal_widens(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert "s 跳过" not in screen_lines(app)[-1]
        await pilot.resize_terminal(200, 40)
        await settle(app, pilot)
        footer = screen_lines(app)[-1]
        assert "s 跳过" in footer and "f 筛选" in footer and "a 预约表" in footer, footer
        await pilot.resize_terminal(80, 24)
        await settle(app, pilot)
        footer = screen_lines(app)[-1]
        assert "? 帮助" in footer and "q 退出" in footer and "s 跳过" not in footer, footer


def columns_on_screen(app: CallqueueApp) -> tuple[list[str], str]:
    """The list's column labels, and its header line as drawn (what fits in the view)."""
    table = app.screen.query_one(QueueTable)
    header = screen_lines(app)[table.region.y]
    return [str(c.label) for c in table.ordered_columns], header


async def test_the_list_fits_its_columns_to_the_width(engine: Engine, tmp_path: Path) -> None:
    # At 80 columns 申请截止, 剩余天数, 已拨 and 标记 fell off the right edge: the red and
    # yellow days and 他人处理中 could not be seen. What matters to a caller stays: who, the
    # certificate, the deadline and days left, the marks; the expiry and the dial count (both
    # in the detail pane) give way first, and the names are cut with … .
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await claim_first(app, pilot)
        table = app.screen.query_one(QueueTable)
        for width in (80, 100, 120, 160, 80):
            await pilot.resize_terminal(width, 24 if width == 80 else 40)
            await settle(app, pilot)
            labels, header = columns_on_screen(app)
            for needed in ("单位（个人）名称", "证书", "申请截止", "剩余天数", "标记"):
                assert needed in labels and needed in header, (width, header)
            assert table.virtual_size.width <= table.scrollable_content_region.width, width
            row = screen_lines(app)[table.region.y + 1]
            assert "认领中" in row and "-12" in row, (width, row)  # the claimed row, days in red
            if width >= 120:
                assert "期满日期" in labels and "已拨" in labels, width
        labels, _ = columns_on_screen(app)
        assert "期满日期" not in labels  # 80 columns: the detail pane has it


def test_the_marks_column_holds_a_late_reminder_someone_else_is_calling() -> None:
    # "补录 他人处理中" is 15 cells: in a 14-cell column its last character was cut, at every
    # width, and a caller read "他人处理" with nothing to say whether it was someone's call.
    from rich.cells import cell_len

    from callqueue.queue.reminders import BADGE_LABELS
    from callqueue.tui.widgets.queue_columns import fit_columns

    longest = max(cell_len(f"{label} 他人处理中") for label in BADGE_LABELS.values())
    for width in (80, 100, 120, 160):
        marks = {key: w for key, _, w in fit_columns(width)}["marks"]
        assert marks >= longest, (width, marks, longest)
