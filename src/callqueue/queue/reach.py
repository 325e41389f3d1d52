"""How a holder can be reached, and what its open reminders do when the phone no longer can.

A holder is reached through all of its contacts: the call briefing shows every contact's
numbers, and emails go to every contact's addresses (`notify.outbox.recipients`), the
certificate's own contact first. So reachability is decided per holder, never per contact: a
wrong number, a number marked invalid by hand, and a holder that asked not to be phoned all
move the holder's open phone reminders the same way — to email when it has an address, else
flagged `needs_repair` (out of the queue until a number or address is added). Each moved
reminder is audited.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, exists, select, update
from sqlmodel import Session

from callqueue import audit
from callqueue.clock import local
from callqueue.db import table
from callqueue.models import (
    OPEN_STATES,
    Certificate,
    Channel,
    Contact,
    ContactEmail,
    ContactPhone,
    Holder,
    Reminder,
    ReminderState,
)

_OPEN = tuple(s.value for s in OPEN_STATES)
UNWORKED = (ReminderState.DUE.value, ReminderState.RETRY.value, ReminderState.CALLBACK.value)
"""States still waiting for a call: with email instead they are due for the send run."""


@dataclass(frozen=True)
class Diverted:
    """Reminders moved off the phone: to email, or flagged for contact repair."""

    to_email: list[int] = field(default_factory=list)
    needs_repair: list[int] = field(default_factory=list)

    @property
    def moved(self) -> list[int]:
        """Every reminder moved, either way."""
        return sorted(self.to_email + self.needs_repair)


def valid_phones(session: Session, holder_id: int, first_contact: int | None = None) -> list[int]:
    """The holder's valid numbers, those of `first_contact` (the certificate's) first."""
    ct, p = table(Contact), table(ContactPhone)
    return list(
        session.execute(
            select(p.c.id)
            .join(ct, ct.c.id == p.c.contact_id)
            .where(ct.c.holder_id == holder_id, ct.c.invalid.is_(False), p.c.invalid.is_(False))
            .order_by(case((ct.c.id == first_contact, 0), else_=1), ct.c.id, p.c.position, p.c.id)
        ).scalars()
    )


def same_number(session: Session, holder_id: int, phone_id: int) -> list[int]:
    """The holder's valid numbers equal to `phone_id`'s (same number and extension), itself
    included while valid: a ledger often names the same number under two contact persons
    (王经理 for one certificate, 王总 for another), and a number found wrong is wrong for all.
    """
    ct, p = table(Contact), table(ContactPhone)
    it = select(p.c.e164, p.c.extension).where(p.c.id == phone_id).subquery()
    return list(
        session.execute(
            select(p.c.id)
            .join(ct, ct.c.id == p.c.contact_id)
            .join(it, (it.c.e164 == p.c.e164) & (it.c.extension == p.c.extension))
            .where(ct.c.holder_id == holder_id, p.c.invalid.is_(False))
            .order_by(p.c.id)
        ).scalars()
    )


def mark_invalid(session: Session, phone_ids: Sequence[int], reason: str) -> None:
    """Mark the numbers `phone_ids` invalid with `reason`."""
    if phone_ids:
        p = table(ContactPhone)
        session.execute(
            update(p).where(p.c.id.in_(list(phone_ids))).values(invalid=True, invalid_reason=reason)
        )


def holder_phones(session: Session, holder_id: int) -> set[int]:
    """Every number of the holder's contacts, valid or not."""
    ct, p = table(Contact), table(ContactPhone)
    return set(
        session.execute(
            select(p.c.id).join(ct, ct.c.id == p.c.contact_id).where(ct.c.holder_id == holder_id)
        ).scalars()
    )


def has_valid_email(session: Session, holder_id: int) -> bool:
    """Whether any contact of the holder has an address not marked invalid."""
    ct, e = table(Contact), table(ContactEmail)
    return bool(
        session.execute(
            select(
                exists().where(
                    e.c.contact_id == ct.c.id,
                    ct.c.holder_id == holder_id,
                    ct.c.invalid.is_(False),
                    e.c.invalid.is_(False),
                )
            )
        ).scalar()
    )


