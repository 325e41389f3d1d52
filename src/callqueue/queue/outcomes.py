"""Record the outcome of a call: an Attempt, the reminder's next state, and an AuditEvent."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, insert, select
from sqlmodel import Session

from callqueue import audit, workdays
from callqueue.calendar import WorkCalendar
from callqueue.clock import local
from callqueue.config import Settings
from callqueue.db import table
from callqueue.direct import Direct
from callqueue.hours import OfficeHours, add_office_minutes, is_office_time
from callqueue.models import (
    OPEN_STATES,
    AssistStage,
    Attempt,
    CertificateStatus,
    Channel,
    ContactPhone,
    Outcome,
    Reminder,
    ReminderState,
)
from callqueue.queue import appointments, reach, reminder_rows, renewals
from callqueue.queue.reminder_rows import ReminderRow
from callqueue.queue.reminders import STATE_LABELS
from callqueue.queue.staff import Viewer, section_refusal

CONVEYABLE = ("expiry", "apply_by", "place", "phone", "materials")
"""一次性告知 items: expiry date, apply-by date, place, service phone, materials list."""
_NOTHING_CONVEYED = frozenset({Outcome.NO_ANSWER, Outcome.WRONG_NUMBER})
OUTCOME_LABELS = {
    Outcome.INFORMED: "已告知",
    Outcome.APPOINTMENT: "已预约",
    Outcome.ASSISTED: "帮办代办",
    Outcome.NO_ANSWER: "无人接听",
    Outcome.CALLBACK: "约定回电",
    Outcome.WRONG_NUMBER: "号码有误",
    Outcome.RENEWED: "已换证",
    Outcome.NOT_RENEWING: "不再延续",
}
CHANNEL_LABELS = {Channel.PHONE.value: "电话", Channel.EMAIL.value: "电子邮件"}
"""How an attempt reached the holder, in words."""
EMAIL_OUTCOME_LABELS = {
    "email_sent": "邮件已发送",
    "bounced": "邮件被退回",
    "email_failed": "邮件发送失败",
}
"""Outcomes only an email attempt has (a sent reminder email is recorded as `informed`)."""


_INSERT_ATTEMPT = Direct(insert(table(Attempt)))
"""Built once and run on the driver's cursor: every outcome writes one (see callqueue.direct)."""


def outcome_label(value: str) -> str:
    """A stored outcome's Chinese label (the stored value if it is none of the known ones)."""
    try:
        return OUTCOME_LABELS[Outcome(value)]
    except ValueError:
        return EMAIL_OUTCOME_LABELS.get(value, value)


class OutcomeRefused(ValueError):
    """An outcome that cannot be recorded; nothing was changed. The message is for staff."""


@dataclass(frozen=True)
class Policy:
    """The office's rules and clock for recording outcomes."""

    calendar: WorkCalendar
    hours: OfficeHours
    today: date
    now: datetime
    retry_delay_minutes: int = 120
    max_attempts: int = 3
    follow_up_workdays: int = 3
    margin_workdays: int = 10


def policy_for(session: Session, *, settings: Settings, today: date, now: datetime) -> Policy:
    """The office's rules from its settings and stored calendar.

    Raises:
        HoursError: the office-hours setting cannot be read.
    """
    return Policy(
        calendar=workdays.load_calendar(session),
        hours=OfficeHours.parse(settings.office_hours),
        today=today,
        now=now,
        retry_delay_minutes=settings.retry_delay_minutes,
        max_attempts=settings.max_attempts,
        follow_up_workdays=settings.follow_up_workdays,
        margin_workdays=settings.margin_workdays,
    )


@dataclass
class OutcomeResult:
    """What recording did."""

    reminder_id: int
    attempt_id: int
    outcome: str
    state: str
    message: str
    appointment_id: int | None = None
    new_certificate_id: int | None = None
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class OutcomeInput:
    """What staff entered for an outcome beyond the key itself."""

    note: str = ""
    conveyed: tuple[str, ...] = ()
    materials_ticked: tuple[str, ...] = ()
    phone_id: int | None = None
    callback_at: datetime | None = None
    slot_at: datetime | None = None
    helper_staff_id: int | None = None
    assisted_notes: str = ""
    new_issued_on: date | None = None
    new_expires_on: date | None = None
    reason: str = ""


