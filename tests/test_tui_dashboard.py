"""The supervision dashboard: the figures as build_report counts them, the lists behind them, scope."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from callqueue import db, workdays
from callqueue.ledger import service
from callqueue.queue.refresh import refresh
from callqueue.reports.figures import (
    FIGURES,
    TOTAL,
    FigureRow,
    Report,
    WeekLoad,
    build_report,
    figure_rows,
    weekly_workload,
)
from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.screens.dashboard import DashboardScreen, rate_text
from callqueue.tui.screens.figure_list import FigureListScreen
from callqueue.tui.screens.queue import QueueScreen
from callqueue.tui.screens.record import RecordScreen
from callqueue.tui.supervision_desk import SupervisionDesk
from callqueue.tui.widgets.workload_chart import WorkloadChart

from .ledger_files import licence_row, write_annex2
from .queue_world import NOW, SECTION, TODAY, due_row
from .records_world import OTHER, OTHER_HOLDER, world

CHIEF = "主任"  # the supervisor of records_world


def app_for(engine: Engine, who: str = CHIEF) -> CallqueueApp:
    return create_app(engine=engine, today=TODAY, staff_name=who, now=lambda: NOW)


async def settle(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    """Let workers finish and their messages land (a handler may start the next worker)."""
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def open_dashboard(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    await settle(app, pilot)
    assert isinstance(app.screen, QueueScreen)
    await pilot.press("d")
    await settle(app, pilot)
    assert isinstance(app.screen, DashboardScreen)


def cells(app: CallqueueApp, selector: str) -> list[list[str]]:
    t = app.screen.query_one(selector, DataTable)
    return [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


def headers(app: CallqueueApp) -> list[str]:
    t = app.screen.query_one("#dash-table", DataTable)
    return [str(c.label) for c in t.columns.values()]


def status(app: CallqueueApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def report(engine: Engine, sections: list[str] | None = None) -> Report:
    with db.session_scope(engine, write=False) as session:
        calendar = workdays.load_calendar(session)
        return build_report(session=session, today=TODAY, calendar=calendar, sections=sections)


def rows_of(engine: Engine, figure: str, sections: list[str] | None) -> list[FigureRow]:
    with db.session_scope(engine, write=False) as session:
        calendar = workdays.load_calendar(session)
        return figure_rows(
            session=session,
            today=TODAY,
            calendar=calendar,
            figure=figure,
            sections=sections,
            limit=10_000,
        )


def workload(engine: Engine, sections: list[str] | None) -> list[WeekLoad]:
    with db.session_scope(engine, write=False) as session:
        return weekly_workload(session=session, today=TODAY, weeks=26, sections=sections)


def busy_world(engine: Engine, tmp_path: Path, due: int = 3) -> None:
    """records_world, plus `due` more due reminders and some falling due in the weeks ahead."""
    world(engine, tmp_path)
    later = [
        licence_row(
            500 + n,
            holder=f"东丽区将到期第{n:03d}号公司",
            issued_on=date(2022, 6, 1),
            expires_on=date(2027, 3, 1) + timedelta(days=9 * n),
        )
        for n in range(12)
    ]
    path = write_annex2(
        tmp_path / "more.xlsx", [due_row(100 + n) for n in range(due)] + later, section=SECTION
    )
    with db.session_scope(engine, write=True) as session:
        imported = service.import_ledger(session, path=path, today=TODAY, margin_workdays=10)
        assert imported.rejected == 0, imported.problems
        refresh(session, today=TODAY, now=NOW)


async def open_cell(app: CallqueueApp, pilot: Pilot[Any], figure: str, column: str) -> None:
    """Put the cursor on a figure's number in a column and press enter."""
    table = app.screen.query_one("#dash-table", DataTable)
    names = headers(app)
    table.move_cursor(row=FIGURES.index(figure), column=names.index(column))
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, FigureListScreen)


async def test_the_numbers_shown_are_the_reports(engine: Engine, tmp_path: Path) -> None:
    busy_world(engine, tmp_path)
    expected = report(engine)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(app, pilot)
        columns = [*expected.sections, expected.total]
        assert headers(app) == ["指标", *(c.section for c in columns)]
        assert [c.section for c in expected.sections] == [
            "环保城管和建设交通科",
            "社会事务科",
            "涉农事务和经贸商务科",
        ]
        shown = cells(app, "#dash-table")
        assert len(shown) == len(FIGURES) + 1
        for figure, row in zip(FIGURES, shown, strict=False):
            assert row[1:] == [str(getattr(c, figure)) for c in columns], figure
        assert shown[-1][1:] == [rate_text(c.renewal_rate) for c in columns]
        # The world is not empty: the numbers that matter here are not all zero.
        assert expected.total.tracked == 20 and expected.total.due_unworked >= 7
        assert expected.total.needs_repair == 1
        assert "范围：全部科室" in status(app, "#who")


