"""Back up and restore a SQLite callqueue database as one self-contained file.

A backup uses SQLite's online backup API in one step, so it is a consistent snapshot even
while desks keep writing (WAL lets them). Both directions write a temporary file beside the
destination, check it, and rename it into place: a failure never leaves half a file.
PostgreSQL databases are backed up with pg_dump (see the README).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from callqueue import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_HINT = (
    "PostgreSQL 数据库请用 pg_dump 备份，例如：pg_dump -Fc -f callqueue.dump 数据库名；"
    "恢复用 pg_restore（见 README“多工作台：PostgreSQL 部署”）"
)


class BackupError(db.DatabaseError):
    """A backup or restore that was refused or failed; the message is for staff (Chinese)."""


@dataclass(frozen=True)
class BackupInfo:
    """A checked backup file."""

    path: Path
    revision: str
    size: int
    certificates: int


def sqlite_path(url: str) -> Path:
    """The file behind a SQLite URL; BackupError for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(PG_HINT)
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("内存数据库不能备份或恢复")
    return Path(parsed.database).expanduser()


def backup(*, engine: Engine, dest: Path, force: bool = False) -> BackupInfo:
    """Write a consistent copy of the SQLite database behind `engine` to `dest`.

    Args:
        engine: the database to back up (SQLite).
        dest: the backup file to write.
        force: replace `dest` if it exists.

    Returns:
        The checked backup.

    Raises:
        BackupError: PostgreSQL, `dest` exists without `force`, or the copy failed its check.
    """
    source = sqlite_path(engine.url.render_as_string(hide_password=False))
    if not source.is_file():
        raise BackupError(f"数据库文件不存在：{source}")
    if dest.exists() and not force:
        raise BackupError(f"文件已存在：{dest}；要覆盖请加 --force")
    if dest.exists() and dest.resolve() == source.resolve():
        raise BackupError("备份文件不能是数据库文件本身")
    if not dest.parent.is_dir():
        raise BackupError(f"目录不存在：{dest.parent}")
    with _temp_beside(dest) as temp:
        _copy_sqlite(source, temp)
        info = check_backup(temp)
        os.replace(temp, dest)
    _fsync_dir(dest.parent)
    return BackupInfo(dest, info.revision, dest.stat().st_size, info.certificates)


def check_backup(path: Path) -> BackupInfo:
    """Check that `path` is a whole callqueue SQLite database this version can open.

    Raises:
        BackupError: missing, not SQLite, damaged, not callqueue's, or from a newer version.
    """
    if not path.is_file():
        raise BackupError(f"备份文件不存在：{path}")
    with path.open("rb") as fh:
        if fh.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise BackupError(f"{path} 不是 SQLite 数据库文件")
    try:
        # immutable: read the file as it is, without locks or a -wal beside it
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
            if problems != ["ok"]:
                raise BackupError(f"{path} 已损坏（integrity_check：{problems[0]}）")
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "alembic_version" not in names or "certificate" not in names:
                raise BackupError(f"{path} 不是 callqueue 数据库")
            found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            certificates = int(conn.execute("SELECT count(*) FROM certificate").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} 无法作为数据库读取（{exc}）") from exc
    if found is None:
        raise BackupError(f"{path} 没有结构版本，不是完整的 callqueue 数据库")
    revision = str(found[0])
    if not known_revision(revision):
        raise BackupError(
            f"{path} 的结构版本 {revision} 比本程序新（最新 {db.head_revision()}），请先升级 callqueue"
        )
    return BackupInfo(path, revision, path.stat().st_size, certificates)


def known_revision(revision: str) -> bool:
    """True when this installation's migrations include `revision` (so it is ≤ head)."""
    from alembic.script import ScriptDirectory  # only here: see db.HEAD_REVISION
    from alembic.util import CommandError

    scripts = ScriptDirectory.from_config(db.alembic_config())
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def restore(*, url: str, backup_file: Path, now: datetime) -> tuple[BackupInfo, Path | None]:
    """Replace the SQLite database at `url` with `backup_file`, upgraded to head if older.

    The current database, if any, is first copied to `<db>.before-restore-<time>`. Desks
    must be closed: a desk still open would keep writing to the replaced file.

    Returns:
        The checked backup, and the file the previous database was kept in (None if none).

    Raises:
        BackupError: PostgreSQL, a bad backup file, or the database is in use.
    """
    target = sqlite_path(url)
    info = check_backup(backup_file)
    if target.exists() and target.resolve() == backup_file.resolve():
        raise BackupError("备份文件就是当前数据库，不需要恢复")
    target.parent.mkdir(parents=True, exist_ok=True)
    kept: Path | None = None
    with _temp_beside(target) as temp:
        _copy_sqlite(backup_file, temp)
        if info.revision != db.head_revision():
            engine = db.make_engine(f"sqlite:///{temp}")
            try:
                db.upgrade(engine)
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                engine.dispose()
            _single_file(temp)
        if target.exists():
            kept = target.with_name(f"{target.name}.before-restore-{now:%Y%m%d-%H%M%S}")
            _copy_sqlite(target, kept)
            _quiesce(target)
        os.replace(temp, target)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    _fsync_dir(target.parent)
    return info, kept


def _copy_sqlite(source: Path, dest: Path) -> None:
    """Copy one SQLite file to another in one backup step, then make it a single file."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(dest)
        try:
            # One step (pages=-1): a consistent snapshot; WAL lets writers go on meanwhile.
            src.backup(dst, pages=-1)
        except sqlite3.Error as exc:
            raise _as_os_error(exc) from exc
        finally:
            dst.close()
    finally:
        src.close()
    _single_file(dest)


_SQLITE_FILE_ERRORS = {8: errno.EROFS, 10: errno.EIO, 13: errno.ENOSPC}
"""SQLite's READONLY, IOERR and FULL: the copy could not be written, said as the OS would."""


def _as_os_error(exc: sqlite3.Error) -> Exception:
    """A failed write of the copy as an OSError (its reason is then said in Chinese)."""
    code = getattr(exc, "sqlite_errorcode", None)
    number = _SQLITE_FILE_ERRORS.get(code & 0xFF) if code is not None else None
    return OSError(number, str(exc)) if number is not None else exc


def _single_file(path: Path) -> None:
    """Rollback-journal mode and checked: the file stands alone, no -wal needed."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        result = conn.execute("PRAGMA integrity_check").fetchone()
        if result is None or result[0] != "ok":
            raise BackupError(f"复制出的文件未通过完整性检查：{result[0] if result else '?'}")
    finally:
        conn.close()
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _quiesce(target: Path) -> None:
    """Fold the -wal into the database file; refuse while another desk is mid-transaction."""
    conn = sqlite3.connect(target, timeout=5)
    try:
        busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as exc:
        raise BackupError(f"数据库正在使用，请先关闭所有工作台再恢复（{exc}）") from exc
    finally:
        conn.close()
    if busy:
        raise BackupError("数据库正在使用，请先关闭所有工作台再恢复")


@contextlib.contextmanager
def _temp_beside(dest: Path) -> Iterator[Path]:
    temp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{temp}{suffix}").unlink(missing_ok=True)
    try:
        # Made here, not by SQLite: a folder that cannot be written then fails with the OS's
        # reason (said in Chinese), not SQLite's "unable to open database file".
        os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        yield temp
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{temp}{suffix}").unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
