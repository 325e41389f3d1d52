"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel, select

from callqueue import audit, bootstrap, db
from callqueue.clock import SHANGHAI
from callqueue.models import CLAIMED, NEXT_ACTION_SET, AuditEvent

from .conftest import index_definitions


def _diff(engine: object) -> list[object]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(ctx, SQLModel.metadata))


def test_upgrade_from_empty_matches_models_and_downgrades(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url)
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert _diff(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables

    db.downgrade(engine, "base")
    left = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert left == set()
    assert db.current_revision(engine) is None

    db.upgrade(engine)  # and up again, cleanly
    assert _diff(engine) == []
    engine.dispose()


def test_queue_indexes_exist(engine: object) -> None:
    names = {ix["name"] for ix in inspect(engine).get_indexes("reminder")}  # type: ignore[arg-type]
    assert {"ix_reminder_queue", "ix_reminder_claim", "ix_reminder_next_action"} <= names


def test_audit_events_are_append_only(engine: object) -> None:
    with db.session_scope(engine, write=True) as session:  # type: ignore[arg-type]
        audit.record(session, action="test", entity="test", entity_id=1, after={"a": 1})
    for statement in ("UPDATE auditevent SET note = 'x'", "DELETE FROM auditevent"):
        with (
            pytest.raises(DBAPIError, match="append-only"),
            db.session_scope(engine, write=True) as session,  # type: ignore[arg-type]
        ):
            session.execute(text(statement))
    with db.session_scope(engine, write=False) as session:  # type: ignore[arg-type]
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "test")).all()
    assert len(events) == 1 and events[0].note == ""
    assert events[0].at.astimezone(SHANGHAI).year == datetime.now(SHANGHAI).year


def test_first_use_migrates_and_seeds(empty_db_url: str) -> None:
    engine = bootstrap.open_database(empty_db_url)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM catalogitem")).scalar_one() == 14
        assert conn.execute(text("SELECT count(*) FROM section")).scalar_one() == 4
    # A second opening changes nothing.
    bootstrap.open_database(empty_db_url).dispose()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM catalogitem")).scalar_one() == 14
    engine.dispose()


def test_foreign_database_is_refused(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE someone_elses (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(db.DatabaseError, match="不是 callqueue 数据库"):
        bootstrap.open_database(empty_db_url)


def test_0002_fills_the_reminder_expiry_from_existing_rows(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url)
    db.upgrade(engine, "359f13bcb6d1")
    now = "2026-11-24 08:00:00"
    statements = [
        "INSERT INTO section (id, name, kind, slot_minutes, slot_capacity) "
        "VALUES (1, '社会事务科', 'approval', 30, 2)",
        "INSERT INTO catalogitem (id, seq, permit_item, certificate_name, section_id, "
        "validity_years, method, lead_months, deadline_kind, deadline_note, legal_basis, "
        "basis_level, confidence, materials, sources, active, updated_at) VALUES (1, 1, 'x', "
        f"'卫生许可证', 1, '[4]', 'phone', 3, 'latest_filing', '', '', '', '', '[]', '[]', true, '{now}')",
        "INSERT INTO holder (id, name, name_key, do_not_call, note, created_at) "
        f"VALUES (1, '甲公司', '甲公司', false, '', '{now}')",
        "INSERT INTO certificate (id, holder_id, catalog_item_id, section_id, number, "
        "expires_on, expiry_computed, status, created_at) "
        f"VALUES (1, 1, 1, 1, '', '2027-05-31', false, 'active', '{now}')",
        "INSERT INTO reminder (id, certificate_id, holder_id, section_id, state, channel, "
        "remind_on, planned_remind_on, apply_by, pulled_earlier, late, follow_up, attempts, "
        "assisted, assisted_notes, needs_repair, close_reason, version, updated_at) VALUES "
        "(1, 1, 1, 1, 'scheduled', 'phone', '2026-11-20', '2027-02-26', '2026-12-02', true, "
        f"false, false, 0, false, '', false, '', 1, '{now}')",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    db.upgrade(engine)
    with engine.connect() as conn:
        got = conn.execute(text("SELECT expires_on FROM reminder WHERE id = 1")).scalar_one()
    assert str(got) == "2027-05-31"
    assert _diff(engine) == []
    engine.dispose()


def test_0003_starts_existing_assisted_cases_at_registered(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url)
    db.upgrade(engine, "8c1a3604f352")
    now = "2026-11-24 08:00:00+00:00"
    statements = [
        "INSERT INTO section (id, name, kind, slot_minutes, slot_capacity) "
        "VALUES (1, '社会事务科', 'approval', 30, 2)",
        "INSERT INTO catalogitem (id, seq, permit_item, certificate_name, section_id, "
        "validity_years, method, lead_months, deadline_kind, deadline_note, legal_basis, "
        "basis_level, confidence, materials, sources, active, updated_at) VALUES (1, 1, 'x', "
        f"'卫生许可证', 1, '[4]', 'phone', 3, 'latest_filing', '', '', '', '', '[]', '[]', true, '{now}')",
        "INSERT INTO holder (id, name, name_key, do_not_call, note, created_at) "
        f"VALUES (1, '甲公司', '甲公司', false, '', '{now}')",
        *(
            "INSERT INTO certificate (id, holder_id, catalog_item_id, section_id, number, "
            "expires_on, expiry_computed, status, created_at) "
            f"VALUES ({n}, 1, 1, 1, '', '2027-05-3{n}', false, 'active', '{now}')"
            for n in (0, 1)
        ),
        *(
            "INSERT INTO reminder (id, certificate_id, holder_id, section_id, state, channel, "
            "expires_on, remind_on, planned_remind_on, apply_by, pulled_earlier, late, "
            "follow_up, attempts, assisted, assisted_notes, needs_repair, close_reason, "
            f"version, updated_at) VALUES ({n}, {n}, 1, 1, '{state}', 'phone', '2027-05-3{n}', "
            "'2026-11-20', '2027-02-26', '2026-12-02', true, false, false, 1, "
            f"{assisted}, '', false, '', 1, '{now}')"
            for n, state, assisted in ((0, "informed", "false"), (1, "assisted", "true"))
        ),
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    db.upgrade(engine)
    with engine.connect() as conn:
        got = conn.execute(
            text("SELECT id, assist_stage, assist_registered_on FROM reminder ORDER BY id")
        ).all()
    assert [(i, s, str(d) if d else None) for i, s, d in got] == [
        (0, None, None),
        (1, "registered", "2026-11-24"),
    ]
    assert _diff(engine) == []
    engine.dispose()


def test_the_known_head_is_the_newest_migration_script() -> None:
    # Desks compare the database with db.HEAD_REVISION without loading alembic: a new
    # migration must move it too.
    assert db.head_revision() == db.scripts_head()


PARTIAL = {"ix_reminder_claim": CLAIMED, "ix_reminder_next_action": NEXT_ACTION_SET}


def test_0010_makes_the_claim_and_next_action_indexes_partial(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url)
    db.upgrade(engine, "5b2d8f0c6e14")
    for name in PARTIAL:
        assert "WHERE" not in str(index_definitions(engine)[name]).upper()
    db.upgrade(engine)
    for name, where in PARTIAL.items():
        # PostgreSQL writes it back in its own words: (claimed_by_id IS NOT NULL)
        assert where in str(index_definitions(engine)[name]).replace("(", "").replace(")", "")
    assert _diff(engine) == []
    db.downgrade(engine, "5b2d8f0c6e14")
    for name in PARTIAL:
        assert "WHERE" not in str(index_definitions(engine)[name]).upper()
    engine.dispose()
