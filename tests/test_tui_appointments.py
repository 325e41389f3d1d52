"""The appointments screen: a day by time, working-day navigation, cancel and no-show saved."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from callqueue import db, workdays
from callqueue.clock import SHANGHAI
from callqueue.db import table
from callqueue.models import Appointment, AuditEvent, Reminder
from callqueue.queue import appointments
from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.office_desk import OfficeDesk
from callqueue.tui.screens.appointments import AppointmentsScreen
from callqueue.tui.screens.catalog import CatalogScreen
from callqueue.tui.screens.confirm_note import NotedConfirmDialog
from callqueue.tui.screens.queue import QueueScreen

from .queue_world import HOURS, NOW, TODAY, build, due_row, section_id, staff_id

NEXT_WORKDAY = date(2026, 11, 25)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), SHANGHAI)


def world(engine: Engine, tmp_path: Path) -> dict[str, int]:
    """Three holders; 乙 booked 001 at 14:00, then 002 at 10:00 today; 甲 booked 003 tomorrow."""
    build(engine, tmp_path, [due_row(1), due_row(2), due_row(3, holder="A[/b]c 公司")])
    sid = section_id(engine)
    r = table(Reminder)
    booked: dict[str, int] = {}
    with db.session_scope(engine, write=True) as session:
        reminders = session.execute(select(r.c.id, r.c.holder_id).order_by(r.c.id)).all()
        calendar = workdays.load_calendar(session)
        plan = [
            ("001", at(TODAY, 14), "乙"),
            ("002", at(TODAY, 10), "乙"),
            ("003", at(NEXT_WORKDAY, 9), "甲"),
        ]
        for (reminder_id, holder_id), (name, starts_at, who) in zip(reminders, plan, strict=True):
            made = appointments.book(
                session,
                section_id=sid,
                holder_id=holder_id,
                reminder_id=reminder_id,
                starts_at=starts_at,
                staff_id=staff_id(engine, who),
                now=NOW,
                calendar=calendar,
                hours=HOURS,
            )
            assert made.id is not None
            booked[name] = made.id
    return booked


def app_for(
    engine: Engine, who: str | None = "甲", clock: list[datetime] | None = None
) -> CallqueueApp:
    """The app as `who`; `clock`, when given, holds the time in force (tests move it on)."""
    now = (lambda: clock[0]) if clock is not None else (lambda: NOW)
    return create_app(engine=engine, today=TODAY, staff_name=who, now=now)


async def settle(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    """Let workers finish and their messages land (a handler may start the next worker)."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def rows_on_screen(app: CallqueueApp) -> list[list[str]]:
    t = app.screen.query_one("#appts-table", DataTable)
    return [[str(cell) for cell in t.get_row_at(i)] for i in range(t.row_count)]


def appointment(engine: Engine, appointment_id: int) -> Appointment:
    with db.session_scope(engine, write=False) as session:
        found = session.get(Appointment, appointment_id)
    assert found is not None
    return found