def has_valid_phone(session: Session, holder_id: int) -> bool:
    """Whether any contact of the holder has a number not marked invalid."""
    return bool(valid_phones(session, holder_id))


def do_not_call(session: Session, holder_id: int) -> bool:
    """Whether the holder asked not to be phoned."""
    h = table(Holder)
    return bool(session.execute(select(h.c.do_not_call).where(h.c.id == holder_id)).scalar())


def phone_reachable(session: Session, holder_id: int) -> bool:
    """Whether the holder may and can be phoned: not do-not-call, and a valid number."""
    return not do_not_call(session, holder_id) and has_valid_phone(session, holder_id)


def open_reminders(session: Session, holder_id: int, *, repair_only: bool = False) -> list[int]:
    """The holder's open reminders (or only those flagged for repair)."""
    r = table(Reminder)
    stmt = select(r.c.id).where(r.c.holder_id == holder_id, r.c.state.in_(_OPEN)).order_by(r.c.id)
    if repair_only:
        stmt = stmt.where(r.c.needs_repair.is_(True))
    return list(session.execute(stmt).scalars())


def contact_of(session: Session, certificate_id: int) -> int | None:
    """The certificate's own contact."""
    c = table(Certificate)
    return session.execute(select(c.c.contact_id).where(c.c.id == certificate_id)).scalar()


def set_values(
    session: Session,
    ids: list[int],
    now: datetime,
    values: dict[str, object],
    *,
    why: str,
    staff_id: int | None = None,
    actor: str = "system",
    only_channel: Channel | None = None,
    only_states: Collection[str] | None = None,
) -> list[int]:
    """Update these reminders (bumping their version), one audit event each saying `why`;
    returns the ids changed."""
    if not ids:
        return []
    r = table(Reminder)
    query = select(r.c.id, r.c.state, r.c.channel, r.c.needs_repair).where(r.c.id.in_(ids))
    if only_channel is not None:
        query = query.where(r.c.channel == only_channel.value)
    if only_states is not None:
        query = query.where(r.c.state.in_(list(only_states)))
    rows = session.execute(query.order_by(r.c.id)).all()
    if not rows:
        return []
    changed = [row.id for row in rows]
    session.execute(
        update(r)
        .where(r.c.id.in_(changed))
        .values(**values, version=r.c.version + 1, updated_at=now)
    )
    for row in rows:
        before: dict[str, object] = {
            k: getattr(row, k) for k in ("state", "channel", "needs_repair") if k in values
        }
        audit.record(
            session,
            action="reminder.reach",
            entity="reminder",
            entity_id=row.id,
            before=before,
            after={k: v for k, v in values.items() if k in before},
            staff_id=staff_id,
            actor=actor,
            note=why,
            at=now,
        )
    return changed


def divert(
    session: Session,
    *,
    holder_id: int,
    now: datetime,
    why: str,
    exclude: Collection[int] = (),
    staff_id: int | None = None,
    actor: str = "system",
) -> Diverted:
    """Move the holder's open phone reminders to email, or flag them all for repair.

    Call when the holder can no longer be phoned (no valid number left, or do-not-call). With
    a valid address, reminders on the phone channel switch to email, and those still waiting
    for a call become due for the send run; without one, every open phone reminder is flagged
    `needs_repair`. `exclude`: reminders the caller moves itself.
    """
    ids = [i for i in open_reminders(session, holder_id) if i not in exclude]
    if not ids:
        return Diverted()
    if has_valid_email(session, holder_id):
        return Diverted(
            to_email=_to_email(session, ids, now, why=why, staff_id=staff_id, actor=actor)
        )
    flagged = set_values(
        session,
        ids,
        now,
        {"needs_repair": True},
        why=why,
        staff_id=staff_id,
        actor=actor,
        only_channel=Channel.PHONE,
    )
    return Diverted(needs_repair=flagged)


