"""Engines, sessions and schema versions for SQLite (one desk) and PostgreSQL (several)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, CursorResult, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlmodel import Session, SQLModel

from callqueue.resources import bundled

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where a migration runs, not when a desk starts (a quarter of a second).
HEAD_REVISION = "9a6c3e1f7b52"
"""The newest migration of this installation; a test holds it to the migration scripts."""

WRITE_OPTION = "callqueue_write"
# A bulk write on SQLite runs with foreign keys unchecked; the writer checks its own rows.
BULK_OPTION = "callqueue_bulk"
_WRITE: dict[str, Any] = {WRITE_OPTION: True}
_BULK: dict[str, Any] = {WRITE_OPTION: True, BULK_OPTION: True}
_READ: dict[str, Any] = {}
T = TypeVar("T")


class DatabaseError(Exception):
    """A database that cannot be used; the message is for staff (Chinese)."""


# In the driver error raised when a SQLite file is no longer where the engine opened it.
FILE_GONE = "callqueue: the database file is gone"


def failure_kind(exc: BaseException) -> str | None:
    """A staff-facing description of a database failure, or None if `exc` is not one."""
    text = str(getattr(exc, "orig", exc)).lower()
    if FILE_GONE in text:
        return (
            "数据库文件已不在原处（被删除或移走），刚才的操作没有保存；请管理员恢复数据库文件后重试"
        )
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        if "locked" in text or "busy" in text:
            return "数据库正忙（其他工作台正在写入），请稍后重试"
        if "disk" in text or "readonly" in text or "read-only" in text:
            return "数据库文件无法写入（磁盘或权限问题），请联系管理员"
        return "无法连接数据库（网络或数据库服务中断），请检查后重试"
    if isinstance(exc, sa_exc.DBAPIError):
        return "数据库出错，请联系管理员"
    return None


def safe_url(url: str | URL) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<无效的数据库地址>"


def make_engine(url: str, *, busy_timeout_ms: int = 15_000) -> Engine:
    """An engine for `url`, set up for concurrent desks.

    SQLite gets WAL, a busy timeout, foreign keys, and write transactions that begin with
    `BEGIN IMMEDIATE` (a deferred BEGIN that later writes fails under concurrency instead of
    waiting). PostgreSQL goes through psycopg 3.

    Args:
        url: a SQLAlchemy URL (`sqlite:///path`, `postgresql+psycopg://…`).
        busy_timeout_ms: how long SQLite waits for a lock.

    Returns:
        The engine; nothing is connected yet.

    Raises:
        DatabaseError: the URL is malformed or names a driver that is not installed.
    """
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed, busy_timeout_ms)
        # Statement parameters are personal data: keep them out of exception messages.
        kwargs: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
        if parsed.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": 5}
        return create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise DatabaseError(f"数据库地址无效：{safe_url(url)}（{exc}）") from exc


def _sqlite_engine(url: URL, busy_timeout_ms: int) -> Engine:
    if url.database and url.database != ":memory:":
        from pathlib import Path

        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # Named parameters: SQLAlchemy converts each distinct parameter once, where qmark converts
    # every occurrence; the queue's statements repeat `now` and the staff id many times (the
    # claim: 81 positions, 30 names; 167 → 106 µs through SQLAlchemy on the 2-core machine).
    # `callqueue.direct` relies on it too.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False},
        hide_parameters=True,
        paramstyle="named",
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite would defer it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        # The default 2 MB page cache is smaller than one queue page's rows on a large ledger
        # (reminder + holder + certificate pages): it thrashed and every read became a syscall.
        cur.execute("PRAGMA cache_size = -16384")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        driver = conn.connection.driver_connection
        # SQLite ignores this pragma inside a transaction: set it (only when it changes) first.
        keys = "OFF" if options.get(BULK_OPTION) else "ON"
        info = conn.connection.info
        statement = f"BEGIN {'IMMEDIATE' if options.get(WRITE_OPTION) else 'DEFERRED'}"
        # Straight to the driver: SQLAlchemy's statement path cost several times the BEGIN on
        # the desk's claim and outcome, each one short transaction. Errors ("database is
        # locked" after the busy timeout) are wrapped as SQLAlchemy's, as its own path would.
        try:
            if info.get("foreign_keys", "ON") != keys:
                driver.execute(f"PRAGMA foreign_keys = {keys}")
                info["foreign_keys"] = keys
            driver.execute(statement)
        except sqlite3.Error as exc:
            raise sa_exc.DBAPIError.instance(
                statement, None, exc, sqlite3.Error, hide_parameters=True
            ) from exc

    if url.database and url.database != ":memory:" and not url.query.get("uri"):
        _guard_file(engine, os.path.abspath(os.path.expanduser(url.database)))
    return engine


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _guard_file(engine: Engine, path: str) -> None:
    """Keep every unit of work on the file now at `path`.

    An open SQLite connection goes on reading and writing a file that was deleted (or
    replaced, as `callqueue restore` does) under it: a desk would "save" into a file that is
    gone when it closes. Each checkout compares the file at the path with the one the
    connection opened; on a change the pool's connections are dropped and a new one opens
    the file now there. A missing file is refused, not created empty, once one was opened.
    """
    opened: dict[str, tuple[int, int] | None] = {}

    @event.listens_for(engine, "do_connect")
    def _refuse_missing(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
        if opened and _file_identity(path) is None:
            raise sqlite3.OperationalError(f"{FILE_GONE}: {path}")

    @event.listens_for(engine, "connect")
    def _remember(_dbapi_conn: Any, record: Any) -> None:
        record.info["file"] = opened["file"] = _file_identity(path)

    @event.listens_for(engine, "checkout")
    def _same_file(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if _file_identity(path) != record.info.get("file"):
            # Close the idle ones on the old file now, before a new connection opens the
            # file there: SQLite, closing the old file's last connection, deletes the -wal
            # by name, which by then could be the new file's.
            engine.pool.dispose()
            raise sa_exc.InvalidatePoolError(f"{FILE_GONE}: {path}")


def foreign_keys_checked(session: Session) -> bool:
    """Whether the database checks foreign keys row by row in this session's transaction."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return True
    return bool(conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one())


