"""Several TUI sessions of one section on PostgreSQL: each desk gets its own holders.

Three processes each run the real app (`create_app` + `run_test`) for a different staff
member of the same section, claim with `n` and record 无人接听 (`4`, which claims the next
holder at once) over and over. Afterwards the database must show exactly one attempt per
key press, and no reminder attempted by two desks.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from callqueue import db
from callqueue.db import table
from callqueue.models import Attempt, Reminder, Staff
from callqueue.tui.app import CallqueueApp, create_app

from .queue_world import NOW, TODAY, build, due_row

DESKS = ("甲", "乙", "丙")
PRESSES = 12
HOLDERS = 300


async def settle(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    """Let workers finish and their messages land.

    Under load from other desks a page read can be superseded by the next one (exclusive
    workers cancel their predecessor), which is not a failure here.
    """
    for _ in range(3):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            continue
        await pilot.pause()


Report = tuple[list[str], float, float, int]
"""Errors a session showed, when its first and last key press happened (epoch seconds), and
how many holders it held just before it closed."""


def _holders_held(engine: Engine, name: str) -> int:
    r, s = table(Reminder), table(Staff)
    with db.session_scope(engine, write=False) as session:
        return int(
            session.execute(
                select(func.count(r.c.holder_id.distinct()))
                .join(s, s.c.id == r.c.claimed_by_id)
                .where(s.c.name == name)
            ).scalar_one()
        )


async def _drive(url: str, name: str, presses: int) -> Report:
    engine = db.make_engine(url)
    problems: list[str] = []
    first = last = 0.0
    held = 0
    try:
        app = create_app(engine=engine, today=TODAY, staff_name=name, now=lambda: NOW)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            first = time.time()
            await pilot.press("n")
            await settle(app, pilot)
            for _ in range(presses):
                await pilot.press("4")
                await settle(app, pilot)
            last = time.time()
            held = _holders_held(engine, name)
            problems += [n.message for n in app._notifications if n.severity == "error"]
    finally:
        engine.dispose()
    return problems, first, last, held


def _desk(url: str, name: str, presses: int) -> Report:
    """One staff member's session in its own process."""
    try:
        return asyncio.run(_drive(url, name, presses))
    except Exception as exc:  # reported to the parent and asserted there
        return [f"{type(exc).__name__}: {exc}"], 0.0, 0.0, 0


def test_desks_of_one_section_never_share_a_holder(
    engine: Engine, db_url: str, backend: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("several TUI sessions are checked against PostgreSQL (CALLQUEUE_TEST_PG)")
    build(engine, tmp_path, [due_row(n) for n in range(1, HOLDERS + 1)])
    engine.dispose()
    with multiprocessing.get_context("spawn").Pool(len(DESKS)) as pool:
        results = pool.starmap(_desk, [(db_url, name, PRESSES) for name in DESKS])
    assert [p for problems, *_ in results for p in problems] == []
    # the sessions really worked the queue at the same time
    assert max(first for _, first, _, _ in results) < min(last for _, _, last, _ in results)

    a, s, r = table(Attempt), table(Staff), table(Reminder)
    with db.session_scope(engine, write=False) as session:
        per_desk = dict(
            session.execute(
                select(s.c.name, func.count())
                .select_from(a)
                .join(s, s.c.id == a.c.staff_id)
                .group_by(s.c.name)
            ).all()
        )
        shared = session.execute(
            select(a.c.reminder_id).group_by(a.c.reminder_id).having(func.count() > 1)
        ).all()
        retried = session.execute(
            select(func.count()).select_from(r).where(r.c.state == "retry")
        ).scalar()
        held = session.execute(
            select(r.c.claimed_by_id, func.count())
            .where(r.c.claimed_by_id.is_not(None))
            .group_by(r.c.claimed_by_id)
        ).all()
    assert per_desk == dict.fromkeys(DESKS, PRESSES)  # every key press saved, none refused
    assert shared == []  # no reminder reached two desks
    assert retried == len(DESKS) * PRESSES
    assert [n for *_, n in results] == [1] * len(DESKS)  # each desk held its next holder
    assert held == []  # and gave it back when its session closed
