"""The call-queue screen: the page, claiming, outcome keys, the reason dialog, skipping."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from textual import messages
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, SelectionList, Static

from callqueue import db
from callqueue.db import table
from callqueue.models import Attempt, Holder, Reminder
from callqueue.queue.outcomes import CONVEYABLE
from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.collector import IDLE
from callqueue.tui.screens.catalog import CatalogScreen
from callqueue.tui.screens.queue import QueueScreen
from callqueue.tui.screens.reason import ReasonDialog
from callqueue.tui.screens.staff_picker import StaffPicker
from callqueue.tui.widgets.queue_table import QueueTable

from .queue_world import NOW, SECTION, TODAY, build, due_row, set_reminder, staff_id

FIRST, SECOND, THIRD = "东丽区第002号公司", "东丽区第003号公司", "东丽区第001号公司"


def world(engine: Engine, tmp_path: Path) -> dict[str, int]:
    """Three due holders (queue order 002, 003, 001) and one not yet due."""
    return build(
        engine,
        tmp_path,
        [
            due_row(1, expires_on=date(2027, 2, 24)),
            due_row(2, expires_on=date(2027, 2, 10)),
            due_row(3, expires_on=date(2027, 2, 17)),
            due_row(4, expires_on=date(2027, 9, 1)),  # reminds in 2027: scheduled
        ],
    )


def app_for(engine: Engine, who: str | None = "甲") -> CallqueueApp:
    return create_app(engine=engine, today=TODAY, staff_name=who, now=lambda: NOW)


async def settle(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    """Let workers finish and their messages land (a handler may start the next worker)."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def reminders(engine: Engine) -> dict[str, dict[str, Any]]:
    """Each holder's reminder as the database holds it, by holder name."""
    r, h = table(Reminder), table(Holder)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(
                h.c.name, r.c.id, r.c.state, r.c.claimed_by_id, r.c.attempts, r.c.close_reason
            ).join(h, h.c.id == r.c.holder_id)
        ).all()
    return {row.name: dict(row._mapping) for row in rows}


def attempts(engine: Engine) -> list[Attempt]:
    with db.session_scope(engine, write=False) as session:
        return list(session.exec(select(Attempt).order_by(Attempt.id)).scalars())  # type: ignore[call-overload]


def holders_on_page(app: CallqueueApp) -> list[str]:
    """The holders in the queue list, top to bottom; rows greyed as done are `done_on_page`."""
    table_ = app.screen.query_one("#queue-table", QueueTable)
    return [
        str(table_.get_row_at(i)[0]).removeprefix("▶ ")
        for i, row in enumerate(table_.ordered_rows)
        if row.key.value not in table_.done
    ]


def done_on_page(app: CallqueueApp) -> list[str]:
    """The rows greyed in place as done (until a pause takes them out), as shown."""
    table_ = app.screen.query_one("#queue-table", QueueTable)
    return [
        str(table_.get_row_at(i)[0])
        for i, row in enumerate(table_.ordered_rows)
        if row.key.value in table_.done
    ]


async def tick_all(app: CallqueueApp, pilot: Pilot[Any]) -> list[str]:
    """Tab into the card's checklist and tick every material with the space bar, as staff do."""
    checklist = app.screen.query_one("#materials", SelectionList)
    await pilot.press("tab")
    assert checklist.has_focus
    for _ in range(checklist.option_count):
        await pilot.press("space", "down")
    await pilot.press("shift+tab")  # back to the queue
    return [str(checklist.get_option_at_index(i).value) for i in range(checklist.option_count)]


