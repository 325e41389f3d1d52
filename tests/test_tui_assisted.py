"""The 帮办代办 screen: open cases by stage, moved forward with a note and a filing date."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.screens.assisted import AssistedScreen
from callqueue.tui.screens.assisted_dialogs import StageDialog

from .queue_world import NOW, TODAY, build, due_row, reminder
from .test_assisted import advance, register


def app_for(engine: Engine, who: str = "甲") -> CallqueueApp:
    return create_app(engine=engine, today=TODAY, staff_name=who, now=lambda: NOW)


async def settle(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


def shown(app: CallqueueApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def rows(app: CallqueueApp) -> list[tuple[str, str]]:
    grid = app.screen.query_one(DataTable)
    return [(str(grid.get_row_at(i)[0]), str(grid.get_row_at(i)[2])) for i in range(grid.row_count)]


async def test_cases_move_forward_and_the_database_says_so(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1), due_row(2), due_row(3)])
    a, b, c = sorted(ids.values())
    register(engine, a)
    register(engine, b)
    advance(engine, b, "preparing")
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("w")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, AssistedScreen)
        assert rows(app) == [("东丽区第001号公司", "已登记"), ("东丽区第002号公司", "材料准备中")]
        assert "已登记 1，材料准备中 1，已提交申请 0" in shown(app, "#assisted-status")
        # The first case (已登记) may go to 材料准备中.
        await pilot.press("m")
        await settle(app, pilot)
        assert isinstance(app.screen, StageDialog)
        app.screen.query_one("#stage-note", Input).value = "材料已收齐一半"
        await pilot.press("enter")
        await settle(app, pilot)
        assert reminder(engine, a).assist_stage == "preparing"
        assert "材料已收齐一半" in reminder(engine, a).assisted_notes
        # The second case is filed, with a date that must be real and not after today.
        screen.query_one(DataTable).move_cursor(row=1)
        await pilot.pause()
        assert screen.check_action("advance", ("preparing",)) is None  # never backwards
        await pilot.press("t")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, StageDialog)
        day = dialog.query_one("#stage-date", Input)
        assert day.value == TODAY.isoformat()
        day.value = "2026-11-31"
        await pilot.press("enter")
        assert "不是有效日期" in shown(app, "#dialog-error")
        day.value = "2026-11-25"
        await pilot.press("enter")
        assert "不能晚于今天" in shown(app, "#dialog-error")
        day.value = "2026-11-23"
        await pilot.press("enter")
        assert "不能早于帮办登记日期 2026-11-24" in shown(app, "#dialog-error")
        day.value = "2026-11-24"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, AssistedScreen)
        assert "已提交申请" in shown(app, "#assisted-status")
    moved = reminder(engine, b)
    assert (moved.assist_stage, moved.assist_filed_on) == ("filed", date(2026, 11, 24))
    assert reminder(engine, c).assist_stage is None


async def test_escape_saves_nothing(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1)])
    (a,) = ids.values()
    register(engine, a)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("w")
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, AssistedScreen)
    assert reminder(engine, a).assist_stage == "registered"


async def test_the_filing_date_is_typed_first_and_a_date_is_never_taken_as_the_note(
    engine: Engine, tmp_path: Path
) -> None:
    ids = build(engine, tmp_path, [due_row(1)])
    (a,) = ids.values()
    register(engine, a)  # on TODAY
    later = date(2026, 11, 26)
    app = create_app(engine=engine, today=later, staff_name="甲", now=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("w")
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, StageDialog)
        # the cursor starts in the first field on screen, and Tab follows the screen's order
        chain = dialog.focus_chain
        assert dialog.focused is chain[0] and chain[0].id == "stage-date"
        assert [w.region.y for w in chain] == sorted(w.region.y for w in chain)
        await pilot.press("tab", *"2026-11-25", "enter")  # the date typed into the note
        await settle(app, pilot)
        assert app.screen is dialog and "日期" in shown(app, "#dialog-error")
        assert dialog.focused is dialog.query_one("#stage-date", Input)
        assert reminder(engine, a).assist_stage == "registered"  # nothing saved

        dialog.query_one("#stage-note", Input).value = ""
        await pilot.press(*"2026-11-25", "enter")  # typed over the proposed date
        await settle(app, pilot)
        assert isinstance(app.screen, AssistedScreen)
    filed = reminder(engine, a)
    assert (filed.assist_stage, filed.assist_filed_on) == ("filed", date(2026, 11, 25))
