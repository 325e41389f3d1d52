"""The call screen around the outcome keys: the card, the detail pane, notes, filter, paging,
help, and a failed save that keeps what was entered."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from textual.widgets import Input, Select, SelectionList, Static

from callqueue import db
from callqueue.queue import claims
from callqueue.queue.outcomes import CONVEYABLE
from callqueue.tui import desk as desk_module
from callqueue.tui.collector import IDLE
from callqueue.tui.desk import Desk
from callqueue.tui.screens import queue as queue_module
from callqueue.tui.screens import queue_state
from callqueue.tui.screens.confirm import ConfirmDialog, NoteDialog
from callqueue.tui.screens.filter import FilterDialog
from callqueue.tui.screens.help import HelpScreen
from callqueue.tui.screens.queue import QueueScreen
from callqueue.tui.widgets.queue_table import QueueTable

from .queue_world import NOW, build, due_row, section_id, set_reminder, staff_id
from .test_queue_claims_holder import reminder_ids
from .test_tui_dialogs import claim_first
from .test_tui_queue import (
    FIRST,
    SECOND,
    THIRD,
    app_for,
    attempts,
    holders_on_page,
    reminders,
    settle,
    text_of,
    world,
)


async def test_escape_leaves_the_checklist_for_the_list(engine: Engine, tmp_path: Path) -> None:
    # Esc means "back" everywhere else; in the checklist (after Tab) it did nothing.
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        checklist = app.screen.query_one("#materials", SelectionList)
        await pilot.press("tab", "space")
        await settle(app, pilot)
        assert app.focused is checklist and len(checklist.selected) == 1
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        assert isinstance(app.focused, QueueTable)
        assert len(checklist.selected) == 1  # what was ticked stays ticked
        assert reminders(engine)[FIRST]["claimed_by_id"] is not None  # and the call goes on


async def test_informed_with_materials_missing_asks_first(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        checklist = app.screen.query_one("#materials", SelectionList)
        total = checklist.option_count
        await pilot.press("1")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert f"0/{total}" in str(app.screen.question)
        await pilot.press("n")  # back: nothing saved, still claimed
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen) and attempts(engine) == []
        assert reminders(engine)[FIRST]["claimed_by_id"] is not None

        await pilot.press("tab", "space", "shift+tab", "1")  # one material ticked
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog) and f"1/{total}" in app.screen.question
        await pilot.press("y")
        await settle(app, pilot)
        [attempt] = attempts(engine)
        assert attempt.outcome == "informed"
        assert tuple(attempt.conveyed) == tuple(c for c in CONVEYABLE if c != "materials")
        assert len(attempt.materials_ticked) == 1
        assert reminders(engine)[FIRST]["state"] == "informed"


async def test_detail_pane_and_card_show_the_record(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        detail = text_of(app, "#queue-detail")
        assert "13800000002" in detail and "联系人" in detail  # FIRST is row 2's holder
        assert "期满 2027-02-10" in detail and "提醒记录" in detail and "（尚无）" in detail
        card = text_of(app, "#inform-words")
        assert "2027年2月10日（星期三）期满" in card
        # the world's 农药 apply-by dates fall before TODAY: the card warns
        assert "已过申请截止" in card
        await pilot.press("4")  # no answer: the holder comes back later with its history
        await settle(app, pilot)
        assert FIRST not in holders_on_page(app)  # waiting for its retry time
        screen = app.screen
        assert isinstance(screen, QueueScreen) and screen.claimed is not None
        assert screen.claimed.holder == SECOND  # the next holder, claimed at once
        await pilot.press("s")
        await settle(app, pilot)
        first = reminders(engine)[FIRST]["id"]
        set_reminder(engine, first, next_action_at=NOW - timedelta(minutes=1))
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("up", "up", "up")
        await settle(app, pilot)
        assert holders_on_page(app)[0] == FIRST
        detail = text_of(app, "#queue-detail")
        assert "已拨 1 次 · 重拨" in detail and "11-24 09:00 甲 电话 无人接听" in detail


async def test_a_note_goes_with_the_next_outcome(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        await pilot.press("b")
        await settle(app, pilot)
        assert isinstance(app.screen, NoteDialog)
        app.screen.query_one("#note-input", Input).value = "财务[李]女士接听，请找王经理"
        await pilot.press("enter")
        await settle(app, pilot)
        assert "财务[李]女士" in text_of(app, "#queue-note")  # shown as typed, not as markup
        await pilot.press("4")
        await settle(app, pilot)
        [attempt] = attempts(engine)
        assert (attempt.outcome, attempt.note) == ("no_answer", "财务[李]女士接听，请找王经理")
        assert text_of(app, "#queue-note") == ""  # used up


async def test_a_failed_save_keeps_the_entry_and_retries(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world(engine, tmp_path)
    real = Desk.record

    def broken(self: Desk, *args: Any, **kwargs: Any) -> Any:
        raise OperationalError("UPDATE reminder", {}, Exception("disk I/O error"))

    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        await pilot.press("b")
        await settle(app, pilot)
        app.screen.query_one("#note-input", Input).value = "下午再打"
        await pilot.press("enter")
        monkeypatch.setattr(Desk, "record", broken)
        await pilot.press("4")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        status = text_of(app, "#queue-status")
        assert "保存结果失败" in status and "Ctrl+S" in status
        assert attempts(engine) == [] and screen.claimed is not None
        assert screen.check_action("retry_save", ()) is True

        monkeypatch.setattr(Desk, "record", real)  # the database is back
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        [attempt] = attempts(engine)
        assert (attempt.outcome, attempt.note) == ("no_answer", "下午再打")
        assert screen.check_action("retry_save", ()) is False
        assert screen.claimed is not None and screen.claimed.holder == SECOND


async def test_a_refused_save_names_the_holder_and_offers_no_retry(
    engine: Engine, tmp_path: Path
) -> None:
    """The lease ran out and a colleague took the holder: the save is refused. Ctrl+S would be
    refused again, so it is not offered; the message names the holder, not a reminder id."""
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen) and screen.claimed is not None
        held = screen.claimed
        for rid in held.reminders:
            set_reminder(
                engine,
                rid,
                claimed_by_id=staff_id(engine, "乙"),
                claim_expires_at=NOW + timedelta(minutes=10),
            )
        await pilot.press("4")
        await settle(app, pilot)
        status = text_of(app, "#queue-status")
        assert status.startswith(f"{held.holder}：") and "正由其他工作人员处理" in status
        assert "Ctrl+S" not in status and "未保存" in status
        assert screen.check_action("retry_save", ()) is False
        assert attempts(engine) == []


async def test_filter_narrows_the_list(engine: Engine, tmp_path: Path) -> None:
    build(
        engine,
        tmp_path,
        [
            due_row(1, expires_on=date(2027, 2, 24)),
            due_row(2, expires_on=date(2027, 2, 10), certificate="兽药经营许可证"),
            due_row(3, expires_on=date(2027, 2, 17)),
        ],
    )
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert len(holders_on_page(app)) == 3
        await pilot.press("f")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, FilterDialog)
        items = dialog.query_one("#filter-item", Select)
        [vet] = [value for label, value in items._options if label == "兽药经营许可证"]
        items.value = vet
        dialog.query_one("#filter-days", Input).value = "abc"
        dialog.query_one("#filter-days", Input).focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is dialog and "天数无效" in text_of(app, "#dialog-error")
        dialog.query_one("#filter-days", Input).value = ""
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        assert holders_on_page(app) == ["东丽区第002号公司"]
        assert "筛选：指定证书" in text_of(app, "#queue-status")

        await pilot.press("f")
        await settle(app, pilot)
        await pilot.press("ctrl+r")  # clear
        await settle(app, pilot)
        assert len(holders_on_page(app)) == 3


async def test_pages_of_the_queue(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world(engine, tmp_path)
    monkeypatch.setattr(desk_module, "PAGE_SIZE", 2)
    monkeypatch.setattr(queue_module, "PAGE_SIZE", 2)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert holders_on_page(app) == [FIRST, SECOND]
        assert app.screen.check_action("page", (-1,)) is None  # no page before the first
        await pilot.press("]")
        await settle(app, pilot)
        assert holders_on_page(app) == [THIRD]
        assert text_of(app, "#queue-status").startswith("第 2 页 1 户")
        await pilot.press("]")  # the last page: stays
        await settle(app, pilot)
        assert holders_on_page(app) == [THIRD]
        await pilot.press("[")
        await settle(app, pilot)
        assert holders_on_page(app) == [FIRST, SECOND]


async def test_help_and_the_email_key_without_an_address(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        screen = app.screen
        assert screen.check_action("email", ()) is None  # no address: greyed, does nothing
        await pilot.press("e")
        await settle(app, pilot)
        assert app.screen is screen and attempts(engine) == []
        await pilot.press("question_mark")
        await settle(app, pilot)
        help_ = app.screen
        assert isinstance(help_, HelpScreen)
        keys = {key: (name, why) for key, name, why in help_.rows}
        assert keys["1"][0] == "告知" and "有效邮箱" in keys["e"][1]
        assert keys["]"][0] == "下页" and keys["?"][0] == "帮助" and keys["b"][0] == "备注"
        notes = " ".join(str(w.render()) for w in help_.query(".help-note"))
        assert "一次性告知" in notes
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen


async def test_the_command_palette_offers_the_keys_that_work_now(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "下一户（n）" in titles and "筛选（f）" in titles and "帮助（?）" in titles
        assert not any(t.startswith("告知") for t in titles)  # nothing claimed yet
        [claim] = [c for c in app.get_system_commands(app.screen) if c.title == "下一户（n）"]
        await claim.callback()
        await settle(app, pilot)
        assert reminders(engine)[FIRST]["claimed_by_id"] is not None
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "告知（1）" in titles and "不续（8）" in titles


async def test_a_lost_database_is_said_and_the_screen_recovers(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    world(engine, tmp_path)
    real = Desk.page

    def gone(self: Desk, **kwargs: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        monkeypatch.setattr(Desk, "page", gone)
        await pilot.press("r")
        await settle(app, pilot)
        status = text_of(app, "#queue-status")
        assert "读取队列失败：无法连接数据库" in status
        assert holders_on_page(app) == [FIRST, SECOND, THIRD]  # the last page stays in view
        monkeypatch.setattr(Desk, "page", real)
        if backend == "postgresql":  # a real loss: every connection of this database is cut
            with engine.connect() as conn:
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        await pilot.press("n")  # the pool reconnects; the claim works
        await settle(app, pilot)
        assert reminders(engine)[FIRST]["claimed_by_id"] is not None
        assert isinstance(app.screen, QueueScreen) and app.screen.claimed is not None


async def test_a_restarted_desk_picks_up_its_claim(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    # A desk that died (killed, power cut) leaves its claim behind; one that quits gives it back.
    with db.write_unit(engine) as session:
        claims.next_for(
            session, staff_id=staff_id(engine, "甲"), section_id=section_id(engine), now=NOW
        )
    app = app_for(engine)  # the desk restarts within the lease
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen) and screen.claimed is not None
        assert screen.claimed.holder == FIRST and "认领中" in text_of(app, "#queue-detail")
        await pilot.press("4")
        await settle(app, pilot)
        [attempt] = attempts(engine)
        assert attempt.outcome == "no_answer"


async def test_user_data_is_shown_as_written_never_as_markup(
    engine: Engine, tmp_path: Path
) -> None:
    odd = "天津[/b]市[red]测试[/red]有限公司（很长的名称用来检查截断和对齐是否正常工作）"
    build(engine, tmp_path, [due_row(1, holder=odd, contact_name="王[i]经理")])
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        assert holders_on_page(app) == [odd]
        detail = text_of(app, "#queue-detail")
        assert odd in detail and "王[i]经理" in detail
        assert odd in text_of(app, "#inform-words")
        await pilot.press("4")
        await settle(app, pilot)
        assert attempts(engine)[0].outcome == "no_answer"


async def test_the_card_of_a_claim_covers_every_certificate_it_records(
    engine: Engine, tmp_path: Path
) -> None:
    """The claim takes every callable reminder of the holder: the card drawn from the list's
    entry (read before a second one came due) must not be reused for it."""
    build(
        engine,
        tmp_path,
        [
            due_row(2, expires_on=date(2027, 2, 10)),
            due_row(2, certificate="生鲜乳收购许可证", expires_on=date(2027, 9, 1)),
            due_row(3, expires_on=date(2027, 2, 17)),
        ],
    )
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert "生鲜乳" not in text_of(app, "#inform-words")  # scheduled: not this call's
        milk = reminder_ids(engine)[(FIRST, "生鲜乳收购许可证")]
        set_reminder(engine, milk, state="due")  # came due meanwhile (a refresh, say)
        await pilot.press("n")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen) and screen.claimed is not None
        assert len(screen.claimed.reminders) == 2
        card = text_of(app, "#inform-words")
        assert "农药经营许可证" in card and "生鲜乳收购许可证" in card


async def test_the_card_shows_a_holders_certificate_further_down_the_order(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The desk's page reads no further than its last holder's first row; the card of a holder
    lists its certificate to be filed months later all the same, before and after the claim."""
    monkeypatch.setattr(desk_module, "PAGE_SIZE", 2)
    build(
        engine,
        tmp_path,
        [
            due_row(2, expires_on=date(2027, 2, 10)),
            due_row(2, certificate="生鲜乳收购许可证", expires_on=date(2027, 9, 1)),
            due_row(3, expires_on=date(2027, 2, 17)),
            due_row(1, expires_on=date(2027, 2, 24)),
        ],
    )
    milk = reminder_ids(engine)[(FIRST, "生鲜乳收购许可证")]
    set_reminder(engine, milk, state="due", apply_by=date(2027, 6, 30))  # last in the order
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen) and holders_on_page(app)[0] == FIRST
        card = text_of(app, "#inform-words")
        assert "农药经营许可证" in card and "生鲜乳收购许可证" in card
        table = screen.query_one(QueueTable)
        assert str(table.get_row_at(0)[1]) == "农药经营许可证 等2张"  # the row names both too
        await pilot.press("r")  # a reload reads the page and the cards again: still both
        await settle(app, pilot)
        assert str(table.get_row_at(0)[1]) == "农药经营许可证 等2张"
        await pilot.press("n")
        await settle(app, pilot)
        assert screen.claimed is not None and milk in screen.claimed.reminders
        card = text_of(app, "#inform-words")
        assert "农药经营许可证" in card and "生鲜乳收购许可证" in card


