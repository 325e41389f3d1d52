"""Search and record screens end to end: find, open, fix contacts, add a certificate; check the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from callqueue import db
from callqueue.db import table
from callqueue.models import Certificate, ContactPhone, Reminder
from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.screens.queue import QueueScreen
from callqueue.tui.screens.record import RecordScreen
from callqueue.tui.screens.record_dialogs import CertificateDialog, InvalidDialog, PhoneDialog
from callqueue.tui.screens.search import SearchScreen

from .queue_world import NOW, TODAY, build, due_row
from .records_world import (
    LANDLINE_HOLDER,
    MOBILE_HOLDER,
    NO_CONTACT,
    OTHER_HOLDER,
    TWO_PHONES,
    audit_actions,
    count,
    holder_id,
    holder_reminders,
    phones,
    world,
)


def app_for(engine: Engine, who: str | None = "甲") -> CallqueueApp:
    return create_app(engine=engine, today=TODAY, staff_name=who, now=lambda: NOW)


async def settle(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    """Let workers finish and their messages land (a handler may start the next worker)."""
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type `text` key by key into the focused widget."""
    await pilot.press(*("space" if ch == " " else ch for ch in text))


def text_of(app: CallqueueApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def rows(app: CallqueueApp, selector: str) -> list[list[str]]:
    table_ = app.screen.query_one(selector, DataTable)
    return [[str(c) for c in table_.get_row_at(i)] for i in range(table_.row_count)]


async def search_for(app: CallqueueApp, pilot: Pilot[Any], query: str) -> None:
    """Open search with `/`, type the query, press Enter."""
    if not isinstance(app.screen, SearchScreen):
        await pilot.press("slash")
        await settle(app, pilot)
    assert isinstance(app.screen, SearchScreen)
    box = app.screen.query_one("#search-input", Input)
    box.value = ""
    await type_text(pilot, query)
    await pilot.press("enter")
    await settle(app, pilot)


async def test_search_needs_a_staff_member(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine, who=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.check_action("search", ()) is False
        await pilot.press("slash")
        await settle(app, pilot)
        assert not isinstance(app.screen, SearchScreen)


async def test_find_by_phone_open_record_mark_invalid(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        assert app.check_action("search", ()) is True
        await search_for(app, pilot, "138 0013 8000")
        assert [r[0] for r in rows(app, "#search-table")] == [MOBILE_HOLDER]
        assert "按电话 13800138000" in text_of(app, "#search-status")
        assert rows(app, "#search-table")[0][3] == "13800138000"

        await pilot.press("enter")  # the table has focus after a search
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        assert MOBILE_HOLDER in text_of(app, "#record-title")
        assert rows(app, "#record-contacts")[0][:3] == ["王经理", "电话", "13800138000"]
        certs = text_of(app, "#record-certs")
        assert "农药经营许可证" in certs and "待联系" in certs

        await pilot.press("x")
        await settle(app, pilot)
        assert isinstance(app.screen, InvalidDialog)
        await pilot.press("escape")  # cancel: nothing saved
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        assert phones(engine, MOBILE_HOLDER)[0]["invalid"] is False

        await pilot.press("x")
        await settle(app, pilot)
        await type_text(pilot, "kong hao")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        (phone,) = phones(engine, MOBILE_HOLDER)
        assert (phone["invalid"], phone["invalid_reason"]) == (True, "kong hao")
        assert audit_actions(engine)[-1] == (
            "contact.phone_invalid",
            "contactphone",
            str(phone["id"]),
        )
        assert holder_reminders(engine, MOBILE_HOLDER)[0]["needs_repair"] is True
        assert "无效" in rows(app, "#record-contacts")[0][3]
        assert "需补充联系方式" in text_of(app, "#record-certs")
        assert app.screen.check_action("mark_invalid", ()) is False  # already invalid

        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, SearchScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)


async def test_add_phone_bad_then_good(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, "无联系方式")  # typed CJK, as an IME would commit it
        assert [r[0] for r in rows(app, "#search-table")] == [NO_CONTACT]
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        assert "没有联系方式" in rows(app, "#record-contacts")[0][2]
        stored, events = count(engine, ContactPhone), audit_actions(engine)

        await pilot.press("p")
        await settle(app, pilot)
        assert isinstance(app.screen, PhoneDialog)
        await type_text(pilot, "12345")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, PhoneDialog)  # refused: the dialog stays
        assert "无法识别的电话号码" in text_of(app, "#record-dialog-error")
        assert app.screen.query_one("#contact-text", Input).value == "12345"  # kept as typed
        assert (count(engine, ContactPhone), audit_actions(engine)) == (stored, events)

        app.screen.query_one("#contact-text", Input).value = ""
        await type_text(pilot, "022-2345 6789")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        (phone,) = phones(engine, NO_CONTACT)
        assert (phone["e164"], phone["extension"]) == ("+862223456789", "")
        assert audit_actions(engine)[-1] == ("contact.phone_add", "contactphone", str(phone["id"]))
        assert holder_reminders(engine, NO_CONTACT)[0]["needs_repair"] is False
        assert rows(app, "#record-contacts")[0][2] == "022-23456789"


async def test_add_certificate_bad_then_good(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, "华明")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        before = count(engine, Certificate)

        await pilot.press("c")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, CertificateDialog)
        assert dialog.query_one("#cert-holder", Input).value == MOBILE_HOLDER
        assert "涉农事务和经贸商务科" in str(dialog.query_one("#cert-section", Static).render())
        await type_text(pilot, "兽药许可证")  # focus starts on the certificate name
        dialog.query_one("#cert-expires_on", Input).value = "2027-02-30"
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is dialog
        error = text_of(app, "#record-dialog-error")
        assert "许可证书名称：目录中没有“兽药许可证”，是否为“兽药经营许可证”？" in error
        assert "期满日期：" in error
        assert dialog.query_one("#cert-certificate", Input).has_class("-invalid")
        assert count(engine, Certificate) == before

        dialog.query_one("#cert-certificate", Input).value = "兽药经营许可证"
        dialog.query_one("#cert-expires_on", Input).value = "2027-03-15"
        dialog.query_one("#cert-contact", Input).value = "13900139002"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        assert count(engine, Certificate) == before + 1
        c, r = table(Certificate), table(Reminder)
        with db.session_scope(engine, write=False) as session:
            cert = session.execute(
                select(c.c.id, c.c.expires_on, r.c.state, r.c.apply_by)
                .join(r, r.c.certificate_id == c.c.id)
                .where(c.c.holder_id == holder_id(engine, MOBILE_HOLDER))
                .order_by(c.c.id.desc())
            ).first()
        assert cert is not None and str(cert.expires_on) == "2027-03-15"
        assert cert.state in ("due", "scheduled") and cert.apply_by < cert.expires_on
        assert audit_actions(engine)[-1] == ("certificate.add_manual", "certificate", str(cert.id))
        assert "兽药经营许可证" in text_of(app, "#record-certs")
        assert "13900139002" in [r[2] for r in rows(app, "#record-contacts")]


