"""Sending what the outbox holds: claim one email, send it, record what became of it.

Each email is claimed in its own short transaction (status `sending`, with a lease) before it
is handed to the mail server, and marked `sent` in another right after; so two overlapping send
runs never take the same email, and a run that dies leaves at most the one email it was
sending in `sending`. Once that lease is over the email is marked `uncertain` — it may have gone
out — and is never sent again by itself: staff check and retry it by hand.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from callqueue import audit, db
from callqueue.clock import local
from callqueue.config import Settings
from callqueue.db import table
from callqueue.models import (
    OPEN_STATES,
    Appointment,
    AppointmentStatus,
    Attempt,
    Channel,
    ContactEmail,
    MailKind,
    MailStatus,
    OutboxEmail,
    Outcome,
    Reminder,
)
from callqueue.notify import outbox
from callqueue.notify.ics import appointment_ics
from callqueue.notify.mailer import (
    Connection,
    MailServer,
    MailSettingsError,
    SendFailure,
    ServerUnusable,
    recipient,
)
from callqueue.notify.masking import mask_email
from callqueue.notify.render import Rendered, TemplateProblem, render, templates_dir
from callqueue.queue import outcomes, reach

SEND_LEASE = timedelta(minutes=10)
log = logging.getLogger("callqueue.notify")


@dataclass(frozen=True)
class Delivered:
    """One email this run dealt with."""

    id: int
    kind: str
    reminder: int | None
    to: str
    subject: str
    error: str = ""


@dataclass
class SendReport:
    """What one send run did."""

    dry_run: bool
    queued: int = 0
    back_to_phone: int = 0
    sent: list[Delivered] = field(default_factory=list)
    retrying: list[Delivered] = field(default_factory=list)
    failed: list[Delivered] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)
    unrecorded: list[int] = field(default_factory=list)
    """Handed to the server, but the database could not record it (it shows as uncertain)."""
    withdrawn: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON object."""
        return asdict(self)


@dataclass(frozen=True)
class _Row:
    id: int
    kind: str
    reminder_id: int | None
    appointment_id: int | None
    holder_id: int
    email_id: int | None
    to_address: str
    to_name: str
    stage: str
    context: dict[str, Any]
    message_id: str
    tries: int
    queued_by_id: int | None


class _NotRecorded(Exception):
    """The server took an email but the database could not record it: stop the run."""

    def __init__(self, outbox_id: int, reason: str) -> None:
        super().__init__(outbox_id, reason)
        self.outbox_id = outbox_id
        self.reason = reason


def _placeholder_sender() -> Address:
    return Address(display_name="", username="noreply", domain="example.invalid")


def send_due(
    engine: Engine,
    *,
    settings: Settings,
    now: datetime,
    today: date,
    dry_run: bool = False,
    only: list[int] | None = None,
    limit: int | None = None,
) -> SendReport:
    """Queue the due email reminders, then send every email whose time has come.

    Args:
        engine: the database.
        settings: mail server, templates, retry rules.
        now: the time in force.
        today: the date in force (for the letters' date and the follow-up rule).
        dry_run: render and report what would go, write nothing, contact no server.
        only: send just these outbox rows (the desk's `e`); nothing else is queued.
        limit: send at most this many.

    Returns:
        What was queued, sent, retried, failed or found uncertain, and why a run stopped.
    """
    report = SendReport(dry_run=dry_run)
    try:
        server = MailServer.from_settings(settings)
    except MailSettingsError as exc:
        report.error = str(exc)
        return report
    if server is None and not dry_run:
        report.error = "未配置邮件服务器：请设置 CALLQUEUE_SMTP_HOST 等（见说明书“电子邮件”一节）"
        return report
    if dry_run:
        return _dry_run(engine, settings, server, now=now, today=today, only=only, limit=limit)
    assert server is not None
    with db.session_scope(engine, write=True) as session:
        report.uncertain = _sweep_uncertain(session, now)
        if only is None:
            due = outbox.queue_due(session, now=now)
            report.queued, report.back_to_phone = len(due.queued), len(due.back_to_phone)
    with db.session_scope(engine, write=False) as session:
        ids = _due_ids(session, now=now, only=only, limit=limit)
    if not ids:
        return report
    try:
        with Connection(server) as conn:
            for outbox_id in ids:
                if not _send_one(engine, conn, server, settings, outbox_id, now, today, report):
                    break
    except ServerUnusable as exc:
        report.error = str(exc)
        log.error("email run stopped: %s", exc.detail)
    except _NotRecorded as exc:
        report.unrecorded.append(exc.outbox_id)
        report.error = (
            f"邮件 #{exc.outbox_id} 已交给邮件服务器，但数据库无法写入（{exc.reason}），发送记录未保存："
            "请不要重发，它稍后在发件记录中显示为“发送中断”；本轮其余邮件留在队列中，"
            "数据库恢复后再运行 callqueue email send"
        )
    except SQLAlchemyError as exc:
        log.error("email run stopped: database failure", exc_info=exc)
        report.error = (
            f"数据库无法写入（{type(exc).__name__}），本轮发送停止；尚未发出的邮件留在队列中，"
            "数据库恢复后再运行 callqueue email send"
        )
    return report


