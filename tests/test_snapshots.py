"""A few named snapshots of the call screen at a frozen date (pytest-textual-snapshot).

Update them with `pytest tests/test_snapshots.py --snapshot-update` after a deliberate change,
and look at the SVGs in tests/__snapshots__/ before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from textual.pilot import Pilot

from callqueue import db, workdays
from callqueue.holiday_file import read_schedule

from .test_tui_dashboard import app_for as dashboard_app
from .test_tui_dashboard import busy_world
from .test_tui_queue import app_for, settle
from .test_tui_queue import world as queue_world

SIZE = (120, 40)
Compare = Callable[..., bool]


def world(engine: Engine, tmp_path: Path) -> None:
    """The queue world with next year's schedule loaded, so no coverage warning covers the screen."""
    queue_world(engine, tmp_path)
    next_year_loaded(engine)


def next_year_loaded(engine: Engine) -> None:
    """Load a (made-up) 2027 schedule: the start-up warning would cover part of the screen."""
    with db.session_scope(engine, write=True) as session:
        workdays.load_schedule(
            session, schedule=read_schedule("年份,2027\n元旦,2027-01-01,休"), source="t", actor="t"
        )


@pytest.fixture
def backend() -> str:
    """Snapshots show the screen, not the database: SQLite only, one SVG per test."""
    return "sqlite"


def test_snapshot_queue_with_a_claimed_holder(
    snap_compare: Compare, engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    app = app_for(engine)

    async def claim(pilot: Pilot[Any]) -> None:
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        await pilot.press("tab", "space", "down", "space", "shift+tab")  # two materials ticked
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=claim)


def test_snapshot_help(snap_compare: Compare, engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)

    async def open_help(pilot: Pilot[Any]) -> None:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_help)


def test_snapshot_filter_dialog_with_a_bad_number(
    snap_compare: Compare, engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    app = app_for(engine)

    async def bad_filter(pilot: Pilot[Any]) -> None:
        await settle(app, pilot)
        await pilot.press("f")
        await settle(app, pilot)
        await pilot.press("tab", "tab", *"30天", "enter")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=bad_filter)


def test_snapshot_staff_picker(
    snap_compare: Compare, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLQUEUE_DESK_STATE", str(tmp_path / "desk.json"))  # nothing remembered
    world(engine, tmp_path)
    app = app_for(engine, None)

    async def wait(pilot: Pilot[Any]) -> None:
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=wait)


def test_snapshot_dashboard(snap_compare: Compare, engine: Engine, tmp_path: Path) -> None:
    busy_world(engine, tmp_path)
    next_year_loaded(engine)
    app = dashboard_app(engine)

    async def open_dashboard(pilot: Pilot[Any]) -> None:
        await settle(app, pilot)
        await pilot.press("d")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_dashboard)
