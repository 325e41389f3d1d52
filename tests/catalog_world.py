"""A known world for catalog-change tests: 农药经营许可证 (序号 7) certificates in every stage."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from callqueue import db
from callqueue.db import table
from callqueue.models import AuditEvent, CatalogItem, Certificate, Holder, Reminder
from callqueue.queue import staff
from callqueue.queue.staff import StaffRow

from .ledger_files import licence_row
from .queue_world import NOW, TODAY, build

__all__ = ["NOW", "TODAY", "World", "audits", "build_world", "reminders", "supervisor"]

SEQ = 7  # 农药经营许可证: lead 3 months, filing 90 days (remind_on pulled earlier)
# holder name -> (certificate, expiry); remind_on as of TODAY under the seed rule in comments
CERTS = {
    "甲公司": ("农药经营许可证", date(2027, 2, 22)),  # due (remind_on 2026-11-06), unworked
    "乙公司": ("农药经营许可证", date(2027, 6, 15)),  # scheduled
    "丙公司": ("农药经营许可证", date(2027, 9, 1)),  # scheduled
    "丁公司": ("农药经营许可证", date(2027, 5, 10)),  # scheduled; due at once under 6 months
    "戊公司": ("农药经营许可证", date(2028, 1, 10)),  # scheduled
    "己公司": ("农药经营许可证", date(2027, 3, 10)),  # worked: informed
    "庚公司": ("农药经营许可证", date(2027, 4, 1)),  # worked: retry after one attempt
    "辛公司": ("农药经营许可证", date(2027, 8, 1)),  # closed: renewed
    "壬公司": ("危险化学品经营许可证", date(2027, 6, 15)),  # another item
}


class World(dict[str, int]):
    """Reminder ids by holder name."""


def build_world(engine: Engine, tmp_path: Path) -> World:
    """Import CERTS, put the worked and closed ones in their states, add supervisor 张敏."""
    rows: list[dict[str, Any]] = [
        licence_row(
            n,
            holder=name,
            certificate=cert,
            issued_on=date(expires.year - 5, expires.month, expires.day),
            expires_on=expires,
            contact=f"1380000{n:04d}",
        )
        for n, (name, (cert, expires)) in enumerate(CERTS.items(), start=1)
    ]
    build(engine, tmp_path, rows)
    r, h = table(Reminder), table(Holder)
    with db.session_scope(engine, write=True) as session:
        found = session.execute(select(h.c.name, r.c.id).join(h, h.c.id == r.c.holder_id))
        ids: dict[str, int] = {name: rid for name, rid in found}
        for name, values in (
            ("己公司", {"state": "informed", "attempts": 1}),
            ("庚公司", {"state": "retry", "attempts": 1}),
            ("辛公司", {"state": "renewed", "closed_at": NOW}),
        ):
            session.execute(update(r).where(r.c.id == ids[name]).values(**values))
        staff.add_staff(session, name="张敏", section="政务服务科", role="supervisor", actor="t")
    return World(ids)


def supervisor(engine: Engine, name: str = "张敏") -> StaffRow:
    with db.session_scope(engine, write=False) as session:
        return staff.get_staff(session, name)


def reminders(engine: Engine) -> dict[int, dict[str, Any]]:
    """Every reminder's dates and state by id."""
    r = table(Reminder)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(
                r.c.id,
                r.c.state,
                r.c.remind_on,
                r.c.planned_remind_on,
                r.c.apply_by,
                r.c.pulled_earlier,
                r.c.channel,
                r.c.late,
                r.c.close_reason,
                r.c.version,
            )
        ).all()
    return {row.id: dict(row._mapping) for row in rows}


def audits(engine: Engine, prefix: str = "catalog.") -> list[dict[str, Any]]:
    a = table(AuditEvent)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(
                a.c.action, a.c.entity_id, a.c.actor, a.c.staff_id, a.c.before, a.c.after, a.c.note
            )
            .where(a.c.action.like(f"{prefix}%"), a.c.actor != "seed")
            .order_by(a.c.id)
        ).all()
    return [dict(row._mapping) for row in rows]


def item(engine: Engine, seq: int = SEQ) -> CatalogItem:
    c = table(CatalogItem)
    with db.session_scope(engine, write=False) as session:
        item_id = session.execute(select(c.c.id).where(c.c.seq == seq)).scalar_one()
        found = session.get(CatalogItem, item_id)
    assert found is not None
    return found


def certificate_count(engine: Engine) -> int:
    with db.session_scope(engine, write=False) as session:
        return len(session.execute(select(table(Certificate).c.id)).all())
