"""`callqueue db copy`: a whole database moves into an empty one, every value intact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select, text, update

from callqueue import bootstrap, db, dbcopy
from callqueue.cli import main
from callqueue.clock import SHANGHAI
from callqueue.db import table
from callqueue.models import Certificate, Staff
from callqueue.queue import outcomes
from callqueue.queue import staff as staff_service

from . import report_world
from .conftest import PG_URL, _create_pg_database, _drop_pg_database
from .queue_world import policy

TARGETS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]
NOTE = "客户说：下周一再打📞，地址“东丽区（津塘路）”\n第二行 a[/b]c ' \" \\ %s"


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite database holding the supervision world plus a callback with an odd note."""
    engine = bootstrap.open_database(f"sqlite:///{tmp_path / 'source.sqlite'}")
    ids = report_world.build(engine, tmp_path)
    with db.session_scope(engine, write=True) as session:
        worker = staff_service.staff_id(session, report_world.CALLER)
        outcomes.record_outcome(
            session,
            reminder_id=ids["R1"],
            outcome="callback",
            staff_id=worker,
            policy=policy(engine),
            data=outcomes.OutcomeInput(
                note=NOTE, callback_at=datetime(2026, 11, 25, 14, 30, tzinfo=SHANGHAI)
            ),
        )
        # A predecessor with a higher id than its successor: the copy cannot rely on id order.
        c = table(Certificate)
        low, high = session.execute(select(func.min(c.c.id), func.max(c.c.id))).one()
        session.execute(update(c).where(c.c.id == low).values(previous_id=high))
        # The app writes JSON null for "no before"; an older row may hold SQL NULL instead.
        session.execute(
            text(
                "INSERT INTO auditevent (at, actor, action, entity, entity_id, before, after, note)"
                " VALUES ('2026-11-24 01:00:00.000000', 't', 'old', 'x', '1', NULL, NULL, '')"
            )
        )
    yield engine
    engine.dispose()


@pytest.fixture(params=TARGETS)
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind (PostgreSQL only when CALLQUEUE_TEST_PG is set)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'target.sqlite'}"
        return
    if not PG_URL:
        pytest.skip("CALLQUEUE_TEST_PG is not set")
    url = _create_pg_database()
    yield url
    _drop_pg_database(url)


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order, as Python values."""
    with engine.connect() as conn:
        return {
            t.name: [
                tuple(row) for row in conn.execute(select(t).order_by(*t.primary_key.columns)).all()
            ]
            for t in dbcopy.tables()
        }


def nulls(engine: Engine) -> tuple[int, int]:
    """Audit rows whose `before` is SQL NULL, and JSON null: the copy keeps them apart."""
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(
                text(
                    "SELECT sum(CASE WHEN before IS NULL THEN 1 ELSE 0 END),"
                    " sum(CASE WHEN CAST(before AS TEXT) = 'null' THEN 1 ELSE 0 END)"
                    " FROM auditevent"
                )
            ).one()
        )


def test_copy_moves_every_value(source: Engine, target_url: str) -> None:
    before = dump(source)
    assert before["attempt"] and before["auditevent"] and before["certificate"]
    assert any(NOTE in row for row in before["attempt"])
    target = db.make_engine(target_url)
    try:
        report = dbcopy.copy_database(source=source, target=target, batch_rows=7)
        assert db.current_revision(target) == db.head_revision()
        assert dump(target) == before
        assert report.rows == sum(len(rows) for rows in before.values())
        assert all(c.source == c.target == len(before[c.table]) for c in report.tables)
        assert nulls(target) == nulls(source) and min(nulls(source)) > 0
        [called] = [r for r in dump(target)["attempt"] if NOTE in r]
        values = dict(zip(table_columns("attempt"), called, strict=True))
        assert values["callback_at"] == datetime(2026, 11, 25, 14, 30, tzinfo=SHANGHAI)
        assert values["at"].utcoffset() is not None
    finally:
        target.dispose()


def table_columns(name: str) -> list[str]:
    return [c.name for c in next(t for t in dbcopy.tables() if t.name == name).columns]


def test_new_rows_after_a_copy_get_fresh_ids(source: Engine, target_url: str) -> None:
    target = db.make_engine(target_url)
    try:
        dbcopy.copy_database(source=source, target=target)
        with db.session_scope(target, write=True) as session:
            staff_service.add_staff(
                session, name="新来的", section=report_world.A, role="caller", actor="t"
            )
        with target.connect() as conn:
            ids = conn.execute(select(table(Staff).c.id).order_by(table(Staff).c.id)).scalars()
            ids = list(ids)
        assert len(ids) == len(set(ids)) and ids[-1] > ids[-2]
    finally:
        target.dispose()


def test_a_target_holding_data_is_refused_and_untouched(
    source: Engine, target_url: str, tmp_path: Path
) -> None:
    bootstrap.open_database(target_url).dispose()  # migrated and holding the catalog
    target = db.make_engine(target_url)
    before = dump(target)
    result = CliRunner().invoke(main, ["--db", str(source.url), "db", "copy", "--to", target_url])
    assert result.exit_code == 1
    assert "已有数据" in result.output and "未复制" in result.output
    assert "Traceback" not in result.output
    assert dump(target) == before
    target.dispose()


def test_a_source_behind_head_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = db.make_engine(url)
    db.upgrade(engine, "359f13bcb6d1")  # the first revision only
    engine.dispose()
    target = tmp_path / "target.sqlite"
    result = CliRunner().invoke(main, ["--db", url, "db", "copy", "--to", f"sqlite:///{target}"])
    assert result.exit_code == 1
    assert "db upgrade" in result.output and "不是最新" in result.output
    assert not target.exists() or db.is_empty(db.make_engine(f"sqlite:///{target}"))


def test_copy_into_itself_is_refused(source: Engine) -> None:
    with pytest.raises(dbcopy.CopyError, match="同一个"):
        dbcopy.copy_database(source=source, target=db.make_engine(str(source.url)))


def test_the_cli_prints_counts_as_json(source: Engine, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy.sqlite'}"
    result = CliRunner().invoke(
        main, ["--db", str(source.url), "db", "copy", "--to", target, "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    counts = {t["table"]: (t["source"], t["target"]) for t in doc["tables"]}
    expected = {name: len(rows) for name, rows in dump(source).items()}
    assert counts == {name: (n, n) for name, n in expected.items()}
    assert doc["rows"] == sum(expected.values()) and doc["revision"] == db.head_revision()


def test_a_count_mismatch_rolls_the_copy_back(
    source: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = dbcopy.row_counts
    calls = {"n": 0}

    def short_by_one(conn: Any) -> dict[str, int]:
        counts = real(conn)
        calls["n"] += 1
        if calls["n"] == 4:  # the target's count after the copy
            counts["holder"] -= 1
        return counts

    monkeypatch.setattr(dbcopy, "row_counts", short_by_one)
    target = db.make_engine(f"sqlite:///{tmp_path / 'copy.sqlite'}")
    with pytest.raises(dbcopy.CopyError, match="行数不一致"):
        dbcopy.copy_database(source=source, target=target)
    monkeypatch.setattr(dbcopy, "row_counts", real)
    with target.connect() as conn:
        assert sum(dbcopy.row_counts(conn).values()) == 0
    target.dispose()
