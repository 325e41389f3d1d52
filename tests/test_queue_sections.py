"""Which sections' queues a desk goes round: the supervising section only when it has items."""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from callqueue import db
from callqueue.db import table
from callqueue.models import CatalogItem, Section, SectionKind
from callqueue.queue import staff


def _names(engine: Engine, who: str) -> list[str]:
    with db.session_scope(engine, write=False) as session:
        viewer = staff.Viewer.of(staff.get_staff(session, who))
        return list(staff.queue_sections(session, viewer=viewer).values())


def _sections(engine: Engine) -> dict[str, str]:
    with db.session_scope(engine, write=False) as session:
        sec = table(Section)
        query = select(sec.c.name, sec.c.kind).order_by(sec.c.id)  # the catalog's order
        return {n: k for n, k in session.execute(query)}


def test_a_supervisor_goes_round_the_sections_that_have_a_queue(engine: Engine) -> None:
    kinds = _sections(engine)
    office = next(n for n, k in kinds.items() if k == SectionKind.SUPERVISION)
    approval = [n for n, k in kinds.items() if k == SectionKind.APPROVAL]
    with db.session_scope(engine, write=True) as session:
        staff.add_staff(session, name="主任", section=office, role="supervisor", actor="测试")
        staff.add_staff(
            session, name="主任乙", section=approval[0], role="supervisor", actor="测试"
        )
        staff.add_staff(session, name="科员", section=approval[1], role="caller", actor="测试")
    # The catalog's order (附件1 lists 环保城管和建设交通科 first), not the names' collation,
    # which differs between SQLite and PostgreSQL.
    assert approval[0] == "环保城管和建设交通科"
    assert _names(engine, "主任") == approval
    assert _names(engine, "主任乙") == approval
    assert _names(engine, "科员") == [approval[1]]
    # Once a catalog item is handled by the supervising section, it has a queue too.
    with db.session_scope(engine, write=True) as session:
        sec, item = table(Section), table(CatalogItem)
        office_id = session.execute(select(sec.c.id).where(sec.c.name == office)).scalar_one()
        first_item = session.execute(select(item.c.id).order_by(item.c.id)).scalars().first()
        session.execute(update(item).where(item.c.id == first_item).values(section_id=office_id))
    assert _names(engine, "主任") == list(kinds)