async def test_a_number_opens_exactly_its_rows_and_a_row_its_record(
    engine: Engine, tmp_path: Path
) -> None:
    busy_world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(app, pilot)
        await open_cell(app, pilot, "due_unworked", SECTION)
        expected = rows_of(engine, "due_unworked", [SECTION])
        shown = cells(app, "#figure-table")
        assert [r[1] for r in shown] == [r.holder for r in expected]
        assert len(shown) == report(engine, [SECTION]).sections[0].due_unworked
        table = app.screen.query_one("#figure-table", DataTable)
        assert [k.value for k in table.rows] == [str(r.reminder_id) for r in expected]
        assert f"共 {len(expected)} 条" in status(app, "#figure-title")
        await pilot.press("escape")
        await settle(app, pilot)
        await open_cell(app, pilot, "needs_repair", TOTAL)
        shown = cells(app, "#figure-table")
        assert [r[1] for r in shown] == ["东丽区无联系方式公司"]
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        assert "东丽区无联系方式公司" in status(app, "#record-title")
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, FigureListScreen)


async def test_a_long_list_pages_a_hundred_at_a_time(engine: Engine, tmp_path: Path) -> None:
    busy_world(engine, tmp_path, due=150)
    expected = rows_of(engine, "due_unworked", None)
    assert len(expected) > 150
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(app, pilot)
        await open_cell(app, pilot, "due_unworked", TOTAL)
        table = app.screen.query_one("#figure-table", DataTable)
        ids = [str(r.reminder_id) for r in expected]
        assert [k.value for k in table.rows] == ids[:100]
        assert "第 1–100 条" in status(app, "#figure-status")
        await pilot.press("]")
        await settle(app, pilot)
        assert [k.value for k in table.rows] == ids[100:200]
        assert f"第 101–{min(200, len(ids))} 条" in status(app, "#figure-status")
        await pilot.press("[")
        await settle(app, pilot)
        assert [k.value for k in table.rows] == ids[:100]
        await pilot.press("[")  # no page before the first: nothing happens
        await settle(app, pilot)
        assert [k.value for k in table.rows] == ids[:100]


async def test_a_caller_sees_only_their_section(engine: Engine, tmp_path: Path) -> None:
    busy_world(engine, tmp_path)
    expected = report(engine, [SECTION])
    app = app_for(engine, "甲")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(app, pilot)
        assert headers(app) == ["指标", SECTION]
        shown = cells(app, "#dash-table")
        for figure, row in zip(FIGURES, shown, strict=False):
            assert row[1:] == [str(getattr(expected.sections[0], figure))], figure
        assert f"范围：{SECTION}" in status(app, "#who")
        chart = app.screen.query_one(WorkloadChart)
        assert chart.sections == [SECTION]
        assert all(set(w.counts) == {SECTION} for w in chart.weeks)
        await open_cell(app, pilot, "tracked", SECTION)
        holders = [r[1] for r in cells(app, "#figure-table")]
        assert OTHER_HOLDER not in holders
        assert len(holders) == expected.sections[0].tracked
    # The desk refuses another section even when asked directly.
    with pytest.raises(PermissionError):
        desk = app.desk
        assert desk is not None
        SupervisionDesk(desk).rows("tracked", OTHER)


async def test_the_chart_has_the_next_26_weeks(engine: Engine, tmp_path: Path) -> None:
    busy_world(engine, tmp_path)
    expected = workload(engine, None)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(app, pilot)
        chart = app.screen.query_one(WorkloadChart)
        assert len(chart.weeks) == 26
        assert chart.weeks == expected
        assert chart.weeks[0].week_start == date(2026, 11, 23)  # the Monday of TODAY's week
        assert chart.sections == ["环保城管和建设交通科", "社会事务科", "涉农事务和经贸商务科"]
        assert sum(chart.totals) == sum(sum(w.counts.values()) for w in expected) > 0
        legend = str(app.screen.query_one("#chart-legend", Static).render())
        assert f"{SECTION} {sum(w.counts[SECTION] for w in expected)}" in legend


async def test_a_failed_read_says_so_and_the_screen_stays(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy_world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(app, pilot)
        before = cells(app, "#dash-table")

        def broken(self: SupervisionDesk) -> Any:
            raise OperationalError("SELECT", {}, Exception("database is locked"))

        monkeypatch.setattr(SupervisionDesk, "overview", broken)
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert "读取督查数据失败" in status(app, "#dash-status")
        assert cells(app, "#dash-table") == before  # what was shown stays
        monkeypatch.undo()
        await pilot.press("r")
        await settle(app, pilot)
        assert "个科室" in status(app, "#dash-status")
