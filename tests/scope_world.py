"""Two sections with due holders, appointments, emails and assisted cases; callers and supervisors."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from callqueue import db
from callqueue.clock import SHANGHAI
from callqueue.db import table
from callqueue.ledger import service
from callqueue.models import Reminder
from callqueue.notify import outbox
from callqueue.queue import outcomes, staff
from callqueue.queue.outcomes import OutcomeInput
from callqueue.queue.refresh import refresh

from .ledger_files import licence_row, write_annex2
from .queue_world import NOW, SECTION, TODAY, due_row, policy

OTHER = "社会事务科"
SLOT = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)  # a Thursday morning


def other_row(n: int) -> dict[str, object]:
    """A 卫生许可证 of 社会事务科 whose reminder is due on TODAY."""
    return licence_row(
        n,
        holder=f"社会事务科第{n}号单位",
        certificate="卫生许可证",
        issued_on=date(2023, 1, 10),
        expires_on=date(2027, 1, 10 + n),
        contact=f"1370000{n:04d} s{n}@example.cn",
    )


def log(engine: Engine, rid: int, outcome: str, who: str, **data: object) -> None:
    with db.session_scope(engine, write=True) as session:
        me = staff.get_staff(session, who)
        outcomes.record_outcome(
            session,
            reminder_id=rid,
            outcome=outcome,
            staff_id=me.id,
            policy=policy(engine),
            data=OutcomeInput(**data),  # type: ignore[arg-type]
        )


def build_world(engine: Engine, tmp_path: Path) -> None:
    """Four due holders in each of SECTION and OTHER: one booked, one emailed, one assisted.

    Staff: 甲 (caller, SECTION), 丁 (caller, OTHER), 主任 (supervisor), 管理 (admin).
    """
    mine = [due_row(n, contact=f"1380000{n:04d} m{n}@example.cn") for n in (1, 2, 3, 4)]
    theirs = [other_row(n) for n in (1, 2, 3, 4)]
    with db.session_scope(engine, write=True) as session:
        for rows, section, name in ((mine, SECTION, "mine"), (theirs, OTHER, "theirs")):
            path = write_annex2(tmp_path / f"{name}.xlsx", rows, section=section)
            report = service.import_ledger(session, path=path, today=TODAY, margin_workdays=10)
            assert report.rejected == 0, report.problems
        for name, section, role in (
            ("甲", SECTION, "caller"),
            ("丁", OTHER, "caller"),
            ("主任", "政务服务科", "supervisor"),
            ("管理", "政务服务科", "admin"),
        ):
            staff.add_staff(session, name=name, section=section, role=role, actor="t")
        refresh(session, today=TODAY, now=NOW)
    for section, who in ((SECTION, "甲"), (OTHER, "丁")):
        with db.session_scope(engine, write=False) as session:
            sid = staff.section_id(session, section)
            rids = sorted(
                session.execute(
                    select(table(Reminder).c.id).where(table(Reminder).c.section_id == sid)
                ).scalars()
            )
        log(engine, rids[0], "appointment", who, slot_at=SLOT)
        with db.session_scope(engine, write=True) as session:
            me = staff.get_staff(session, who)
            outbox.queue_reminder(session, reminder_id=rids[1], staff_id=me.id, now=NOW)
        log(engine, rids[2], "assisted", who, assisted_notes="代办", helper_staff_id=None)
