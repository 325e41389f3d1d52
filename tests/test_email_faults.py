"""Email sends that go wrong: lost replies, bad data, broken templates, a database that goes away."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from callqueue import db
from callqueue.db import table
from callqueue.models import Channel, ContactEmail, MailStatus
from callqueue.notify import delivery

from . import queue_world as w
from .mail_server import Inbox, smtp_server
from .test_email import attempts, outbox_rows, queue_email, send, settings, world


def test_a_reply_lost_after_the_message_went_is_uncertain_not_resent(
    engine: Engine, tmp_path: Path
) -> None:
    rids = world(engine, tmp_path, ["13800000001 slow@example.cn", "13800000002 next@example.cn"])
    for rid in rids:
        queue_email(engine, rid)
    # The server stores the message, then answers too late: the client gives up waiting.
    inbox = Inbox(reply_delay=3)
    with smtp_server(inbox) as port:
        cfg = settings(port, tmp_path, smtp_timeout=1)
        report = send(engine, cfg)
        inbox.reply_delay = 0
        later = send(engine, cfg, now=w.NOW + timedelta(hours=1))
        much_later = send(engine, cfg, now=w.NOW + timedelta(days=1))
    assert len(inbox.to("slow@example.cn")) == 1
    assert len(inbox.to("next@example.cn")) == 1
    first, second = outbox_rows(engine)
    assert report.uncertain == [first.id] and report.retrying == []
    assert first.status == MailStatus.UNCERTAIN and "可能已发出" in first.last_error
    assert second.status == MailStatus.SENT
    assert later.uncertain == [] and [d.id for d in later.sent] == [second.id]
    assert much_later.sent == []
    # Not known to have arrived: a call makes sure.
    assert w.reminder(engine, rids[0]).channel == Channel.PHONE


async def test_e_says_when_the_email_may_have_gone(engine: Engine, tmp_path: Path) -> None:
    from callqueue.tui.app import create_app

    from .test_tui_dialogs import claim_first
    from .test_tui_email import WITH_EMAIL
    from .test_tui_email import world as desk_world
    from .test_tui_queue import settle, text_of

    desk_world(engine, tmp_path)
    inbox = Inbox(reply_delay=3)
    with smtp_server(inbox) as port:
        cfg = settings(port, tmp_path, smtp_timeout=1)
        app = create_app(
            engine=engine, today=w.TODAY, staff_name="甲", settings=cfg, now=lambda: w.NOW
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await claim_first(app, pilot)
            await pilot.press("e")
            await settle(app, pilot)
            status = text_of(app, "#queue-status")
    assert len(inbox.arrived) == 1
    assert WITH_EMAIL in status and "可能已发出" in status and "已发送" not in status
    assert [r.status for r in outbox_rows(engine)] == [MailStatus.UNCERTAIN]


def test_a_malformed_address_in_the_ledger_fails_alone_and_is_not_uncertain(
    engine: Engine, tmp_path: Path
) -> None:
    # The ledger reader takes `zhang.@…` (a typo real ledgers have); no server would take it.
    rids = w.build(
        engine,
        tmp_path,
        [
            w.due_row(1, contact="13800000001 zhang.@example.cn"),
            w.due_row(2, contact="13800000002 ok@example.cn", contact_name="王经理\n李会计"),
        ],
    )
    first, second = (rids[k] for k in sorted(rids, key=lambda k: int(k[1:])))
    for rid in (first, second):
        queue_email(engine, rid)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        dry = send(engine, settings(port, tmp_path), dry_run=True)
        report = send(engine, settings(port, tmp_path))
    assert dry.error is None and len(dry.sent) == 1 and len(dry.failed) == 1
    assert report.error is None
    assert [a.rcpt_tos for a in inbox.arrived] == [["ok@example.cn"]]
    assert inbox.arrived[0].message["To"].addresses[0].display_name == "王经理 李会计"
    bad, good = outbox_rows(engine)
    assert (bad.status, good.status) == (MailStatus.FAILED, MailStatus.SENT)
    assert "格式有误" in bad.last_error and "zh***@example.cn" in bad.last_error
    assert [d.error for d in report.failed] == [bad.last_error]
    with db.session_scope(engine, write=False) as session:
        e = table(ContactEmail)
        assert session.execute(
            select(e.c.invalid).where(e.c.address == "zhang.@example.cn")
        ).scalar_one()
    # The holder has a phone: back to the phone queue, not waiting on an email that cannot go.
    assert w.reminder(engine, first).channel == Channel.PHONE


def test_a_database_lost_after_the_send_says_the_email_went_and_stops(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rids = world(engine, tmp_path, [f"1380000{n:04d} d{n}@example.cn" for n in range(1, 4)])
    for rid in rids:
        queue_email(engine, rid)
    real_sent = delivery._sent
    calls: list[int] = []

    def database_gone_on_second(session: Any, row: Any, **kw: Any) -> None:
        calls.append(row.id)
        if len(calls) == 2:  # the server took it; the database is locked or gone
            raise OperationalError("UPDATE outboxemail …", {}, Exception("database is locked"))
        real_sent(session, row, **kw)

    inbox = Inbox()
    monkeypatch.setattr(delivery, "_sent", database_gone_on_second)
    with smtp_server(inbox) as port:
        report = send(engine, settings(port, tmp_path))
    first, second, third = outbox_rows(engine)
    assert len(inbox.arrived) == 2 and third.status == MailStatus.QUEUED
    assert [d.id for d in report.sent] == [first.id] and report.unrecorded == [second.id]
    assert report.error is not None
    assert f"#{second.id}" in report.error and "已交给邮件服务器" in report.error
    assert "不要重发" in report.error and "未保存任何更改" not in report.error
    # Later runs never send it again: once its lease is over it shows as uncertain.
    monkeypatch.setattr(delivery, "_sent", real_sent)
    with smtp_server(inbox) as port:
        later = send(engine, settings(port, tmp_path), now=w.NOW + timedelta(hours=1))
    assert later.uncertain == [second.id] and [d.id for d in later.sent] == [third.id]
    assert len(inbox.to("d2@example.cn")) == 1


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        # Windows Notepad's "ANSI" on a Chinese system is GBK.
        ("reminder.txt", "{{ holder }}：您好\n".encode("gbk"), ["reminder.txt", "UTF-8"]),
        ("reminder.txt", "材料：{{ materials + 1 }}\n".encode(), ["reminder.txt", "第 1 行"]),
        ("reminder.html", b"{{ (expires_on - today).days // 0 }}", ["reminder.html"]),
    ],
)
def test_a_template_that_cannot_be_read_or_filled_stops_with_its_file(
    engine: Engine, tmp_path: Path, name: str, content: bytes, says: list[str]
) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / name).write_bytes(content)
    queue_email(engine, rid)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        dry = send(engine, settings(port, tmp_path), dry_run=True)
        report = send(engine, settings(port, tmp_path))
    for error in (dry.error, report.error):
        assert error is not None and error.startswith("邮件模板")
        assert all(part in error for part in says), error
    assert inbox.arrived == [] and outbox_rows(engine)[0].status == MailStatus.QUEUED


def test_a_template_saved_with_a_byte_order_mark_gives_a_clean_subject(
    engine: Engine, tmp_path: Path
) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    folder = tmp_path / "templates"
    folder.mkdir()
    # Notepad's "UTF-8 with BOM".
    (folder / "reminder.subject.txt").write_bytes("\ufeff【提醒】{{ holder }}".encode())
    queue_email(engine, rid)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        send(engine, settings(port, tmp_path))
    assert inbox.arrived[0].message["Subject"] == "【提醒】东丽区第001号公司"


def test_an_email_without_a_service_phone_does_not_record_the_phone_as_told(
    engine: Engine, tmp_path: Path
) -> None:
    from callqueue.models import CatalogItem
    from callqueue.queue import outcomes

    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    # No phone for the permit and none for the office: the email cannot give one.
    with db.session_scope(engine, write=True) as session:
        session.execute(table(CatalogItem).update().values(phone=""))
    queue_email(engine, rid)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        send(engine, settings(port, tmp_path))
    text = inbox.arrived[0].message.get_body(("plain",)).get_content()
    assert "咨询电话" not in text
    (attempt,) = attempts(engine, rid)
    assert attempt.outcome == "informed"
    assert set(attempt.conveyed) == set(outcomes.CONVEYABLE) - {"phone"}


def test_connection_failures_say_in_chinese_what_to_check(engine: Engine, tmp_path: Path) -> None:
    from .mail_server import free_port

    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    queue_email(engine, rid)
    refused = send(engine, settings(free_port(), tmp_path))
    assert refused.error is not None and "连接被拒绝" in refused.error
    assert "CALLQUEUE_SMTP_PORT" in refused.error and "Errno" not in refused.error
    unknown = send(engine, settings(free_port(), tmp_path, smtp_host="smtp.invalid"))
    assert unknown.error is not None and "找不到邮件服务器" in unknown.error
    assert "CALLQUEUE_SMTP_HOST" in unknown.error
    # A server that wants a login, with no user set: not "check the sender address".
    with smtp_server(Inbox(), login=("u@example.cn", "pw")) as port:
        no_login = send(engine, settings(port, tmp_path))
    assert no_login.error is not None and "要求登录" in no_login.error
    assert "CALLQUEUE_SMTP_USER" in no_login.error and "MAIL_FROM" not in no_login.error
    assert outbox_rows(engine)[0].status == MailStatus.QUEUED
