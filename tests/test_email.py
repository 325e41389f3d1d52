"""Email reminders and appointment confirmations, sent to a real SMTP server in the test process."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from callqueue import catalog_edit, db
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
    with db.session_scope(engine, write=True) as session:
        catalog_edit.set_office(session, key="service_phone", value="022-84390000", actor="测试")
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
        assert "022-84390000" in body
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


def retry(engine: Engine, outbox_id: int, now: datetime) -> str:
    with db.session_scope(engine, write=True) as session:
        return outbox.retry(
            session, outbox_id=outbox_id, staff_id=w.staff_id(engine, "甲"), now=now
        )


def test_retry_of_a_bounced_email_goes_to_a_valid_address_or_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    """The server said the address does not exist and it was marked invalid: retrying must not
    send to it again. Once staff added a good address, the retry goes there."""
    (rid,) = world(engine, tmp_path, ["13800000001 gone@example.cn"])
    inbox = Inbox(refuse_rcpt={"gone@example.cn": "550 5.1.1 no such user"})
    queue_email(engine, rid)
    with smtp_server(inbox) as port:
        (bounced,) = send(engine, settings(port, tmp_path)).failed
        later = w.NOW + timedelta(minutes=5)
        with pytest.raises(outbox.MailRefused, match="已标记无效") as refused:
            retry(engine, bounced.id, later)
        assert "gone@example.cn" not in str(refused.value)  # masked
        assert outbox_rows(engine)[0].status == MailStatus.FAILED  # nothing changed
        with db.session_scope(engine, write=True) as session:
            e = table(ContactEmail)
            contact_id = session.execute(select(e.c.contact_id)).scalar_one()
            session.add(ContactEmail(contact_id=contact_id, address="fresh@example.cn", position=2))
        assert retry(engine, bounced.id, later) == "fr***@example.cn"
        again = send(engine, settings(port, tmp_path), now=later)
    assert [a.rcpt_tos for a in inbox.arrived] == [["fresh@example.cn"]]
    assert [d.to for d in again.sent] == ["fr***@example.cn"]


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


def test_logs_mask_addresses(engine: Engine, tmp_path: Path) -> None:
    from callqueue import logs

    (rid,) = world(engine, tmp_path, ["13800000001 secret.person@example.cn"])
    queue_email(engine, rid)
    inbox = Inbox(busy_rcpt={"secret.person@example.cn": 1})
    log_file = tmp_path / "callqueue.log"
    logs.setup(log_file, console=False)
    # Even a careless message with the whole address is masked by the log's filter.
    logging.getLogger("callqueue.test").warning("careless: secret.person@example.cn")
    with smtp_server(inbox) as port:
        send(engine, settings(port, tmp_path))
        send(engine, settings(port, tmp_path), now=w.NOW + timedelta(hours=1))
    assert len(inbox.arrived) == 1
    text = log_file.read_text(encoding="utf-8")
    assert "will be retried" in text and "sent to se***@example.cn" in text
    assert "careless: se***@example.cn" in text
    assert "secret.person@" not in text
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


# --- appointments -----------------------------------------------------------------------

SLOT = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)  # a Wednesday morning slot


def book(engine: Engine, rid: int) -> int:
    with db.session_scope(engine, write=True) as session:
        result = outcomes.record_outcome(
            session,
            reminder_id=rid,
            outcome=Outcome.APPOINTMENT,
            staff_id=w.staff_id(engine, "甲"),
            policy=w.policy(engine),
            data=outcomes.OutcomeInput(slot_at=SLOT),
        )
    assert result.appointment_id is not None
    return result.appointment_id


def cancel(engine: Engine, appointment_id: int, now: datetime = w.NOW) -> None:
    from callqueue.models import AppointmentStatus
    from callqueue.queue import appointments

    with db.session_scope(engine, write=True) as session:
        appointments.set_status(
            session,
            appointment_id=appointment_id,
            status=AppointmentStatus.CANCELLED,
            staff_id=w.staff_id(engine, "甲"),
            now=now,
        )


def calendar_of(arrived: Any) -> Any:
    from icalendar import Calendar

    (part,) = [
        p for p in arrived.message.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    return part, Calendar.from_ical(part.get_content())


def test_booking_sends_a_confirmation_with_a_calendar_file(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 li@example.cn"])
    appointment_id = book(engine, rid)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        send(engine, settings(port, tmp_path))
        cancel(engine, appointment_id, now=w.NOW + timedelta(minutes=5))
        send(engine, settings(port, tmp_path), now=w.NOW + timedelta(minutes=6))
    confirmation, cancellation = inbox.arrived
    assert "预约确认" in confirmation.message["Subject"]
    assert "2026年11月25日" in confirmation.message["Subject"]
    text = confirmation.message.get_body(("plain",)).get_content()
    assert "09:00–09:30" in text and "农药经营许可证" in text
    part, cal = calendar_of(confirmation)
    assert part.get_filename() == "预约.ics"
    assert part.get_param("method") == "REQUEST" and cal["METHOD"] == "REQUEST"
    (event,) = cal.walk("VEVENT")
    start = event.decoded("DTSTART")
    assert start == SLOT and str(start.tzinfo) == "Asia/Shanghai"
    assert event.decoded("DTEND") == SLOT + timedelta(minutes=30)
    assert "mailto:li@example.cn" in str(event["ATTENDEE"])
    assert cal.walk("VTIMEZONE")[0]["TZID"] == "Asia/Shanghai"
    # The cancellation removes the same event from the holder's calendar.
    assert "预约取消" in cancellation.message["Subject"]
    _, cancel_cal = calendar_of(cancellation)
    (gone,) = cancel_cal.walk("VEVENT")
    assert cancel_cal["METHOD"] == "CANCEL" and gone["STATUS"] == "CANCELLED"
    assert gone["UID"] == event["UID"] and int(gone["SEQUENCE"]) > int(event["SEQUENCE"])
    # Both are on the reminder's record as email attempts.
    kinds = [(a.channel, a.outcome) for a in attempts(engine, rid)]
    assert kinds == [("phone", "appointment"), ("email", "email_sent"), ("email", "email_sent")]
    # The cancelled visit put the reminder back in the phone queue; neither email moved it
    # on (a confirmation or a cancellation tells the holder nothing about renewing).
    r = w.reminder(engine, rid)
    assert (r.state, r.channel) == (ReminderState.DUE, "phone")


def test_a_rebooked_visit_is_cancelled_before_the_new_one_is_confirmed(
    engine: Engine, tmp_path: Path
) -> None:
    """The holder reads the old visit's cancellation first, then the new visit's confirmation:
    the other way round, the last email they got said their visit was cancelled."""
    (rid,) = world(engine, tmp_path, ["13800000001 li@example.cn"])
    book(engine, rid)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        send(engine, settings(port, tmp_path))
        later = SLOT + timedelta(hours=1)
        with db.session_scope(engine, write=True) as session:
            outcomes.record_outcome(
                session,
                reminder_id=rid,
                outcome=Outcome.APPOINTMENT,
                staff_id=w.staff_id(engine, "甲"),
                policy=w.policy(engine),
                data=outcomes.OutcomeInput(slot_at=later),
            )
        send(engine, settings(port, tmp_path), now=w.NOW + timedelta(minutes=6))
    subjects = [m.message["Subject"] for m in inbox.arrived]
    assert len(subjects) == 3, subjects
    assert "预约确认" in subjects[0] and "09:00" in subjects[0]
    assert "预约取消" in subjects[1] and "09:00" in subjects[1]
    assert "预约确认" in subjects[2] and "10:00" in subjects[2]


def test_cancel_before_the_confirmation_went_withdraws_it(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 li@example.cn"])
    appointment_id = book(engine, rid)
    cancel(engine, appointment_id)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        report = send(engine, settings(port, tmp_path))
    assert inbox.arrived == [] and report.sent == []
    assert [r.status for r in outbox_rows(engine)] == [MailStatus.CANCELLED]


def test_a_visit_already_past_is_not_emailed_about(engine: Engine, tmp_path: Path) -> None:
    """A cancellation recorded after the visit's time (the holder phoned yesterday), or a
    confirmation the send run reaches only after the visit, would tell the holder about a
    visit already over: withdrawn, and the outbox says why."""
    cancelled_after, late = world(
        engine, tmp_path, ["13800000001 li@example.cn", "13800000002 wang@example.cn"]
    )
    past = book(engine, cancelled_after)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        send(engine, settings(port, tmp_path))  # its confirmation goes out in time
        book(engine, late)
        cancel(engine, past, now=SLOT + timedelta(minutes=40))
        report = send(engine, settings(port, tmp_path), now=SLOT + timedelta(minutes=45))
    assert [a.rcpt_tos for a in inbox.arrived] == [["li@example.cn"]] and report.sent == []
    assert report.withdrawn == 2
    confirmed, *withdrawn = outbox_rows(engine)
    assert confirmed.status == MailStatus.SENT
    assert [(r.kind, r.status) for r in withdrawn] == [
        ("appointment", MailStatus.CANCELLED),
        ("cancellation", MailStatus.CANCELLED),
    ]
    assert all("预约时间已过" in r.last_error for r in withdrawn)


def test_booking_without_an_address_queues_nothing(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001"])
    book(engine, rid)
    assert outbox_rows(engine) == []


# --- overlapping and interrupted runs ---------------------------------------------------------


def test_overlapping_runs_send_each_email_once(engine: Engine, tmp_path: Path) -> None:
    import threading

    rids = world(engine, tmp_path, [f"1380000{n:04d} u{n}@example.cn" for n in range(1, 13)])
    for rid in rids:
        w.set_reminder(engine, rid, channel=Channel.EMAIL.value)
    inbox = Inbox()
    reports: list[delivery.SendReport] = []
    with smtp_server(inbox) as port:
        cfg = settings(port, tmp_path)
        start = threading.Barrier(3)

        def run() -> None:
            start.wait()
            reports.append(send(engine, cfg))

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert all(r.error is None for r in reports)
    received = sorted(rcpt for a in inbox.arrived for rcpt in a.rcpt_tos)
    assert received == sorted(f"u{n}@example.cn" for n in range(1, 13))
    assert sum(len(r.sent) for r in reports) == 12
    assert sum(r.queued for r in reports) == 12
    assert all(len(attempts(engine, rid)) == 1 for rid in rids)
    assert {r.status for r in outbox_rows(engine)} == {MailStatus.SENT}


def test_a_run_that_dies_mid_send_never_sends_twice(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rids = world(engine, tmp_path, [f"1380000{n:04d} d{n}@example.cn" for n in range(1, 5)])
    for rid in rids:
        queue_email(engine, rid)
    inbox = Inbox()
    real_sent = delivery._sent
    calls = []

    def dies_on_second(session: Any, row: Any, **kw: Any) -> None:
        calls.append(row.id)
        if len(calls) == 2:  # the server has the message; the process dies before recording it
            raise KeyboardInterrupt
        real_sent(session, row, **kw)

    with smtp_server(inbox) as port:
        cfg = settings(port, tmp_path)
        monkeypatch.setattr(delivery, "_sent", dies_on_second)
        with pytest.raises(KeyboardInterrupt):
            send(engine, cfg)
        monkeypatch.setattr(delivery, "_sent", real_sent)
        statuses = [r.status for r in outbox_rows(engine)]
        assert statuses == ["sent", "sending", "queued", "queued"]
        # A second run soon after sends the rest and leaves the interrupted one alone.
        later = send(engine, cfg, now=w.NOW + timedelta(minutes=1))
        assert len(later.sent) == 2 and later.uncertain == []
        # Once its lease is over it is marked uncertain, never sent again by itself.
        much_later = send(engine, cfg, now=w.NOW + timedelta(minutes=30))
        assert much_later.uncertain == [outbox_rows(engine)[1].id] and much_later.sent == []
        send(engine, cfg, now=w.NOW + timedelta(hours=2))
    counts = sorted(len(inbox.to(f"d{n}@example.cn")) for n in range(1, 5))
    assert counts == [1, 1, 1, 1]
    assert [r.status for r in outbox_rows(engine)] == ["sent", "uncertain", "sent", "sent"]
    with pytest.raises(outbox.MailRefused, match="核实"):
        queue_email(engine, rids[1])
    # Not known to have arrived: the holder goes back to the phone queue to make sure.
    assert w.reminder(engine, rids[1]).channel == Channel.PHONE
    assert w.reminder(engine, rids[0]).state == ReminderState.INFORMED


# --- TLS, login and settings -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    """A test CA, the server's context for 127.0.0.1, and the CA file clients are told to trust."""
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    cafile = tmp_path_factory.mktemp("ca") / "office-ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    return server_context, str(cafile)


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_secure_login_sends(
    engine: Engine, tmp_path: Path, tls: tuple[Any, str], security: str
) -> None:
    server_context, cafile = tls
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    queue_email(engine, rid)
    inbox = Inbox()
    login = ("zwfw@dongli.example.cn", "app-code-123")
    with smtp_server(inbox, security=security, server_context=server_context, login=login) as port:
        cfg = settings(
            port,
            tmp_path,
            smtp_security=security,
            smtp_user=login[0],
            smtp_password=login[1],
            smtp_cafile=cafile,
        )
        report = send(engine, cfg)
    assert report.error is None and len(inbox.arrived) == 1


