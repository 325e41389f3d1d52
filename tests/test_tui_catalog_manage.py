"""The catalog screen's plan → confirm → save flow, retire and add, checked in the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from callqueue import catalog, db
from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.screens.catalog import CatalogScreen
from callqueue.tui.screens.catalog_dialogs import AddItemDialog, RetireDialog
from callqueue.tui.screens.catalog_edit import CatalogEditDialog
from callqueue.tui.screens.confirm import ConfirmDialog

from .catalog_world import SEQ, TODAY, audits, build_world, item, reminders
from .test_tui_catalog_edit import open_catalog, settle, text_of


def shown(app: CallqueueApp) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query(Static))


async def on_item(app: CallqueueApp, pilot: Pilot[Any], seq: int) -> CatalogScreen:
    screen = await open_catalog(app, pilot)
    table = screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(str(seq)))
    await pilot.pause()
    return screen


async def fill(app: CallqueueApp, pilot: Pilot[Any], prefix: str, **values: str) -> None:
    for name, value in values.items():
        app.screen.query_one(f"#{prefix}-{name}", Input).value = value
    await pilot.press("ctrl+s")
    await settle(app, pilot)


async def test_an_edit_shows_the_count_then_saves_on_yes(engine: Engine, tmp_path: Path) -> None:
    world = build_world(engine, tmp_path)
    before = reminders(engine)
    app = create_app(engine=engine, today=TODAY, staff_name="张敏")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_item(app, pilot, SEQ)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, CatalogEditDialog)
        await fill(app, pilot, "edit", lead_months="6", effective="2026-13-40", reason="新规")
        assert "生效日期应为 YYYY-MM-DD" in text_of(app, "#catalog-edit-error")
        await fill(app, pilot, "edit", effective="2026-11-24", reason="")
        assert "请填写修改原因" in text_of(app, "#catalog-edit-error")
        await fill(app, pilot, "edit", reason="按新规定")
        assert isinstance(app.screen, ConfirmDialog)
        assert "将改动尚未处理的提醒 5 条" in shown(app)
        assert "已在处理中的提醒 2 条保持不变" in shown(app)
        await pilot.press("n")  # not now: back in the dialog, nothing saved
        await settle(app, pilot)
        assert isinstance(app.screen, CatalogEditDialog)
        assert reminders(engine) == before and audits(engine) == []
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen
        assert "改动提醒 5 条" in text_of(app, "#catalog-status")
    assert item(engine).lead_months == 6
    after = reminders(engine)
    assert after[world["丁公司"]]["state"] == "due"
    assert after[world["己公司"]] == before[world["己公司"]]
    assert [(a["action"], a["note"]) for a in audits(engine)] == [("catalog.edit", "按新规定")]


async def test_a_future_edit_is_stored(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    app = create_app(engine=engine, today=TODAY, staff_name="张敏")
    async with app.run_test(size=(120, 40)) as pilot:
        await on_item(app, pilot, SEQ)
        await pilot.press("e")
        await pilot.pause()
        await fill(app, pilot, "edit", lead_months="6", effective="2027-01-04", reason="新规")
        assert "按目前数据估算" in shown(app)
        await pilot.press("y")
        await settle(app, pilot)
        assert "将于 2027-01-04 生效" in text_of(app, "#catalog-status")
    assert item(engine).lead_months == 3
    assert [a["action"] for a in audits(engine)] == ["catalog.schedule"]


def assert_centred(app: Any, selector: str, size: tuple[int, int]) -> None:
    """The dialog's box sits in the middle of the screen (left and right margins alike)."""
    box = app.screen.query_one(selector).region
    left, right = box.x, size[0] - box.right
    assert left > 0 and abs(left - right) <= 1, (box, size)


async def test_retire_from_the_screen(engine: Engine, tmp_path: Path) -> None:
    world = build_world(engine, tmp_path)
    app = create_app(engine=engine, today=TODAY, staff_name="张敏")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_item(app, pilot, SEQ)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, RetireDialog)
        assert_centred(app, "#catalog-edit-box", (120, 40))
        await pilot.press("enter")  # no reason yet
        await settle(app, pilot)
        assert "请填写修改原因" in text_of(app, "#retire-error")
        await fill(app, pilot, "retire", reason="上级取消")
        assert isinstance(app.screen, ConfirmDialog)
        assert "将关闭尚未处理的提醒 5 条" in shown(app)
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen
        assert "已停用" in text_of(app, "#catalog-status")
        assert str(SEQ) not in [str(k.value) for k in screen.query_one(DataTable).rows]
    assert not item(engine).active
    assert reminders(engine)[world["乙公司"]]["state"] == "withdrawn"
    assert reminders(engine)[world["庚公司"]]["state"] == "retry"


async def test_add_from_the_screen(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    app = create_app(engine=engine, today=TODAY, staff_name="张敏")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_item(app, pilot, 3)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, AddItemDialog)
        assert_centred(app, "#catalog-edit-box", (120, 40))
        values = {"permit_item": "养犬登记", "certificate_name": "养犬登记证", "reason": "新增"}
        await fill(app, pilot, "add", **values, lead_months="两")
        assert "提醒时限（月）应为整数" in text_of(app, "#add-error")
        await fill(app, pilot, "add", lead_months="2", validity_years="1", materials="申请表")
        assert app.screen is screen
        assert "已新增第" in text_of(app, "#catalog-status")
    with db.session_scope(engine, write=False) as session:
        entries = catalog.list_items(session)
    added = entries[-1]
    assert (added.certificate_name, added.lead_months, added.materials) == (
        "养犬登记证",
        2,
        ["申请表"],
    )
    assert added.section == "社会事务科"  # the section of the item under the cursor
    assert [a["action"] for a in audits(engine)] == ["catalog.add"]


async def test_a_caller_cannot_retire_or_add(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    app = create_app(engine=engine, today=TODAY, staff_name="甲")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_item(app, pilot, SEQ)
        for key in ("x", "n"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen
            assert "只有主管或管理员可以修改目录" in text_of(app, "#catalog-status")
    assert item(engine).active and audits(engine) == []