def record_outcome(
    session: Session,
    *,
    reminder_id: int,
    outcome: Outcome | str,
    staff_id: int | None,
    policy: Policy,
    data: OutcomeInput = OutcomeInput(),
    at: datetime | None = None,
    channel: Channel = Channel.PHONE,
    email_id: int | None = None,
    viewer: Viewer | None = None,
) -> OutcomeResult:
    """Record one outcome of DESIGN.md §5 on one reminder, or refuse it and change nothing.

    Args:
        session: a write session (the caller commits).
        reminder_id: the reminder called about.
        outcome: one of the eight outcomes.
        staff_id: who called.
        policy: rules and clock.
        data: the outcome's details (callback time, slot, dates, reason, ticks, note).
        at: when the call happened; `policy.now` by default.
        channel: phone for a call; email when a sent email informed the holder.
        email_id: the address an email went to.
        viewer: who records, for the section check: a caller records on their own section's
            reminders only. None (the send run, scripts) checks nothing.

    Returns:
        The new state and a Chinese summary.

    Raises:
        OutcomeRefused: unknown reminder, another section's reminder for a caller, closed
            reminder, someone else's live claim, or details the outcome needs are missing or
            wrong.
    """
    try:
        kind = Outcome(outcome)
    except ValueError:
        raise OutcomeRefused(
            f"未知的结果“{outcome}”，可选：{'、'.join(o.value for o in Outcome)}"
        ) from None
    when = local(at or policy.now)
    loaded = reminder_rows.load(session, reminder_id)
    if loaded is None:
        raise OutcomeRefused(f"提醒 {reminder_id} 不存在")
    reminder, original = loaded
    # Checked on the row just read: no statement (nor call) on the hot path unless refusing.
    if viewer is not None and not viewer.sees_all and viewer.section_id != reminder.section_id:
        refused = section_refusal(
            session, viewer=viewer, section_id=reminder.section_id, what=f"提醒 {reminder_id}"
        )
        raise OutcomeRefused(refused or f"提醒 {reminder_id} 不属于本科室")
    closing = kind in (Outcome.RENEWED, Outcome.NOT_RENEWING)
    if reminder.state not in OPEN_STATES and not (closing and reminder.state == "lapsed"):
        raise OutcomeRefused(
            f"提醒 {reminder_id} 已结束（{STATE_LABELS.get(reminder.state, reminder.state)}），不能再记录结果"
        )
    if channel is Channel.PHONE:  # an email that went out is a fact, whoever holds the claim
        _refuse_if_held(session, reminder, staff_id, when)
    unknown = set(data.conveyed) - set(CONVEYABLE)
    if unknown:
        raise OutcomeRefused(f"未知的告知事项：{'、'.join(sorted(unknown))}")
    before = {"state": reminder.state, "attempts": reminder.attempts, "channel": reminder.channel}
    result = OutcomeResult(
        reminder_id=reminder_id, attempt_id=0, outcome=kind.value, state=reminder.state, message=""
    )
    _apply(session, reminder, kind, staff_id, policy, data, when, result)
    # Core insert: the ORM's unit of work costs more than the statement on this hot path.
    attempt_id = _INSERT_ATTEMPT.insert(
        session.connection(),
        {
            "reminder_id": reminder_id,
            "staff_id": staff_id,
            "at": when,
            "channel": channel.value,
            "outcome": kind.value,
            "note": data.note.strip(),
            "phone_id": data.phone_id,
            "email_id": email_id,
            # Nobody heard anything on a call nobody answered or a wrong number.
            "conveyed": [] if kind in _NOTHING_CONVEYED else list(data.conveyed),
            "materials_ticked": list(data.materials_ticked),
            "callback_at": data.callback_at,
        },
    )
    reminder.attempts += 1
    reminder.last_reminded_on = when.date()
    reminder.last_channel = channel.value
    reminder.last_staff_id = staff_id
    reminder.claimed_by_id = reminder.claim_expires_at = None
    reminder.version += 1
    reminder.updated_at = policy.now
    reminder_rows.save(session, reminder, original)
    if session.new or session.dirty or session.deleted:  # what the rules changed via the ORM
        session.flush()
    result.attempt_id = attempt_id
    result.state = reminder.state
    audit.record(
        session,
        action=f"outcome.{kind.value}",
        entity="reminder",
        entity_id=reminder_id,
        before=before,
        after={
            "state": reminder.state,
            "attempts": reminder.attempts,
            "channel": reminder.channel,
            **result.details,
        },
        staff_id=staff_id,
        note=data.note.strip(),
        at=policy.now,
    )
    return result