def test_wrong_password_is_explained_and_never_shown(
    engine: Engine, tmp_path: Path, tls: tuple[Any, str], caplog: Any
) -> None:
    server_context, cafile = tls
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    queue_email(engine, rid)
    inbox = Inbox()
    caplog.set_level(logging.INFO, logger="callqueue")
    with smtp_server(
        inbox, security="ssl", server_context=server_context, login=("u@example.cn", "right")
    ) as port:
        cfg = settings(
            port,
            tmp_path,
            smtp_security="ssl",
            smtp_user="u@example.cn",
            smtp_password="Wr0ng-Secret",
            smtp_cafile=cafile,
        )
        report = send(engine, cfg)
    assert report.error is not None and "授权码" in report.error
    assert "Wr0ng-Secret" not in report.error and "Wr0ng-Secret" not in caplog.text
    assert "Wr0ng-Secret" not in repr(cfg)
    assert outbox_rows(engine)[0].status == MailStatus.QUEUED and inbox.arrived == []


def test_untrusted_certificate_is_refused(
    engine: Engine, tmp_path: Path, tls: tuple[Any, str]
) -> None:
    server_context, _ = tls
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    queue_email(engine, rid)
    inbox = Inbox()
    with smtp_server(inbox, security="ssl", server_context=server_context) as port:
        report = send(engine, settings(port, tmp_path, smtp_security="ssl"))
    assert report.error is not None and "加密连接失败" in report.error
    assert inbox.arrived == []