def _dry_run(
    engine: Engine,
    settings: Settings,
    server: MailServer | None,
    *,
    now: datetime,
    today: date,
    only: list[int] | None,
    limit: int | None,
) -> SendReport:
    """What a send run would do, worked out in a transaction that is rolled back."""
    report = SendReport(dry_run=True)
    sender = server.sender if server is not None else _placeholder_sender()
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            with Session(bind=conn) as session:
                if only is None:
                    due = outbox.queue_due(session, now=now)
                    report.queued, report.back_to_phone = len(due.queued), len(due.back_to_phone)
                for outbox_id in _due_ids(session, now=now, only=only, limit=limit):
                    row = _load(session, outbox_id)
                    if _still_wanted(session, row, now) is not None:
                        report.withdrawn += 1
                        continue
                    try:
                        rendered = _render(row, settings, today)
                    except TemplateProblem as exc:
                        report.error = str(exc)
                        break
                    row = replace(row, message_id=row.message_id or make_msgid("callqueue"))
                    item = Delivered(
                        row.id,
                        row.kind,
                        row.reminder_id,
                        mask_email(row.to_address),
                        rendered.subject,
                    )
                    try:
                        compose(row, rendered, _ics(row, sender, now), sender=sender, now=now)
                    except SendFailure as exc:
                        report.failed.append(replace(item, error=str(exc)))
                        continue
                    report.sent.append(item)
        finally:
            trans.rollback()
    return report


def _due_ids(
    session: Session, *, now: datetime, only: list[int] | None, limit: int | None
) -> list[int]:
    o = table(OutboxEmail)
    query = select(o.c.id).where(o.c.status == MailStatus.QUEUED.value, o.c.next_try_at <= now)
    if only is not None:
        query = query.where(o.c.id.in_(only))
    query = query.order_by(o.c.next_try_at, o.c.id)
    if limit is not None:
        query = query.limit(limit)
    return [int(i) for i in session.execute(query).scalars()]


def _sweep_uncertain(session: Session, now: datetime) -> list[int]:
    """Emails left `sending` by a run that stopped: they may have gone, so never resend."""
    o = table(OutboxEmail)
    ids = [
        int(i)
        for i in session.execute(
            update(o)
            .where(o.c.status == MailStatus.SENDING.value, o.c.lease_until < now)
            .values(
                status=MailStatus.UNCERTAIN.value,
                lease_until=None,
                last_error="发送过程中断，可能已发出；请核实后用 callqueue email retry 重发",
            )
            .returning(o.c.id)
        ).scalars()
    ]
    for outbox_id in ids:
        audit.record(
            session, action="email.uncertain", entity="outboxemail", entity_id=outbox_id, at=now
        )
        _call_to_make_sure(session, _load(session, outbox_id), now)
    return ids


