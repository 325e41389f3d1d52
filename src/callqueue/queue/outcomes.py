"""Record the outcome of a call: an Attempt, the reminder's next state, and an AuditEvent.

The words and inputs live in `outcome_terms`, what each outcome does in `outcome_rules`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import insert, select
from sqlmodel import Session

from callqueue import audit
from callqueue.clock import local
from callqueue.db import table
from callqueue.direct import Direct
from callqueue.models import (
    OPEN_STATES,
    AssistStage,
    Attempt,
    Channel,
    Outcome,
    Reminder,
    ReminderState,
)
from callqueue.queue import outcome_rules, reminder_rows
from callqueue.queue.outcome_rules import first_number
from callqueue.queue.outcome_terms import (
    CHANNEL_LABELS,
    CONVEYABLE,
    EMAIL_OUTCOME_LABELS,
    OUTCOME_LABELS,
    OutcomeInput,
    OutcomeRefused,
    OutcomeResult,
    Policy,
    outcome_label,
    policy_for,
)
from callqueue.queue.reminder_rows import ReminderRow
from callqueue.queue.reminders import STATE_LABELS
from callqueue.queue.staff import Viewer, section_refusal

__all__ = [
    "CHANNEL_LABELS",
    "CONVEYABLE",
    "EMAIL_OUTCOME_LABELS",
    "OUTCOME_LABELS",
    "OutcomeInput",
    "OutcomeRefused",
    "OutcomeResult",
    "Policy",
    "first_number",
    "outcome_label",
    "policy_for",
    "record_call",
    "record_outcome",
]

_NOTHING_CONVEYED = frozenset({Outcome.NO_ANSWER, Outcome.WRONG_NUMBER})
# What may still be recorded on an assisted case whose application was filed: its result.
_AFTER_FILING = frozenset({Outcome.RENEWED, Outcome.NOT_RENEWING, Outcome.ASSISTED})
_INSERT_ATTEMPT = Direct(insert(table(Attempt)))
"""Built once and run on the driver's cursor: every outcome writes one (see callqueue.direct)."""


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
    if (
        reminder.state == ReminderState.ASSISTED
        and reminder.assist_stage == AssistStage.FILED
        and kind not in _AFTER_FILING
    ):
        # The case waits for the approval now; a call outcome would put it back in the phone
        # queue, and refresh would let it lapse at expiry instead of keeping it open.
        raise OutcomeRefused(
            f"提醒 {reminder_id} 的帮办代办已提交申请，等待审批结果：只能记录已换证或不再延续"
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
    outcome_rules.apply(session, reminder, kind, staff_id, policy, data, when, result)
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
