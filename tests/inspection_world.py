"""A world for inspection tests: eight reminders in SECTION, five of them worked, one elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from callqueue import db
from callqueue.db import table
from callqueue.ledger import service
from callqueue.models import Holder, Reminder
from callqueue.queue import outcomes, staff

from .ledger_files import licence_row, write_annex2
from .queue_world import NOW, TODAY, build, due_row, policy, staff_id

OTHER = "社会事务科"
SUPERVISOR = "主任"
ADMIN = "管理员甲"
NOTE = "=说了一半[/b]"
"""A note that is neither a formula nor markup wherever it is shown."""


@dataclass(frozen=True)
class World:
    """Reminder ids by what happened to them."""

    worked: list[int]
    """SECTION's reminders with at least one attempt, by id."""
    unworked: list[int]
    other: int
    """The worked reminder of OTHER."""


def reminder_of(engine: Engine, holder: str) -> int:
    r, h = table(Reminder), table(Holder)
    with db.session_scope(engine, write=False) as session:
        found = session.execute(
            select(r.c.id).join(h, h.c.id == r.c.holder_id).where(h.c.name == holder)
        )
        return int(found.scalar_one())


def world(engine: Engine, tmp_path: Path) -> World:
    """Holders 001–008 in SECTION; 001–005 called by 甲 (005 twice), 301 in OTHER called too."""
    build(engine, tmp_path, [due_row(n) for n in range(1, 9)])
    other = licence_row(
        301,
        holder="社会事务科的单位",
        certificate="卫生许可证",
        issued_on=date(2023, 1, 10),
        expires_on=date(2027, 1, 9),
        contact="13700137000",
    )
    path = write_annex2(tmp_path / "other.xlsx", [other], section=OTHER)
    with db.session_scope(engine, write=True) as session:
        report = service.import_ledger(session, path=path, today=TODAY, margin_workdays=10)
        assert report.rejected == 0, report.problems
        staff.add_staff(
            session, name=SUPERVISOR, section="政务服务科", role="supervisor", actor="t"
        )
        staff.add_staff(session, name=ADMIN, section="政务服务科", role="admin", actor="t")
        staff.add_staff(session, name="社务", section=OTHER, role="caller", actor="t")
    ids = [reminder_of(engine, f"东丽区第{n:03d}号公司") for n in range(1, 9)]
    other_id = reminder_of(engine, "社会事务科的单位")
    caller = staff_id(engine, "甲")
    rules = policy(engine)
    plan: list[tuple[int, str, outcomes.OutcomeInput]] = [
        (ids[0], "informed", outcomes.OutcomeInput(conveyed=outcomes.CONVEYABLE)),
        (ids[1], "informed", outcomes.OutcomeInput(conveyed=("expiry", "apply_by"), note=NOTE)),
        (ids[2], "no_answer", outcomes.OutcomeInput()),
        (ids[3], "informed", outcomes.OutcomeInput(conveyed=outcomes.CONVEYABLE)),
        (ids[4], "no_answer", outcomes.OutcomeInput(note="第一次")),
        (ids[4], "informed", outcomes.OutcomeInput(conveyed=("expiry",), note="第二次")),
        (other_id, "informed", outcomes.OutcomeInput(conveyed=outcomes.CONVEYABLE)),
    ]
    with db.session_scope(engine, write=True) as session:
        for minutes, (rid, outcome, data) in enumerate(plan):
            outcomes.record_outcome(
                session,
                reminder_id=rid,
                outcome=outcome,
                staff_id=caller,
                policy=rules,
                data=data,
                at=NOW + timedelta(minutes=minutes),
            )
    return World(worked=ids[:5], unworked=ids[5:], other=other_id)