def _call_to_make_sure(session: Session, row: _Row, now: datetime) -> None:
    """A reminder email not known to have arrived: a call makes sure, instead of a second email."""
    if row.kind != MailKind.REMINDER or row.reminder_id is None:
        return
    r = table(Reminder)
    session.execute(
        update(r)
        .where(
            r.c.id == row.reminder_id,
            r.c.state.in_([s.value for s in outbox.UNWORKED]),
            r.c.channel == Channel.EMAIL.value,
        )
        .values(channel=Channel.PHONE.value, version=r.c.version + 1, updated_at=now)
    )


def _uncertain(session: Session, row: _Row, exc: SendFailure, now: datetime) -> None:
    """The connection broke after the message was handed over: it may have gone; never resend."""
    o = table(OutboxEmail)
    session.execute(
        update(o)
        .where(o.c.id == row.id)
        .values(
            status=MailStatus.UNCERTAIN.value,
            tries=row.tries + 1,
            lease_until=None,
            last_error=f"{exc}；请核实后用 callqueue email retry 重发",
        )
    )
    audit.record(
        session,
        action="email.uncertain",
        entity="outboxemail",
        entity_id=row.id,
        after={"reminder": row.reminder_id, "error": str(exc)},
        at=now,
    )
    _call_to_make_sure(session, row, now)


def _load(session: Session, outbox_id: int) -> _Row:
    o = table(OutboxEmail)
    row = session.execute(
        select(
            o.c.id,
            o.c.kind,
            o.c.reminder_id,
            o.c.appointment_id,
            o.c.holder_id,
            o.c.email_id,
            o.c.to_address,
            o.c.to_name,
            o.c.stage,
            o.c.context,
            o.c.message_id,
            o.c.tries,
            o.c.queued_by_id,
        ).where(o.c.id == outbox_id)
    ).one()
    return _Row(**row._asdict())


def _still_wanted(session: Session, row: _Row, now: datetime) -> str | None:
    """Why this email should not go any more, or None when it should."""
    if row.kind == MailKind.REMINDER:
        r = table(Reminder)
        state = session.execute(select(r.c.state).where(r.c.id == row.reminder_id)).scalar()
        return None if state in outbox.WORKABLE else "提醒已结束，邮件撤回"
    if row.appointment_id is not None:
        a = table(Appointment)
        appt = session.execute(
            select(a.c.status, a.c.starts_at).where(a.c.id == row.appointment_id)
        ).one()
        wants = AppointmentStatus.CANCELLED if row.kind == MailKind.CANCELLATION else None
        if wants is None and appt.status != AppointmentStatus.BOOKED:
            return "预约已不再有效，确认邮件撤回"
        # A confirmation or cancellation of a visit already over tells the holder nothing.
        if local(appt.starts_at) <= local(now):
            return "预约时间已过，邮件撤回"
    return None


def compose(
    row: _Row, rendered: Rendered, ics: str | None, *, sender: Address, now: datetime
) -> EmailMessage:
    """The MIME message: UTF-8 headers, plain text and HTML, and the calendar file if any.

    Raises:
        SendFailure: the address cannot be written in a header (permanent, bad address).
    """
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = recipient(row.to_address, row.to_name or str(row.context.get("holder", "")))
    message["Date"] = format_datetime(local(now))
    message["Message-ID"] = row.message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text, subtype="plain", charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    if ics is not None:
        cancelled = row.kind == MailKind.CANCELLATION
        message.add_attachment(
            ics.encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename="取消预约.ics" if cancelled else "预约.ics",
            params={"method": "CANCEL" if cancelled else "REQUEST", "charset": "utf-8"},
        )
    return message


