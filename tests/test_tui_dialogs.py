"""The outcome dialogs of the call screen (keys 2, 3, 5, 6, 7), checked against the database."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select, Static

from callqueue import db, workdays
from callqueue.clock import SHANGHAI, local
from callqueue.db import table
from callqueue.models import Appointment, Certificate, ContactPhone, Reminder
from callqueue.queue import appointments
from callqueue.tui.app import CallqueueApp
from callqueue.tui.desk import Desk
from callqueue.tui.screens.confirm import ConfirmDialog
from callqueue.tui.screens.dialogs import (
    AssistedDialog,
    CallbackDialog,
    OutcomeDialog,
    RenewedDialog,
    SlotDialog,
    WrongNumberDialog,
)
from callqueue.tui.screens.queue import QueueScreen

from .queue_world import HOURS, NOW, build, due_row, section_id, set_reminder, staff_id
from .test_tui_queue import FIRST, app_for, attempts, reminders, settle, world

DIALOG_KEYS = (
    ("2", "appointment"),
    ("3", "assisted"),
    ("5", "callback"),
    ("6", "wrong_number"),
    ("7", "renewed"),
)


async def claim_first(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    await settle(app, pilot)
    await pilot.press("n")
    await settle(app, pilot)


async def open_dialog(app: CallqueueApp, pilot: Pilot[Any], key: str) -> OutcomeDialog:
    await pilot.press(key)
    await settle(app, pilot)
    assert isinstance(app.screen, OutcomeDialog)
    return app.screen


async def type_into(app: CallqueueApp, pilot: Pilot[Any], **fields: str) -> None:
    """Set the dialog's inputs by id (underscores for dashes) and press enter in the first."""
    for name, value in fields.items():
        app.screen.query_one(f"#{name.replace('_', '-')}", Input).value = value
    await pilot.press("enter")
    await settle(app, pilot)


def error_of(app: CallqueueApp) -> str:
    return str(app.screen.query_one("#dialog-error", Static).render())


def reminder_row(engine: Engine, reminder_id: int) -> Reminder:
    with db.session_scope(engine, write=False) as session:
        found = session.get(Reminder, reminder_id)
    assert found is not None
    return found


def rows_of(engine: Engine, model: type[Any]) -> list[Any]:
    t = table(model)
    with db.session_scope(engine, write=False) as session:
        return list(session.execute(select(t).order_by(t.c.id)).all())


def assert_nothing_saved(engine: Engine, before: dict[str, dict[str, Any]]) -> None:
    assert attempts(engine) == [] and reminders(engine) == before


