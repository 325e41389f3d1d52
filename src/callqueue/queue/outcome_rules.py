"""What each outcome does to its reminder (DESIGN.md §5): the next state, and what else moves."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session

from callqueue.clock import local
from callqueue.db import table
from callqueue.direct import Direct
from callqueue.hours import add_office_minutes, is_office_time
from callqueue.models import (
    AssistStage,
    Attempt,
    CertificateStatus,
    Channel,
    Outcome,
    Reminder,
    ReminderState,
)
from callqueue.queue import appointments, reach, renewals
from callqueue.queue.outcome_terms import OutcomeInput, OutcomeRefused, OutcomeResult, Policy
from callqueue.queue.reminder_rows import ReminderRow


def apply(
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


_ATTEMPT = table(Attempt)
_LATEST = (
    select(_ATTEMPT.c.outcome, _ATTEMPT.c.channel)
    .where(_ATTEMPT.c.reminder_id == bindparam("reminder_id"))
    .order_by(_ATTEMPT.c.at.desc(), _ATTEMPT.c.id.desc())
    .limit(bindparam("limit"))
)
_LATEST_ATTEMPTS = Direct(_LATEST)
"""The reminder's latest attempts, newest first (read on the driver's cursor, as the insert)."""
_LATEST_SINCE = Direct(_LATEST.where(_ATTEMPT.c.at > bindparam("since")))
"""The same, made after `since` (a reminder back from 无法联系 counts its calls afresh)."""


def _unanswered_in_a_row(session: Session, r: ReminderRow, limit: int) -> int:
    """Calls on this reminder nobody answered since the last one that reached someone.

    A callback, a wrong number (the next number starts afresh) or an email breaks the run,
    and so does the reminder's return from 无法联系 (a number or address was added); only the
    last `limit` attempts are read.
    """
    conn, params = session.connection(), {"reminder_id": r.id, "limit": limit}
    if r.reopened_at is None:
        latest = _LATEST_ATTEMPTS.rows(conn, params)
    else:
        latest = _LATEST_SINCE.rows(conn, params | {"since": r.reopened_at})
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
        unanswered = _unanswered_in_a_row(session, r, policy.max_attempts - 1) + 1
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
    wrong: list[int] = []
    if target in valid:
        # The same number under another contact person of the holder is just as wrong.
        wrong = reach.same_number(session, r.holder_id, target)
        reach.mark_invalid(session, wrong, f"号码有误（{when:%Y-%m-%d}）")
        result.details["phone_invalid"] = target
        if len(wrong) > 1:
            result.details["also_invalid"] = [i for i in wrong if i != target]
    left = [i for i in valid if i != target and i not in wrong]
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
