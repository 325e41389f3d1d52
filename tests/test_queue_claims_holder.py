"""Claims hold a whole holder: one desk at a time per business, never a do-not-call holder."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select, update

from callqueue import db
from callqueue.clock import SHANGHAI
from callqueue.db import table
from callqueue.ledger import service
from callqueue.models import CatalogItem, Certificate, Holder, Reminder
from callqueue.queue import claims, order, staff

from .ledger_files import licence_row, write_annex2
from .queue_world import (
    NOW,
    TODAY,
    build,
    due_row,
    log,
    reminder,
    section_id,
    set_reminder,
    staff_id,
)

H1, H3 = "东丽区第001号公司", "东丽区第003号公司"
OTHER = "社会事务科"
TWO_CERTIFICATES = [
    due_row(1, contact="13800000001"),
    due_row(2, holder=H1, certificate="生鲜乳收购许可证", contact="13800000001"),
    due_row(3),
]


def claim(
    engine: Engine, who: str, now: datetime = NOW, section: int | None = None
) -> claims.QueueEntry | None:
    with db.session_scope(engine, write=True) as session:
        return claims.next_for(
            session,
            staff_id=staff_id(engine, who),
            section_id=section_id(engine) if section is None else section,
            now=now,
        )


def listing(
    engine: Engine, who: str, now: datetime, *, section: int | None = None, claimed: bool = True
) -> list[claims.QueueEntry]:
    with db.session_scope(engine, write=False) as session:
        return claims.queue_entries(
            session,
            section_id=section_id(engine) if section is None else section,
            staff_id=staff_id(engine, who),
            now=now,
            include_claimed=claimed,
        )


def reminder_ids(engine: Engine) -> dict[tuple[str, str], int]:
    """Each reminder's id by (holder, certificate name)."""
    r, h, c, i = table(Reminder), table(Holder), table(Certificate), table(CatalogItem)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(h.c.name, i.c.certificate_name, r.c.id)
            .join(h, h.c.id == r.c.holder_id)
            .join(c, c.c.id == r.c.certificate_id)
            .join(i, i.c.id == c.c.catalog_item_id)
        ).all()
    return {(name, certificate): rid for name, certificate, rid in rows}


def mark_do_not_call(engine: Engine, holder: str) -> None:
    """What a supervisor's 不要来电 comes to: the holder's flag (no screen sets it yet)."""
    h = table(Holder)
    with db.session_scope(engine, write=True) as session:
        session.execute(update(h).where(h.c.name == holder).values(do_not_call=True))


def add_other_section(engine: Engine, tmp_path: Path) -> int:
    """H1's 卫生许可证, due, in 社会事务科 worked by 社务; returns that section's id."""
    row = licence_row(
        9,
        holder=H1,
        certificate="卫生许可证",
        issued_on=date(2023, 1, 10),
        expires_on=date(2027, 1, 9),
        contact="13800000001",
    )
    path = write_annex2(tmp_path / "other.xlsx", [row], section=OTHER)
    with db.session_scope(engine, write=True) as session:
        report = service.import_ledger(session, path=path, today=TODAY, margin_workdays=10)
        assert report.rejected == 0, report.problems
        staff.add_staff(session, name="社务", section=OTHER, role="caller", actor="t")
        return staff.section_id(session, OTHER)


def test_a_colleagues_callback_waits_while_another_desk_is_on_the_holder(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine, tmp_path, TWO_CERTIFICATES)
    ids = reminder_ids(engine)
    pesticide, milk = ids[(H1, "农药经营许可证")], ids[(H1, "生鲜乳收购许可证")]
    ten = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    log(engine, milk, "callback", who="乙", callback_at=ten)
    held = claim(engine, "甲", now=ten - timedelta(minutes=5))  # 乙's callback is not due yet
    assert held is not None and (held.holder, held.reminders) == (H1, [pesticide])

    other = claim(engine, "乙", now=ten)  # the callback is due, but 甲 is on the phone to H1
    assert other is not None and other.holder == H3
    assert reminder(engine, milk).claimed_by_id is None
    assert [e.holder for e in listing(engine, "丙", ten, claimed=False)] == []
    shown = {e.holder: e.claimed_by_id for e in listing(engine, "乙", ten)}
    assert shown[H1] == staff_id(engine, "甲")

    log(engine, pesticide, "informed", now=ten)  # 甲's call ends: 乙 may call back
    with db.session_scope(engine, write=True) as session:
        claims.release(session, staff_id=staff_id(engine, "乙"), reminder_ids=other.reminders)
    back = claim(engine, "乙", now=ten + timedelta(minutes=1))
    assert back is not None and (back.holder, back.reminders) == (H1, [milk])