def record_call(
    session: Session,
    *,
    reminder_ids: Sequence[int],
    outcome: Outcome | str,
    staff_id: int | None,
    policy: Policy,
    data: OutcomeInput = OutcomeInput(),
    at: datetime | None = None,
    viewer: Viewer | None = None,
    ticked: Mapping[int, tuple[str, ...]] | None = None,
) -> list[OutcomeResult]:
    """Record one call about several certificates of one holder: the outcome on each reminder.

    One call dialled one number: a wrong number names it once (the holder's first valid
    number unless `data.phone_id` says which), so a second certificate does not mark the next
    number too. The caller's unit of work holds all of them, or none when one is refused.

    Args:
        ticked: per reminder, the materials ticked on the card for its certificate.

    Raises:
        OutcomeRefused: no reminder, reminders of several holders, or any refusal of
            `record_outcome`.
    """
    ids = list(dict.fromkeys(reminder_ids))
    if not ids:
        raise OutcomeRefused("没有要记录的提醒")
    if len(ids) > 1:
        r = table(Reminder)
        held = select(r.c.holder_id).where(r.c.id.in_(ids)).distinct()
        if len(session.connection().execute(held).all()) > 1:
            raise OutcomeRefused("一次通话只能记录同一单位的提醒")
    if outcome == Outcome.WRONG_NUMBER and data.phone_id is None:
        data = dataclasses.replace(data, phone_id=first_number(session, ids[0]))
    return [
        record_outcome(
            session,
            reminder_id=rid,
            outcome=outcome,
            staff_id=staff_id,
            policy=policy,
            data=(
                dataclasses.replace(data, materials_ticked=ticked[rid])
                if ticked is not None and rid in ticked
                else data
            ),
            at=at,
            viewer=viewer,
        )
        for rid in ids
    ]


def _refuse_if_held(
    session: Session, reminder: ReminderRow, staff_id: int | None, when: datetime
) -> None:
    """Refuse a call on a holder another desk holds, through this reminder or another.

    A desk recording on its own live claim needs no second look (claims hold the whole
    holder); a call logged without a claim (a script, `call log`) checks the holder's others.
    """
    expires = reminder.claim_expires_at
    live = reminder.claimed_by_id is not None and expires is not None and expires > when
    if live and reminder.claimed_by_id == staff_id:
        return
    if live:
        assert expires is not None
        raise OutcomeRefused(
            f"提醒 {reminder.id} 正由其他工作人员处理（至 {local(expires):%H:%M}）"
        )
    r = table(Reminder)
    others = [
        r.c.holder_id == reminder.holder_id,
        r.c.claimed_by_id.is_not(None),
        r.c.claim_expires_at > when,
    ]
    if staff_id is not None:
        others.append(r.c.claimed_by_id != staff_id)
    until = session.execute(select(r.c.claim_expires_at).where(*others).limit(1)).scalar()
    if until is not None:
        raise OutcomeRefused(f"该单位正由其他工作人员处理（至 {local(until):%H:%M}），请稍后再记录")


