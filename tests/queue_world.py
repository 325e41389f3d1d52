"""A small, known world for queue tests: staff, holders, certificates imported from a ledger."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from callqueue import db, workdays
from callqueue.clock import SHANGHAI
from callqueue.db import table
from callqueue.hours import OfficeHours
from callqueue.ledger import service
from callqueue.models import Reminder
from callqueue.queue import outcomes, staff
from callqueue.queue.refresh import refresh

from .ledger_files import licence_row, write_annex2

TODAY = date(2026, 11, 24)  # a Tuesday
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
SECTION = "涉农事务和经贸商务科"
HOURS = OfficeHours.parse("08:30-12:00,13:30-17:30")


def build(engine: Engine, tmp_path: Path, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Import `rows` into SECTION, add staff 甲 and 乙 there, refresh; return holder ids by name."""
    path = write_annex2(tmp_path / "world.xlsx", rows, section=SECTION)
    with db.session_scope(engine, write=True) as session:
        report = service.import_ledger(session, path=path, today=TODAY, margin_workdays=10)
        assert report.rejected == 0, report.problems
        for name in ("甲", "乙", "丙"):
            staff.add_staff(session, name=name, section=SECTION, role="caller", actor="t")
        refresh(session, today=TODAY, now=NOW)
    with db.session_scope(engine, write=False) as session:
        ids = session.execute(select(table(Reminder).c.holder_id, table(Reminder).c.id)).all()
    return {f"h{h}": rid for h, rid in ids}


def due_row(n: int, **values: Any) -> dict[str, Any]:
    """A row whose reminder is due on TODAY: 农药经营许可证 expiring ~3 months out."""
    base = {
        "issued_on": date(2022, 3, 1),
        "expires_on": date(2027, 2, 15 + n % 10),
        "holder": f"东丽区第{n:03d}号公司",
        "contact": f"1380000{n:04d}",
    }
    base.update(values)
    return licence_row(n, **base)


def staff_id(engine: Engine, name: str) -> int:
    with db.session_scope(engine, write=False) as session:
        found = staff.staff_id(session, name)
    assert found is not None
    return found


def section_id(engine: Engine) -> int:
    with db.session_scope(engine, write=False) as session:
        return staff.section_id(session, SECTION)


def policy(engine: Engine, now: datetime = NOW, **kwargs: Any) -> outcomes.Policy:
    with db.session_scope(engine, write=False) as session:
        cal = workdays.load_calendar(session)
    return outcomes.Policy(calendar=cal, hours=HOURS, today=now.date(), now=now, **kwargs)


def log(
    engine: Engine, rid: int, outcome: str, who: str = "甲", now: datetime = NOW, **data: Any
) -> outcomes.OutcomeResult:
    """Record one outcome as `who` at `now`, in its own unit of work."""
    with db.session_scope(engine, write=True) as session:
        return outcomes.record_outcome(
            session,
            reminder_id=rid,
            outcome=outcome,
            staff_id=staff_id(engine, who),
            policy=policy(engine, now),
            data=outcomes.OutcomeInput(**data),
        )


def reminder(engine: Engine, reminder_id: int) -> Reminder:
    with db.session_scope(engine, write=False) as session:
        found = session.get(Reminder, reminder_id)
    assert found is not None
    return found


def set_reminder(engine: Engine, reminder_id: int, **values: Any) -> None:
    with db.session_scope(engine, write=True) as session:
        r = table(Reminder)
        session.execute(update(r).where(r.c.id == reminder_id).values(**values))