def test_environment_sets_the_server(tmp_path: Path) -> None:
    from callqueue.config import load_settings
    from callqueue.notify.mailer import MailServer

    env = {
        "CALLQUEUE_SMTP_HOST": "smtp.163.com",
        "CALLQUEUE_SMTP_SECURITY": "starttls",
        "CALLQUEUE_SMTP_USER": "office@163.com",
        "CALLQUEUE_SMTP_PASSWORD": "abc",
        "CALLQUEUE_MAIL_FROM": "东丽区政务服务办 <office@163.com>",
    }
    cfg = load_settings(env=env, path=tmp_path / "none.toml")
    server = MailServer.from_settings(cfg)
    assert server is not None
    assert (server.host, server.port, server.security) == ("smtp.163.com", 587, "starttls")
    assert server.sender.display_name == "东丽区政务服务办"
    assert "abc" not in repr(server)
    bad = load_settings(env={**env, "CALLQUEUE_SMTP_SECURITY": "tls"}, path=tmp_path / "n.toml")
    from callqueue.notify.mailer import MailSettingsError

    with pytest.raises(MailSettingsError, match="ssl、starttls 或 none"):
        MailServer.from_settings(bad)


# --- templates ---------------------------------------------------------------------------------


def test_office_templates_override_defaults_per_catalog_item(
    engine: Engine, tmp_path: Path
) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    folder = tmp_path / "templates"
    folder.mkdir()
    seq = outbox_seq(engine, rid)
    (folder / f"reminder-{seq}.subject.txt").write_text(
        "【农药】{{ holder }} 请于 {{ apply_by | cn_date }} 前办理", encoding="utf-8"
    )
    (folder / "reminder.txt").write_text(
        "办公室自拟：{{ holder }}，材料 {{ materials | length }} 项。<b>不转义</b>",
        encoding="utf-8",
    )
    queue_email(engine, rid)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        report = send(engine, settings(port, tmp_path))
    assert report.error is None
    msg = inbox.arrived[0].message
    assert msg["Subject"].startswith("【农药】东丽区第001号公司 请于")
    assert (
        msg.get_body(("plain",))
        .get_content()
        .startswith("办公室自拟：东丽区第001号公司，材料 5 项。<b>")
    )
    assert (
        "请在" in msg.get_body(("html",)).get_content()
        or "时限" in msg.get_body(("html",)).get_content()
    )


