"""The desk's hot path: statements on the driver's cursor, the one-statement claim, BEGIN."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, bindparam, insert, select, text
from sqlalchemy import exc as sa_exc

from callqueue import db
from callqueue.db import table
from callqueue.direct import Direct
from callqueue.models import Attempt, AuditEvent, Reminder
from callqueue.queue import claims
from callqueue.queue.reminder_rows import COLUMNS

from .queue_world import NOW, build, due_row, reminder, section_id, set_reminder, staff_id


def test_direct_rows_convert_like_sqlalchemy(engine: Engine, tmp_path: Path) -> None:
    ids = sorted(build(engine, tmp_path, [due_row(1), due_row(2)]).values())
    set_reminder(engine, ids[0], next_action_at=NOW + timedelta(hours=1), late=True)
    r = table(Reminder)
    query = select(*(r.c[n] for n in COLUMNS)).where(r.c.id == bindparam("rid"))
    direct = Direct(query)
    with db.session_scope(engine, write=False) as session:
        conn = session.connection()
        for rid in ids:
            mine = direct.rows(conn, {"rid": rid})
            theirs = conn.execute(query, {"rid": rid}).all()
            assert [tuple(row) for row in mine] == [tuple(row) for row in theirs]
        assert direct.rows(conn, {"rid": -1}) == []
    first = dict(zip(COLUMNS, mine[0], strict=True))
    assert isinstance(first["late"], bool) and first["expires_on"].year > 2000


def test_direct_insert_returns_the_key_and_stores_json(engine: Engine, tmp_path: Path) -> None:
    rid = sorted(build(engine, tmp_path, [due_row(1)]).values())[0]
    add = Direct(insert(table(Attempt)))
    row = {
        "reminder_id": rid,
        "staff_id": staff_id(engine, "甲"),
        "at": NOW,
        "channel": "phone",
        "outcome": "informed",
        "note": "它's “引号”",
        "phone_id": None,
        "email_id": None,
        "conveyed": ["expiry", "place"],
        "materials_ticked": [],
        "callback_at": None,
    }
    with db.session_scope(engine, write=True) as session:
        new_id = add.insert(session.connection(), row)
    with db.session_scope(engine, write=False) as session:
        stored = session.get(Attempt, new_id)
    assert stored is not None
    assert (stored.reminder_id, stored.note, stored.conveyed) == (rid, row["note"], row["conveyed"])
    assert stored.at == NOW


def test_direct_errors_are_sqlalchemy_errors_and_change_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine, tmp_path, [due_row(1)])
    add = Direct(insert(table(Attempt)))
    bad = {
        "reminder_id": 999_999,  # no such reminder: the foreign key refuses it
        "staff_id": None,
        "at": NOW,
        "channel": "phone",
        "outcome": "informed",
        "note": "",
        "phone_id": None,
        "email_id": None,
        "conveyed": [],
        "materials_ticked": [],
        "callback_at": None,
    }
    with pytest.raises(sa_exc.IntegrityError), db.session_scope(engine, write=True) as session:
        add.insert(session.connection(), bad)
    if engine.dialect.name == "sqlite":  # a column left to its Python default: refused
        with pytest.raises(ValueError, match="Python defaults"), engine.connect() as conn:
            add.insert(conn, {"reminder_id": 1, "at": NOW, "outcome": "informed"})
    with db.session_scope(engine, write=False) as session:
        assert session.execute(select(table(Attempt).c.id)).first() is None


def test_a_claim_returns_what_the_queue_page_shows(engine: Engine, tmp_path: Path) -> None:
    """The one-statement claim returns names and order as the page's joined query reads them."""
    build(
        engine,
        tmp_path,
        [
            due_row(1, expires_on=date(2027, 2, 20)),
            due_row(2, expires_on=date(2027, 2, 10)),  # earliest: its holder comes first
            due_row(
                3,
                holder="东丽区第002号公司",
                certificate="兽药经营许可证",
                expires_on=date(2027, 5, 20),
            ),  # same holder as row 2: claimed with it
        ],
    )
    me, section = staff_id(engine, "甲"), section_id(engine)
    with db.session_scope(engine, write=False) as session:
        page = claims.queue_entries(session, section_id=section, staff_id=me, now=NOW)
    with db.session_scope(engine, write=True) as session:
        got = claims.next_for(session, staff_id=me, section_id=section, now=NOW)
    assert got is not None
    shown = page[0]
    assert len(shown.reminders) == 2
    assert (got.holder_id, got.holder, got.reminders, got.certificates) == (
        shown.holder_id,
        shown.holder,
        shown.reminders,
        shown.certificates,
    )
    assert (got.apply_by, got.expires_on, got.attempts, got.badges) == (
        shown.apply_by,
        shown.expires_on,
        shown.attempts,
        shown.badges,
    )
    assert got.claimed_by_id == me and got.claim_expires_at == NOW + timedelta(minutes=10)


