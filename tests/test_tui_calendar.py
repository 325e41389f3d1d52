"""The calendar screen: coverage warning, loading a year's schedule, closures; supervisors only."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from callqueue import db, workdays
from callqueue.db import table
from callqueue.models import AuditEvent, CalendarOverride, CalendarYear, OfficialDay
from callqueue.queue import staff
from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.screens.calendar import CalendarScreen
from callqueue.tui.screens.calendar_dialogs import DayChangeDialog, LoadFileDialog
from callqueue.tui.screens.confirm import ConfirmDialog

from .queue_world import NOW, TODAY, build, due_row

SCHEDULE = "# 测试用的虚构安排\n年份,2027\n元旦,2027-01-01~2027-01-03,休\n春节,2027-02-13,班\n"


def world(engine: Engine, tmp_path: Path) -> None:
    build(engine, tmp_path, [due_row(1)])
    with db.session_scope(engine, write=True) as session:
        staff.add_staff(session, name="李主管", section="政务服务科", role="supervisor", actor="t")


def app_for(engine: Engine, who: str) -> CallqueueApp:
    return create_app(engine=engine, today=TODAY, staff_name=who, now=lambda: NOW)


async def settle(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def open_calendar(app: CallqueueApp, pilot: Pilot[Any]) -> CalendarScreen:
    await settle(app, pilot)
    await pilot.press("h")
    await settle(app, pilot)
    assert isinstance(app.screen, CalendarScreen)
    return app.screen


def shown(app: CallqueueApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def table_days(app: CallqueueApp) -> list[str]:
    grid = app.screen.query_one(DataTable)
    return [str(grid.get_row_at(i)[0]) for i in range(grid.row_count)]


async def test_the_desk_warns_that_next_year_is_not_loaded(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine, "甲")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        messages = [n.message for n in app._notifications]
        assert any("2027年的法定节假日" in m and "请告知主管载入" in m for m in messages), messages


async def test_supervisor_loads_a_year_after_seeing_what_changes(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    file = tmp_path / "2027.txt"
    file.write_text(SCHEDULE, encoding="utf-8")
    app = app_for(engine, "李主管")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_calendar(app, pilot)
        assert "2027年的法定节假日和调休安排尚未载入" in shown(app, "#cal-warning")
        await pilot.press("l")
        await settle(app, pilot)
        assert isinstance(app.screen, LoadFileDialog)
        app.screen.query_one(Input).value = str(tmp_path / "missing.txt")
        await pilot.press("enter")
        assert "找不到文件" in shown(app, "#dialog-error")
        app.screen.query_one(Input).value = str(file)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "载入2027年节假日安排：放假 3 天，调休上班 1 天" in app.screen.question
        assert "01-01 休息" in app.screen.question and "02-13 上班" in app.screen.question
        with db.session_scope(engine, write=False) as session:  # the preview saved nothing
            assert session.get(CalendarYear, 2027) is None
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, CalendarScreen) and app.screen.year == 2027
        assert table_days(app) == ["2027-01-01", "2027-01-02", "2027-01-03", "2027-02-13"]
        assert not app.screen.query_one("#cal-warning", Static).display
    with db.session_scope(engine, write=False) as session:
        assert session.get(CalendarYear, 2027) is not None
        days = session.execute(select(table(OfficialDay).c.day)).scalars().all()
        assert len(days) == 4
        cal = workdays.load_calendar(session)
        assert not cal.is_workday(date(2027, 1, 1)) and cal.is_workday(date(2027, 2, 13))
        (event,) = session.execute(
            select(AuditEvent).where(AuditEvent.action == "calendar.load")  # type: ignore[arg-type]
        ).scalars()
        assert event.actor == "李主管"


async def test_a_broken_file_is_refused_and_nothing_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    file = tmp_path / "2027.txt"
    file.write_text("元旦,2027-13-01,休\n", encoding="utf-8")
    app = app_for(engine, "李主管")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_calendar(app, pilot)
        await pilot.press("l")
        await settle(app, pilot)
        app.screen.query_one(Input).value = str(file)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, CalendarScreen)
        assert "未载入：第1行" in shown(app, "#cal-status")
    with db.session_scope(engine, write=False) as session:
        assert session.get(CalendarYear, 2027) is None


async def test_supervisor_closes_a_day_then_restores_it(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine, "李主管")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_calendar(app, pilot)
        await pilot.press("x")
        await settle(app, pilot)
        assert isinstance(app.screen, DayChangeDialog)
        date_input, reason_input = app.screen.query(Input)
        date_input.value = "2026-12-32"
        await pilot.press("enter")
        assert "不是有效日期" in shown(app, "#dialog-error")
        date_input.value = "2026-12-07"
        await pilot.press("enter")
        assert "请填写原因" in shown(app, "#dialog-error")
        reason_input.value = "停电闭馆"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, CalendarScreen)
        assert "2026-12-07 设为休息：现在是休息日" in shown(app, "#cal-status")
        with db.session_scope(engine, write=False) as session:
            assert not workdays.load_calendar(session).is_workday(date(2026, 12, 7))
        grid = app.screen.query_one(DataTable)
        grid.move_cursor(row=table_days(app).index("2026-12-07"))
        await pilot.pause()
        await pilot.press("u")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(app, pilot)
    with db.session_scope(engine, write=False) as session:
        assert session.get(CalendarOverride, date(2026, 12, 7)) is None
        assert workdays.load_calendar(session).is_workday(date(2026, 12, 7))


async def test_a_caller_sees_the_calendar_but_cannot_change_it(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    app = app_for(engine, "甲")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_calendar(app, pilot)
        assert "只有主管或管理员可以" in shown(app, "#cal-status")
        for action, params in (("load_file", ()), ("set_day", (False,)), ("set_day", (True,))):
            assert screen.check_action(action, params) is None
        await pilot.press("l", "x")
        await settle(app, pilot)
        assert isinstance(app.screen, CalendarScreen)
        await pilot.press("n")
        await settle(app, pilot)
        assert screen.year == 2027 and "尚未载入" in shown(app, "#cal-status")
    with db.session_scope(engine, write=False) as session:
        assert session.execute(select(table(CalendarOverride).c.day)).first() is None
