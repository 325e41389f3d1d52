"""The counts above a caller's queue: callable now, done today, past the filing deadline.

Each count is answered from an index (ix_reminder_queue, ix_attempt_at) so it stays cheap on a
ledger of a million certificates and can be read after every outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from callqueue.clock import SHANGHAI
from callqueue.db import table
from callqueue.models import Attempt, Reminder, ReminderState


@dataclass(frozen=True)
class Tally:
    """What the status line counts for one section on one day."""

    callable_now: int
    """Reminders to work now: due ones, and retries and callbacks whose time has come (any channel)."""
    done_today: int
    """Attempts recorded today in the section."""
    done_today_mine: int
    """Of those, by this staff member."""
    past_apply_by: int
    """Due reminders whose apply-by date has already passed: call these first."""


def tally(session: Session, *, section_id: int, staff_id: int, today: date, now: datetime) -> Tally:
    """Count the section's work for `today` as of `now`."""
    r, a = table(Reminder), table(Attempt)
    # Two counts, each a range of ix_reminder_queue: one OR over the states would make SQLite
    # read every reminder of the section (0.8 s on a million certificates).
    due = session.execute(
        select(func.count()).where(
            r.c.section_id == section_id, r.c.state == ReminderState.DUE.value
        )
    ).scalar_one()
    timed = session.execute(
        select(func.count()).where(
            r.c.section_id == section_id,
            r.c.state.in_((ReminderState.RETRY.value, ReminderState.CALLBACK.value)),
            r.c.next_action_at <= now,
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
        # `+ 0` keeps SQLite from starting at the section's reminders (all of them) rather than
        # at today's attempts (few): ix_attempt_at leads, each reminder is looked up by id.
        .where(
            a.c.at >= start, a.c.at < start + timedelta(days=1), r.c.section_id + 0 == section_id
        )
    ).one()
    return Tally(
        callable_now=int(due) + int(timed),
        done_today=int(done[0]),
        done_today_mine=int(done[1]),
        past_apply_by=int(late),
    )