def test_a_claim_in_one_section_holds_the_holder_in_every_section(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine, tmp_path, TWO_CERTIFICATES)
    other = add_other_section(engine, tmp_path)
    health = reminder_ids(engine)[(H1, "卫生许可证")]
    assert reminder(engine, health).state == "due"
    held = claim(engine, "甲")
    assert held is not None and held.holder == H1

    assert claim(engine, "社务", section=other) is None  # H1 is its only holder
    [entry] = listing(engine, "社务", NOW, section=other)
    assert (entry.reminders, entry.claimed_by_id) == ([health], staff_id(engine, "甲"))
    assert entry.claim_expires_at == held.claim_expires_at
    assert listing(engine, "社务", NOW, section=other, claimed=False) == []
    [mine] = listing(engine, "甲", NOW, section=other)  # 甲's own claim is no colleague's
    assert mine.claimed_by_id is None

    later = NOW + timedelta(minutes=11)  # 甲's lease is over
    taken = claim(engine, "社务", now=later, section=other)
    assert taken is not None and taken.reminders == [health]


def test_an_own_claim_at_its_lease_end_yields_to_a_desk_claiming_the_holder(
    engine: Engine, tmp_path: Path
) -> None:
    """PostgreSQL: two desks whose clocks disagree about a lease's end never both hold it.

    社务's clock says 甲's lease is over and claims H1 in its section; before it commits, 甲's
    desk (its clock a minute behind) asks again. Snapshots hide 社务's uncommitted claim from
    甲's claiming UPDATE: only the holder's row lock keeps 甲 off H1.
    """
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: the claims cannot overlap")
    build(engine, tmp_path, TWO_CERTIFICATES)
    other = add_other_section(engine, tmp_path)
    held = claim(engine, "甲")
    assert held is not None and held.holder == H1
    with db.session_scope(engine, write=True) as session:
        taken = claims.next_for(
            session,
            staff_id=staff_id(engine, "社务"),
            section_id=other,
            now=NOW + timedelta(minutes=11),
        )
        assert taken is not None and taken.holder == H1
        again = claim(engine, "甲", now=NOW + timedelta(minutes=9))
    assert again is not None and again.holder == H3
    lease_ends = {reminder(engine, rid).claim_expires_at for rid in held.reminders}
    assert lease_ends == {held.claim_expires_at}  # 甲's claim on H1 was not renewed


def test_the_own_claim_on_a_holder_marked_do_not_call_is_not_handed_back(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine, tmp_path, TWO_CERTIFICATES)
    held = claim(engine, "甲")
    assert held is not None and held.holder == H1
    mark_do_not_call(engine, H1)  # while 甲's desk holds the claim
    again = claim(engine, "甲", now=NOW + timedelta(minutes=1))
    assert again is not None and again.holder == H3
    assert [e.holder for e in listing(engine, "乙", NOW + timedelta(minutes=1))] == [H3]


def test_the_claiming_update_itself_refuses_a_do_not_call_holder(
    engine: Engine, tmp_path: Path
) -> None:
    """A holder marked between the pick and the claim (a race) is not claimed."""
    build(engine, tmp_path, TWO_CERTIFICATES)
    mark_do_not_call(engine, H1)
    h = table(Holder)
    with db.session_scope(engine, write=True) as session:
        holder_id = session.execute(select(h.c.id).where(h.c.name == H1)).scalar_one()
        _, claim_holder, _ = claims._claim_statements()
        rows = (
            session.connection()
            .execute(
                claim_holder,
                {
                    "p_section_id": section_id(engine),
                    "p_staff_id": staff_id(engine, "甲"),
                    "p_holder_id": holder_id,
                    "p_now": NOW,
                    "p_overdue": NOW - timedelta(minutes=15),
                    "p_until": NOW + timedelta(minutes=10),
                },
            )
            .all()
        )
    assert rows == []
    assert all(reminder(engine, rid).claimed_by_id is None for rid in reminder_ids(engine).values())