async def test_new_certificate_from_search_opens_the_new_record(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, "新开业")
        assert "没有找到" in text_of(app, "#search-status")
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, CertificateDialog)
        assert dialog.query_one("#cert-holder", Input).value == "新开业"
        dialog.query_one("#cert-holder", Input).value = "东丽区新开业农资店"
        dialog.query_one("#cert-certificate", Input).value = "农药经营许可证"
        dialog.query_one("#cert-issued_on", Input).value = "2024年3月1日"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        assert "东丽区新开业农资店" in text_of(app, "#record-title")
        assert "期满 2029-02-28" in text_of(app, "#record-certs")  # computed as an import does
        # The new holder has no contact: its reminder needs repair, as an import would flag it.
        assert holder_reminders(engine, "东丽区新开业农资店")[0]["needs_repair"] is True


async def test_callers_do_not_find_other_sections(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, "137 0013 7000")
        assert rows(app, "#search-table") == []
        assert "本科室" in text_of(app, "#search-status")
    boss = app_for(engine, who="主任")
    async with boss.run_test(size=(120, 40)) as pilot:
        await settle(boss, pilot)
        await search_for(boss, pilot, "137 0013 7000")
        assert [r[0] for r in rows(boss, "#search-table")] == [OTHER_HOLDER]