def _apply(
    session: Session,
    r: ReminderRow,
    kind: Outcome,
    staff_id: int | None,
    policy: Policy,
    data: OutcomeInput,
    when: datetime,
    result: OutcomeResult,
) -> None:
    if kind is Outcome.INFORMED:
        r.state = ReminderState.INFORMED
        r.follow_up_on = _follow_up_on(r, policy)
        r.follow_up = False
        result.message = "已告知" + (
            f"；{r.follow_up_on:%m月%d日}前未换证将再次提醒" if r.follow_up_on else ""
        )
    elif kind is Outcome.APPOINTMENT:
        if data.slot_at is None:
            raise OutcomeRefused("已预约需要选择预约时段")
        try:
            booked = appointments.book(
                session,
                section_id=r.section_id,
                holder_id=r.holder_id,
                reminder_id=r.id,
                starts_at=data.slot_at,
                staff_id=staff_id,
                now=policy.now,
                calendar=policy.calendar,
                hours=policy.hours,
                note=data.note,
            )
        except appointments.AppointmentRefused as exc:
            raise OutcomeRefused(str(exc)) from exc
        r.state = ReminderState.APPOINTMENT
        result.appointment_id = booked.id
        result.details["appointment"] = booked.id
        result.message = f"已预约 {local(booked.starts_at):%m月%d日 %H:%M}"
    elif kind is Outcome.ASSISTED:
        r.state = ReminderState.ASSISTED
        r.assisted = True
        r.helper_staff_id = data.helper_staff_id or staff_id
        r.assisted_notes = data.assisted_notes.strip() or r.assisted_notes
        r.follow_up_on = None  # the helper follows the case now, not the queue
        if r.assist_stage is None:  # a second 帮办 outcome keeps the case's stage
            r.assist_stage = AssistStage.REGISTERED
            r.assist_registered_on, r.assist_changed_at = when.date(), policy.now
        result.details["assist_stage"] = r.assist_stage
        result.message = "已登记帮办代办"
    elif kind is Outcome.NO_ANSWER:
        _no_answer(session, r, policy, when, result)
    elif kind is Outcome.CALLBACK:
        _callback(r, staff_id, policy, data, when, result)
    elif kind is Outcome.WRONG_NUMBER:
        _wrong_number(session, r, policy, data, when, result, staff_id)
    elif kind is Outcome.RENEWED:
        _renewed(session, r, policy, data, result)
    elif kind is Outcome.NOT_RENEWING:
        if not data.reason.strip():
            raise OutcomeRefused("不再延续需要填写原因")
        renewals.close(
            session,
            r,
            state=ReminderState.NOT_RENEWING,
            status=CertificateStatus.NOT_RENEWING,
            reason=data.reason.strip(),
            now=policy.now,
        )
        result.message = f"已结案：不再延续（{data.reason.strip()}）"


def _follow_up_on(r: ReminderRow, policy: Policy) -> date | None:
    day = policy.calendar.add_workdays(r.apply_by, -policy.follow_up_workdays)
    return day if day > policy.today else None


_LATEST_ATTEMPTS = Direct(
    select(table(Attempt).c.outcome, table(Attempt).c.channel)
    .where(table(Attempt).c.reminder_id == bindparam("reminder_id"))
    .order_by(table(Attempt).c.at.desc(), table(Attempt).c.id.desc())
    .limit(bindparam("limit"))
)
"""The reminder's latest attempts, newest first (read on the driver's cursor, as the insert)."""


def _unanswered_in_a_row(session: Session, reminder_id: int, limit: int) -> int:
    """Calls on this reminder nobody answered since the last one that reached someone.

    A callback, a wrong number (the next number starts afresh) or an email breaks the run;
    only the last `limit` attempts are read.
    """
    latest = _LATEST_ATTEMPTS.rows(
        session.connection(), {"reminder_id": reminder_id, "limit": limit}
    )
    run = 0
    for outcome, channel in latest:
        if outcome != Outcome.NO_ANSWER.value or channel != Channel.PHONE.value:
            break
        run += 1
    return run


def _no_answer(
    session: Session, r: ReminderRow, policy: Policy, when: datetime, result: OutcomeResult
) -> None:
    if r.attempts + 1 < policy.max_attempts:  # too few calls yet for the limit: no need to read
        unanswered = 0
    else:
        unanswered = _unanswered_in_a_row(session, r.id, policy.max_attempts - 1) + 1
    if unanswered < policy.max_attempts:
        r.state = ReminderState.RETRY
        r.next_action_at = add_office_minutes(
            when, policy.retry_delay_minutes, calendar=policy.calendar, hours=policy.hours
        )
        result.message = f"无人接听；{local(r.next_action_at):%m月%d日 %H:%M} 后重拨"
    elif reach.has_valid_email(session, r.holder_id):
        r.state, r.channel, r.next_action_at = ReminderState.DUE, Channel.EMAIL, None
        result.message = f"已连续{unanswered}次无人接听，改为电子邮件告知"
    else:
        r.state, r.next_action_at, r.closed_at = ReminderState.UNREACHABLE, None, policy.now
        result.message = f"已连续{unanswered}次无人接听且无邮箱，转科长“无法联系”名单"