def _ics(row: _Row, sender: Address, now: datetime) -> str | None:
    if row.kind == MailKind.REMINDER:
        return None
    ctx = row.context
    certificate = ctx.get("certificate") or "许可证书"
    materials = "；".join(f"{n}. {m}" for n, m in enumerate(ctx.get("materials") or [], 1))
    lines = [f"咨询电话：{ctx['phone']}"] if ctx.get("phone") else []  # unset: not said at all
    if materials:
        lines.append(f"需带材料：{materials}")
    description = "\n".join(lines)
    return appointment_ics(
        uid=f"appointment-{row.appointment_id}@{sender.domain}",
        starts_at=datetime.fromisoformat(ctx["starts_at"]),
        ends_at=datetime.fromisoformat(ctx["ends_at"]),
        summary=f"{certificate}延续办理（{ctx.get('office', '')}）",
        location=str(ctx.get("place", "")),
        description=description,
        organizer=(sender.display_name, sender.addr_spec),
        attendee=(row.to_name or str(ctx.get("holder", "")), row.to_address),
        stamp=now,
        sequence=1 if row.kind == MailKind.CANCELLATION else 0,
        cancelled=row.kind == MailKind.CANCELLATION,
    )


def _render(row: _Row, settings: Settings, today: date) -> Rendered:
    seq = row.context.get("catalog_seq") if row.kind == MailKind.REMINDER else None
    return render(
        row.kind,
        {**row.context, "contact": row.to_name, "today": today.isoformat()},
        folder=templates_dir(settings),
        seq=int(seq) if seq is not None else None,
    )


def _send_one(
    engine: Engine,
    conn: Connection,
    server: MailServer,
    settings: Settings,
    outbox_id: int,
    now: datetime,
    today: date,
    report: SendReport,
) -> bool:
    """Claim, send and record one email; False when the run must stop."""
    o = table(OutboxEmail)
    with db.session_scope(engine, write=True) as session:
        row = _load(session, outbox_id)
        why_not = _still_wanted(session, row, now)
        if why_not is not None:
            outbox.cancel_for_closed(session, outbox_id=outbox_id, reason=why_not, now=now)
            report.withdrawn += 1
            return True
        try:
            rendered = _render(row, settings, today)
        except TemplateProblem as exc:
            report.error = str(exc)
            log.error("email run stopped: office template cannot be used (email %s)", row.id)
            return False
        ics = _ics(row, server.sender, now)
        if not row.message_id:  # made once, so every try of this email carries the same one
            row = replace(row, message_id=make_msgid("callqueue", domain=server.sender.domain))
        item = Delivered(
            row.id, row.kind, row.reminder_id, mask_email(row.to_address), rendered.subject
        )
        try:
            message = compose(row, rendered, ics, sender=server.sender, now=now)
        except SendFailure as exc:  # before the claim: it cannot be sent, so it was not
            _failed(
                session, row, exc, settings=settings, now=now, today=today, report=report, item=item
            )
            return True
        claimed = db.rowcount(
            session.execute(
                update(o)
                .where(o.c.id == outbox_id, o.c.status == MailStatus.QUEUED.value)
                .values(
                    status=MailStatus.SENDING.value,
                    lease_until=now + SEND_LEASE,
                    message_id=row.message_id,
                    subject=rendered.subject[:255],
                    body_text=rendered.text,
                    body_html=rendered.html,
                    ics=ics,
                )
            )
        )
    if not claimed:
        return True  # another run took it
    try:
        conn.send(message, row.to_address)
    except ServerUnusable:
        with db.session_scope(engine, write=True) as session:
            session.execute(
                update(o)
                .where(o.c.id == outbox_id)
                .values(status=MailStatus.QUEUED.value, lease_until=None)
            )
        raise
    except SendFailure as exc:
        if exc.uncertain:
            with db.session_scope(engine, write=True) as session:
                _uncertain(session, row, exc, now)
            report.uncertain.append(row.id)
            log.info("email %s may have gone: %s", row.id, exc.detail)
            return conn.is_open
        with db.session_scope(engine, write=True) as session:
            _failed(
                session, row, exc, settings=settings, now=now, today=today, report=report, item=item
            )
        return conn.is_open
    try:
        with db.session_scope(engine, write=True) as session:
            _sent(session, row, settings=settings, now=now, today=today)
    except SQLAlchemyError as exc:
        # Still `sending` in the database: once the lease is over it shows as uncertain.
        log.error("email %s sent but not recorded", row.id, exc_info=exc)
        raise _NotRecorded(row.id, type(exc).__name__) from exc
    log.info("email %s sent to %s", row.id, mask_email(row.to_address))
    report.sent.append(item)
    return True