def text_of(app: CallqueueApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_the_page_lists_due_holders_in_queue_order(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        assert holders_on_page(app) == [FIRST, SECOND, THIRD]
        who = text_of(app, "#who")
        assert "甲" in who and SECTION in who and "2026-11-24" in who
        assert text_of(app, "#queue-status").startswith(
            "第 1 页 3 户 · 待联系 3 · 今日已办 0（本人 0）"
        )
        row = [str(cell) for cell in app.screen.query_one(DataTable).get_row_at(0)]
        assert row[1] == "农药经营许可证" and row[2] == "2027-02-10" and row[5] == "0"
        assert FIRST in text_of(app, "#queue-detail")


async def test_claim_then_informed_then_the_next_holder(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    me = staff_id(engine, "甲")
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        assert reminders(engine)[FIRST]["claimed_by_id"] == me
        assert "认领中" in text_of(app, "#queue-detail") and FIRST in text_of(app, "#queue-detail")
        assert "认领中" in str(app.screen.query_one(DataTable).get_row_at(0)[6])

        materials = await tick_all(app, pilot)
        assert len(materials) >= 3
        option = app.screen.query_one("#materials", SelectionList).get_option_at_index(0)
        await pilot.press("1")
        await settle(app, pilot)
        first = reminders(engine)[FIRST]
        assert (first["state"], first["claimed_by_id"], first["attempts"]) == ("informed", None, 1)
        [attempt] = attempts(engine)
        assert attempt.outcome == "informed" and attempt.staff_id == me
        assert attempt.reminder_id == first["id"] and tuple(attempt.conveyed) == CONVEYABLE
        assert attempt.materials_ticked == materials
        assert holders_on_page(app) == [SECOND, THIRD]
        # the finished row stays where it was, greyed, so the rows below do not move now
        assert done_on_page(app) == [f"✓ {FIRST}"]
        table_ = app.screen.query_one(QueueTable)
        assert str(table_.get_row_at(0)[6]) == "已处理" and table_.cursor_row == 1
        assert "已告知" in text_of(app, "#queue-status")
        # one key per call: the next holder is claimed as soon as the outcome is saved
        assert f"下一户：{SECOND}" in text_of(app, "#queue-status")
        assert reminders(engine)[SECOND]["claimed_by_id"] == me
        assert SECOND in text_of(app, "#queue-detail")
        # the same permit's materials: the list stays, with no ticks carried over
        checklist = app.screen.query_one("#materials", SelectionList)
        assert checklist.display and checklist.selected == [] and checklist.highlighted == 0
        assert [str(checklist.get_option_at_index(i).prompt) for i in range(3)] == materials[:3]
        assert checklist.get_option_at_index(0) is option  # not rebuilt (nor laid out again)


async def test_a_finished_row_stays_greyed_until_a_pause(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        table_ = screen.query_one(QueueTable)
        await pilot.press("n")
        await settle(app, pilot)
        await pilot.press("4")  # 无人接听: no dialog; the retry waits
        await settle(app, pilot)
        assert done_on_page(app) == [f"✓ {FIRST}"] and holders_on_page(app) == [SECOND, THIRD]

        # the page after the save was read without the counts (they count the whole section)
        status = text_of(app, "#queue-status")
        assert "待联系 3 · 今日已办 0（本人 0）" in status and f"下一户：{SECOND}" in status

        screen._tidy()  # a key was just pressed: nothing moves yet
        assert done_on_page(app) == [f"✓ {FIRST}"]
        app.last_input -= IDLE + 0.1  # staff pause
        screen._tidy()
        await settle(app, pilot)
        assert done_on_page(app) == [] and holders_on_page(app) == [SECOND, THIRD]
        status = text_of(app, "#queue-status")  # counted again; what it said stays
        assert "待联系 2 · 今日已办 1（本人 1）" in status and f"下一户：{SECOND}" in status
        assert table_.cursor_row == 0 and screen.claimed is not None  # still on SECOND
        assert screen.claimed.holder == SECOND and SECOND in text_of(app, "#queue-detail")

        await pilot.press("4")  # SECOND done, THIRD claimed
        await settle(app, pilot)
        await pilot.press("s")  # THIRD back in the queue: nothing claimed
        await settle(app, pilot)
        assert screen.claimed is None
        assert done_on_page(app) == [f"✓ {SECOND}"] and holders_on_page(app) == [THIRD]
        assert table_.cursor_row == 1 and THIRD in text_of(app, "#queue-detail")
        await pilot.press("up")  # onto the greyed row: it says what it is
        await settle(app, pilot)
        assert f"{SECOND}：已处理，稍后移出列表" in text_of(app, "#queue-detail")
        assert reminders(engine)[SECOND]["attempts"] == 1


async def test_outcome_keys_are_disabled_before_a_claim(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        before = reminders(engine)
        screen = app.screen
        for key, action in (("1", "informed"), ("4", "no_answer"), ("8", "not_renewing")):
            assert screen.check_action("outcome", (action,)) is None
            await pilot.press(key)
            await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        assert app.screen is screen  # no dialog opened
        assert reminders(engine) == before and attempts(engine) == []


async def test_not_renewing_asks_for_a_reason(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    me = staff_id(engine, "甲")
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)

        await pilot.press("8")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        assert attempts(engine) == []
        assert reminders(engine)[FIRST]["claimed_by_id"] == me  # still claimed

        await pilot.press("8")
        await pilot.pause()
        await pilot.press("enter")  # empty reason: an error, the dialog stays
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        assert "原因不能为空" in str(app.screen.query_one("#reason-error", Static).render())
        app.screen.query_one(Input).value = "已停业"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        first = reminders(engine)[FIRST]
        assert (first["state"], first["close_reason"]) == ("not_renewing", "已停业")
        assert [a.outcome for a in attempts(engine)] == ["not_renewing"]
        assert holders_on_page(app) == [SECOND, THIRD]


async def test_no_answer_and_skip(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        first = reminders(engine)[FIRST]
        assert (first["state"], first["claimed_by_id"]) == ("due", None)
        assert attempts(engine) == []
        assert app.screen.check_action("skip", ()) is None  # nothing claimed any more

        await pilot.press("n", "4")
        await settle(app, pilot)
        first = reminders(engine)[FIRST]
        assert (first["state"], first["attempts"]) == ("retry", 1)
        assert holders_on_page(app) == [SECOND, THIRD]  # the retry waits until later


async def test_a_refused_outcome_is_shown_and_the_screen_stays(
    engine: Engine, tmp_path: Path
) -> None:
    ids = world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        first_id = reminders(engine)[FIRST]["id"]
        assert first_id in ids.values()
        set_reminder(engine, first_id, state="renewed")  # closed behind the desk's back
        await pilot.press("4")
        await settle(app, pilot)
        assert "已结束" in text_of(app, "#queue-status")
        assert attempts(engine) == []
        assert (
            app.screen.check_action("outcome", ("informed",)) is True
        )  # the claim stays; skip works
        await pilot.press("s")
        await settle(app, pilot)
        assert reminders(engine)[FIRST]["claimed_by_id"] is None


async def test_staff_choose_who_works_and_the_desk_remembers(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLQUEUE_DESK_STATE", str(tmp_path / "desk.json"))
    world(engine, tmp_path)
    app = app_for(engine, None)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, StaffPicker)
        options = app.screen.query_one(OptionList)
        assert (
            options.option_count == 3 and options.highlighted == 0
        )  # 甲 乙 丙, nothing remembered
        assert "预先选中" not in picker_hint(app)  # nobody was chosen here before
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen) and app.screen.desk.staff.name == "乙"
        assert "乙" in text_of(app, "#who")
    assert "乙" in (tmp_path / "desk.json").read_text(encoding="utf-8")

    app = app_for(engine, "不存在的人")  # a wrong --staff: the picker says so, 乙 preselected
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, StaffPicker)
        assert app.screen.query_one(OptionList).highlighted == 1
        assert "上次在本机选择的工作人员已预先选中" in picker_hint(app)
        assert "不存在的人" in text_of(app, "#staff-note")
        await pilot.press("escape")  # nobody: the catalog only
        await settle(app, pilot)
        assert isinstance(app.screen, CatalogScreen)
        assert any("未选择工作人员" in n.message for n in app._notifications)


def picker_hint(app: CallqueueApp) -> str:
    return str(app.screen.query_one(".dialog-hint", Static).render())


async def test_without_any_staff_the_catalog_opens(engine: Engine) -> None:
    app = app_for(engine, None)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, CatalogScreen)
        assert any("staff add" in n.message for n in app._notifications)


async def test_quitting_gives_back_a_claim_with_nothing_recorded(
    engine: Engine, tmp_path: Path
) -> None:
    """Colleagues need not wait for the lease: the claimed holder is free again at once."""
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        assert reminders(engine)[FIRST]["claimed_by_id"] == staff_id(engine, "甲")
        await pilot.press("4")  # no answer: saved, and the next holder is claimed
        await settle(app, pilot)
        assert reminders(engine)[SECOND]["claimed_by_id"] == staff_id(engine, "甲")
        await pilot.press("q")
        await pilot.pause()
    after = reminders(engine)
    assert [after[h]["claimed_by_id"] for h in (FIRST, SECOND, THIRD)] == [None, None, None]
    assert (after[FIRST]["state"], after[FIRST]["attempts"]) == ("retry", 1)  # kept
    assert (after[SECOND]["state"], after[SECOND]["attempts"]) == ("due", 0)


async def test_a_closed_browser_tab_gives_back_its_claim(engine: Engine, tmp_path: Path) -> None:
    """`callqueue serve` ends a tab's TUI with Textual's ExitApp, not the q key: the holder it
    claimed must be free at once too, not blocked for colleagues until the lease runs out."""
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        assert reminders(engine)[FIRST]["claimed_by_id"] == staff_id(engine, "甲")
        app.post_message(messages.ExitApp())  # what textual's web driver does on "quit"
        await pilot.pause()
    assert reminders(engine)[FIRST]["claimed_by_id"] is None


async def test_a_long_call_keeps_its_holder_and_a_forgotten_desk_lets_go(
    engine: Engine, tmp_path: Path
) -> None:
    """The claim's lease is renewed while the card is open (a call may run past ten
    minutes), up to `claim_hold_max_minutes`; a desk whose holder went to a colleague once
    the lease ran out says so before staff try to save."""
    world(engine, tmp_path)
    clock = [NOW]
    app = create_app(engine=engine, today=TODAY, staff_name="甲", now=lambda: clock[0])
    lease = timedelta(minutes=app.settings.claim_lease_minutes)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        assert claim_until(engine, FIRST) == NOW + lease
        clock[0] = NOW + timedelta(minutes=8)  # still talking
        screen._keep_claim()
        await settle(app, pilot)
        assert claim_until(engine, FIRST) == clock[0] + lease
        renewed = clock[0] + lease
        clock[0] = NOW + timedelta(minutes=app.settings.claim_hold_max_minutes)  # forgotten
        screen._keep_claim()
        await settle(app, pilot)
        assert claim_until(engine, FIRST) == renewed  # left to run out
        # A colleague took the holder after the lease ran out: the desk says so at once.
        set_reminder(engine, reminders(engine)[FIRST]["id"], claimed_by_id=staff_id(engine, "乙"))
        clock[0] = NOW + timedelta(minutes=9)
        screen.held_since = (screen.held_since[0], clock[0])  # type: ignore[index]
        screen._keep_claim()
        await settle(app, pilot)
        assert "已由其他工作人员接手" in str(screen.query_one("#queue-status", Static).render())
    assert reminders(engine)[FIRST]["claimed_by_id"] == staff_id(engine, "乙")  # not released


def claim_until(engine: Engine, holder: str) -> Any:
    r, h = table(Reminder), table(Holder)
    with db.session_scope(engine, write=False) as session:
        return session.execute(
            select(r.c.claim_expires_at).join(h, h.c.id == r.c.holder_id).where(h.c.name == holder)
        ).scalar_one()


async def test_an_empty_queue_says_so_and_the_card_is_not_left_loading(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine, tmp_path, [due_row(1), due_row(4, expires_on=date(2027, 9, 1))])
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        await pilot.press("n")
        await settle(app, pilot)
        assert "一次性告知" in text_of(app, "#inform-words")
        await pilot.press("4")  # the last due holder: nobody to claim next
        await settle(app, pilot)
        app.last_input -= IDLE + 0.1  # staff pause: the finished row leaves
        screen._tidy()
        await settle(app, pilot)
        assert holders_on_page(app) == [] and done_on_page(app) == []
        assert "队列为空" in text_of(app, "#queue-detail")
        card = text_of(app, "#inform-words")
        assert "正在读取" not in card and "没有要联系的单位" in card
    empty = create_app(engine=engine, today=TODAY, staff_name="甲", now=lambda: NOW)
    async with empty.run_test(size=(120, 40)) as pilot:  # opened on an empty queue
        await settle(empty, pilot)
        assert "队列为空" in text_of(empty, "#queue-detail")
        assert "正在读取" not in text_of(empty, "#inform-words")
