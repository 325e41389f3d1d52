"""A small world for record tests: holders in two sections, with known phones, one without any."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from callqueue import db
from callqueue.db import table
from callqueue.ledger import service
from callqueue.models import AuditEvent, Certificate, ContactPhone, Holder, Reminder
from callqueue.queue import staff
from callqueue.records import Viewer

from .ledger_files import licence_row, write_annex2
from .queue_world import TODAY, build, due_row

OTHER = "社会事务科"
MOBILE_HOLDER = "东丽区华明农资有限公司"  # 138 0013 8000, no email
LANDLINE_HOLDER = "天津市东丽区金桥商贸有限公司"  # 022-23456789 ext 8021, and an email
TWO_PHONES = "东丽区第003号公司"  # two numbers
NO_CONTACT = "东丽区无联系方式公司"  # nothing: imported needing repair
OTHER_HOLDER = "社会事务科的单位"  # 卫生许可证 in 社会事务科, 137 0013 7000


def world(engine: Engine, tmp_path: Path) -> None:
    """Four holders in SECTION (staff 甲 乙 丙), one in 社会事务科, supervisor 主任."""
    build(
        engine,
        tmp_path,
        [
            due_row(1, holder=MOBILE_HOLDER, contact="王经理 138 0013 8000"),
            due_row(2, holder=LANDLINE_HOLDER, contact="022-23456789转8021 jq@example.cn"),
            due_row(3, holder=TWO_PHONES, contact="13900139000、022-24445555"),
            due_row(4, holder=NO_CONTACT, contact=None, contact_name="李四"),
        ],
    )
    other = licence_row(
        9,
        holder=OTHER_HOLDER,
        certificate="卫生许可证",
        issued_on=date(2023, 1, 10),
        expires_on=date(2027, 1, 9),
        contact="13700137000",
    )
    path = write_annex2(tmp_path / "other.xlsx", [other], section=OTHER)
    with db.session_scope(engine, write=True) as session:
        report = service.import_ledger(session, path=path, today=TODAY, margin_workdays=10)
        assert report.rejected == 0, report.problems
        staff.add_staff(session, name="主任", section="政务服务科", role="supervisor", actor="t")


def viewer(engine: Engine, name: str = "甲") -> Viewer:
    with db.session_scope(engine, write=False) as session:
        return Viewer.of(staff.get_staff(session, name))


def holder_id(engine: Engine, name: str) -> int:
    with db.session_scope(engine, write=False) as session:
        found = session.execute(select(table(Holder).c.id).where(table(Holder).c.name == name))
        return int(found.scalar_one())


def phones(engine: Engine, name: str) -> list[dict[str, Any]]:
    """The holder's numbers as stored, in order."""
    from callqueue.models import Contact

    p, c, h = table(ContactPhone), table(Contact), table(Holder)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(p.c.id, p.c.contact_id, p.c.e164, p.c.extension, p.c.invalid, p.c.invalid_reason)
            .join(c, c.c.id == p.c.contact_id)
            .join(h, h.c.id == c.c.holder_id)
            .where(h.c.name == name)
            .order_by(p.c.position, p.c.id)
        ).all()
    return [dict(row._mapping) for row in rows]


def holder_reminders(engine: Engine, name: str) -> list[dict[str, Any]]:
    r, h = table(Reminder), table(Holder)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(r.c.id, r.c.state, r.c.channel, r.c.needs_repair, r.c.remind_on, r.c.version)
            .join(h, h.c.id == r.c.holder_id)
            .where(h.c.name == name)
            .order_by(r.c.id)
        ).all()
    return [dict(row._mapping) for row in rows]


def audit_actions(engine: Engine) -> list[tuple[str, str, str]]:
    """(action, entity, entity_id) of every audit event, oldest first."""
    a = table(AuditEvent)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(select(a.c.action, a.c.entity, a.c.entity_id).order_by(a.c.id))
        return [tuple(row) for row in rows]  # type: ignore[misc]


def count(engine: Engine, model: type[Any]) -> int:
    with db.session_scope(engine, write=False) as session:
        return int(session.execute(select(func.count()).select_from(table(model))).scalar_one())


def certificate_ids(engine: Engine) -> list[int]:
    with db.session_scope(engine, write=False) as session:
        return list(
            session.execute(
                select(table(Certificate).c.id).order_by(table(Certificate).c.id)
            ).scalars()
        )
