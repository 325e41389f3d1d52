"""The outbox: emails queued in the same transaction as the change that calls for them.

A queued email keeps the facts it tells (its context) and a dedupe key: `reminder:<id>:<stage>`
for a reminder stage, `appointment:<id>:<event>` for a confirmation or cancellation. The key is
unique while the email is queued, sending, sent or uncertain, so one stage is never emailed
twice however many desks or send runs try; a failed email gives its key back so another address
(or a later retry by staff) can carry the stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlmodel import Session

from callqueue import audit
from callqueue.catalog import office
from callqueue.clock import local
from callqueue.db import table
from callqueue.models import (
    Appointment,
    CatalogItem,
    Certificate,
    Channel,
    Contact,
    ContactEmail,
    Holder,
    MailKind,
    MailStatus,
    OutboxEmail,
    Reminder,
    ReminderState,
    Section,
)
from callqueue.notify.masking import mask_email
from callqueue.queue import reach
from callqueue.queue.staff import Viewer, section_refusal

WORKABLE = frozenset(
    {
        ReminderState.DUE,
        ReminderState.RETRY,
        ReminderState.CALLBACK,
        ReminderState.INFORMED,
        ReminderState.APPOINTMENT,
        ReminderState.ASSISTED,
    }
)
"""States in which staff may email a holder; a scheduled reminder is not due yet."""
UNWORKED = frozenset({ReminderState.DUE, ReminderState.RETRY, ReminderState.CALLBACK})
"""States in which the email is the reminder itself: it moves the reminder on when sent."""
HOLDS_KEY = (MailStatus.QUEUED, MailStatus.SENDING, MailStatus.SENT, MailStatus.UNCERTAIN)


class MailRefused(ValueError):
    """An email that cannot be queued; nothing was changed. The message is for staff."""


@dataclass(frozen=True)
class Recipient:
    """A valid address of the holder, the certificate's own contact first."""

    email_id: int
    address: str
    name: str


@dataclass(frozen=True)
class Queued:
    """An email put in the outbox."""

    outbox_id: int
    to: str
    """Masked address, for messages and logs."""
    stage: str


def reminder_stage(follow_up: bool) -> str:
    """The stage a reminder's email belongs to: the first reminder or the follow-up."""
    return "follow_up" if follow_up else "first"


def recipients(
    session: Session, *, holder_id: int, certificate_id: int | None = None
) -> list[Recipient]:
    """The holder's valid email addresses, the certificate's contact first, each once."""
    ct, e, c = table(Contact), table(ContactEmail), table(Certificate)
    own = None
    if certificate_id is not None:
        own = session.execute(
            select(c.c.contact_id).where(c.c.id == certificate_id)
        ).scalar_one_or_none()
    rows = session.execute(
        select(e.c.id, e.c.address, ct.c.name, ct.c.id.label("contact_id"))
        .join(ct, ct.c.id == e.c.contact_id)
        .where(ct.c.holder_id == holder_id, e.c.invalid.is_(False), ct.c.invalid.is_(False))
        .order_by(ct.c.id, e.c.position, e.c.id)
    ).all()
    rows = sorted(rows, key=lambda row: row.contact_id != own)
    seen: set[str] = set()
    found = []
    for row in rows:
        if row.address.lower() in seen:
            continue
        seen.add(row.address.lower())
        found.append(Recipient(row.id, row.address, row.name or ""))
    return found


def has_address(session: Session, *, holder_id: int) -> bool:
    """Whether the holder has any valid email address."""
    return bool(recipients(session, holder_id=holder_id))


