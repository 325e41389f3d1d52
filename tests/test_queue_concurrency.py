"""Several desks at once: processes loop claim → outcome over one shared queue.

SQLite: 4 processes; PostgreSQL: 16. Every reminder must be worked exactly once, the attempts
in the database must equal the outcomes the workers logged, and no worker may see "database is
locked", a deadlock, or a refused outcome.
"""

from __future__ import annotations

import multiprocessing
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from callqueue import db, workdays
from callqueue.db import table
from callqueue.models import Attempt, Reminder
from callqueue.queue import claims, outcomes
from callqueue.queue import staff as staff_service

from .queue_world import HOURS, NOW, SECTION, build, due_row

REMINDERS = 1200


def _work(url: str, staff_name: str) -> tuple[int, list[str]]:
    """Claim and inform until the queue is empty, in the desk's write units; return (outcomes
    logged, errors)."""
    engine = db.make_engine(url)
    logged, errors = 0, []
    try:
        with db.session_scope(engine, write=False) as session:
            me = staff_service.get_staff(session, staff_name)
            policy = outcomes.Policy(
                calendar=workdays.load_calendar(session), hours=HOURS, today=NOW.date(), now=NOW
            )
        while True:
            with db.write_unit(engine) as session:
                entry = claims.next_for(session, staff_id=me.id, section_id=me.section_id, now=NOW)
            if entry is None:
                break
            with db.write_unit(engine) as session:
                for rid in entry.reminders:
                    outcomes.record_outcome(
                        session,
                        reminder_id=rid,
                        outcome="informed",
                        staff_id=me.id,
                        policy=policy,
                        at=datetime.now(NOW.tzinfo),
                    )
                    logged += 1
    except Exception as exc:  # reported to the parent and asserted there
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        engine.dispose()
    return logged, errors


def test_parallel_desks_never_share_a_holder(
    engine: Engine, db_url: str, backend: str, tmp_path: Path
) -> None:
    workers = 16 if backend == "postgresql" else 4
    build(engine, tmp_path, [due_row(n) for n in range(1, REMINDERS + 1)])
    names = [f"desk{n:02d}" for n in range(workers)]
    with db.session_scope(engine, write=True) as session:
        for name in names:
            staff_service.add_staff(session, name=name, section=SECTION, role="caller", actor="t")
    engine.dispose()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        results = pool.starmap(_work, [(db_url, name) for name in names])
    errors = [e for _, errs in results for e in errs]
    assert errors == []
    logged = sum(n for n, _ in results)
    with db.session_scope(engine, write=False) as session:
        attempts = session.execute(select(func.count()).select_from(table(Attempt))).scalar()
        per_reminder = session.execute(
            select(table(Attempt).c.reminder_id, func.count())
            .group_by(table(Attempt).c.reminder_id)
            .having(func.count() > 1)
        ).all()
        left = session.execute(
            select(func.count())
            .select_from(table(Reminder))
            .where(table(Reminder).c.state == "due")
        ).scalar()
    assert logged == attempts == REMINDERS
    assert per_reminder == [] and left == 0
    assert sum(1 for n, _ in results if n > 0) >= 2  # the work really was shared