def _callback(
    r: ReminderRow,
    staff_id: int | None,
    policy: Policy,
    data: OutcomeInput,
    when: datetime,
    result: OutcomeResult,
) -> None:
    if data.callback_at is None:
        raise OutcomeRefused("约定回电需要填写回电时间")
    at = local(data.callback_at)
    if at <= max(when, policy.now):
        raise OutcomeRefused(f"回电时间 {at:%Y-%m-%d %H:%M} 已过，请选择以后的时间")
    if not policy.calendar.is_workday(at.date()):
        raise OutcomeRefused(f"{at:%Y-%m-%d} 不是工作日，请另选回电时间")
    if not is_office_time(at, calendar=policy.calendar, hours=policy.hours):
        raise OutcomeRefused(f"{at:%H:%M} 不在办公时间（{policy.hours.label()}）")
    r.state, r.next_action_at, r.callback_staff_id = ReminderState.CALLBACK, at, staff_id
    result.message = f"约定 {at:%m月%d日 %H:%M} 回电"


def first_number(session: Session, reminder_id: int) -> int | None:
    """The number a call about this reminder dials first: the holder's first valid one (its
    certificate's contact first), or None."""
    r = table(Reminder)
    row = session.execute(
        select(r.c.holder_id, r.c.certificate_id).where(r.c.id == reminder_id)
    ).first()
    if row is None:
        return None
    first = reach.contact_of(session, row.certificate_id)
    found = reach.valid_phones(session, row.holder_id, first)
    return found[0] if found else None


def _wrong_number(
    session: Session,
    r: ReminderRow,
    policy: Policy,
    data: OutcomeInput,
    when: datetime,
    result: OutcomeResult,
    staff_id: int | None,
) -> None:
    valid = reach.valid_phones(session, r.holder_id, reach.contact_of(session, r.certificate_id))
    if data.phone_id is None:
        if not valid:
            raise OutcomeRefused("没有可标记为有误的号码")
        target = valid[0]
    elif data.phone_id in valid or data.phone_id in reach.holder_phones(session, r.holder_id):
        target = data.phone_id  # already invalid: marked by this same call for another certificate
    else:
        raise OutcomeRefused(f"号码 {data.phone_id} 不属于此单位")
    if target in valid:
        phone = session.get(ContactPhone, target)
        assert phone is not None
        phone.invalid, phone.invalid_reason = True, f"号码有误（{when:%Y-%m-%d}）"
        session.add(phone)
        session.flush()
        result.details["phone_invalid"] = target
    left = [i for i in valid if i != target]
    if left:
        r.state, r.next_action_at = ReminderState.RETRY, when
        result.message = "号码已标记有误；请拨打下一个号码"
        return
    # No number left: this reminder and the holder's other open ones go to email or repair.
    moved = reach.divert(
        session,
        holder_id=r.holder_id,
        now=policy.now,
        why="号码有误，单位已没有有效号码",
        exclude={r.id},
        staff_id=staff_id,
    ).moved
    if moved:
        result.details["also_moved"] = moved
    also = f"（该单位的另 {len(moved)} 条提醒同样处理）" if moved else ""
    if reach.has_valid_email(session, r.holder_id):
        r.state, r.channel, r.next_action_at = ReminderState.DUE, Channel.EMAIL, None
        result.message = "号码已标记有误；改为电子邮件告知" + also
    else:
        r.state, r.needs_repair, r.next_action_at = ReminderState.DUE, True, None
        result.message = "号码已标记有误；没有其他联系方式，需补充联系方式" + also


def _renewed(
    session: Session, r: ReminderRow, policy: Policy, data: OutcomeInput, result: OutcomeResult
) -> None:
    new_exp, new_issued = data.new_expires_on, data.new_issued_on
    try:
        renewals.check_dates(
            session, r, issued_on=new_issued, expires_on=new_exp, today=policy.today
        )
    except renewals.RenewalRefused as exc:
        raise OutcomeRefused(str(exc)) from exc
    renewals.close(
        session,
        r,
        state=ReminderState.RENEWED,
        status=CertificateStatus.RENEWED,
        reason=data.reason.strip(),
        now=policy.now,
    )
    result.message = "已换证，结案"
    if new_exp is None:
        return
    nxt = renewals.next_cycle(
        session,
        r,
        issued_on=new_issued,
        expires_on=new_exp,
        calendar=policy.calendar,
        today=policy.today,
        margin_workdays=policy.margin_workdays,
        now=policy.now,
    )
    result.new_certificate_id = nxt.certificate_id
    result.details["new_certificate"] = nxt.certificate_id
    result.message = f"已换证；新证期满 {new_exp:%Y-%m-%d}，下次提醒 {nxt.remind_on:%Y-%m-%d}"