def _to_email(
    session: Session,
    ids: list[int],
    now: datetime,
    *,
    why: str,
    staff_id: int | None,
    actor: str,
    extra: dict[str, object] | None = None,
) -> list[int]:
    """Phone reminders to email; those still waiting for a call become due for the send run."""
    email: dict[str, object] = {"channel": Channel.EMAIL.value, **(extra or {})}
    waiting = set_values(
        session,
        ids,
        now,
        {**email, "state": ReminderState.DUE.value, "next_action_at": None},
        why=why,
        staff_id=staff_id,
        actor=actor,
        only_channel=Channel.PHONE,
        only_states=UNWORKED,
    )
    later = set_values(
        session,
        [i for i in ids if i not in waiting],
        now,
        email,
        why=why,
        staff_id=staff_id,
        actor=actor,
        only_channel=Channel.PHONE,
    )
    return sorted(waiting + later)


def repaired(
    session: Session,
    *,
    holder_id: int,
    now: datetime,
    why: str,
    staff_id: int | None = None,
    actor: str = "system",
    reopen: Channel | None = None,
) -> list[int]:
    """Lift `needs_repair` from the holder's open reminders once it can be reached again.

    A phone reminder needs a number the holder may be called on; when it has none but an
    address, it goes to email instead (as a wrong number would have sent it).

    With `reopen`, the channel of what was added (a number, an address), reminders closed as
    无法联系 whose certificate has not expired come back too: due on the phone for a number
    the holder may be called on, else by email when it has an address (as the no-answer rule
    would have sent them), their unanswered calls so far no longer counting towards the limit.
    Otherwise the holder stayed on the supervisor's list for good, whatever was added, and
    its licence lapsed unreminded.
    """
    back = (
        [] if reopen is None else _reopened(session, holder_id, reopen, now, why, staff_id, actor)
    )
    flagged = open_reminders(session, holder_id, repair_only=True)
    if not flagged:
        return back
    lift: dict[str, object] = {"needs_repair": False}
    if phone_reachable(session, holder_id):
        lifted = set_values(session, flagged, now, lift, why=why, staff_id=staff_id, actor=actor)
        return sorted(back + lifted)
    if not has_valid_email(session, holder_id):
        return back
    moved = _to_email(session, flagged, now, why=why, staff_id=staff_id, actor=actor, extra=lift)
    rest = [i for i in flagged if i not in moved]  # already on email: only the flag
    return sorted(
        back + moved + set_values(session, rest, now, lift, why=why, staff_id=staff_id, actor=actor)
    )


def _reopened(
    session: Session,
    holder_id: int,
    added: Channel,
    now: datetime,
    why: str,
    staff_id: int | None,
    actor: str,
) -> list[int]:
    """The holder's 无法联系 reminders still in time, due again by phone or email (see
    `repaired`); the ids reopened."""
    r = table(Reminder)
    ids = list(
        session.execute(
            select(r.c.id)
            .where(
                r.c.holder_id == holder_id,
                r.c.state == ReminderState.UNREACHABLE.value,
                r.c.expires_on >= local(now).date(),
            )
            .order_by(r.c.id)
        ).scalars()
    )
    if not ids:
        return []
    if added == Channel.PHONE and phone_reachable(session, holder_id):
        channel = Channel.PHONE
    elif has_valid_email(session, holder_id):
        channel = Channel.EMAIL
    else:
        return []
    values: dict[str, object] = {
        "state": ReminderState.DUE.value,
        "channel": channel.value,
        "next_action_at": None,
        "closed_at": None,
        "reopened_at": now,
    }
    return set_values(
        session,
        ids,
        now,
        values,
        why=f"{why}，“无法联系”的提醒恢复待联系",
        staff_id=staff_id,
        actor=actor,
    )
