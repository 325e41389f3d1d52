"""The bulk write of an import: indexes rebuilt, references checked, foreign keys back on after."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlmodel import Session

from callqueue import db
from callqueue.db import table
from callqueue.ledger import bulk
from callqueue.models import Contact, ContactPhone, Holder

from .conftest import index_definitions
from .ledger_files import licence_row, write_annex2
from .test_ledger_import import SECTION, run_import

NOW = datetime(2026, 11, 24, 1, tzinfo=UTC)
HOLDER = {"name": "甲", "name_key": "甲", "do_not_call": False, "note": "", "created_at": NOW}
PHONE = {  # without its contact: each test gives one that does not exist
    "e164": "+8613800000000",
    "extension": "",
    "raw": "",
    "kind": "mobile",
    "position": 1,
    "invalid": False,
    "invalid_reason": "",
}


def test_an_import_that_fills_empty_tables_leaves_every_index_in_place(
    engine: Engine, tmp_path: Path
) -> None:
    before = index_definitions(engine)
    assert "ix_reminder_queue" in before
    assert "WHERE" in str(before["ix_reminder_claim"])  # partial, and kept so below
    rows = [licence_row(n) for n in range(1, 31)]
    report = run_import(engine, write_annex2(tmp_path / "a.xlsx", rows, section=SECTION))
    assert report.imported == 30
    assert index_definitions(engine) == before
    with engine.connect() as conn:  # the rebuilt index answers the queue's query
        if conn.dialect.name == "sqlite":
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM reminder WHERE section_id = 1 AND state = 'due'"
            ).all()
            assert any("ix_reminder_queue" in str(row) for row in plan)


def test_foreign_keys_are_checked_again_after_a_bulk_unit(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL always checks foreign keys")
    with db.session_scope(engine, write=True, bulk=True) as session:
        assert not db.foreign_keys_checked(session)
    with db.session_scope(engine, write=True) as session:
        assert db.foreign_keys_checked(session)
    with db.session_scope(engine, write=False) as session:
        assert db.foreign_keys_checked(session)


def test_a_dangling_reference_written_in_bulk_is_refused_and_nothing_is_kept(
    engine: Engine,
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("below: PostgreSQL checks each row itself")
    with (
        pytest.raises(bulk.BrokenReference, match="contactphone"),
        db.session_scope(engine, write=True, bulk=True) as session,
        bulk.loading(session, (Holder, Contact, ContactPhone), incoming=1),
    ):
        session.execute(insert(table(Holder)), HOLDER)
        session.execute(insert(table(ContactPhone)), PHONE | {"contact_id": 999_999})
    with Session(engine) as session:
        assert session.execute(select(table(Holder).c.id)).first() is None
        assert session.execute(select(table(ContactPhone).c.id)).first() is None


def test_references_are_checked_part_by_part_while_loading(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("below: PostgreSQL checks each row itself")
    seen_at = ""
    with (
        pytest.raises(bulk.BrokenReference, match="contactphone"),
        db.session_scope(engine, write=True, bulk=True) as session,
        bulk.loading(session, (Holder, Contact, ContactPhone), incoming=1) as check,
    ):
        session.execute(insert(table(Holder)), HOLDER)
        (holder_id,) = session.execute(select(table(Holder).c.id)).one()
        session.execute(
            insert(table(Contact)),
            {"holder_id": holder_id, "name": "", "invalid": False, "note": "", "created_at": NOW},
        )
        check()  # a sound part passes
        session.execute(insert(table(ContactPhone)), PHONE | {"contact_id": 999_999})
        seen_at = "part"
        check()  # finds the dangling row at once, before the load ends
        seen_at = "end"
    assert seen_at == "part"
    with Session(engine) as session:
        assert session.execute(select(table(Holder).c.id)).first() is None


def test_a_bulk_unit_on_postgresql_still_refuses_a_dangling_reference(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("covered above")
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session_scope(engine, write=True, bulk=True) as session:
        session.execute(
            text(
                "INSERT INTO contactphone (contact_id, e164, extension, raw, kind, position,"
                " invalid, invalid_reason) VALUES (999999, '+8613800000000', '', '',"
                " 'mobile', 1, false, '')"
            )
        )