def test_html_escapes_holder_names(engine: Engine, tmp_path: Path) -> None:
    ids = w.build(
        engine,
        tmp_path,
        [w.due_row(1, holder="<script>坏</script>公司", contact="13800000001 a@example.cn")],
    )
    queue_email(engine, next(iter(ids.values())))
    inbox = Inbox()
    with smtp_server(inbox) as port:
        send(engine, settings(port, tmp_path))
    html = inbox.arrived[0].message.get_body(("html",)).get_content()
    assert "&lt;script&gt;坏&lt;/script&gt;公司" in html and "<script>" not in html


def test_broken_office_template_stops_with_its_line(engine: Engine, tmp_path: Path) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "reminder.txt").write_text("第一行\n{{ holder ", encoding="utf-8")
    queue_email(engine, rid)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        report = send(engine, settings(port, tmp_path))
    assert report.error is not None and "reminder.txt" in report.error and "第 2 行" in report.error
    assert inbox.arrived == [] and outbox_rows(engine)[0].status == MailStatus.QUEUED


def outbox_seq(engine: Engine, rid: int) -> int:
    with db.session_scope(engine, write=False) as session:
        return int(outbox.reminder_context(session, reminder_id=rid)["catalog_seq"])


def test_message_refused_for_good_does_not_blame_the_address(
    engine: Engine, tmp_path: Path
) -> None:
    (rid,) = world(engine, tmp_path, ["13800000001 a@example.cn"])
    queue_email(engine, rid)
    inbox = Inbox(data_reply="554 5.7.1 message rejected as spam")
    with smtp_server(inbox) as port:
        report = send(engine, settings(port, tmp_path))
    assert len(report.failed) == 1 and "554" in report.failed[0].error
    (row,) = outbox_rows(engine)
    assert row.status == MailStatus.FAILED and row.dedupe_key is None
    with db.session_scope(engine, write=False) as session:
        assert not session.execute(select(table(ContactEmail).c.invalid)).scalar_one()
    assert [(a.channel, a.outcome) for a in attempts(engine, rid)] == [("email", "email_failed")]
    assert w.reminder(engine, rid).channel == Channel.PHONE