def _insert_ignoring_duplicate(session: Session, values: dict[str, Any]) -> int | None:
    """Insert an outbox row; None when its dedupe key is already held (another run won)."""
    from sqlalchemy.dialects import postgresql, sqlite  # the PostgreSQL one costs 50 ms to load

    dialect = session.get_bind().dialect.name
    target = table(OutboxEmail)
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(target).on_conflict_do_nothing(index_elements=["dedupe_key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(target).on_conflict_do_nothing(index_elements=["dedupe_key"])
    else:  # pragma: no cover - the two supported databases are above
        stmt = insert(target)
    result = session.connection().execute(stmt.returning(target.c.id), values)
    new = result.scalar_one_or_none()
    return None if new is None else int(new)


def _holding(session: Session, key: str) -> tuple[str, datetime] | None:
    o = table(OutboxEmail)
    row = session.execute(
        select(o.c.status, o.c.queued_at).where(o.c.dedupe_key == key)
    ).one_or_none()
    return None if row is None else (row.status, row.queued_at)


def _put(
    session: Session,
    *,
    kind: MailKind,
    holder_id: int,
    to: Recipient,
    stage: str,
    key: str,
    context: dict[str, Any],
    now: datetime,
    staff_id: int | None,
    reminder_id: int | None = None,
    appointment_id: int | None = None,
) -> int | None:
    return _insert_ignoring_duplicate(
        session,
        {
            "kind": kind.value,
            "holder_id": holder_id,
            "reminder_id": reminder_id,
            "appointment_id": appointment_id,
            "email_id": to.email_id,
            "to_address": to.address,
            "to_name": to.name,
            "stage": stage,
            "dedupe_key": key,
            "context": context,
            "subject": "",
            "body_text": "",
            "body_html": "",
            "ics": None,
            "message_id": "",  # made at the first try, from the sender's domain
            "status": MailStatus.QUEUED.value,
            "tries": 0,
            "next_try_at": now,
            "lease_until": None,
            "last_error": "",
            "queued_at": now,
            "queued_by_id": staff_id,
            "sent_at": None,
            "attempt_id": None,
        },
    )


# --- reminders ---------------------------------------------------------------------------


def reminder_context(session: Session, *, reminder_id: int) -> dict[str, Any]:
    """The facts a reminder email tells, as JSON-safe values."""
    r, c, i, h = table(Reminder), table(Certificate), table(CatalogItem), table(Holder)
    row = session.execute(
        select(
            r.c.expires_on,
            r.c.apply_by,
            r.c.window_opens_on,
            r.c.follow_up,
            c.c.number,
            c.c.issued_on,
            i.c.seq,
            i.c.certificate_name,
            i.c.permit_item,
            i.c.materials,
            i.c.place,
            i.c.phone,
            h.c.name.label("holder"),
        )
        .join(c, c.c.id == r.c.certificate_id)
        .join(i, i.c.id == c.c.catalog_item_id)
        .join(h, h.c.id == r.c.holder_id)
        .where(r.c.id == reminder_id)
    ).one()
    places = office(session)
    return dict(
        audit.jsonable(
            {
                "office": places["name"],
                "holder": row.holder,
                "certificate": row.certificate_name,
                "permit_item": row.permit_item,
                "catalog_seq": row.seq,
                "number": row.number or "",
                "issued_on": row.issued_on,
                "expires_on": row.expires_on,
                "apply_by": row.apply_by,
                "window_opens_on": row.window_opens_on,
                "follow_up": bool(row.follow_up),
                "place": row.place or places["place"],
                "phone": row.phone or places["service_phone"],
                "materials": list(row.materials or []),
            }
        )
    )


def queue_reminder(
    session: Session,
    *,
    reminder_id: int,
    staff_id: int | None,
    now: datetime,
    viewer: Viewer | None = None,
) -> Queued:
    """Queue the reminder email of a reminder's current stage (what `e` does).

    The reminder leaves the phone queue (its channel becomes email, any claim is released)
    while the email is on its way; if the email fails for good it comes back.

    Args:
        session: a write session (the caller commits).
        reminder_id: the reminder.
        staff_id: who asked for it; None for the send run.
        now: the time in force.
        viewer: who asks, for the section check (callers: their own section's reminders
            only); None for the send run and scripts that name nobody.

    Returns:
        The outbox row and the masked address.

    Raises:
        MailRefused: no such reminder, another section's reminder for a caller, not due or
            closed, no valid address, or this stage already emailed or queued.
    """
    r = table(Reminder)
    rem = session.execute(
        select(
            r.c.section_id,
            r.c.state,
            r.c.follow_up,
            r.c.holder_id,
            r.c.certificate_id,
            r.c.channel,
            r.c.version,
        ).where(r.c.id == reminder_id)
    ).one_or_none()
    if rem is None:
        raise MailRefused(f"提醒 {reminder_id} 不存在")
    refused = section_refusal(
        session, viewer=viewer, section_id=rem.section_id, what=f"提醒 {reminder_id}"
    )
    if refused:
        raise MailRefused(refused)
    if rem.state == ReminderState.SCHEDULED:
        raise MailRefused(f"提醒 {reminder_id} 还没到提醒日期")
    if rem.state not in WORKABLE:
        raise MailRefused(f"提醒 {reminder_id} 已结束，不再发送邮件")
    stage = reminder_stage(rem.follow_up)
    key = f"reminder:{reminder_id}:{stage}"
    held = _holding(session, key)
    if held is not None:
        raise MailRefused(_held_message(held))
    to = recipients(session, holder_id=rem.holder_id, certificate_id=rem.certificate_id)
    if not to:
        raise MailRefused("此单位没有有效的电子邮箱，请先在档案中补充")
    new = _put(
        session,
        kind=MailKind.REMINDER,
        holder_id=rem.holder_id,
        to=to[0],
        stage=stage,
        key=key,
        context=reminder_context(session, reminder_id=reminder_id),
        now=now,
        staff_id=staff_id,
        reminder_id=reminder_id,
    )
    if new is None:  # another desk queued it between our check and insert
        held = _holding(session, key)
        raise MailRefused(_held_message(held) if held else "这封邮件已在发送队列中")
    if rem.state in UNWORKED:
        session.execute(
            update(r)
            .where(r.c.id == reminder_id)
            .values(
                channel=Channel.EMAIL.value,
                claimed_by_id=None,
                claim_expires_at=None,
                version=rem.version + 1,
                updated_at=now,
            )
        )
    audit.record(
        session,
        action="email.queued",
        entity="reminder",
        entity_id=reminder_id,
        before={"channel": rem.channel},
        after={"outbox": new, "stage": stage, "to": mask_email(to[0].address)},
        staff_id=staff_id,
        at=now,
    )
    return Queued(outbox_id=new, to=mask_email(to[0].address), stage=stage)


def _held_message(held: tuple[str, datetime]) -> str:
    status, queued_at = held
    when = f"{local(queued_at):%m月%d日 %H:%M}"
    if status == MailStatus.SENT:
        return f"本轮提醒邮件已发送过（{when} 排队），不再重复发送"
    if status == MailStatus.UNCERTAIN:
        return f"本轮提醒邮件（{when}）发送中断、可能已发出，请先在发件记录中核实"
    return f"本轮提醒邮件已在发送队列中（{when}）"


@dataclass
class DueQueued:
    """What queueing the due email reminders did."""

    queued: list[int]
    back_to_phone: list[int]


def queue_due(session: Session, *, now: datetime) -> DueQueued:
    """Queue every due reminder whose channel is email and that has no email on its way.

    A reminder with no valid address left goes back to the phone queue instead (audited).
    """
    r, o = table(Reminder), table(OutboxEmail)
    waiting = (
        select(o.c.id)
        .where(o.c.reminder_id == r.c.id, o.c.status.in_([s.value for s in HOLDS_KEY]))
        .exists()
    )
    due = session.execute(
        select(r.c.id, r.c.holder_id, r.c.certificate_id)
        .where(
            r.c.state == ReminderState.DUE.value,
            r.c.channel == Channel.EMAIL.value,
            r.c.needs_repair.is_(False),
            ~waiting,
        )
        .order_by(r.c.apply_by, r.c.id)
    ).all()
    result = DueQueued(queued=[], back_to_phone=[])
    for row in due:
        if not recipients(session, holder_id=row.holder_id, certificate_id=row.certificate_id):
            # A holder that may not be phoned (do-not-call, no number) waits for an address.
            stuck = not reach.phone_reachable(session, row.holder_id)
            session.execute(
                update(r)
                .where(r.c.id == row.id)
                .values(
                    channel=Channel.PHONE.value,
                    needs_repair=stuck,
                    version=r.c.version + 1,
                    updated_at=now,
                )
            )
            audit.record(
                session,
                action="email.no_address",
                entity="reminder",
                entity_id=row.id,
                before={"channel": Channel.EMAIL.value},
                after={"channel": Channel.PHONE.value, "needs_repair": stuck},
                note="没有有效邮箱，需补充联系方式" if stuck else "没有有效邮箱，改为电话提醒",
                at=now,
            )
            result.back_to_phone.append(row.id)
            continue
        try:
            queued = queue_reminder(session, reminder_id=row.id, staff_id=None, now=now)
        except MailRefused:
            continue  # queued by a concurrent run meanwhile
        result.queued.append(queued.outbox_id)
    return result


# --- appointments --------------------------------------------------------------------------


def appointment_context(session: Session, *, appointment_id: int) -> dict[str, Any]:
    """The facts an appointment email tells, as JSON-safe values."""
    a, s, h = table(Appointment), table(Section), table(Holder)
    row = session.execute(
        select(
            a.c.id,
            a.c.starts_at,
            a.c.ends_at,
            a.c.reminder_id,
            s.c.name.label("section"),
            h.c.name.label("holder"),
        )
        .join(s, s.c.id == a.c.section_id)
        .join(h, h.c.id == a.c.holder_id)
        .where(a.c.id == appointment_id)
    ).one()
    places = office(session)
    context: dict[str, Any] = {
        "office": places["name"],
        "holder": row.holder,
        "section": row.section,
        "appointment_id": row.id,
        "starts_at": local(row.starts_at),
        "ends_at": local(row.ends_at),
        "certificate": "",
        "place": places["place"],
        "phone": places["service_phone"],
        "materials": [],
    }
    if row.reminder_id is not None:
        facts = reminder_context(session, reminder_id=row.reminder_id)
        context.update(
            certificate=facts["certificate"],
            place=facts["place"],
            phone=facts["phone"],
            materials=facts["materials"],
        )
    return dict(audit.jsonable(context))


def queue_appointment(
    session: Session,
    *,
    appointment_id: int,
    cancelled: bool,
    staff_id: int | None,
    now: datetime,
) -> int | None:
    """Queue the confirmation of a booked appointment, or the notice that it was cancelled.

    Nothing is queued when the holder has no valid address. A cancellation whose
    confirmation has not gone out yet withdraws the confirmation instead of sending both.

    Returns:
        The outbox row, or None when nothing needs sending.
    """
    a = table(Appointment)
    appt = session.execute(
        select(a.c.holder_id, a.c.reminder_id, a.c.status).where(a.c.id == appointment_id)
    ).one()
    if cancelled and _withdraw(session, f"appointment:{appointment_id}:booked", now):
        return None
    certificate_id = None
    if appt.reminder_id is not None:
        r = table(Reminder)
        certificate_id = session.execute(
            select(r.c.certificate_id).where(r.c.id == appt.reminder_id)
        ).scalar_one_or_none()
    to = recipients(session, holder_id=appt.holder_id, certificate_id=certificate_id)
    if not to:
        return None
    event = "cancelled" if cancelled else "booked"
    new = _put(
        session,
        kind=MailKind.CANCELLATION if cancelled else MailKind.APPOINTMENT,
        holder_id=appt.holder_id,
        to=to[0],
        stage=event,
        key=f"appointment:{appointment_id}:{event}",
        context=appointment_context(session, appointment_id=appointment_id),
        now=now,
        staff_id=staff_id,
        reminder_id=appt.reminder_id,
        appointment_id=appointment_id,
    )
    if new is not None:
        audit.record(
            session,
            action=f"email.queued_{event}",
            entity="appointment",
            entity_id=appointment_id,
            after={"outbox": new, "to": mask_email(to[0].address)},
            staff_id=staff_id,
            at=now,
        )
    return new


def _withdraw(session: Session, key: str, now: datetime) -> bool:
    """Cancel a still-queued email by its key; True when one was withdrawn."""
    o = table(OutboxEmail)
    done = session.execute(
        update(o)
        .where(o.c.dedupe_key == key, o.c.status == MailStatus.QUEUED.value)
        .values(
            status=MailStatus.CANCELLED.value,
            dedupe_key=None,
            last_error="已撤回",
            lease_until=None,
        )
        .returning(o.c.id)
    ).scalar_one_or_none()
    if done is None:
        return False
    audit.record(session, action="email.withdrawn", entity="outboxemail", entity_id=done, at=now)
    return True


def cancel_for_closed(session: Session, *, outbox_id: int, reason: str, now: datetime) -> None:
    """Withdraw a queued email that is no longer wanted (the reminder closed meanwhile)."""
    o = table(OutboxEmail)
    session.execute(
        update(o)
        .where(o.c.id == outbox_id)
        .values(
            status=MailStatus.CANCELLED.value, dedupe_key=None, last_error=reason, lease_until=None
        )
    )
    audit.record(
        session,
        action="email.withdrawn",
        entity="outboxemail",
        entity_id=outbox_id,
        note=reason,
        at=now,
    )


def _section_of(session: Session, reminder_id: int | None, appointment_id: int | None) -> int:
    """The section of an email's reminder, else of its appointment."""
    r, a = table(Reminder), table(Appointment)
    if reminder_id is not None:
        query = select(r.c.section_id).where(r.c.id == reminder_id)
    else:
        query = select(a.c.section_id).where(a.c.id == appointment_id)
    return int(session.execute(query).scalar_one())


def retry(
    session: Session,
    *,
    outbox_id: int,
    staff_id: int | None,
    now: datetime,
    viewer: Viewer | None = None,
) -> str:
    """Send a failed or uncertain email again (staff checked that it did not arrive).

    `viewer` is who asks: a caller retries their own section's emails only (None: no check).
    An address marked invalid since (the server said it does not exist) is not used again:
    the email goes to the holder's first valid address instead.

    Returns:
        The address it will go to, masked.

    Raises:
        MailRefused: no such email, another section's email for a caller, it is not failed or
            uncertain, its stage or event has another email on its way or sent since, or its
            address is invalid and the holder has no other.
    """
    o = table(OutboxEmail)
    row = session.execute(
        select(
            o.c.status,
            o.c.kind,
            o.c.reminder_id,
            o.c.appointment_id,
            o.c.stage,
            o.c.holder_id,
            o.c.email_id,
            o.c.to_address,
        ).where(o.c.id == outbox_id)
    ).one_or_none()
    if row is None:
        raise MailRefused(f"邮件 {outbox_id} 不存在")
    if viewer is not None and not viewer.sees_all:
        refused = section_refusal(
            session,
            viewer=viewer,
            section_id=_section_of(session, row.reminder_id, row.appointment_id),
            what=f"邮件 {outbox_id}",
            kind="邮件",
        )
        if refused:
            raise MailRefused(refused)
    if row.status not in (MailStatus.FAILED, MailStatus.UNCERTAIN):
        raise MailRefused(
            f"邮件 {outbox_id} 的状态是“{STATUS_LABELS.get(row.status, row.status)}”，不需要重发"
        )
    if row.kind == MailKind.REMINDER:
        key = f"reminder:{row.reminder_id}:{row.stage}"
    else:
        key = f"appointment:{row.appointment_id}:{row.stage}"
    held = _holding(session, key)
    if row.status == MailStatus.FAILED and held is not None:
        raise MailRefused(_held_message(held))
    to: dict[str, Any] = {}
    if _invalid_address(session, row.email_id):
        r = table(Reminder)
        certificate_id = (
            None
            if row.reminder_id is None
            else session.execute(
                select(r.c.certificate_id).where(r.c.id == row.reminder_id)
            ).scalar_one_or_none()
        )
        valid = recipients(session, holder_id=row.holder_id, certificate_id=certificate_id)
        if not valid:
            raise MailRefused(
                f"收件地址 {mask_email(row.to_address)} 已标记无效（对方服务器退信），该单位没有"
                "其他有效邮箱：请先在单位记录中补充邮箱，再重发"
            )
        to = {"email_id": valid[0].email_id, "to_address": valid[0].address}
        to["to_name"] = valid[0].name
    session.execute(
        update(o)
        .where(o.c.id == outbox_id)
        .values(
            status=MailStatus.QUEUED.value,
            dedupe_key=key,
            tries=0,
            next_try_at=now,
            lease_until=None,
            **to,
        )
    )
    address = mask_email(to.get("to_address", row.to_address))
    audit.record(
        session,
        action="email.retry",
        entity="outboxemail",
        entity_id=outbox_id,
        before={"status": row.status, "to": mask_email(row.to_address)},
        after={"status": MailStatus.QUEUED.value, "to": address},
        staff_id=staff_id,
        at=now,
    )
    return address


def _invalid_address(session: Session, email_id: int | None) -> bool:
    """Whether the address an email was for has been marked invalid (or removed) since."""
    if email_id is None:
        return False
    e = table(ContactEmail)
    invalid = session.execute(select(e.c.invalid).where(e.c.id == email_id)).scalar()
    return invalid is None or bool(invalid)


STATUS_LABELS = {
    MailStatus.QUEUED: "待发送",
    MailStatus.SENDING: "发送中",
    MailStatus.SENT: "已发送",
    MailStatus.FAILED: "发送失败",
    MailStatus.UNCERTAIN: "发送中断（可能已发出）",
    MailStatus.CANCELLED: "已撤回",
}
"""Outbox states in words."""


@dataclass(frozen=True)
class OutboxLine:
    """One outbox email for listings (the address masked)."""

    id: int
    kind: str
    status: str
    reminder: int | None
    appointment: int | None
    holder: str
    to: str
    subject: str
    tries: int
    queued_at: datetime
    next_try_at: datetime
    sent_at: datetime | None
    last_error: str


def listing(
    session: Session,
    *,
    status: str | None = None,
    limit: int = 200,
    section_ids: Sequence[int] | None = None,
) -> list[OutboxLine]:
    """The outbox, newest first; only these sections' emails (by reminder or appointment)."""
    o, h = table(OutboxEmail), table(Holder)
    query = select(o, h.c.name.label("holder")).join(h, h.c.id == o.c.holder_id)
    if section_ids is not None:
        r, a = table(Reminder), table(Appointment)
        wanted = list(section_ids)
        query = query.where(
            or_(
                o.c.reminder_id.in_(select(r.c.id).where(r.c.section_id.in_(wanted))),
                o.c.appointment_id.in_(select(a.c.id).where(a.c.section_id.in_(wanted))),
            )
        )
    if status is not None:
        query = query.where(o.c.status == status)
    rows = session.execute(query.order_by(o.c.id.desc()).limit(limit)).all()
    return [
        OutboxLine(
            id=row.id,
            kind=row.kind,
            status=row.status,
            reminder=row.reminder_id,
            appointment=row.appointment_id,
            holder=row.holder,
            to=mask_email(row.to_address),
            subject=row.subject,
            tries=row.tries,
            queued_at=row.queued_at,
            next_try_at=row.next_try_at,
            sent_at=row.sent_at,
            last_error=row.last_error,
        )
        for row in rows
    ]
