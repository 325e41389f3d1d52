"""Engine set-up: SQLite pragmas, write transactions under concurrency, unreachable servers."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, bindparam, delete, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from callqueue import db
from callqueue.db import table
from callqueue.direct import Direct
from callqueue.models import CatalogItem


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


def _seqs(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT seq FROM catalogitem ORDER BY seq")).scalars())


_DELETE = Direct(delete(table(CatalogItem)).where(table(CatalogItem).c.seq == bindparam("s")))


def _driver_delete(session: Session, seq: int) -> None:
    """A write as the desk's hot path makes it: on the driver's cursor, outside the ORM."""
    _DELETE.execute(session.connection(), {"s": seq})


def test_write_unit_commits_core_and_orm_work_together(engine: Engine) -> None:
    with db.write_unit(engine) as session:
        _driver_delete(session, 1)
        item = session.execute(select(CatalogItem).where(CatalogItem.seq == 2)).scalar_one()
        item.deadline_note = "改过"  # ORM work joins the unit's transaction
        _driver_delete(session, 3)
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    # Like session_scope, the unit leaves what it loaded detached, its values kept.
    assert inspect(item).detached and item.deadline_note == "改过"
    assert _seqs(engine) == [2, *range(4, 15)]
    with db.session_scope(engine, write=False) as reader:
        stored = reader.execute(select(CatalogItem).where(CatalogItem.seq == 2)).scalar_one()
        assert stored.deadline_note == "改过"


@pytest.mark.parametrize("orm_first", [False, True])
def test_write_unit_rolls_back_everything_on_error(engine: Engine, orm_first: bool) -> None:
    with pytest.raises(RuntimeError), db.write_unit(engine) as session:
        if orm_first:  # the session begins the transaction itself, the unit's writes join it
            session.add(session.execute(select(CatalogItem).limit(1)).scalar_one())
        _driver_delete(session, 1)
        session.execute(text("DELETE FROM catalogitem WHERE seq = 2"))
        _driver_delete(session, 3)
        raise RuntimeError("boom")
    assert _seqs(engine) == list(range(1, 15))


def test_write_unit_orm_first_then_core_commits_both(engine: Engine) -> None:
    """As `call log` does: look the staff up (the session begins), then write on the cursor."""
    with db.write_unit(engine) as session:
        item = session.execute(select(CatalogItem).where(CatalogItem.seq == 2)).scalar_one()
        item.deadline_note = "先查后写"
        _driver_delete(session, 1)
    assert _seqs(engine) == list(range(2, 15))
    with db.session_scope(engine, write=False) as reader:
        stored = reader.execute(select(CatalogItem).where(CatalogItem.seq == 2)).scalar_one()
        assert stored.deadline_note == "先查后写"


def test_write_unit_failed_flush_at_commit_undoes_core_writes(engine: Engine) -> None:
    with pytest.raises(IntegrityError), db.write_unit(engine) as session:
        _driver_delete(session, 1)
        item = session.execute(select(CatalogItem).where(CatalogItem.seq == 3)).scalar_one()
        item.seq = 2  # unique: fails only when the unit's commit flushes it
    assert _seqs(engine) == list(range(1, 15))
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_write_unit_rollback_inside_undoes_core_writes(engine: Engine) -> None:
    """A dry run rolls back inside the unit: writes made on the connection go too, and later
    writes are in a transaction again (never autocommitted), kept only if the unit ends well."""
    with pytest.raises(RuntimeError), db.write_unit(engine) as session:
        _driver_delete(session, 1)
        session.rollback()
        # Read in the unit itself (another connection never sees its uncommitted writes).
        assert session.execute(text("SELECT count(*) FROM catalogitem")).scalar_one() == 14
        _driver_delete(session, 2)
        raise RuntimeError("boom")
    assert _seqs(engine) == list(range(1, 15))
    with db.write_unit(engine) as session:
        _driver_delete(session, 1)
        session.rollback()
        _driver_delete(session, 2)
    assert _seqs(engine) == [1, *range(3, 15)]


def test_write_unit_holds_sqlite_write_lock_from_its_first_statement(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'u.sqlite'}"
    engine, other = db.make_engine(url), db.make_engine(url, busy_timeout_ms=0)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    with db.write_unit(engine) as session:
        session.connection()  # BEGIN IMMEDIATE: the lock is taken before anything is read
        with pytest.raises(OperationalError, match="locked"), db.write_unit(other) as rival:
            rival.connection()
    with db.write_unit(other) as rival:  # released at the unit's end
        rival.connection().exec_driver_sql("INSERT INTO t VALUES (1)")
    engine.dispose()
    other.dispose()


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


def _copy(source: Path, dest: Path) -> Path:
    conn = sqlite3.connect(source)
    try:
        conn.execute(f"VACUUM INTO '{dest}'")
    finally:
        conn.close()
    return dest


def _names(engine: Engine) -> list[str]:
    with db.session_scope(engine, write=False) as session:
        return list(session.execute(text("SELECT name FROM person ORDER BY name")).scalars())


def _add(engine: Engine, name: str) -> None:
    with db.session_scope(engine, write=True) as session:
        session.execute(text("INSERT INTO person (name) VALUES (:n)"), {"n": name})


def test_sqlite_file_deleted_mid_session_refuses_work_instead_of_losing_it(
    tmp_path: Path,
) -> None:
    """A desk whose database file was deleted must not go on "saving" into the unlinked file
    (gone when the desk closes) nor create an empty one: it says so in Chinese, and works
    again once the file is put back."""
    path = tmp_path / "desk.sqlite"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE person (name TEXT NOT NULL)")
    _add(engine, "before")
    saved = _copy(path, tmp_path / "saved.sqlite")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    with pytest.raises(OperationalError) as refused:
        _add(engine, "lost")
    kind = db.failure_kind(refused.value)
    assert kind is not None and "数据库文件" in kind and "恢复" in kind
    with pytest.raises(OperationalError):
        _names(engine)
    assert not path.exists()  # no empty database made in its place

    saved.replace(path)  # an administrator restores it
    assert _names(engine) == ["before"]
    _add(engine, "after")
    assert _names(engine) == ["after", "before"]
    engine.dispose()


def test_sqlite_file_replaced_mid_session_is_read_and_written_in_its_new_form(
    tmp_path: Path,
) -> None:
    """`callqueue restore` swaps the file under a desk: the desk's next unit of work uses the
    file now at the path, not the replaced one it still had open."""
    path = tmp_path / "desk.sqlite"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE person (name TEXT NOT NULL)")
    _add(engine, "old")
    other = _copy(path, tmp_path / "other.sqlite")
    _add(engine, "only in the replaced file")
    other.replace(path)
    for suffix in ("-wal", "-shm"):  # as restore does: the old file's log must not apply
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    assert _names(engine) == ["old"]
    _add(engine, "new")
    engine.dispose()
    fresh = db.make_engine(f"sqlite:///{path}")
    assert _names(fresh) == ["new", "old"]
    fresh.dispose()