def _attempt(
    session: Session,
    row: _Row,
    *,
    outcome: str,
    note: str,
    now: datetime,
    ledger: bool,
) -> int:
    """An email attempt on the row's reminder that changes no state; fills the ledger columns."""
    assert row.reminder_id is not None
    new = (
        session.connection()
        .execute(
            insert(table(Attempt)).returning(table(Attempt).c.id),
            {
                "reminder_id": row.reminder_id,
                "staff_id": row.queued_by_id,
                "at": now,
                "channel": Channel.EMAIL.value,
                "outcome": outcome,
                "note": note,
                "phone_id": None,
                "email_id": row.email_id,
                "conveyed": [],
                "materials_ticked": [],
                "callback_at": None,
            },
        )
        .scalar_one()
    )
    if ledger:
        r = table(Reminder)
        session.execute(
            update(r)
            .where(r.c.id == row.reminder_id)
            .values(
                last_reminded_on=now.date(),
                last_channel=Channel.EMAIL.value,
                last_staff_id=row.queued_by_id,
                version=r.c.version + 1,
                updated_at=now,
            )
        )
    return int(new)


def _sent(session: Session, row: _Row, *, settings: Settings, now: datetime, today: date) -> None:
    o = table(OutboxEmail)
    masked = mask_email(row.to_address)
    attempt_id = None
    if row.reminder_id is not None:
        r = table(Reminder)
        state = session.execute(select(r.c.state).where(r.c.id == row.reminder_id)).scalar()
        if row.kind == MailKind.REMINDER and state in outbox.UNWORKED:
            try:
                result = outcomes.record_outcome(
                    session,
                    reminder_id=row.reminder_id,
                    outcome=Outcome.INFORMED,
                    staff_id=row.queued_by_id,
                    policy=outcomes.policy_for(session, settings=settings, today=today, now=now),
                    data=outcomes.OutcomeInput(
                        note=f"提醒邮件已发送至 {masked}", conveyed=_told(row.context)
                    ),
                    at=now,
                    channel=Channel.EMAIL,
                    email_id=row.email_id,
                )
                attempt_id = result.attempt_id
            except outcomes.OutcomeRefused:
                attempt_id = None
        if attempt_id is None:
            what = (
                "提醒邮件"
                if row.kind == MailKind.REMINDER
                else ("预约取消通知" if row.kind == MailKind.CANCELLATION else "预约确认邮件")
            )
            attempt_id = _attempt(
                session,
                row,
                outcome="email_sent",
                note=f"{what}已发送至 {masked}",
                now=now,
                ledger=state in OPEN_STATES,
            )
    session.execute(
        update(o)
        .where(o.c.id == row.id)
        .values(
            status=MailStatus.SENT.value,
            sent_at=now,
            lease_until=None,
            tries=row.tries + 1,
            last_error="",
            attempt_id=attempt_id,
        )
    )
    audit.record(
        session,
        action="email.sent",
        entity="outboxemail",
        entity_id=row.id,
        after={"reminder": row.reminder_id, "to": masked, "attempt": attempt_id},
        staff_id=row.queued_by_id,
        at=now,
    )


def _told(context: dict[str, Any]) -> tuple[str, ...]:
    """The 一次性告知 items a reminder email carried: a place, phone or list not on file was not."""
    given = {item: bool(context.get(item)) for item in ("place", "phone", "materials")}
    return tuple(item for item in outcomes.CONVEYABLE if given.get(item, True))