def table(model: type[SQLModel]) -> Table:
    """The Core table of a model, for bulk statements typed column by column."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def chunks(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """`values` in slices of `size`: IN (...) lists stay well below SQLite's parameter limit."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (the typed Result hides the cursor's count)."""
    return int(cast(CursorResult[Any], result).rowcount)


def core(session: Session) -> Connection:
    """The session's connection for a Core statement, the ORM's pending changes flushed first.

    A Core statement on `session.connection()` skips the ORM's execution path (its autoflush
    among it): flushing here keeps what an ORM query would have seen. In a `write_unit` with
    no ORM work pending, no ORM transaction is begun at all.
    """
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()  # not under `no_autoflush`, as the ORM's own queries
    return session.connection()


@contextmanager
def session_scope(engine: Engine, *, write: bool, bulk: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    Args:
        engine: from `make_engine`.
        write: the unit writes; on SQLite it then takes the write lock at BEGIN.
        bulk: a bulk write (a ledger import) that checks the references of the rows it
            writes itself (`foreign_keys_checked` tells it whether it must); on SQLite the
            per-row foreign key checks are then off for this unit only.
    """
    # Session-level options reach the connection before it begins (SQLAlchemy 2.1); an option
    # engine per call (`engine.execution_options()`) cost more than the desk's statements.
    options = (_BULK if bulk else _WRITE) if write else _READ
    with Session(engine, expire_on_commit=False, execution_options=options) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class _UnitSession(Session):
    """The session of a `write_unit`: Core work runs on the unit's connection without an ORM
    transaction; ORM work joins the connection's transaction. Both commit with the unit."""

    def __init__(self, conn: Connection) -> None:
        # rollback_only: the session never commits the unit's transaction, but rolls it back.
        super().__init__(bind=conn, expire_on_commit=False, join_transaction_mode="rollback_only")
        self._unit = conn

    def connection(self, bind_arguments: Any = None, execution_options: Any = None) -> Connection:
        """The unit's connection, in a transaction (begun here, on first use)."""
        if self.in_transaction() or bind_arguments or execution_options:
            return super().connection(bind_arguments, execution_options)
        conn = self._unit
        if not conn.in_transaction():  # statements on its cursor must never autocommit
            conn.begin()
        return conn

    def commit(self) -> None:
        """Flush, then commit the unit's transaction."""
        if self.in_transaction():
            super().commit()
        if self._unit.in_transaction():
            self._unit.commit()

    def rollback(self) -> None:
        """Roll back everything the unit did, Core and ORM alike."""
        if self.in_transaction():
            super().rollback()
        if self._unit.in_transaction():
            self._unit.rollback()


@contextmanager
def write_unit(engine: Engine) -> Iterator[Session]:
    """A short write unit for the desk's most frequent writes (claim, outcome, release).

    The same contract as `session_scope(engine, write=True)`: one transaction (SQLite: BEGIN
    IMMEDIATE), committed on success and rolled back on any error, including a
    `session.rollback()` inside. What differs is the cost: the outcome and claim paths run
    their statements on `session.connection()` (see `callqueue.direct`), and here that needs
    no ORM transaction: the session's own begin, commit and close cost more than a claim's
    statements. ORM work in the unit (rarer outcomes) joins the same transaction.
    """
    with engine.connect() as conn:
        conn.execution_options(**_WRITE)
        session = _UnitSession(conn)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            session.close()
            raise
        if session.identity_map:  # ORM objects it loaded: detach them, as session_scope does
            session.close()


def check_connection(engine: Engine) -> None:
    """Connect once, or raise DatabaseError with a message staff can act on."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        raise DatabaseError(f"无法连接数据库 {safe_url(engine.url)}：{_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- migrations -------------------------------------------------------------------------


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration pointing at the bundled migrations (and `engine`, if given)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(bundled("migrations")))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
        # Migrations take SQLite's write lock at BEGIN, so two desks starting at once queue up.
        cfg.attributes["engine"] = engine.execution_options(**{WRITE_OPTION: True})
    return cfg


def head_revision() -> str:
    """The newest migration this installation knows."""
    return HEAD_REVISION


def scripts_head() -> str:
    """The newest migration as the migration scripts say (what HEAD_REVISION must be)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at; None when it has never been migrated."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if found is None else str(found)


def is_empty(engine: Engine) -> bool:
    """True when the database has no tables at all."""
    with engine.connect() as conn:
        return not inspect(conn).get_table_names()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Revert migrations down to `revision` (`base` removes every table)."""
    from alembic import command

    command.downgrade(alembic_config(engine), revision)