def audit_actions(engine: Engine) -> list[tuple[str, str, int | None, str]]:
    a = table(AuditEvent)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(a.c.action, a.c.entity_id, a.c.staff_id, a.c.note)
            .where(a.c.entity == "appointment", a.c.action != "appointment.book")
            .order_by(a.c.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def open_appointments(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    await settle(app, pilot)
    assert isinstance(app.screen, QueueScreen)
    await pilot.press("a")
    await settle(app, pilot)
    assert isinstance(app.screen, AppointmentsScreen)


async def test_the_day_is_listed_by_time_with_names(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_appointments(app, pilot)
        rows = rows_on_screen(app)
        assert [r[0] for r in rows] == ["10:00–10:30", "14:00–14:30"]
        assert [r[1] for r in rows] == ["东丽区第002号公司", "东丽区第001号公司"]
        assert rows[0][2] == "农药经营许可证" and rows[0][3] == "已预约" and rows[0][4] == "乙"
        day = str(app.screen.query_one("#appts-day", Static).render())
        assert "2026年11月24日（周二）" in day and "共 2 个预约" in day
        await pilot.press("n")  # the next working day: 003, whose name is not markup
        await settle(app, pilot)
        assert [r[1] for r in rows_on_screen(app)] == ["A[/b]c 公司"]
        assert "11月25日" in str(app.screen.query_one("#appts-day", Static).render())
        await pilot.press("p", "p")  # two working days back: Monday 23rd, none
        await settle(app, pilot)
        assert rows_on_screen(app) == []
        assert "11月23日" in str(app.screen.query_one("#appts-day", Static).render())
        await pilot.press("t")
        await settle(app, pilot)
        assert len(rows_on_screen(app)) == 2
        await pilot.press("escape")  # back to the queue
        assert isinstance(app.screen, QueueScreen)


async def test_cancel_and_no_show_are_saved_after_confirmation(
    engine: Engine, tmp_path: Path
) -> None:
    booked = world(engine, tmp_path)
    me = staff_id(engine, "甲")
    clock = [NOW]
    app = app_for(engine, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_appointments(app, pilot)
        await pilot.press("x")  # 10:00, 002: asks first; escape changes nothing
        assert isinstance(app.screen, NotedConfirmDialog)
        await pilot.press("escape")
        await settle(app, pilot)
        assert appointment(engine, booked["002"]).status == "booked"
        await pilot.press("x")
        app.screen.query_one(Input).value = "单位来电改期"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, AppointmentsScreen)
        cancelled = appointment(engine, booked["002"])
        assert (cancelled.status, cancelled.note) == ("cancelled", "单位来电改期")
        assert rows_on_screen(app)[0][3] == "已取消"
        # A cancelled appointment cannot be changed again: the keys are off on its row.
        assert app.screen.check_action("change", ("no_show",)) is None
        await pilot.press("m")
        assert isinstance(app.screen, AppointmentsScreen)
        await pilot.press("down", "m", "enter")  # 14:00, 001, at 09:00: the holder may come
        await settle(app, pilot)
        assert appointment(engine, booked["001"]).status == "booked"
        status = str(app.screen.query_one("#appts-status", Static).render())
        assert "时间未到，不能记为未到" in status
        clock[0] = at(TODAY, 14, 40)
        await pilot.press("m", "enter")  # 14:40: missed
        await settle(app, pilot)
        assert appointment(engine, booked["001"]).status == "no_show"
        assert rows_on_screen(app)[1][3] == "未到"
        status = str(app.screen.query_one("#appts-status", Static).render())
        assert "东丽区第001号公司：已记为未到" in status
    assert audit_actions(engine) == [
        ("appointment.cancelled", str(booked["002"]), me, "单位来电改期"),
        ("appointment.no_show", str(booked["001"]), me, ""),
    ]
    assert appointment(engine, booked["003"]).status == "booked"


async def test_appointments_and_import_need_a_staff_member(engine: Engine) -> None:
    app = app_for(engine, who=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, CatalogScreen)
        assert app.check_action("appointments", ()) is None
        assert app.check_action("import_ledger", ()) is None
        assert app.check_action("catalog", ()) is False  # already there
        await pilot.press("a", "i")
        await settle(app, pilot)
        assert isinstance(app.screen, CatalogScreen)


async def test_a_failed_write_is_said_and_the_screen_stays_usable(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    booked = world(engine, tmp_path)

    def broken(*_args: object) -> None:
        raise OperationalError("UPDATE appointment", {}, Exception("database is locked"))

    monkeypatch.setattr(OfficeDesk, "set_appointment", broken)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_appointments(app, pilot)
        await pilot.press("x", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, AppointmentsScreen)
        status = str(app.screen.query_one("#appts-status", Static).render())
        assert status == "保存预约失败：数据库正忙（其他工作台正在写入），请稍后重试。未作任何更改"
        assert app.screen.check_action("change", ("cancel",)) is True  # usable again
        await pilot.press("n")
        await settle(app, pilot)
        assert len(rows_on_screen(app)) == 1
    assert appointment(engine, booked["002"]).status == "booked"