def _failed(
    session: Session,
    row: _Row,
    exc: SendFailure,
    *,
    settings: Settings,
    now: datetime,
    today: date,
    report: SendReport,
    item: Delivered,
) -> None:
    o = table(OutboxEmail)
    tries = row.tries + 1
    error = str(exc)
    if not exc.permanent and tries < settings.email_max_tries:
        wait = timedelta(minutes=settings.email_retry_minutes * 3 ** (tries - 1))
        session.execute(
            update(o)
            .where(o.c.id == row.id)
            .values(
                status=MailStatus.QUEUED.value,
                tries=tries,
                next_try_at=now + wait,
                lease_until=None,
                last_error=error,
            )
        )
        report.retrying.append(Delivered(**{**asdict(item), "error": error}))
        log.info("email %s will be retried: %s", row.id, exc.detail)
        return
    if not exc.permanent:
        error = f"已尝试 {tries} 次仍未发出：{error}"
    session.execute(
        update(o)
        .where(o.c.id == row.id)
        .values(
            status=MailStatus.FAILED.value,
            tries=tries,
            lease_until=None,
            last_error=error,
            dedupe_key=None,  # another address, or staff, may carry this stage now
        )
    )
    report.failed.append(Delivered(**{**asdict(item), "error": error}))
    log.info("email %s failed: %s", row.id, exc.detail)
    if exc.bad_address and row.email_id is not None:
        e = table(ContactEmail)
        session.execute(
            update(e)
            .where(e.c.id == row.email_id)
            .values(invalid=True, invalid_reason=f"退信（{now:%Y-%m-%d}）：{error}"[:200])
        )
    audit.record(
        session,
        action="email.bounced" if exc.bad_address else "email.failed",
        entity="outboxemail",
        entity_id=row.id,
        after={"reminder": row.reminder_id, "error": error, "email_invalid": exc.bad_address},
        at=now,
    )
    if row.reminder_id is None:
        return
    _attempt(
        session,
        row,
        outcome="bounced" if exc.bad_address else "email_failed",
        note=error,
        now=now,
        ledger=False,
    )
    if row.kind == MailKind.REMINDER:
        _fall_back(session, row, bad_address=exc.bad_address, now=now)


def _fall_back(session: Session, row: _Row, *, bad_address: bool, now: datetime) -> None:
    """After a failed reminder email: the next address, else the phone queue, else repair."""
    assert row.reminder_id is not None
    r = table(Reminder)
    rem = session.execute(
        select(r.c.state, r.c.holder_id, r.c.certificate_id, r.c.channel).where(
            r.c.id == row.reminder_id
        )
    ).one()
    if rem.state not in outbox.UNWORKED:
        return  # the holder was reached another way meanwhile
    if bad_address and outbox.recipients(
        session, holder_id=rem.holder_id, certificate_id=rem.certificate_id
    ):
        try:
            outbox.queue_reminder(
                session, reminder_id=row.reminder_id, staff_id=row.queued_by_id, now=now
            )
            return
        except outbox.MailRefused:
            pass
    # The phone, if the holder has a number and did not ask not to be called; else repair.
    callable_ = reach.phone_reachable(session, rem.holder_id)
    session.execute(
        update(r)
        .where(r.c.id == row.reminder_id)
        .values(
            channel=Channel.PHONE.value,
            needs_repair=not callable_,
            version=r.c.version + 1,
            updated_at=now,
        )
    )
    if callable_:
        note = "邮件未能送达，改为电话提醒"
    elif reach.do_not_call(session, rem.holder_id):
        note = "邮件未能送达，单位要求勿电话联系，需补充有效邮箱"
    else:
        note = "邮件未能送达且没有有效电话，需补充联系方式"
    audit.record(
        session,
        action="email.fallback",
        entity="reminder",
        entity_id=row.reminder_id,
        before={"channel": rem.channel},
        after={"channel": Channel.PHONE.value, "needs_repair": not callable_},
        note=note,
        at=now,
    )
