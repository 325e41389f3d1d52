"""Catalog editing: callers are refused, a supervisor's edit is validated, saved and audited."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from callqueue import db
from callqueue.config import Settings
from callqueue.db import table
from callqueue.models import AuditEvent, CatalogItem
from callqueue.queue import staff
from callqueue.roles import NotAllowed
from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.desk import default_clock
from callqueue.tui.office_desk import OfficeDesk
from callqueue.tui.screens.catalog import CatalogScreen
from callqueue.tui.screens.catalog_edit import CatalogEditDialog
from callqueue.tui.screens.confirm import ConfirmDialog
from callqueue.tui.screens.queue import QueueScreen

TODAY = date(2026, 11, 24)


def add(engine: Engine, name: str, role: str) -> int:
    with db.session_scope(engine, write=True) as session:
        return staff.add_staff(session, name=name, section="政务服务科", role=role, actor="t").id


def item(engine: Engine, seq: int = 1) -> CatalogItem:
    with db.session_scope(engine, write=False) as session:
        found = session.exec(select(CatalogItem).where(CatalogItem.seq == seq)).scalar_one()  # type: ignore[call-overload]
    assert isinstance(found, CatalogItem)
    return found


def catalog_audits(engine: Engine) -> list[dict[str, Any]]:
    a = table(AuditEvent)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(a.c.entity_id, a.c.staff_id, a.c.actor, a.c.before, a.c.after, a.c.note)
            .where(a.c.action.in_(("catalog.update", "catalog.edit")))
            .order_by(a.c.id)
        ).all()
    return [dict(row._mapping) for row in rows]


async def settle(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def text_of(app: CallqueueApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_catalog(app: CallqueueApp, pilot: Pilot[Any]) -> CatalogScreen:
    await settle(app, pilot)
    assert isinstance(app.screen, QueueScreen)
    await pilot.press("c")
    await settle(app, pilot)
    assert isinstance(app.screen, CatalogScreen)
    return app.screen


async def test_a_caller_is_refused(engine: Engine) -> None:
    add(engine, "甲", "caller")
    before = item(engine).lead_months
    app = create_app(engine=engine, today=TODAY, staff_name="甲")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_catalog(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, CatalogScreen)  # no dialog
        assert "只有主管或管理员可以修改目录；甲是提醒人" in text_of(app, "#catalog-status")
    assert item(engine).lead_months == before
    assert catalog_audits(engine) == []


async def test_without_a_staff_member_the_catalog_is_read_only(engine: Engine) -> None:
    app = create_app(engine=engine, today=TODAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, CatalogScreen)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, CatalogScreen)
        assert "未指定工作人员，不能修改目录" in text_of(app, "#catalog-status")
    assert catalog_audits(engine) == []


def test_the_desk_refuses_a_caller_even_without_the_screen(engine: Engine) -> None:
    add(engine, "甲", "caller")
    with db.session_scope(engine, write=False) as session:
        caller = staff.get_staff(session, "甲")
    office = OfficeDesk(
        engine=engine, settings=Settings(), staff=caller, today=TODAY, now=default_clock(TODAY)
    )
    with pytest.raises(NotAllowed, match="甲是提醒人"):
        office.edit_catalog(1, {"lead_months": 7}, "试图修改")
    assert catalog_audits(engine) == []


async def test_a_supervisor_edit_is_checked_saved_and_audited(engine: Engine) -> None:
    me = add(engine, "张敏", "supervisor")
    old = item(engine)
    app = create_app(engine=engine, today=TODAY, staff_name="张敏")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_catalog(app, pilot)
        assert "张敏（主管）" in text_of(app, "#who")

        async def edit(**values: str) -> None:
            for name, value in values.items():
                app.screen.query_one(f"#edit-{name}", Input).value = value
            app.screen.query_one("#edit-reason", Input).focus()
            await pilot.press("enter")
            await settle(app, pilot)

        await pilot.press("e")  # escape: nothing saved
        assert isinstance(app.screen, CatalogEditDialog)
        app.screen.query_one("#edit-lead_months", Input).value = "9"
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen and item(engine).lead_months == old.lead_months

        await pilot.press("e")
        await edit(lead_months="七", reason="按新规定")
        assert "提醒时限（月）应为整数" in text_of(app, "#catalog-edit-error")
        await edit(lead_months="30")  # the service's own check, shown inline
        assert "提醒时限应为 1–24 个月" in text_of(app, "#catalog-edit-error")
        await edit(lead_months="-1")  # a whole number, told its range (not "应为整数")
        assert "提醒时限应为 1–24 个月" in text_of(app, "#catalog-edit-error")
        await edit(lead_months="7", reason="")
        assert "请填写修改原因" in text_of(app, "#catalog-edit-error")
        assert isinstance(app.screen, CatalogEditDialog)
        assert app.screen.query_one("#edit-lead_months", Input).value == "7"  # kept
        assert catalog_audits(engine) == []
        await edit(lead_months="7", materials="申请书；营业执照", reason="按新规定调整")
        assert isinstance(app.screen, ConfirmDialog)  # the plan first: no reminders here
        shown = "\n".join(str(w.render()) for w in app.screen.query(Static))
        assert "将改动尚未处理的提醒 0 条" in shown
        assert catalog_audits(engine) == []
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen
        assert "第1项" in text_of(app, "#catalog-status") and "已记入审计" in text_of(
            app, "#catalog-status"
        )
        row = [str(c) for c in screen.query_one(DataTable).get_row_at(0)]
        assert row[5] == "到期前7个月"
    saved = item(engine)
    assert (saved.lead_months, saved.materials) == (7, ["申请书", "营业执照"])
    assert catalog_audits(engine) == [
        {
            "entity_id": "1",
            "staff_id": me,
            "actor": "张敏",
            "before": {"lead_months": old.lead_months, "materials": old.materials},
            "after": {
                "lead_months": 7,
                "materials": ["申请书", "营业执照"],
                "effective_on": "2026-11-24",
                "reminders_changed": 0,
            },
            "note": "按新规定调整",
        }
    ]
