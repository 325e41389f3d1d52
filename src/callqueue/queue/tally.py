"""The counts above a caller's queue: callable now, done today, past the filing deadline.

Each count is answered from an index (ix_reminder_queue, ix_attempt_at) so it stays cheap on a
ledger of a million certificates and can be read after every outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from callqueue.clock import SHANGHAI
from callqueue.db import table
from callqueue.models import Attempt, Channel, Reminder, ReminderState


@dataclass(frozen=True)
class Tally:
    """What the status line counts for one section on one day."""

    callable_now: int
    """Reminders that may be called now (due, retries and callbacks whose time has come)."""
    done_today: int
    """Attempts recorded today in the section."""
    done_today_mine: int
    """Of those, by this staff member."""
    past_apply_by: int
    """Due reminders whose apply-by date has already passed: call these first."""


def tally(session: Session, *, section_id: int, staff_id: int, today: date, now: datetime) -> Tally:
    """Count the section's work for `today` as of `now`."""
    r, a = table(Reminder), table(Attempt)
    waiting = session.execute(
        select(func.count()).where(
            r.c.section_id == section_id,
            r.c.channel == Channel.PHONE.value,
            r.c.needs_repair.is_(False),
            or_(
                r.c.state == ReminderState.DUE.value,
                and_(
                    r.c.state.in_((ReminderState.RETRY.value, ReminderState.CALLBACK.value)),
                    r.c.next_action_at <= now,
                ),
            ),
        )
    ).scalar_one()
    late = session.execute(
        select(func.count()).where(
            r.c.section_id == section_id,
            r.c.state.in_((ReminderState.DUE.value, ReminderState.RETRY.value)),
            r.c.apply_by < today,
        )
    ).scalar_one()
    start = datetime.combine(today, time(0, 0), SHANGHAI)
    done = session.execute(
        select(func.count(), func.count().filter(a.c.staff_id == staff_id))
        .select_from(a)
        .join(r, r.c.id == a.c.reminder_id)
        .where(a.c.at >= start, a.c.at < start + timedelta(days=1), r.c.section_id == section_id)
    ).one()
    return Tally(
        callable_now=int(waiting),
        done_today=int(done[0]),
        done_today_mine=int(done[1]),
        past_apply_by=int(late),
    )
