"""The inspection screens (k 检查): draw a sample, review item by item, finish; callers refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static

from callqueue import db
from callqueue.db import table
from callqueue.models import AuditEvent, Inspection, InspectionItem
from callqueue.queue import staff
from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.inspection_desk import InspectionDesk
from callqueue.tui.screens.confirm_note import NotedConfirmDialog
from callqueue.tui.screens.inspection_dialogs import NewInspectionDialog, ProblemDialog
from callqueue.tui.screens.inspection_review import InspectionReviewScreen
from callqueue.tui.screens.inspections import InspectionsScreen
from callqueue.tui.screens.queue import QueueScreen

from .inspection_world import NOTE, SUPERVISOR, World, world
from .queue_world import NOW, SECTION, TODAY


def app_for(engine: Engine, who: str) -> CallqueueApp:
    return create_app(engine=engine, today=TODAY, staff_name=who, now=lambda: NOW)


async def settle(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    """Let workers finish and their messages land (a handler may start the next worker)."""
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


def text_of(app: CallqueueApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def items(engine: Engine) -> list[tuple[int, int, str | None, str]]:
    i = table(InspectionItem)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(i.c.position, i.c.reminder_id, i.c.verdict, i.c.comment).order_by(i.c.position)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def inspections(engine: Engine) -> list[tuple[str, str, int]]:
    ins = table(Inspection)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(select(ins.c.status, ins.c.note, ins.c.sample_size)).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def submit(app: CallqueueApp, pilot: Pilot[Any], selector: str, value: str) -> None:
    field = app.screen.query_one(selector, Input)
    field.value = value
    field.focus()
    await pilot.press("enter")
    await settle(app, pilot)


async def test_a_supervisor_draws_reviews_and_finishes(engine: Engine, tmp_path: Path) -> None:
    known: World = world(engine, tmp_path)
    app = app_for(engine, SUPERVISOR)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("k")
        await settle(app, pilot)
        assert isinstance(app.screen, InspectionsScreen)
        assert "还没有检查记录" in text_of(app, "#inspect-list-status")

        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, NewInspectionDialog)
        app.screen.query_one("#inspect-section", Select).value = SECTION
        await submit(app, pilot, "#inspect-size", "三")
        assert "抽样数量应为 1 到 500 之间的整数" in text_of(app, "#inspect-new-error")
        await submit(app, pilot, "#inspect-size", "9")
        assert "只有 5 条已处理" in text_of(app, "#inspect-new-error")
        assert inspections(engine) == []
        await submit(app, pilot, "#inspect-size", "3")
        assert isinstance(app.screen, InspectionReviewScreen)
        drawn = items(engine)
        assert [p for p, *_ in drawn] == [1, 2, 3]
        assert {r for _, r, *_ in drawn} <= set(known.worked)
        assert "未检查 3" in text_of(app, "#review-head")
        shown = text_of(app, "#review-item")
        assert shown.startswith("第 1/3 条 · 东丽区第") and "提醒记录（" in shown
        assert "1. 2026-11-24 09:0" in shown and " 甲 电话 " in shown

        await pilot.press("y")
        await settle(app, pilot)
        assert items(engine)[0][2:] == ("pass", "")
        assert text_of(app, "#review-item").startswith("第 2/3 条")  # moved on
        await pilot.press("x")
        await settle(app, pilot)
        assert isinstance(app.screen, ProblemDialog)
        await submit(app, pilot, "#inspect-comment", "  ")
        assert "请写明检查意见" in text_of(app, "#inspect-problem-error")
        await submit(app, pilot, "#inspect-comment", "漏讲材料[/b]")
        assert isinstance(app.screen, InspectionReviewScreen)
        assert items(engine)[1][2:] == ("problem", "漏讲材料[/b]")
        assert app.screen.check_action("finish", ()) is None  # one item still unreviewed
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, InspectionReviewScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert "全部条目都已有结论" in text_of(app, "#review-status")
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, NotedConfirmDialog)
        await submit(app, pilot, "#confirm-note", "一条漏讲材料")
        assert inspections(engine) == [("finished", "一条漏讲材料", 3)]
        assert [v for *_, v, _c in items(engine)] == ["pass", "problem", "pass"]
        assert "已结束" in text_of(app, "#review-head")
        assert app.screen.check_action("verdict", ("pass",)) is None

        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, InspectionsScreen)
        t = app.screen.query_one("#inspect-table", DataTable)
        row = [str(c) for c in t.get_row_at(0)]
        assert row[2] == SECTION and row[4] == "已结束" and row[5:9] == ["3", "2", "1", "0"]
    a = table(AuditEvent)
    with db.session_scope(engine, write=False) as session:
        actions = list(
            session.execute(
                select(a.c.action, a.c.actor)
                .where(a.c.action.like("inspection.%"))
                .order_by(a.c.id)
            ).all()
        )
    assert [tuple(x) for x in actions] == [
        ("inspection.draw", SUPERVISOR),
        ("inspection.review", SUPERVISOR),
        ("inspection.review", SUPERVISOR),
        ("inspection.review", SUPERVISOR),
        ("inspection.finish", SUPERVISOR),
    ]


async def test_notes_are_shown_as_written(engine: Engine, tmp_path: Path) -> None:
    known = world(engine, tmp_path)
    app = app_for(engine, SUPERVISOR)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("k")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        app.screen.query_one("#inspect-section", Select).value = SECTION
        await submit(app, pilot, "#inspect-size", "5")
        position = next(p for p, r, *_ in items(engine) if r == known.worked[1])
        for _ in range(position - 1):
            await pilot.press("n")
        await pilot.pause()
        shown = text_of(app, "#review-item")
        assert f"备注：{NOTE}" in shown and "告知：期满日期、申请换证时限" in shown


async def test_a_caller_cannot_open_inspections(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine, "甲")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        assert app.check_action("inspection", ()) is None  # shown disabled, not hidden
        binding = next(b for b in app.BINDINGS if getattr(b, "id", None) == "app.inspection")
        assert "仅限主管、管理员" in binding.tooltip  # type: ignore[union-attr]
        await pilot.press("k")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        # Even opened by other means, the screen refuses a caller and reads nothing.
        with db.session_scope(engine, write=False) as session:
            me = staff.get_staff(session, "甲")
        app.push_screen(InspectionsScreen(InspectionDesk(engine, me, lambda: NOW)))
        await settle(app, pilot)
        assert "只有主管或管理员可以进行督促检查；甲是提醒人" in text_of(
            app, "#inspect-list-status"
        )
        assert app.screen.check_action("new", ()) is None
    assert inspections(engine) == []


def _connection_lost(*_args: object, **_kwargs: object) -> Any:
    raise OperationalError("SELECT 1", {}, Exception("connection refused"))


async def _review_drawn(app: CallqueueApp, pilot: Pilot[Any], size: str) -> None:
    await settle(app, pilot)
    await pilot.press("k")
    await settle(app, pilot)
    await pilot.press("n")
    await settle(app, pilot)
    app.screen.query_one("#inspect-section", Select).value = SECTION
    await submit(app, pilot, "#inspect-size", size)
    assert isinstance(app.screen, InspectionReviewScreen)


async def test_a_lost_connection_keeps_what_the_supervisor_wrote(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world(engine, tmp_path)
    app = app_for(engine, SUPERVISOR)
    async with app.run_test(size=(120, 40)) as pilot:
        await _review_drawn(app, pilot, "1")
        with monkeypatch.context() as down:
            down.setattr(InspectionDesk, "review", _connection_lost)
            await pilot.press("x")
            await settle(app, pilot)
            await submit(app, pilot, "#inspect-comment", "未告知提交材料清单")
            status = text_of(app, "#review-status")
            assert "无法连接数据库" in status and "意见已保留" in status
            assert items(engine)[0][2] is None
        await pilot.press("x")  # the comment comes back in the dialog, ready to save
        await settle(app, pilot)
        assert isinstance(app.screen, ProblemDialog)
        assert app.screen.query_one("#inspect-comment", Input).value == "未告知提交材料清单"
        await pilot.press("enter")
        await settle(app, pilot)
        assert items(engine)[0][2:] == ("problem", "未告知提交材料清单")

        with monkeypatch.context() as down:
            down.setattr(InspectionDesk, "finish", _connection_lost)
            await pilot.press("f")
            await settle(app, pilot)
            await submit(app, pilot, "#confirm-note", "材料告知不全")
            assert "总结已保留" in text_of(app, "#review-status")
            assert inspections(engine) == [("open", "", 1)]
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, NotedConfirmDialog)
        assert app.screen.query_one("#confirm-note", Input).value == "材料告知不全"
        await pilot.press("enter")
        await settle(app, pilot)
        assert inspections(engine) == [("finished", "材料告知不全", 1)]


async def test_a_failed_read_says_why_in_chinese(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world(engine, tmp_path)
    app = app_for(engine, SUPERVISOR)
    async with app.run_test(size=(120, 40)) as pilot:
        await _review_drawn(app, pilot, "2")
        monkeypatch.setattr(InspectionDesk, "detail", _connection_lost)
        await pilot.press("r")
        await settle(app, pilot)
        status = text_of(app, "#review-status")
        assert "读取检查记录失败：无法连接数据库" in status and "OperationalError" not in status
        monkeypatch.setattr(InspectionDesk, "inspections", _connection_lost)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, InspectionsScreen)
        status = text_of(app, "#inspect-list-status")
        assert "读取检查记录失败：无法连接数据库" in status and "OperationalError" not in status