async def test_dialog_keys_wait_for_a_claim(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        ids = {b.id for _, b in screen._bindings}
        for key, action in DIALOG_KEYS:
            assert f"queue.{action}" in ids
            assert screen.check_action("outcome", (action,)) is None
            await pilot.press(key)
            await settle(app, pilot)
            assert app.screen is screen
        await pilot.press("n")
        await settle(app, pilot)
        assert all(screen.check_action("outcome", (action,)) for _, action in DIALOG_KEYS)


async def test_callback_dialog(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    me = staff_id(engine, "甲")
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        before = reminders(engine)

        dialog = await open_dialog(app, pilot, "5")
        assert isinstance(dialog, CallbackDialog)
        assert dialog.query_one("#callback-date", Input).value == "2026-11-25"  # next workday
        assert dialog.query_one("#callback-time", Input).value == "10:00"
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        assert_nothing_saved(engine, before)

        await open_dialog(app, pilot, "5")
        for fields, said in (
            ({"callback_date": "2026-13-01"}, "日期无效"),
            ({"callback_date": "2026-11-25", "callback_time": "25:61"}, "时间无效"),
            ({"callback_time": "10:00", "callback_date": "2026-11-28"}, "不是工作日"),
            ({"callback_date": "2026-11-24", "callback_time": "08:00"}, "已过"),
            ({"callback_date": "2026-11-25", "callback_time": "12:30"}, "不在办公时间"),
        ):
            await type_into(app, pilot, **fields)
            assert isinstance(app.screen, CallbackDialog), fields
            assert said in error_of(app)
            typed = app.screen.query_one("#callback-date", Input).value
            assert typed == fields.get("callback_date", typed)  # what was typed stays
            assert_nothing_saved(engine, before)

        await type_into(app, pilot, callback_date="2026-11-26", callback_time="14:00")
        assert isinstance(app.screen, QueueScreen)
        r = reminder_row(engine, before[FIRST]["id"])
        assert (r.state, r.callback_staff_id, r.claimed_by_id) == ("callback", me, None)
        assert r.next_action_at is not None
        assert local(r.next_action_at) == datetime(2026, 11, 26, 14, 0, tzinfo=SHANGHAI)
        assert [a.outcome for a in attempts(engine)] == ["callback"]


def fill_slot(engine: Engine, at: datetime) -> None:
    """Book a slot to capacity behind the desk's back."""
    with db.session_scope(engine, write=True) as session:
        calendar = workdays.load_calendar(session)
        # Two holders the desk is not calling: one holder takes one place however often
        # it is booked.
        r = table(Reminder)
        holders = (
            session.execute(select(r.c.holder_id).where(r.c.claimed_by_id.is_(None)).distinct())
            .scalars()
            .all()
        )
        assert len(holders) >= 2
        for holder in holders[-2:]:
            appointments.book(
                session,
                section_id=section_id(engine),
                holder_id=holder,
                reminder_id=None,
                starts_at=at,
                staff_id=None,
                now=NOW,
                calendar=calendar,
                hours=HOURS,
            )


async def test_slot_dialog(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        before = reminders(engine)

        dialog = await open_dialog(app, pilot, "2")
        assert isinstance(dialog, SlotDialog)
        options = dialog.query_one(OptionList)
        assert options.option_count == 12
        first = str(options.get_option_at_index(0).prompt)
        assert first == "11月24日（周二）09:30–10:00，余2个"
        await pilot.press("escape")
        await settle(app, pilot)
        assert_nothing_saved(engine, before)
        assert rows_of(engine, Appointment) == []

        await open_dialog(app, pilot, "2")
        fill_slot(engine, datetime(2026, 11, 24, 9, 30, tzinfo=SHANGHAI))  # full meanwhile
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, SlotDialog)
        assert "已约满" in error_of(app)
        assert_nothing_saved(engine, before)
        assert len(rows_of(engine, Appointment)) == 2

        await pilot.press("down", "enter")  # 10:00 instead
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        r = reminder_row(engine, before[FIRST]["id"])
        assert (r.state, r.claimed_by_id) == ("appointment", None)
        booked = [a for a in rows_of(engine, Appointment) if a.reminder_id == r.id]
        assert [local(a.starts_at) for a in booked] == [
            datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
        ]


async def test_assisted_dialog(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    me = staff_id(engine, "甲")
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        before = reminders(engine)

        dialog = await open_dialog(app, pilot, "3")
        assert isinstance(dialog, AssistedDialog)
        helper = dialog.query_one("#assisted-helper", Select)
        assert helper.value == me  # the desk's staff member unless changed
        # the cursor starts in the first field on screen; Tab follows the screen's order
        chain = dialog.focus_chain
        assert dialog.focused is chain[0] and chain[0].id == "assisted-notes"
        assert [w.region.y for w in chain] == sorted(w.region.y for w in chain)
        await pilot.press("escape")
        await settle(app, pilot)
        assert_nothing_saved(engine, before)

        first_id = before[FIRST]["id"]
        set_reminder(engine, first_id, state="renewed")  # closed behind the desk's back
        await open_dialog(app, pilot, "3")
        await type_into(app, pilot, assisted_notes="代为准备材料")
        assert isinstance(app.screen, AssistedDialog)
        assert "已结束" in error_of(app)
        assert app.screen.query_one(Input).value == "代为准备材料"
        assert attempts(engine) == []

        set_reminder(engine, first_id, state="due")
        await pilot.press("tab", "enter")  # open the helper list: 甲 (this desk) highlighted
        await settle(app, pilot)
        await pilot.press("down", "enter", "tab")  # the next one: 丙 (the staff list's order)
        await settle(app, pilot)
        assert app.screen.query_one("#assisted-helper", Select).value == staff_id(engine, "丙")
        await type_into(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        r = reminder_row(engine, before[FIRST]["id"])
        assert (r.state, r.assisted, r.helper_staff_id) == (
            "assisted",
            True,
            staff_id(engine, "丙"),
        )
        assert r.assisted_notes == "代为准备材料"


def phones_of(engine: Engine, reminder_id: int) -> list[Any]:
    c, p = table(Certificate), table(ContactPhone)
    cert = reminder_row(engine, reminder_id).certificate_id
    with db.session_scope(engine, write=False) as session:
        contact = session.execute(select(c.c.contact_id).where(c.c.id == cert)).scalar()
        return list(session.execute(select(p).where(p.c.contact_id == contact)).all())


async def test_wrong_number_dialog(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        before = reminders(engine)
        [phone] = phones_of(engine, before[FIRST]["id"])
        assert not phone.invalid

        assert isinstance(await open_dialog(app, pilot, "6"), WrongNumberDialog)
        await pilot.press("escape")
        await settle(app, pilot)
        assert_nothing_saved(engine, before)
        assert not phones_of(engine, before[FIRST]["id"])[0].invalid

        p = table(ContactPhone)
        with db.session_scope(engine, write=True) as session:  # already marked elsewhere
            session.execute(update(p).where(p.c.id == phone.id).values(invalid=True))
        await open_dialog(app, pilot, "6")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, WrongNumberDialog)
        assert "没有可标记为有误的号码" in error_of(app)
        assert_nothing_saved(engine, before)

        with db.session_scope(engine, write=True) as session:
            session.execute(update(p).where(p.c.id == phone.id).values(invalid=False))
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        assert phones_of(engine, before[FIRST]["id"])[0].invalid
        r = reminder_row(engine, before[FIRST]["id"])
        assert (r.state, r.needs_repair) == ("due", True)  # no other number, no email
        assert [a.outcome for a in attempts(engine)] == ["wrong_number"]


async def test_renewed_dialog(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        before = reminders(engine)
        certificates = len(rows_of(engine, Certificate))

        assert isinstance(await open_dialog(app, pilot, "7"), RenewedDialog)
        await pilot.press("escape")
        await settle(app, pilot)
        assert_nothing_saved(engine, before)

        await open_dialog(app, pilot, "7")
        for fields, said in (
            ({"renewed_issued": "2027-02-30"}, "颁发日期无效"),
            ({"renewed_issued": "2027-02-01", "renewed_expires": "32-2-10"}, "期满日期无效"),
            ({"renewed_expires": ""}, "也请填写期满日期"),
            ({"renewed_expires": "2027-01-01"}, "应晚于原证"),
            ({"renewed_expires": "2032-02-10"}, "晚于今天"),  # issued 2027-02-01: not yet
            ({"renewed_issued": "2026-11-20", "renewed_expires": "2032-06-30"}, "超出法定有效期"),
        ):
            await type_into(app, pilot, **fields)
            assert isinstance(app.screen, RenewedDialog), fields
            assert said in error_of(app)
            assert_nothing_saved(engine, before)

        await type_into(app, pilot, renewed_expires="2031-11-19")
        assert isinstance(app.screen, QueueScreen)
        r = reminder_row(engine, before[FIRST]["id"])
        assert (r.state, r.claimed_by_id) == ("renewed", None)
        new = rows_of(engine, Certificate)[-1]
        assert len(rows_of(engine, Certificate)) == certificates + 1
        assert (new.issued_on, new.expires_on) == (date(2026, 11, 20), date(2031, 11, 19))


async def test_a_refusal_at_save_time_is_notified_and_the_claim_kept(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world(engine, tmp_path)
    me = staff_id(engine, "甲")
    monkeypatch.setattr(Desk, "refusal", lambda self, entry, outcome, data: None)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        before = reminders(engine)
        await open_dialog(app, pilot, "7")
        await type_into(app, pilot, renewed_issued="2027-02-01")  # passes the (faked) check
        assert isinstance(app.screen, QueueScreen)
        assert any("也请填写期满日期" in n.message for n in app._notifications)
        assert_nothing_saved(engine, before)
        assert reminders(engine)[FIRST]["claimed_by_id"] == me
        assert app.screen.check_action("outcome", ("renewed",)) is True


async def test_wrong_number_says_which_number_and_lets_staff_pick_the_one_dialled(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine, tmp_path, [due_row(1, contact="13800000001、13900000009")])
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        rid = next(iter(reminders(engine).values()))["id"]
        first, second = sorted(phones_of(engine, rid), key=lambda p: p.position)
        dialog = await open_dialog(app, pilot, "6")
        assert isinstance(dialog, WrongNumberDialog)
        options = dialog.query_one("#wrong-number-list", OptionList)
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert [s.split("（")[0] for s in shown] == ["13800000001", "13900000009"]
        await pilot.press("down", "enter")  # the second number was the one dialled
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        marked = {p.id: p.invalid for p in phones_of(engine, rid)}
        assert marked == {first.id: False, second.id: True}
        assert [a.outcome for a in attempts(engine)] == ["wrong_number"]


async def test_wrong_number_with_one_number_names_it(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        dialog = await open_dialog(app, pilot, "6")
        said = str(dialog.query_one("#wrong-number", Static).render())
        assert "13800000002" in said and "王经理" in said  # FIRST is row 2's holder


@pytest.mark.parametrize(
    ("key", "answer"),
    [("y", True), ("Y", True), ("enter", True), ("n", False), ("N", False), ("escape", False)],
)
async def test_the_yes_no_question_takes_either_case(key: str, answer: bool) -> None:
    """The hint says “Y 或回车确认 · N 或 Esc 返回”: Shift or Caps Lock must not matter."""
    answers: list[bool | None] = []

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ConfirmDialog("确认目录修改", "保存？"), answers.append)

    async with Host().run_test() as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
    assert answers == [answer]
