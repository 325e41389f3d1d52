"""Engine set-up: SQLite pragmas, write transactions under concurrency, unreachable servers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from callqueue import db


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'a.sqlite'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 1234
    engine.dispose()


def test_sqlite_creates_missing_directory(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'a.sqlite'}")
    db.check_connection(engine)
    assert (tmp_path / "deep" / "er" / "a.sqlite").exists()
    engine.dispose()


def test_write_sessions_begin_immediate(tmp_path: Path) -> None:
    """A read-then-write race must wait for the lock instead of failing with 'locked'.

    With a deferred BEGIN, two transactions that both read and then write deadlock and
    SQLite fails one at once (SQLITE_BUSY, not retried by busy_timeout). BEGIN IMMEDIATE
    makes the second wait, so every increment lands.
    """
    engine = db.make_engine(f"sqlite:///{tmp_path / 'c.sqlite'}", busy_timeout_ms=10_000)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def bump() -> None:
        try:
            barrier.wait()
            for _ in range(25):
                with db.session_scope(engine, write=True) as session:
                    n = session.execute(text("SELECT n FROM counter")).scalar_one()
                    session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar_one() == 100
    engine.dispose()


def test_session_scope_rolls_back_on_error(engine: object) -> None:
    with (
        pytest.raises(RuntimeError),
        db.session_scope(engine, write=True) as session,  # type: ignore[arg-type]
    ):
        session.execute(text("DELETE FROM catalogitem WHERE seq = 1"))
        raise RuntimeError("boom")
    with engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(text("SELECT count(*) FROM catalogitem")).scalar_one() == 14


def test_unreachable_postgres_is_one_chinese_line() -> None:
    engine = db.make_engine("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(db.DatabaseError) as info:
        db.check_connection(engine)
    message = str(info.value)
    assert message.startswith("无法连接数据库")
    assert "secret" not in message and "\n" not in message


def test_bad_url_is_refused() -> None:
    with pytest.raises(db.DatabaseError, match="数据库地址无效"):
        db.make_engine("nonsense://x")


def test_plain_postgresql_url_uses_psycopg3() -> None:
    engine = db.make_engine("postgresql://u@127.0.0.1:1/x")
    assert engine.dialect.driver == "psycopg"


def test_safe_url_hides_password() -> None:
    assert "secret" not in db.safe_url("postgresql+psycopg://u:secret@h/d")