async def test_what_was_saved_leads_the_status_line_then_the_counts_do(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_name = "天津市东丽区某某农业生产资料有限责任公司第一分公司（华明镇门市部）"
    build(
        engine,
        tmp_path,
        [
            due_row(1, holder=long_name, expires_on=date(2027, 2, 10)),
            due_row(2, expires_on=date(2027, 2, 17)),
        ],
    )
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        await pilot.press("7", "enter")  # 已换证, no new dates
        await settle(app, pilot)
        assert attempts(engine)[0].outcome == "renewed"
        status = screen.query_one("#queue-status", Static)
        shown = status.region.width - 2  # what the line shows (padding 1 each side)
        line = text_of(app, "#queue-status")
        assert line.startswith(f"{long_name}：")
        assert "已换证" in line[: shown // 2]  # wide characters: two cells each
        assert "待联系" in line  # the counts follow

        monkeypatch.setattr(queue_state, "SAID_FIRST", 0.0)
        await pilot.press("4")  # a new message, already old
        await settle(app, pilot)
        app.last_input -= IDLE + 0.1  # staff pause: the counts lead again
        screen._tidy()
        line = text_of(app, "#queue-status")
        assert line.startswith("第 1 页") and "东丽区第002号公司：" in line


async def test_the_palette_help_and_footers_speak_chinese(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "查找（/）" in titles and "下页（]）" in titles
        assert all(not t.isascii() for t in titles), titles  # no Keys, Maximize, Focus Next…
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        shown = "\n".join(screen_lines(app))
        assert "输入功能名称" in shown and "下一户（n）" in shown
        for english in ("Search for commands", "Copy selected text", "Focus Next", "Keys"):
            assert english not in shown
        await pilot.press(*"zzz")
        await pilot.pause(0.8)
        assert "No matches" not in "\n".join(screen_lines(app))
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)

        await pilot.press("question_mark")
        await settle(app, pilot)
        help_ = app.screen
        assert isinstance(help_, HelpScreen)
        keys = {key: name for key, name, _ in help_.rows}
        assert keys["/"] == "查找" and "slash" not in keys
        # every note shows whole at 120×40 (the help was cut off in the first one)
        lines = "".join(line.strip(" █▀▄") for line in screen_lines(app))
        assert "已拨次数）。" in lines and "再按 1 保存。" in lines
        await pilot.press("escape", "a")  # a side screen: no English palette key in its footer
        await settle(app, pilot)
        footer = screen_lines(app)[-1]
        assert "预约" in footer and "palette" not in footer


def screen_lines(app: Any) -> list[str]:
    """The screen as staff see it, one string a line."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
