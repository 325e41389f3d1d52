"""Email reminders and appointment confirmations, sent to a real SMTP server in the test process."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from callqueue import db
from callqueue.clock import SHANGHAI
from callqueue.config import Settings
from callqueue.db import table
from callqueue.models import (
    Attempt,
    Channel,
    ContactEmail,
    MailStatus,
    OutboxEmail,
    Outcome,
    Reminder,
    ReminderState,
)
from callqueue.notify import delivery, outbox
from callqueue.queue import claims, outcomes

from . import queue_world as w
from .mail_server import Inbox, smtp_server

FROM = "东丽区政务服务办 <zwfw@dongli.example.cn>"


def settings(port: int, tmp_path: Path, **values: Any) -> Settings:
    base: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "mail_from": FROM,
        "templates_dir": str(tmp_path / "templates"),
        "smtp_timeout": 5,
    }
    base.update(values)
    return Settings(**base)


def world(engine: Engine, tmp_path: Path, contacts: list[str]) -> list[int]:
    """One due reminder per contact cell; returns reminder ids in row order."""
    ids = w.build(engine, tmp_path, [w.due_row(n, contact=c) for n, c in enumerate(contacts, 1)])
    return [ids[k] for k in sorted(ids, key=lambda k: int(k[1:]))]


def queue_email(engine: Engine, reminder_id: int, staff: str = "甲") -> outbox.Queued:
    with db.session_scope(engine, write=True) as session:
        return outbox.queue_reminder(
            session, reminder_id=reminder_id, staff_id=w.staff_id(engine, staff), now=w.NOW
        )


def send(engine: Engine, cfg: Settings, now: datetime = w.NOW, **kw: Any) -> delivery.SendReport:
    return delivery.send_due(engine, settings=cfg, now=now, today=now.date(), **kw)


def outbox_rows(engine: Engine) -> list[Any]:
    with db.session_scope(engine, write=False) as session:
        o = table(OutboxEmail)
        return list(session.execute(select(o).order_by(o.c.id)).all())


def attempts(engine: Engine, reminder_id: int) -> list[Any]:
    with db.session_scope(engine, write=False) as session:
        a = table(Attempt)
        return list(
            session.execute(select(a).where(a.c.reminder_id == reminder_id).order_by(a.c.id)).all()
        )


def test_e_queues_and_send_delivers_a_chinese_reminder(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 zhang.wei@example.cn"])
    inbox = Inbox()
    queued = queue_email(engine, rid)
    assert queued.to == "zh***@example.cn"
    # It left the phone queue at once: no claim can take it while the email is on its way.
    assert w.reminder(engine, rid).channel == Channel.EMAIL
    with db.session_scope(engine, write=True) as session:
        entry = claims.next_for(
            session,
            staff_id=w.staff_id(engine, "乙"),
            section_id=w.section_id(engine),
            now=w.NOW,
            lease=timedelta(minutes=10),
            grace=timedelta(minutes=15),
        )
    assert entry is None
    with smtp_server(inbox) as port:
        report = send(engine, settings(port, tmp_path))
    assert report.error is None and [d.reminder for d in report.sent] == [rid]
    (arrived,) = inbox.arrived
    msg = arrived.message
    assert arrived.rcpt_tos == ["zhang.wei@example.cn"]
    assert arrived.mail_from == "zwfw@dongli.example.cn"
    assert msg["From"].addresses[0].display_name == "东丽区政务服务办"
    assert "农药经营许可证" in msg["Subject"] and "2027年" in msg["Subject"]
    assert msg["Message-ID"].strip() == outbox_rows(engine)[0].message_id
    assert outbox_rows(engine)[0].message_id.endswith("@dongli.example.cn>")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    r = w.reminder(engine, rid)
    apply_by = f"{r.apply_by.year}年{r.apply_by.month}月{r.apply_by.day}日"
    for body in (text, html):
        assert "东丽区第001号公司" in body
        assert apply_by in body
        assert "农药经营许可证" in body
    # Recorded: the reminder is informed by email, the ledger columns filled, the row sent.
    assert r.state == ReminderState.INFORMED
    assert (r.last_channel, r.last_reminded_on) == (Channel.EMAIL, w.TODAY)
    assert r.last_staff_id == w.staff_id(engine, "甲")
    (attempt,) = attempts(engine, rid)
    assert (attempt.channel, attempt.outcome) == (Channel.EMAIL, Outcome.INFORMED)
    assert set(attempt.conveyed) == set(outcomes.CONVEYABLE)
    (row,) = outbox_rows(engine)
    assert row.status == MailStatus.SENT and row.attempt_id == attempt.id
    assert row.subject == msg["Subject"] and row.sent_at is not None


def test_a_stage_is_never_emailed_twice(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    queue_email(engine, rid)
    with pytest.raises(outbox.MailRefused, match="已在发送队列"):
        queue_email(engine, rid, staff="乙")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        send(engine, settings(port, tmp_path))
        with pytest.raises(outbox.MailRefused, match="已发送过"):
            queue_email(engine, rid)
        again = send(engine, settings(port, tmp_path), now=w.NOW + timedelta(hours=1))
    assert again.sent == [] and len(inbox.arrived) == 1


def test_email_channel_reminders_are_queued_by_send(engine: Engine, tmp_path: Path) -> None:
    rids = world(engine, tmp_path, ["13800000001 a@example.cn", "13800000002"])
    for rid in rids:
        w.set_reminder(engine, rid, channel=Channel.EMAIL.value)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        report = send(engine, settings(port, tmp_path))
    assert (report.queued, report.back_to_phone) == (1, 1)
    assert [a.rcpt_tos for a in inbox.arrived] == [["a@example.cn"]]
    # No address: back in the phone queue rather than waiting for an email that cannot go.
    assert w.reminder(engine, rids[1]).channel == Channel.PHONE
    assert w.reminder(engine, rids[0]).last_staff_id is None  # sent by the run, not by staff


def test_no_answer_fallback_is_emailed(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 b@example.cn"])
    me = w.staff_id(engine, "甲")
    for n in range(3):
        at = w.NOW + timedelta(hours=3 * n)
        with db.session_scope(engine, write=True) as session:
            outcomes.record_outcome(
                session,
                reminder_id=rid,
                outcome=Outcome.NO_ANSWER,
                staff_id=me,
                policy=w.policy(engine, now=at),
                at=at,
            )
    assert (w.reminder(engine, rid).state, w.reminder(engine, rid).channel) == ("due", "email")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        report = send(engine, settings(port, tmp_path), now=w.NOW + timedelta(days=1))
    assert report.queued == 1 and len(inbox.to("b@example.cn")) == 1
    assert w.reminder(engine, rid).state == ReminderState.INFORMED


def test_dry_run_writes_nothing_and_sends_nothing(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    w.set_reminder(engine, rid, channel=Channel.EMAIL.value)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        report = send(engine, settings(port, tmp_path), dry_run=True)
    assert (
        report.queued == 1 and len(report.sent) == 1 and "农药经营许可证" in report.sent[0].subject
    )
    assert inbox.arrived == [] and outbox_rows(engine) == []
    assert w.reminder(engine, rid).state == ReminderState.DUE


def test_bad_address_is_marked_invalid_and_the_next_one_used(
    engine: Engine, tmp_path: Path
) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 gone@example.cn keep@example.cn"])
    inbox = Inbox(refuse_rcpt={"gone@example.cn": "550 5.1.1 no such user"})
    queue_email(engine, rid)
    with smtp_server(inbox) as port:
        first = send(engine, settings(port, tmp_path))
        second = send(engine, settings(port, tmp_path), now=w.NOW + timedelta(minutes=1))
    assert [d.to for d in first.failed] == ["go***@example.cn"]
    assert "550" in first.failed[0].error
    assert [a.rcpt_tos for a in inbox.arrived] == [["keep@example.cn"]]
    assert len(second.sent) == 1
    with db.session_scope(engine, write=False) as session:
        e = table(ContactEmail)
        invalid = dict(session.execute(select(e.c.address, e.c.invalid)).all())
    assert invalid == {"gone@example.cn": True, "keep@example.cn": False}
    outcomes_seen = [(a.channel, a.outcome) for a in attempts(engine, rid)]
    assert outcomes_seen == [("email", "bounced"), ("email", "informed")]


def test_bounce_with_no_address_left_goes_back_to_the_phone_queue(
    engine: Engine, tmp_path: Path
) -> None:
    rids = world(engine, tmp_path, ["13800000001 gone@example.cn", "gone2@example.cn"])
    inbox = Inbox(
        refuse_rcpt={
            "gone@example.cn": "550 5.1.1 no such user",
            "gone2@example.cn": "553 mailbox name not allowed",
        }
    )
    for rid in rids:
        queue_email(engine, rid)
    with smtp_server(inbox) as port:
        report = send(engine, settings(port, tmp_path))
    assert len(report.failed) == 2 and inbox.arrived == []
    phone_left, nothing_left = (w.reminder(engine, rid) for rid in rids)
    assert (phone_left.channel, phone_left.state, phone_left.needs_repair) == (
        "phone",
        "due",
        False,
    )
    assert (nothing_left.channel, nothing_left.needs_repair) == ("phone", True)


def test_temporary_failures_retry_with_backoff_then_give_up(engine: Engine, tmp_path: Path) -> None:
    rids = world(engine, tmp_path, ["13800000001 slow@example.cn", "13800000002 busy@example.cn"])
    inbox = Inbox(busy_rcpt={"slow@example.cn": 2, "busy@example.cn": 99})
    for rid in rids:
        queue_email(engine, rid)
    cfg = None
    now = w.NOW
    waits = []
    with smtp_server(inbox) as port:
        cfg = settings(port, tmp_path, email_max_tries=3, email_retry_minutes=5)
        report = send(engine, cfg, now=now)
        assert len(report.retrying) == 2
        # Not before the backoff: nothing is tried again a minute later.
        assert send(engine, cfg, now=now + timedelta(minutes=1)).retrying == []
        for _ in range(4):
            row = next(r for r in outbox_rows(engine) if r.to_address == "busy@example.cn")
            if row.status != MailStatus.QUEUED:
                break
            waits.append(row.next_try_at - now)
            now = row.next_try_at
            send(engine, cfg, now=now)
    assert waits == [timedelta(minutes=5), timedelta(minutes=15)]
    assert len(inbox.to("slow@example.cn")) == 1
    busy = next(r for r in outbox_rows(engine) if r.to_address == "busy@example.cn")
    assert busy.status == MailStatus.FAILED and busy.tries == 3 and "451" in busy.last_error
    # Given up, but the address is not blamed: it stays valid; the holder is called instead.
    with db.session_scope(engine, write=False) as session:
        e = table(ContactEmail)
        assert not session.execute(
            select(e.c.invalid).where(e.c.address == "busy@example.cn")
        ).scalar_one()
    assert w.reminder(engine, rids[1]).channel == Channel.PHONE


def test_no_server_configured_is_a_clear_message(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    queue_email(engine, rid)
    report = send(engine, Settings())
    assert report.error is not None and "CALLQUEUE_SMTP_HOST" in report.error
    assert outbox_rows(engine)[0].status == MailStatus.QUEUED


def test_server_down_keeps_the_emails_queued(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    queue_email(engine, rid)
    from .mail_server import free_port

    report = send(engine, settings(free_port(), tmp_path))
    assert report.error is not None and "无法连接邮件服务器" in report.error
    (row,) = outbox_rows(engine)
    assert (row.status, row.tries) == (MailStatus.QUEUED, 0)


def test_logs_mask_addresses(engine: Engine, tmp_path: Path, caplog: Any) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 secret.person@example.cn"])
    queue_email(engine, rid)
    inbox = Inbox(busy_rcpt={"secret.person@example.cn": 1})
    caplog.set_level(logging.INFO, logger="callqueue")
    with smtp_server(inbox) as port:
        send(engine, settings(port, tmp_path))
        send(engine, settings(port, tmp_path), now=w.NOW + timedelta(hours=1))
    assert len(inbox.arrived) == 1
    assert "se***@example.cn" in caplog.text
    assert "secret.person@" not in caplog.text
    with db.session_scope(engine, write=False) as session:
        errors = session.execute(select(table(OutboxEmail).c.last_error)).scalars().all()
    assert all("secret.person@" not in e for e in errors)


def test_closed_reminder_is_not_emailed(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    queue_email(engine, rid)
    with db.session_scope(engine, write=True) as session:
        outcomes.record_outcome(
            session,
            reminder_id=rid,
            outcome=Outcome.RENEWED,
            staff_id=w.staff_id(engine, "乙"),
            policy=w.policy(engine),
        )
    inbox = Inbox()
    with smtp_server(inbox) as port:
        report = send(engine, settings(port, tmp_path))
    assert report.withdrawn == 1 and inbox.arrived == []
    assert outbox_rows(engine)[0].status == MailStatus.CANCELLED


def _count(engine: Engine, model: Any) -> int:
    with db.session_scope(engine, write=False) as session:
        return int(session.execute(select(func.count()).select_from(table(model))).scalar_one())


def test_reminder_needs_a_valid_address(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001"])
    with pytest.raises(outbox.MailRefused, match="没有有效的电子邮箱"):
        queue_email(engine, rid)
    assert _count(engine, OutboxEmail) == 0
    assert w.reminder(engine, rid).channel == Channel.PHONE


_ = (Reminder, SHANGHAI)
