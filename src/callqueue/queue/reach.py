"""When a contact has no valid number left: its open reminders go to email, or need repair.

Shared by the wrong_number outcome and the records screen's "mark number invalid", so a
holder's other certificates follow the same contact the same way (DESIGN.md §5).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Table, func, select, update
from sqlmodel import Session

from callqueue.db import table
from callqueue.models import (
    OPEN_STATES,
    Certificate,
    Channel,
    ContactEmail,
    ContactPhone,
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


def valid_count(session: Session, t: Table, contact_id: int) -> int:
    """Valid rows of ContactPhone or ContactEmail (`t`) for a contact."""
    return int(
        session.execute(
            select(func.count()).where(t.c.contact_id == contact_id, t.c.invalid.is_(False))
        ).scalar_one()
    )


def has_valid_email(session: Session, contact_id: int) -> bool:
    """Whether the contact has an address not marked invalid."""
    return valid_count(session, table(ContactEmail), contact_id) > 0


def has_valid_phone(session: Session, contact_id: int) -> bool:
    """Whether the contact has a number not marked invalid."""
    return valid_count(session, table(ContactPhone), contact_id) > 0


def open_reminders(session: Session, contact_id: int, *, repair_only: bool = False) -> list[int]:
    """Open reminders of the certificates reached through this contact (or only flagged ones)."""
    r, c = table(Reminder), table(Certificate)
    stmt = (
        select(r.c.id)
        .join(c, c.c.id == r.c.certificate_id)
        .where(c.c.contact_id == contact_id, r.c.state.in_(_OPEN))
        .order_by(r.c.id)
    )
    if repair_only:
        stmt = stmt.where(r.c.needs_repair.is_(True))
    return list(session.execute(stmt).scalars())


def set_values(
    session: Session,
    ids: list[int],
    now: datetime,
    values: dict[str, object],
    *,
    only_channel: Channel | None = None,
    only_states: Collection[str] | None = None,
) -> list[int]:
    """Update these reminders (bumping their version); returns the ids changed."""
    if not ids:
        return []
    r = table(Reminder)
    if only_channel is not None or only_states is not None:
        query = select(r.c.id).where(r.c.id.in_(ids))
        if only_channel is not None:
            query = query.where(r.c.channel == only_channel.value)
        if only_states is not None:
            query = query.where(r.c.state.in_(list(only_states)))
        ids = list(session.execute(query.order_by(r.c.id)).scalars())
        if not ids:
            return []
    session.execute(
        update(r).where(r.c.id.in_(ids)).values(**values, version=r.c.version + 1, updated_at=now)
    )
    return ids


def divert(
    session: Session, *, contact_id: int, now: datetime, exclude: Collection[int] = ()
) -> Diverted:
    """Move the contact's open phone reminders to email, or flag them all for repair.

    Call when the contact has no valid number left. With a valid address, reminders on the
    phone channel switch to email, and those still waiting for a call become due for the send
    run; without one, every open reminder is flagged `needs_repair` (out of the queue until a
    number or address is added). `exclude`: reminders the caller moves itself.
    """
    ids = [i for i in open_reminders(session, contact_id) if i not in exclude]
    if not ids:
        return Diverted()
    if has_valid_email(session, contact_id):
        email: dict[str, object] = {"channel": Channel.EMAIL.value}
        waiting = set_values(
            session,
            ids,
            now,
            {**email, "state": ReminderState.DUE.value, "next_action_at": None},
            only_channel=Channel.PHONE,
            only_states=UNWORKED,
        )
        later = set_values(
            session,
            [i for i in ids if i not in waiting],
            now,
            email,
            only_channel=Channel.PHONE,
        )
        return Diverted(to_email=sorted(waiting + later))
    return Diverted(needs_repair=set_values(session, ids, now, {"needs_repair": True}))