def test_a_write_session_that_cannot_get_the_lock_fails_as_busy(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE goes to the driver directly; its failure still reads as 'database busy'."""
    path = tmp_path / "busy.sqlite"
    engine = db.make_engine(f"sqlite:///{path}", busy_timeout_ms=50)
    db.check_connection(engine)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with (
            pytest.raises(sa_exc.OperationalError) as caught,
            db.session_scope(engine, write=True) as session,
        ):
            session.connection()
        assert db.failure_kind(caught.value) == "数据库正忙（其他工作台正在写入），请稍后重试"
        with db.session_scope(engine, write=False) as session:  # readers are not blocked
            session.connection()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()


def test_direct_stores_exactly_what_sqlalchemy_stores(engine: Engine) -> None:
    """Same stored text for dates, JSON and a JSON None ('null', not SQL NULL) both ways."""
    t = table(AuditEvent)
    row = {
        "at": NOW,
        "staff_id": None,
        "actor": "t",
        "action": "test.direct",
        "entity": "reminder",
        "entity_id": "1",
        "before": None,
        "after": {"state": "informed", "attempts": 1},
        "note": "",
    }
    with db.session_scope(engine, write=True) as session:
        conn = session.connection()
        Direct(insert(t)).execute(conn, {**row, "actor": "direct"})
        conn.execute(insert(t), {**row, "actor": "core"})
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT actor, at, before, after FROM auditevent WHERE action = 'test.direct'")
        ).all()
    by_actor = {actor: tuple(rest) for actor, *rest in stored}
    assert by_actor["direct"] == by_actor["core"]


def test_the_claim_takes_callbacks_before_due_reminders(engine: Engine, tmp_path: Path) -> None:
    """The one-statement claim keeps DESIGN.md §5's order across its streams."""
    ids = build(
        engine,
        tmp_path,
        [due_row(1, expires_on=date(2027, 2, 25)), due_row(2, expires_on=date(2027, 2, 11))],
    )
    late, early = sorted(ids.values(), key=lambda rid: reminder(engine, rid).apply_by, reverse=True)
    me, other, section = staff_id(engine, "甲"), staff_id(engine, "乙"), section_id(engine)
    set_reminder(  # the later-filed holder asked 甲 to call back at 09:00
        engine, late, state="callback", next_action_at=NOW, callback_staff_id=me
    )

    def claim(who: int, minutes: int) -> claims.QueueEntry | None:
        with db.session_scope(engine, write=True) as session:
            return claims.next_for(
                session, staff_id=who, section_id=section, now=NOW + timedelta(minutes=minutes)
            )

    mine = claim(me, 5)  # own due callback first, though the other holder files earlier
    assert mine is not None and mine.reminders == [late] and mine.state == "callback"
    theirs = claim(other, 5)
    assert theirs is not None and theirs.reminders == [early]


def test_direct_refuses_to_write_outside_a_transaction(tmp_path: Path) -> None:
    """On SQLite's cursor a statement outside a transaction would commit on its own."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'a.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    add = Direct(text("INSERT INTO t VALUES (:n)"))
    with db.write_unit(engine) as session:
        conn = session.connection()
        add.execute(conn, {"n": 1})
        session.rollback()  # the unit's next `connection()` would begin again; `conn` alone not
        with pytest.raises(RuntimeError, match="inside a transaction"):
            add.execute(conn, {"n": 2})
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
    engine.dispose()