def test_sent_emails_fill_the_exported_ledger(engine: Engine, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from callqueue.ledger.export import export_ledger
    from callqueue.ledger.listing import ledger_rows

    rids = world(engine, tmp_path, ["13800000001 a@example.cn", "13800000002 b@example.cn"])
    queue_email(engine, rids[0])  # staff 甲 pressed `e`
    w.set_reminder(engine, rids[1], channel=Channel.EMAIL.value)  # the catalog says email
    inbox = Inbox()
    with smtp_server(inbox) as port:
        send(engine, settings(port, tmp_path))
    assert len(inbox.arrived) == 2
    with db.session_scope(engine, write=False) as session:
        rows = ledger_rows(session, today=w.TODAY)
    path = export_ledger(rows, tmp_path / "台账.xlsx", office_name="东丽区政务服务办公室")
    ws = load_workbook(path).worksheets[0]
    header = [c.value for c in ws[4]]
    col = {
        name: header.index(name) for name in ("单位（个人）名称", "提醒日期", "提醒方式", "提醒人")
    }
    found = {
        row[col["单位（个人）名称"]].value: (
            row[col["提醒日期"]].value.date(),
            row[col["提醒方式"]].value,
            row[col["提醒人"]].value,
        )
        for row in ws.iter_rows(min_row=5)
        if row[0].value is not None
    }
    assert found["东丽区第001号公司"] == (w.TODAY, "电子邮件告知", "甲")
    assert found["东丽区第002号公司"] == (w.TODAY, "电子邮件告知", "系统邮件")


@pytest.mark.parametrize("phone", ["", "022-24391234"])
def test_calendar_file_names_the_phone_only_when_set(
    engine: Engine, tmp_path: Path, phone: str
) -> None:
    """The office's service phone may not be filled in yet (catalog check warns): the calendar
    entry must then not say 咨询电话： followed by nothing."""
    from callqueue.catalog import office
    from callqueue.models import Setting

    with db.session_scope(engine, write=True) as session:
        if phone:
            session.merge(Setting(key="office.phone", value=phone, updated_at=w.NOW))
    with db.session_scope(engine, write=False) as session:
        assert office(session)["service_phone"] == phone
    (rid,) = world(engine, tmp_path, ["13800000001 li@example.cn"])
    book(engine, rid)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        send(engine, settings(port, tmp_path))
    (confirmation,) = inbox.arrived
    _, cal = calendar_of(confirmation)
    (event,) = cal.walk("VEVENT")
    lines = str(event["DESCRIPTION"]).split("\n")
    assert [line for line in lines if line.startswith("咨询电话")] == (
        [f"咨询电话：{phone}"] if phone else []
    )
    assert lines[-1].startswith("需带材料：1. ")
