"""A ledger where every supervision figure has a known value: one reminder per named case.

Section A (涉农事务和经贸商务科) gives each figure a different number; section B (社会事务科)
adds a little so totals differ from A; section C (环保城管和建设交通科) holds nothing.
TODAY is Tuesday 2026-11-24; three working days back is Thursday 2026-11-19.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from callqueue import db
from callqueue.clock import SHANGHAI
from callqueue.db import table
from callqueue.ledger import service
from callqueue.models import Attempt, Channel, Holder, Outcome, Reminder
from callqueue.queue import outcomes, staff
from callqueue.reports.figures import FIGURES

from .ledger_files import licence_row, write_annex2
from .queue_world import NOW, TODAY, policy

A, B, C = "涉农事务和经贸商务科", "社会事务科", "环保城管和建设交通科"
SUPERVISOR = "主任"
CALLER = "甲"
PAST = date(2026, 10, 1)
"""remind_on of every case whose reminder date does not matter (before the workload's weeks)."""


def _day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


# name -> (section, reminder columns). Informing attempts are added afterwards (INFORMING).
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    # scheduled: due_30 = 3, due_60 = 9, due_90 = 11; the first ten need repair (10)
    **{
        f"S{n}": (A, {"state": "scheduled", "remind_on": _day(d), "needs_repair": n <= 10})
        for n, d in enumerate((1, 10, 30, 31, 45, 45, 50, 60, 60, 61, 90, 91), start=1)
    },
    # due: unworked 4 (today, 3 working days ago, 4 working days ago, long ago), overdue 2
    "U1": (A, {"state": "due", "remind_on": TODAY}),
    "U2": (A, {"state": "due", "remind_on": date(2026, 11, 19)}),
    "U3": (A, {"state": "due", "remind_on": date(2026, 11, 18)}),
    "U4": (A, {"state": "due", "remind_on": date(2026, 11, 2)}),
    "U5": (A, {"state": "due", "remind_on": date(2026, 11, 2)}),  # a bounced email: worked
    "U6": (A, {"state": "due", "remind_on": date(2026, 11, 2), "attempts": 1}),  # follow-up
    # informed on or before apply_by: 5 (I4 renewed since); N1 told after apply_by (Shanghai day)
    "I1": (A, {"state": "due", "apply_by": TODAY}),
    "I2": (A, {"state": "due", "apply_by": date(2027, 1, 10)}),
    "I3": (A, {"state": "due", "apply_by": date(2027, 1, 10)}),
    "I4": (A, {"state": "due", "apply_by": date(2027, 1, 10)}),
    "I5": (A, {"state": "due", "apply_by": date(2027, 1, 10)}),
    "N1": (A, {"state": "informed", "apply_by": date(2026, 11, 23), "attempts": 1}),
    "R1": (A, {"state": "due"}),  # no answer: retry, open
    "X1": (A, {"state": "unreachable", "needs_repair": True, "attempts": 3}),
    **{f"L{n}": (A, {"state": "lapsed"}) for n in range(1, 7)},
    # renewed on or before expiry: 6 + B7 (23:30 on the expiry day) + I4 = 8; late: Z1, Z2
    **{
        f"B{n}": (A, {"state": "renewed", "closed_at": NOW, "remind_on": _day(2)})
        for n in range(1, 7)
    },
    "B7": (
        A,
        {
            "state": "renewed",
            "expires_on": date(2027, 2, 15),
            "closed_at": _at(date(2027, 2, 15), 23, 30),
        },
    ),
    "Z1": (
        A,
        {
            "state": "renewed",
            "expires_on": date(2027, 2, 15),
            "closed_at": _at(date(2027, 2, 16), 0, 30),
        },
    ),
    "Z2": (A, {"state": "renewed", "expires_on": date(2026, 11, 20), "closed_at": NOW}),
    "NR": (A, {"state": "not_renewing", "closed_at": NOW}),
    # section B
    "bS": (B, {"state": "scheduled", "remind_on": _day(5)}),
    "bU": (B, {"state": "due", "remind_on": date(2026, 11, 2)}),
    "bL1": (B, {"state": "lapsed"}),
    "bL2": (B, {"state": "lapsed"}),
    "bB": (B, {"state": "renewed", "closed_at": NOW}),
}

