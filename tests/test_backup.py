"""`callqueue backup` and `callqueue restore`: an online copy taken while a desk writes."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from callqueue import bootstrap, db, workdays
from callqueue.cli import main
from callqueue.db import table
from callqueue.models import Attempt
from callqueue.queue import claims, outcomes
from callqueue.queue import staff as staff_service

from .queue_world import HOURS, NOW, build, due_row

DESK = "甲"


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, *args])


def attempts(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM attempt").fetchone()[0])
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Desk(threading.Thread):
    """Claims and records outcomes in a loop until told to stop or the queue is empty."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.logged, self.errors = url, threading.Event(), 0, list[str]()

    def run(self) -> None:
        engine = db.make_engine(self.url)
        try:
            with db.session_scope(engine, write=False) as session:
                me = staff_service.get_staff(session, DESK)
                policy = outcomes.Policy(
                    calendar=workdays.load_calendar(session),
                    hours=HOURS,
                    today=NOW.date(),
                    now=NOW,
                )
            while not self.stop.is_set():
                with db.session_scope(engine, write=True) as session:
                    entry = claims.next_for(
                        session, staff_id=me.id, section_id=me.section_id, now=NOW
                    )
                    if entry is None:
                        return
                    for rid in entry.reminders:
                        outcomes.record_outcome(
                            session,
                            reminder_id=rid,
                            outcome="informed",
                            staff_id=me.id,
                            policy=policy,
                            at=datetime.now(NOW.tzinfo),
                        )
                        self.logged += 1
        except Exception as exc:  # asserted by the test
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            engine.dispose()


@pytest.fixture
def busy(tmp_path: Path) -> tuple[str, Path]:
    """A SQLite database with a due queue of 1500 holders."""
    path = tmp_path / "office.sqlite"
    url = f"sqlite:///{path}"
    engine = bootstrap.open_database(url)
    build(engine, tmp_path, [due_row(n) for n in range(1, 1501)])
    engine.dispose()
    return url, path


def check_consistent(path: Path) -> int:
    """Integrity and foreign keys hold, and every attempt is counted on its reminder."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = conn.execute(
            "SELECT count(*) FROM attempt a LEFT JOIN reminder r ON r.id = a.reminder_id"
            " WHERE r.id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        # record_outcome bumps reminder.attempts in the attempt's transaction: a torn copy
        # would show one without the other.
        counted, rows = conn.execute(
            "SELECT (SELECT coalesce(sum(attempts), 0) FROM reminder),"
            " (SELECT count(*) FROM attempt)"
        ).fetchone()
        assert counted == rows
        informed = conn.execute("SELECT count(*) FROM reminder WHERE state = 'informed'")
        assert informed.fetchone()[0] == rows
        return int(rows)
    finally:
        conn.close()


def test_backup_while_a_desk_writes_then_restore(busy: tuple[str, Path], tmp_path: Path) -> None:
    url, path = busy
    desk = Desk(url)
    desk.start()
    try:
        while attempts(path) < 20 and desk.is_alive():
            desk.join(0.05)
        taken: list[tuple[int, Path, int]] = []
        for n in range(3):
            out = tmp_path / f"backup{n}.sqlite"
            before = attempts(path)
            result = run(url, "backup", "-o", str(out))
            after = attempts(path)
            assert result.exit_code == 0, result.output
            assert "完整性检查通过" in result.output
            taken.append((before, out, after))
    finally:
        desk.stop.set()
        desk.join(60)
    assert desk.errors == [] and desk.logged > 0
    assert any(b < a for b, _, a in taken), "the desk wrote during none of the backups"
    for before, out, after in taken:
        assert not Path(f"{out}-wal").exists()  # one self-contained file
        fresh = tmp_path / f"restored-{out.stem}" / "office.sqlite"
        result = run(f"sqlite:///{fresh}", "restore", str(out), "--yes")
        assert result.exit_code == 0, result.output
        assert before <= check_consistent(fresh) <= after
        assert "另存为" not in result.output  # nothing was there to keep
    assert not list(tmp_path.glob(".*.tmp*"))


def test_restore_keeps_the_previous_database(busy: tuple[str, Path], tmp_path: Path) -> None:
    url, path = busy
    out = tmp_path / "backup.sqlite"
    assert run(url, "backup", "-o", str(out)).exit_code == 0
    desk = Desk(url)
    desk.start()
    while attempts(path) < 5 and desk.is_alive():
        desk.join(0.05)
    desk.stop.set()
    desk.join(60)
    worked = attempts(path)
    assert worked >= 5
    result = run(url, "restore", str(out), "--yes")
    assert result.exit_code == 0, result.output
    [kept] = path.parent.glob("office.sqlite.before-restore-*")
    assert str(kept) in result.output
    assert check_consistent(kept) == worked  # the -wal was folded in before it was kept
    assert attempts(path) == 0 and check_consistent(path) == 0
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    engine = bootstrap.open_database(url)  # the app opens the restored file normally
    with db.session_scope(engine, write=False) as session:
        assert session.execute(select(func.count()).select_from(table(Attempt))).scalar() == 0
    engine.dispose()


def test_an_older_backup_is_upgraded_on_restore(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    engine = db.make_engine(f"sqlite:///{old}")
    db.upgrade(engine, "359f13bcb6d1")
    engine.dispose()
    fresh = tmp_path / "now.sqlite"
    result = run(f"sqlite:///{fresh}", "restore", str(old), "--yes")
    assert result.exit_code == 0, result.output
    engine = db.make_engine(f"sqlite:///{fresh}")
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()


def test_backup_refuses_to_overwrite_without_force(busy: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = busy
    out = tmp_path / "exists.sqlite"
    out.write_text("keep me", encoding="utf-8")
    result = run(url, "backup", "-o", str(out))
    assert result.exit_code == 1 and "已存在" in result.output and "--force" in result.output
    assert out.read_text(encoding="utf-8") == "keep me"
    result = run(url, "backup", "-o", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert check_consistent(out) == 0


def test_backup_of_postgresql_points_at_pg_dump(tmp_path: Path) -> None:
    result = run(
        "postgresql+psycopg://someone@127.0.0.1:1/none", "backup", "-o", str(tmp_path / "x")
    )
    assert result.exit_code == 1 and "pg_dump" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "x").exists()


def _not_callqueue(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "不存在"),
        (lambda p: (p.write_text("姓名,电话\n", encoding="utf-8"), p)[1], "不是 SQLite"),
        (
            lambda p: (p.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20), p)[1],
            "无法作为数据库读取",
        ),
        (_not_callqueue, "不是 callqueue 数据库"),
    ],
    ids=["missing", "text", "garbage", "other-sqlite"],
)
def test_restore_refuses_a_bad_file_and_leaves_the_database(
    busy: tuple[str, Path], tmp_path: Path, make: object, message: str
) -> None:
    url, path = busy
    before = digest(path)
    bad = make(tmp_path / "bad.sqlite")  # type: ignore[operator]
    result = run(url, "restore", str(bad), "--yes")
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert result.output.startswith("错误：")
    assert digest(path) == before
    assert not list(path.parent.glob("*.before-restore-*"))


def test_restore_without_yes_off_a_terminal_changes_nothing(
    busy: tuple[str, Path], tmp_path: Path
) -> None:
    url, path = busy
    out = tmp_path / "backup.sqlite"
    assert run(url, "backup", "-o", str(out)).exit_code == 0
    before = digest(path)
    result = run(url, "restore", str(out))
    assert result.exit_code == 1 and "--yes" in result.output
    assert digest(path) == before
