"""Signing in at a shared desk: the staff list, then the PIN; refusals stay in the dialog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from callqueue import db
from callqueue.queue import staff, staff_admin
from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.screens.pin_dialog import PinDialog
from callqueue.tui.screens.queue import QueueScreen
from callqueue.tui.screens.staff_picker import SignInPicker

from .queue_world import NOW, TODAY, build, due_row
from .test_tui_queue import settle, text_of

PIN = "4826"


@pytest.fixture(autouse=True)
def desk_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing remembered from other tests: 甲 is the first in the list."""
    monkeypatch.setenv("CALLQUEUE_DESK_STATE", str(tmp_path / "desk.json"))


def world(engine: Engine, tmp_path: Path) -> None:
    """Two due holders; 甲 and 乙 have PINs, 丙 has none; an admin to deactivate staff."""
    build(engine, tmp_path, [due_row(1), due_row(2)])
    with db.session_scope(engine, write=True) as session:
        staff.add_staff(
            session, name="管理", section="政务服务科", role="admin", actor="t", pin="9999"
        )
        for name in ("甲", "乙"):
            staff_admin.set_pin(session, name=name, pin=PIN, actor="t")


def app_for(engine: Engine, who: str | None = None) -> CallqueueApp:
    return create_app(engine=engine, today=TODAY, staff_name=who, now=lambda: NOW, sign_in=True)


async def type_pin(app: CallqueueApp, pilot: Pilot[Any], pin: str) -> None:
    assert isinstance(app.screen, PinDialog)
    await pilot.press(*pin, "enter")
    await settle(app, pilot)


async def choose(app: CallqueueApp, pilot: Pilot[Any], name: str) -> None:
    """Pick `name` in the staff list with the arrow keys and enter."""
    assert isinstance(app.screen, SignInPicker)
    names = [s.name for s in app.screen.staff]
    options = app.screen.query_one(OptionList)
    while options.highlighted != names.index(name):
        await pilot.press("down")
    await pilot.press("enter")
    await settle(app, pilot)


def error_of(app: CallqueueApp) -> str:
    return text_of(app, "#pin-error")


async def test_the_right_pin_opens_the_queue(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SignInPicker)
        assert app.check_action("catalog", ()) is False  # nothing opens before signing in
        await choose(app, pilot, "甲")
        assert isinstance(app.screen, PinDialog) and app.screen.staff.name == "甲"
        field = app.screen.query_one("#pin-input", Input)
        assert field.password and field.has_focus
        await type_pin(app, pilot, PIN)
        assert isinstance(app.screen, QueueScreen) and app.screen.desk.staff.name == "甲"
        assert app.desk is not None and app.check_action("catalog", ()) is True


async def test_a_wrong_pin_stays_in_the_dialog_and_counts_down_to_a_lockout(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    app = app_for(engine, "乙")  # --staff with sign-in still asks for the PIN
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, PinDialog) and app.screen.staff.name == "乙"
        await type_pin(app, pilot, "1111")
        assert isinstance(app.screen, PinDialog)
        assert error_of(app) == "PIN 不正确，还可再试 4 次"
        field = app.screen.query_one("#pin-input", Input)
        assert field.value == "" and not field.disabled and field.has_focus
        await type_pin(app, pilot, "12")
        assert error_of(app) == "PIN 须为 4–8 位数字"  # not counted
        for left in (3, 2, 1):
            await type_pin(app, pilot, "1111")
            assert error_of(app) == f"PIN 不正确，还可再试 {left} 次"
        await type_pin(app, pilot, "1111")
        assert error_of(app) == "PIN 不正确，连续输错 5 次，已锁定至 09:15"
        await type_pin(app, pilot, PIN)  # locked: even the right PIN waits
        assert isinstance(app.screen, PinDialog)
        assert error_of(app) == "连续输错 5 次，已锁定至 09:15"
        assert app.desk is None


async def test_deactivated_and_pinless_staff_are_refused(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SignInPicker)
        with db.session_scope(engine, write=True) as session:  # while the list is shown
            staff_admin.set_active(session, name="甲", active=False, actor="管理", now=NOW)
        await choose(app, pilot, "甲")
        await type_pin(app, pilot, PIN)
        assert isinstance(app.screen, PinDialog)
        assert error_of(app) == "工作人员“甲”已停用，不能登录"
        await pilot.press("escape")  # back to the list, read again: 甲 is gone
        await settle(app, pilot)
        assert isinstance(app.screen, SignInPicker)
        assert {s.name for s in app.screen.staff} == {"乙", "丙", "管理"}
        await choose(app, pilot, "丙")  # no PIN
        await type_pin(app, pilot, "1234")
        assert "还没有设置 PIN，请管理员设置" in error_of(app)
        assert app.desk is None


async def test_a_deactivated_staff_named_with_staff_gets_the_list(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    with db.session_scope(engine, write=True) as session:
        staff_admin.set_active(session, name="乙", active=False, actor="管理", now=NOW)
    app = app_for(engine, "乙")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SignInPicker)
        assert "已停用" in text_of(app, "#staff-note")
        assert {s.name for s in app.screen.staff} == {"甲", "丙", "管理"}


async def test_escape_leads_back_to_the_list_then_out(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await choose(app, pilot, "乙")
        assert isinstance(app.screen, PinDialog)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, SignInPicker)
        await pilot.press("escape")
        await pilot.pause()
        assert app.return_code == 0 and app.desk is None
