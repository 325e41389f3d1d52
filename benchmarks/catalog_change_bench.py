"""Catalog change benchmark: one item with many certificates (issue 7).

    .venv/bin/python benchmarks/catalog_change_bench.py [--certificates 100000] [--db URL]

Puts N scheduled reminders of 农药经营许可证 (序号 7) in a fresh database, then times from one
run: the preview of a lead-time change (which moves every one of them), applying it, and as
the floor the same rows read by a bare SELECT plus the same number of bare single-row UPDATEs
by key in one executemany. Prints each time and its ratio to the floor.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

from callqueue import bootstrap, db
from callqueue.catalog_change import apply_change, preview_change
from callqueue.clock import SHANGHAI
from callqueue.db import table
from callqueue.models import CatalogItem, Certificate, Holder, Reminder
from callqueue.queue import staff as staff_service

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
PER_HOLDER = 10


def build(url: str, count: int) -> None:
    """Holders with PER_HOLDER certificates each, expiring 2027–2031, reminders scheduled."""
    engine = bootstrap.open_database(url)
    with db.session_scope(engine, write=True) as session:
        c = table(CatalogItem)
        item_id, section_id = session.execute(
            select(c.c.id, c.c.section_id).where(c.c.seq == 7)
        ).one()
        holders = count // PER_HOLDER
        session.execute(
            insert(table(Holder)),
            [
                {"name": f"单位{i}", "name_key": f"单位{i}", "created_at": NOW}
                for i in range(holders)
            ],
        )
        first = session.execute(select(table(Holder).c.id).order_by(table(Holder).c.id)).scalar()
        assert first is not None
        certs = [
            {
                "holder_id": first + n // PER_HOLDER,
                "catalog_item_id": item_id,
                "section_id": section_id,
                "expires_on": date(2027, 6, 1) + timedelta(days=(n * 7) % 1500 + n % PER_HOLDER),
                "created_at": NOW,
            }
            for n in range(holders * PER_HOLDER)
        ]
        session.execute(insert(table(Certificate)), certs)
        rows = session.execute(
            select(
                table(Certificate).c.id,
                table(Certificate).c.holder_id,
                table(Certificate).c.expires_on,
            )
        ).all()
        session.execute(
            insert(table(Reminder)),
            [
                {
                    "certificate_id": cid,
                    "holder_id": hid,
                    "section_id": section_id,
                    "state": "scheduled",
                    "expires_on": exp,
                    "remind_on": exp - timedelta(days=104),
                    "planned_remind_on": exp - timedelta(days=90),
                    "apply_by": exp - timedelta(days=90),
                    "pulled_earlier": True,
                    "updated_at": NOW,
                }
                for cid, hid, exp in rows
            ],
        )
        staff_service.add_staff(
            session, name="主管", section="政务服务科", role="supervisor", actor="bench"
        )
    engine.dispose()


def main() -> None:
    """Build, time, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--certificates", type=int, default=100_000)
    parser.add_argument("--db")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'catalog-bench.sqlite'}"
    build(url, args.certificates)
    engine = bootstrap.open_database(url)
    with db.session_scope(engine, write=False) as session:
        me = staff_service.get_staff(session, "主管")

    # The floor: read the rows, then rewrite each by key, by hand.
    started = time.perf_counter()
    with db.session_scope(engine, write=True) as session:
        ids = session.execute(text("SELECT id, version FROM reminder")).all()
        mark = "?" if session.connection().dialect.paramstyle == "qmark" else "%s"
        session.connection().exec_driver_sql(
            f"UPDATE reminder SET remind_on = remind_on, version = {mark} "
            f"WHERE id = {mark} AND version = {mark}",
            [(v + 1, i, v) for i, v in ids],
        )
    floor = time.perf_counter() - started

    started = time.perf_counter()
    with db.session_scope(engine, write=False) as session:
        plan = preview_change(
            session=session,
            seq=7,
            changes={"lead_months": 6},
            effective_on=TODAY,
            today=TODAY,
            now=NOW,
        )
    preview = time.perf_counter() - started

    started = time.perf_counter()
    with db.session_scope(engine, write=True) as session:
        result = apply_change(
            session=session,
            seq=7,
            changes={"lead_months": 6},
            effective_on=TODAY,
            reason="bench",
            staff=me,
            today=TODAY,
            now=NOW,
        )
    applied = time.perf_counter() - started
    assert result.reminders_changed == plan.reminders_changed
    print(f"{db.safe_url(url)}: {len(ids)} reminders of one item, {plan.reminders_changed} moved")
    print(f"floor (bare SELECT + UPDATE by key): {floor:.2f} s")
    print(f"preview: {preview:.2f} s ({preview / floor:.1f}x floor)")
    print(f"apply (preview + write + audit): {applied:.2f} s ({applied / floor:.1f}x floor)")


if __name__ == "__main__":
    main()