def test_the_own_claim_on_a_reminder_moved_to_email_is_not_handed_back(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine, tmp_path, [due_row(1, contact="13800000001 a@b.cn"), due_row(3)])
    held = claim(engine, "甲")
    assert held is not None and held.holder == H1
    for rid in held.reminders:  # the last number marked wrong: the holder is told by email
        set_reminder(engine, rid, channel="email")
    again = claim(engine, "甲", now=NOW + timedelta(minutes=1))
    assert again is not None and again.holder == H3


def test_a_page_lists_every_callable_certificate_of_its_holders(
    engine: Engine, tmp_path: Path
) -> None:
    """A holder's certificate filed months later comes after other holders' rows in the order;
    the page that shows the holder still lists it, as the claim then takes it too."""
    build(engine, tmp_path, [*TWO_CERTIFICATES, due_row(4), due_row(5)])
    ids = reminder_ids(engine)
    pesticide, milk = ids[(H1, "农药经营许可证")], ids[(H1, "生鲜乳收购许可证")]
    set_reminder(engine, milk, apply_by=date(2027, 6, 30))  # last in the order
    with db.session_scope(engine, write=False) as session:

        def page(only: claims.QueueFilter, offset: int = 0) -> list[claims.QueueEntry]:
            return claims.queue_entries(
                session,
                section_id=section_id(engine),
                staff_id=staff_id(engine, "乙"),
                now=NOW,
                limit=1,
                offset=offset,
                only=only,
            )

        def permit(reminder_id: int) -> claims.QueueFilter:
            cert = session.get(Certificate, reminder(engine, reminder_id).certificate_id)
            assert cert is not None
            return claims.QueueFilter(catalog_item_id=cert.catalog_item_id)

        for only in (claims.NO_FILTER, claims.QueueFilter(kind="due")):
            first, second = page(only), page(only, offset=1)
            assert [(e.holder, e.reminders) for e in first] == [(H1, [pesticide, milk])]
            assert len(first[0].certificates) == 2 and len(second) == 1
            assert second[0].holder != H1
        # A filter holds for the completion too: only the permit asked for.
        only_milk = page(permit(milk))
        assert [(e.holder, e.reminders) for e in only_milk] == [(H1, [milk])]
        [only_pesticide] = page(permit(pesticide))
        assert only_pesticide.reminders == [pesticide]
    held = claim(engine, "甲")
    assert held is not None and held.reminders == [pesticide, milk]


def test_the_completion_reads_its_few_reminders_by_key(engine: Engine, tmp_path: Path) -> None:
    """SQLite, offered the states' OR, read every due reminder through ix_reminder_state_*
    (7 ms on a million certificates) instead of the handful of ids the completion asks for."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's own plan; PostgreSQL reads the ids by key on its own")
    build(engine, tmp_path, [*TWO_CERTIFICATES, due_row(4), due_row(5)])
    r = table(Reminder)
    params = {"staff_id": 1, "now": NOW, "overdue": NOW - timedelta(minutes=15)}
    sent: list[tuple[str, object]] = []

    def record(_c: object, _cur: object, sql: str, parameters: object, *_: object) -> None:
        sent.append((sql, parameters))

    for only in (claims.NO_FILTER, claims.QueueFilter(kind="due")):
        statement = order._rows_of(False, only).where(r.c.id.in_(range(1, 41)))
        sent.clear()
        with engine.connect() as conn:
            event.listen(conn, "before_cursor_execute", record)
            conn.execute(statement, params).all()
            event.remove(conn, "before_cursor_execute", record)
            ((sql, parameters),) = sent
            plan = [
                row[-1]
                for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)  # type: ignore[arg-type]
            ]
        reminder_steps = [step for step in plan if "reminder" in step]
        assert reminder_steps, plan
        assert all("INTEGER PRIMARY KEY" in step for step in reminder_steps), plan
