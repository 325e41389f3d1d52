"""勿电话联系: staff mark a holder that asked not to be phoned; it leaves the phone queue at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from callqueue import cli, db
from callqueue.models import Holder
from callqueue.notify import outbox
from callqueue.queue import claims
from callqueue.records import RecordRefused
from callqueue.records.contacts import set_do_not_call
from callqueue.tui.screens.record import RecordScreen
from callqueue.tui.screens.record_dialogs import DoNotCallDialog

from .queue_world import NOW, section_id, staff_id
from .records_world import (
    LANDLINE_HOLDER,
    MOBILE_HOLDER,
    OTHER_HOLDER,
    audit_actions,
    holder_id,
    holder_reminders,
    viewer,
    world,
)
from .test_tui_records import app_for, search_for, settle, text_of, type_text


def mark(engine: Engine, name: str, value: bool, who: str = "甲", reason: str = "") -> str:
    with db.session_scope(engine, write=True) as session:
        return set_do_not_call(
            session,
            holder_id=holder_id(engine, name),
            value=value,
            viewer=viewer(engine, who),
            now=NOW,
            reason=reason,
        ).message


def queued_holders(engine: Engine) -> list[str]:
    with db.session_scope(engine, write=False) as session:
        entries = claims.queue_entries(
            session, section_id=section_id(engine), staff_id=staff_id(engine, "甲"), now=NOW
        )
    return [e.holder for e in entries]


def stored(engine: Engine, name: str) -> bool:
    with db.session_scope(engine, write=False) as session:
        holder = session.get(Holder, holder_id(engine, name))
        assert holder is not None
        return holder.do_not_call


def test_a_marked_holder_leaves_the_queue_and_comes_back_when_lifted(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    assert MOBILE_HOLDER in queued_holders(engine)
    with pytest.raises(RecordRefused, match="原因"):
        mark(engine, MOBILE_HOLDER, True)
    assert stored(engine, MOBILE_HOLDER) is False
    assert "不再进入电话队列" in mark(engine, MOBILE_HOLDER, True, reason="只用邮件联系")
    assert MOBILE_HOLDER not in queued_holders(engine)
    # No desk claims it: the two other callable holders go to 乙 and 丙, then nothing is left.
    claimed = []
    for who in ("乙", "丙", "甲"):
        with db.session_scope(engine, write=True) as session:
            entry = claims.next_for(
                session, staff_id=staff_id(engine, who), section_id=section_id(engine), now=NOW
            )
        claimed.append(entry.holder if entry else None)
    assert None not in claimed[:2] and claimed[2] is None and MOBILE_HOLDER not in claimed
    with pytest.raises(RecordRefused, match="已标记"):
        mark(engine, MOBILE_HOLDER, True, reason="again")
    assert audit_actions(engine)[-1] == (
        "holder.do_not_call",
        "holder",
        str(holder_id(engine, MOBILE_HOLDER)),
    )


def test_lifting_the_mark_puts_the_holder_back(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    mark(engine, MOBILE_HOLDER, True, reason="只用邮件联系")
    assert "回到电话队列" in mark(engine, MOBILE_HOLDER, False)
    assert MOBILE_HOLDER in queued_holders(engine)
    with pytest.raises(RecordRefused, match="未标记"):
        mark(engine, MOBILE_HOLDER, False)
    assert audit_actions(engine)[-1][0] == "holder.may_call"


def test_a_caller_cannot_mark_another_sections_holder(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    with pytest.raises(RecordRefused, match="无权"):
        mark(engine, OTHER_HOLDER, True, reason="x")
    assert stored(engine, OTHER_HOLDER) is False
    mark(engine, OTHER_HOLDER, True, who="主任", reason="单位要求")  # a supervisor may
    assert stored(engine, OTHER_HOLDER) is True


def test_the_cli_marks_and_lifts(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    world(engine, tmp_path)
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    hid = str(holder_id(engine, MOBILE_HOLDER))

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli.main, ["--db", db_url, "--today", "2026-11-24", *args])

    nobody = run("holder", "do-not-call", hid, "--note", "x")
    assert nobody.exit_code == 1 and "--staff" in nobody.stderr
    no_reason = run("--staff", "甲", "holder", "do-not-call", hid)
    assert no_reason.exit_code == 1 and "原因" in no_reason.stderr
    done = run("holder", "do-not-call", hid, "--staff", "甲", "--note", "只用邮件")
    assert done.exit_code == 0 and "勿电话联系" in done.stdout
    assert stored(engine, MOBILE_HOLDER) is True
    assert run("holder", "do-not-call", hid, "--off", "--staff", "甲").exit_code == 0
    assert stored(engine, MOBILE_HOLDER) is False


async def test_the_record_screen_marks_with_n(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, "138 0013 8000")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, DoNotCallDialog)
        await pilot.press("enter")  # no reason: refused, the dialog stays
        await settle(app, pilot)
        assert isinstance(app.screen, DoNotCallDialog)
        assert "原因" in text_of(app, "#record-dialog-error")
        assert stored(engine, MOBILE_HOLDER) is False
        await type_text(pilot, "yong you jian")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RecordScreen)
        assert stored(engine, MOBILE_HOLDER) is True
        assert "勿电话联系" in text_of(app, "#record-title")
        await pilot.press("n")  # again: lifts it
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert stored(engine, MOBILE_HOLDER) is False
        assert "勿电话联系" not in text_of(app, "#record-title")


def test_a_marked_holder_with_an_address_is_reminded_by_email(
    engine: Engine, tmp_path: Path
) -> None:
    """Marking moves its phone reminders to email (due for the send run), or, without an
    address, flags them for an address; lifting the mark brings the flagged ones back."""
    world(engine, tmp_path)
    message = mark(engine, LANDLINE_HOLDER, True, reason="只用邮件")  # has jq@example.cn
    assert "改为电子邮件告知" in message
    (r,) = holder_reminders(engine, LANDLINE_HOLDER)
    assert (r["state"], r["channel"], r["needs_repair"]) == ("due", "email", False)
    with db.session_scope(engine, write=True) as session:
        queued = outbox.queue_due(session, now=NOW)
    assert len(queued.queued) == 1 and queued.back_to_phone == []

    message = mark(engine, MOBILE_HOLDER, True, reason="不接电话")  # no address
    assert "需补充邮箱" in message
    (r,) = holder_reminders(engine, MOBILE_HOLDER)
    assert (r["channel"], r["needs_repair"]) == ("phone", True)
    assert "1 条提醒回到电话队列" in mark(engine, MOBILE_HOLDER, False)
    (r,) = holder_reminders(engine, MOBILE_HOLDER)
    assert (r["channel"], r["needs_repair"]) == ("phone", False)
    assert MOBILE_HOLDER in queued_holders(engine)