async def test_saved_message_quoting_a_name_with_markup_does_not_crash(
    engine: Engine, tmp_path: Path
) -> None:
    # A holder named like Rich markup: the toast that quotes it must show it as typed.
    build(engine, tmp_path, [due_row(1, holder="a[/b]c 商行")])
    app = app_for(engine)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, "商行")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        await pilot.press("n")
        await settle(app, pilot)
        await type_text(pilot, "yao qiu")
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.pause(0.3)
        app.export_screenshot()  # the toasts drawn
        assert isinstance(app.screen, RecordScreen)
        assert app.return_code is None  # still running
        shown = [n.message for n in app._notifications]
        assert any("“a[/b]c 商行”已标记为勿电话联系" in m for m in shown), shown


async def test_certificate_dialog_fits_80x24_and_shows_its_errors(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, "华明")
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, CertificateDialog)
        await type_text(pilot, "shouyao")
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is dialog
        screen = dialog.region
        box = dialog.query_one(".record-dialog-box").region
        assert screen.contains_region(box), (box, screen)  # the whole frame, borders too
        error = dialog.query_one("#record-dialog-error", Static)
        assert "许可证书名称：目录中没有“shouyao”" in text_of(app, "#record-dialog-error")
        for widget in (error, *dialog.query(Input)):  # every field and the refusal in view
            assert box.contains_region(widget.region), (widget, widget.region, box)


async def test_queue_shows_record_changes_on_return(engine: Engine, tmp_path: Path) -> None:
    # The queue's detail pane read before a fix must not show the old contacts afterwards,
    # and a holder marked 勿电话联系 leaves the list.
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        table_ = queue.query_one("#queue-table", DataTable)
        two = holder_id(engine, TWO_PHONES)
        table_.move_cursor(row=table_.get_row_index(str(two)))
        await settle(app, pilot)
        assert "13900139000" in text_of(app, "#queue-detail")
        assert "（有误）" not in text_of(app, "#queue-detail")

        await search_for(app, pilot, "13900139000")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        await pilot.press("x")
        await settle(app, pilot)
        await pilot.press("enter")  # no reason
        await settle(app, pilot)
        await pilot.press("escape", "escape")  # record, search: back to the queue
        await settle(app, pilot)
        assert app.screen is queue
        detail = text_of(app, "#queue-detail")  # the cursor's holder, drawn again
        assert TWO_PHONES in detail and "13900139000（有误）" in detail, detail

        await search_for(app, pilot, "金桥")
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        await type_text(pilot, "yao qiu")
        await pilot.press("enter")
        await settle(app, pilot)
        await search_for(app, pilot, "华明")  # `/` from the record: back to the search
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is queue
        assert holder_id(engine, LANDLINE_HOLDER) not in queue.entries  # do-not-call


async def test_search_columns_fit_the_screen_phones_included(
    engine: Engine, tmp_path: Path
) -> None:
    """At 80 columns the phones column was drawn off the screen (the widths added up to 110)."""
    world(engine, tmp_path)
    app = app_for(engine)

    def right_edge() -> int:
        table = app.screen.query_one("#search-table", DataTable)
        return sum(column.get_render_width(table) for column in table.columns.values())

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, "138 0013 8000")
        table = app.screen.query_one("#search-table", DataTable)
        assert right_edge() <= table.size.width
        assert rows(app, "#search-table")[0][3] == "13800138000"
        await pilot.resize_terminal(120, 40)
        await settle(app, pilot)
        widths = [column.width for column in table.columns.values()]
        assert widths == [34, 20, 30, 26]  # as designed for 120 columns
        assert [r[0] for r in rows(app, "#search-table")] == [MOBILE_HOLDER]  # rows kept


async def test_record_keys_are_named_alike_in_the_footer_and_the_hint_line(
    engine: Engine, tmp_path: Path
) -> None:
    # The footer said `n 勿电话` and the hint line `n 勿电话联系`: one key, two names.
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, "华明")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        footer = app.screen._compositor.render_strips()[-1].text
        hint = text_of(app, "#record-status")
        assert "n 勿电话联系" in footer and "n 勿电话联系" in hint
        for said in hint.split(" · "):
            key, name = said.split(" ", 1)
            assert f"{key.lower()} {name}" in footer, (said, footer)
