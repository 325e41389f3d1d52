"""Who sees which sections in the TUI: search, appointments and the queue, callers and supervisors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from callqueue.models import Section
from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.screens.appointments import AppointmentsScreen
from callqueue.tui.screens.queue import QueueScreen
from callqueue.tui.screens.search import SearchScreen

from .queue_world import NOW, SECTION, TODAY
from .scope_world import OTHER, build_world

OTHER_NAME = "社会事务科第4号单位"  # due, still in 社会事务科's queue
MINE_NAME = "东丽区第004号公司"  # due, still in SECTION's queue


def app_for(engine: Engine, who: str) -> CallqueueApp:
    return create_app(engine=engine, today=TODAY, staff_name=who, now=lambda: NOW)


async def settle(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    """Let workers finish and their messages land (a handler may start the next worker)."""
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


def column(app: CallqueueApp, selector: str, index: int) -> list[str]:
    table = app.screen.query_one(selector, DataTable)
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


def text_of(app: CallqueueApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def search(app: CallqueueApp, pilot: Pilot[Any], query: str) -> list[str]:
    """Search by `query` from the queue screen; the holders found."""
    await pilot.press("slash")
    await settle(app, pilot)
    assert isinstance(app.screen, SearchScreen)
    app.screen.query_one("#search-input", Input).value = query
    await pilot.press("enter")
    await settle(app, pilot)
    return column(app, "#search-table", 0)


async def test_a_callers_search_finds_only_own_section(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    caller = app_for(engine, "甲")
    async with caller.run_test(size=(120, 40)) as pilot:
        await settle(caller, pilot)
        assert await search(caller, pilot, OTHER_NAME) == []
        assert await search(caller, pilot, "卫生许可证") == []
        assert await search(caller, pilot, MINE_NAME) == [MINE_NAME]
    boss = app_for(engine, "主任")
    async with boss.run_test(size=(120, 40)) as pilot:
        await settle(boss, pilot)
        assert await search(boss, pilot, OTHER_NAME) == [OTHER_NAME]
        assert await search(boss, pilot, MINE_NAME) == [MINE_NAME]
        assert len(await search(boss, pilot, "卫生许可证")) == 4


async def open_day(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    """Open the appointments and step to Thursday 26th, the day booked in both sections."""
    await settle(app, pilot)
    await pilot.press("a")
    await settle(app, pilot)
    assert isinstance(app.screen, AppointmentsScreen)
    await pilot.press("n")
    await settle(app, pilot)
    await pilot.press("n")
    await settle(app, pilot)
    assert "11月26日" in text_of(app, "#appts-day")


async def test_a_caller_sees_own_sections_appointments_only(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    app = app_for(engine, "丁")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_day(app, pilot)
        assert column(app, "#appts-table", 5) == [OTHER]
        assert app.screen.check_action("next_section", ()) is False
        await pilot.press("s")
        await settle(app, pilot)
        assert column(app, "#appts-table", 5) == [OTHER]
        assert "本科室" in text_of(app, "#appts-day")


async def test_a_supervisor_sees_every_section_and_picks_one(
    engine: Engine, tmp_path: Path
) -> None:
    build_world(engine, tmp_path)
    app = app_for(engine, "主任")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_day(app, pilot)
        assert sorted(column(app, "#appts-table", 5)) == sorted([SECTION, OTHER])
        assert "全部科室" in text_of(app, "#appts-day")
        seen: list[list[str]] = []
        for _ in range(5):  # every section in turn, then all of them again
            await pilot.press("s")
            await settle(app, pilot)
            seen.append(column(app, "#appts-table", 5))
            if "全部科室" in text_of(app, "#appts-day"):
                break
        assert [SECTION] in seen and [OTHER] in seen
        assert sorted(seen[-1]) == sorted([SECTION, OTHER])


async def test_a_supervisor_switches_the_queue_between_sections(
    engine: Engine, tmp_path: Path
) -> None:
    build_world(engine, tmp_path)
    caller = app_for(engine, "甲")
    async with caller.run_test(size=(120, 40)) as pilot:
        await settle(caller, pilot)
        assert isinstance(caller.screen, QueueScreen)
        assert caller.screen.check_action("switch_section", ()) is False
        assert column(caller, "#queue-table", 0) == [MINE_NAME]
    boss = app_for(engine, "主任")
    async with boss.run_test(size=(120, 40)) as pilot:
        await settle(boss, pilot)
        assert isinstance(boss.screen, QueueScreen)
        # 政务服务科 has no queue of its own: the desk opens on the first approval section by
        # name, and `v` goes round the three approval sections only.
        with Session(engine) as session:
            approval = list(  # in the catalog's order, as the reports list them
                session.exec(
                    select(Section.name).where(Section.kind == "approval").order_by(Section.id)
                ).all()
            )
        seen = [(text_of(boss, "#who").split(" · ")[1], column(boss, "#queue-table", 0))]
        for _ in range(3):
            await pilot.press("v")
            await settle(boss, pilot)
            seen.append((text_of(boss, "#who").split(" · ")[1], column(boss, "#queue-table", 0)))
        order = [*approval, approval[0]]
        assert [who for who, _ in seen] == [f"{name}（v 切换科室）" for name in order]
        lists = {who: names for who, names in seen}
        assert lists[f"{SECTION}（v 切换科室）"] == [MINE_NAME]
        assert lists[f"{OTHER}（v 切换科室）"] == [OTHER_NAME]
        while OTHER not in text_of(boss, "#who"):
            await pilot.press("v")
            await settle(boss, pilot)
        await pilot.press("n")  # a supervisor may work the section in view
        await settle(boss, pilot)
        assert boss.screen.claimed is not None and boss.screen.claimed.holder == OTHER_NAME
        assert boss.screen.check_action("switch_section", ()) is None  # not while holding a call