EXPECTED: dict[str, dict[str, Any]] = {
    A: {
        "tracked": 24,
        "due_30": 3,
        "due_60": 9,
        "due_90": 11,
        "due_unworked": 4,
        "overdue": 2,
        "informed_before_apply_by": 5,
        "unreachable": 1,
        "needs_repair": 10,
        "lapsed": 6,
        "renewed_before_expiry": 8,
        "renewal_rate": 0.5,  # 8 / (10 renewed + 6 lapsed)
    },
    B: {
        "tracked": 2,
        "due_30": 1,
        "due_60": 1,
        "due_90": 1,
        "due_unworked": 1,
        "overdue": 1,
        "informed_before_apply_by": 0,
        "unreachable": 0,
        "needs_repair": 0,
        "lapsed": 2,
        "renewed_before_expiry": 1,
        "renewal_rate": 0.3333,  # 1 / (1 + 2)
    },
    C: {**dict.fromkeys(FIGURES, 0), "renewal_rate": None},
}
FIGURE_CASES: dict[str, set[str]] = {
    "tracked": {f"S{n}" for n in range(1, 13)}
    | {"U1", "U2", "U3", "U4", "U5", "U6", "I1", "I2", "I3", "I5", "N1", "R1", "bS", "bU"},
    "due_30": {"S1", "S2", "S3", "bS"},
    "due_60": {f"S{n}" for n in range(1, 10)} | {"bS"},
    "due_90": {f"S{n}" for n in range(1, 12)} | {"bS"},
    "due_unworked": {"U1", "U2", "U3", "U4", "bU"},
    "overdue": {"U3", "U4", "bU"},
    "informed_before_apply_by": {"I1", "I2", "I3", "I4", "I5"},
    "unreachable": {"X1"},
    "needs_repair": {f"S{n}" for n in range(1, 11)},
    "lapsed": {f"L{n}" for n in range(1, 7)} | {"bL1", "bL2"},
    "renewed_before_expiry": {f"B{n}" for n in range(1, 8)} | {"I4", "bB"},
}
"""Which cases each figure lists, over both sections."""


BLANK = {"channel": "phone", "note": "", "conveyed": [], "materials_ticked": []}


def holder(case: str) -> str:
    """The holder name of a case (one holder per case)."""
    return f"督查测试{case}有限公司"


def build(engine: Engine, tmp_path: Path) -> dict[str, int]:
    """Import one certificate per case, shape each reminder, record the attempts; case -> id."""
    for section, certificate in ((A, "农药经营许可证"), (B, "卫生许可证")):
        rows = [
            licence_row(
                n,
                holder=holder(case),
                certificate=certificate,
                issued_on=date(2022, 3, 1),
                expires_on=date(2027, 3, 1),
                contact=f"1390000{n:04d}",
            )
            for n, (case, (where, _)) in enumerate(CASES.items(), start=1)
            if where == section
        ]
        path = write_annex2(tmp_path / f"{section}.xlsx", rows, section=section)
        with db.session_scope(engine, write=True) as session:
            report = service.import_ledger(session, path=path, today=TODAY, margin_workdays=10)
            assert report.rejected == 0, report.problems
    r, h = table(Reminder), table(Holder)
    with db.session_scope(engine, write=True) as session:
        staff.add_staff(session, name=CALLER, section=A, role="caller", actor="t")
        staff.add_staff(
            session, name=SUPERVISOR, section="政务服务科", role="supervisor", actor="t"
        )
        ids = {
            name: rid
            for name, rid in session.execute(
                select(h.c.name, r.c.id).join(h, h.c.id == r.c.holder_id)
            )
        }
        found = {case: ids[holder(case)] for case in CASES}
        for case, (_, values) in CASES.items():
            columns = {
                "remind_on": PAST,
                "apply_by": date(2027, 1, 31),
                "expires_on": date(2027, 3, 1),
                "attempts": 0,
                "needs_repair": False,
                **values,
            }
            session.execute(update(r).where(r.c.id == found[case]).values(**columns))
        a = table(Attempt)
        session.execute(
            insert(a),
            [
                {
                    **BLANK,
                    "reminder_id": found["U5"],
                    "at": NOW,
                    "channel": "email",
                    "outcome": "bounced",
                },
                # 00:30 in Tianjin on the 24th is still the 23rd in UTC: told after apply_by.
                {
                    **BLANK,
                    "reminder_id": found["N1"],
                    "at": _at(TODAY, 0, 30),
                    "outcome": "informed",
                },
            ],
        )
    _record(engine, found)
    return found


def _record(engine: Engine, ids: dict[str, int]) -> None:
    """The attempts made through the outcome rules (as the call screen records them)."""
    rules = policy(engine)
    worker = _staff_id(engine)
    steps: list[tuple[str, Outcome, dict[str, Any]]] = [
        ("I1", Outcome.INFORMED, {}),
        ("I2", Outcome.INFORMED, {}),
        ("I3", Outcome.ASSISTED, {}),
        ("I4", Outcome.INFORMED, {}),
        ("I4", Outcome.RENEWED, {}),
        ("I5", Outcome.INFORMED, {"channel": Channel.EMAIL}),
        ("R1", Outcome.NO_ANSWER, {}),
    ]
    for case, outcome, extra in steps:
        with db.session_scope(engine, write=True) as session:
            outcomes.record_outcome(
                session,
                reminder_id=ids[case],
                outcome=outcome,
                staff_id=worker,
                policy=rules,
                data=outcomes.OutcomeInput(conveyed=("expiry", "apply_by")),
                **extra,
            )


def _staff_id(engine: Engine) -> int:
    with db.session_scope(engine, write=False) as session:
        found = staff.staff_id(session, CALLER)
    assert found is not None
    return found
