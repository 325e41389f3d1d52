"""Copy a whole callqueue database into another one (SQLite → PostgreSQL, usually).

The target is migrated to head first, then every table is streamed across in foreign-key
order inside one transaction on the target, and the row counts of both sides are compared
before that transaction commits. A mismatch or any failure leaves the target without data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Integer, Table, bindparam, func, inspect, select
from sqlmodel import SQLModel

from callqueue import db
from callqueue import models as _models  # noqa: F401  (registers every table on the metadata)

BATCH_ROWS = 5000
Progress = Callable[[str, int], None]


class CopyError(db.DatabaseError):
    """The copy was refused or failed; the message is for staff (Chinese)."""


@dataclass(frozen=True)
class TableCount:
    """Rows of one table on each side after the copy."""

    table: str
    source: int
    target: int


@dataclass
class CopyReport:
    """What `copy_database` did."""

    source: str
    target: str
    revision: str
    tables: list[TableCount] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        """Rows copied in all."""
        return sum(t.target for t in self.tables)


def tables() -> list[Table]:
    """Every callqueue table, parents before children."""
    return list(SQLModel.metadata.sorted_tables)


def row_counts(conn: Connection) -> dict[str, int]:
    """Rows per callqueue table that exists on `conn` (missing tables are left out)."""
    present = set(inspect(conn).get_table_names())
    return {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for t in tables()
        if t.name in present
    }


def copy_database(
    *,
    source: Engine,
    target: Engine,
    batch_rows: int = BATCH_ROWS,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every row of `source` into the empty database `target`.

    Args:
        source: a callqueue database at the newest revision.
        target: an empty database, or one migrated but holding no rows.
        batch_rows: rows read and inserted per round trip.
        progress: called with (table name, rows copied so far) after each batch.

    Returns:
        The per-table counts of both sides (equal) and the time taken.

    Raises:
        CopyError: the source is not at head, the target holds data or other tables, the
            two are the same database, or the counts differ (nothing is kept then).
    """
    started = time.perf_counter()
    src_name, dst_name = db.safe_url(source.url), db.safe_url(target.url)
    if _same_database(source, target):
        raise CopyError("源数据库和目标数据库是同一个，不能复制")
    db.check_connection(source)
    db.check_connection(target)
    head = db.head_revision()
    current = db.current_revision(source)
    if current != head:
        raise CopyError(
            f"源数据库 {src_name} 的结构版本是 {current or '空'}，不是最新的 {head}；"
            f"请先运行：callqueue --db {src_name} db upgrade"
        )
    _refuse_unless_empty(target, dst_name)
    db.upgrade(target)
    report = CopyReport(source=src_name, target=dst_name, revision=head)
    with _snapshot(source) as src, _write(target) as dst:
        _refuse_unless_empty_conn(dst, dst_name)  # another desk may have written meanwhile
        for tbl in tables():
            _copy_table(src, dst, tbl, batch_rows, progress)
        if dst.dialect.name == "postgresql":
            _reset_sequences(dst)
        before, after = row_counts(src), row_counts(dst)
        report.tables = [TableCount(t.name, before[t.name], after[t.name]) for t in tables()]
        wrong = [c for c in report.tables if c.source != c.target]
        if wrong:
            detail = "，".join(f"{c.table} {c.source}→{c.target}" for c in wrong)
            raise CopyError(f"复制后行数不一致（{detail}），已撤销，目标数据库未写入数据")
    report.seconds = time.perf_counter() - started
    return report


def _same_database(a: Engine, b: Engine) -> bool:
    ua, ub = a.url, b.url
    if ua.get_backend_name() != ub.get_backend_name():
        return False
    if ua.get_backend_name() != "sqlite":
        return (ua.host, ua.port, ua.database) == (ub.host, ub.port, ub.database)
    if not ua.database or not ub.database or ":memory:" in (ua.database, ub.database):
        return False
    return Path(ua.database).expanduser().resolve() == Path(ub.database).expanduser().resolve()


def _refuse_unless_empty(engine: Engine, name: str) -> None:
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        ours = {t.name for t in tables()} | {"alembic_version"}
        strangers = sorted(present - ours)
        if strangers:
            raise CopyError(
                f"目标数据库 {name} 中有其他数据表（{'、'.join(strangers[:5])}），"
                "不是空的 callqueue 数据库，未复制"
            )
        _refuse_unless_empty_conn(conn, name)


def _refuse_unless_empty_conn(conn: Connection, name: str) -> None:
    held = {t: n for t, n in row_counts(conn).items() if n}
    if held:
        rows = sum(held.values())
        raise CopyError(
            f"目标数据库 {name} 中已有数据（{len(held)} 个表共 {rows} 行），未复制；"
            "请换一个新建的空数据库"
        )


class _snapshot:
    """A read transaction on the source that sees one consistent state throughout."""

    def __init__(self, engine: Engine) -> None:
        opts: dict[str, Any] = {"stream_results": True}
        if engine.dialect.name == "postgresql":
            opts["isolation_level"] = "REPEATABLE READ"
        self._conn = engine.connect().execution_options(**opts)

    def __enter__(self) -> Connection:
        self._conn.begin()
        return self._conn

    def __exit__(self, *exc: object) -> None:
        self._conn.rollback()
        self._conn.close()


class _write:
    """One write transaction on the target: committed only if the block ends normally."""

    def __init__(self, engine: Engine) -> None:
        self._conn = engine.connect().execution_options(**{db.WRITE_OPTION: True})

    def __enter__(self) -> Connection:
        self._conn.begin()
        return self._conn

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        try:
            if kind is None:
                self._conn.commit()
            else:
                self._conn.rollback()
        finally:
            self._conn.close()


def _copy_table(
    src: Connection, dst: Connection, tbl: Table, batch_rows: int, progress: Progress | None
) -> None:
    # A column that points at its own table (a renewed certificate's predecessor) may name a
    # row not inserted yet: insert it empty, then fill it in once the whole table is there.
    self_refs = [fk.parent.name for fk in tbl.foreign_keys if fk.column.table is tbl]
    # JSON columns: SQL NULL and JSON null both read as None; ask which one each row holds.
    json_nullable = [c for c in tbl.columns if isinstance(c.type, JSON) and c.nullable]
    flags = [c.is_(None).label(f"_null_{c.name}") for c in json_nullable]
    query = select(*tbl.columns, *flags).order_by(*tbl.primary_key.columns)
    insert = tbl.insert()
    if json_nullable:
        insert = insert.values(
            {c.name: bindparam(c.name, type_=JSON(none_as_null=True)) for c in json_nullable}
        )
    names = [c.name for c in tbl.columns]
    pk = [c.name for c in tbl.primary_key.columns]
    write = _copier(dst, tbl) if dst.dialect.name == "postgresql" else None
    pending: list[dict[str, Any]] = []
    copied = 0
    for batch in _batches(src, query, batch_rows):
        rows = []
        for row in batch:
            values = dict(zip(names, row, strict=False))
            for i, col in enumerate(json_nullable):
                if values[col.name] is None and not row[len(names) + i]:
                    values[col.name] = JSON.NULL
            if self_refs and any(values[n] is not None for n in self_refs):
                pending.append(
                    {f"_k_{k}": values[k] for k in pk} | {n: values[n] for n in self_refs}
                )
                values.update(dict.fromkeys(self_refs))
            rows.append(values)
        if write is not None:
            write(rows)
        else:
            dst.execute(insert, rows)
        copied += len(rows)
        if progress is not None:
            progress(tbl.name, copied)
    if pending:
        fill = (
            tbl.update()
            .where(*[tbl.c[k] == bindparam(f"_k_{k}") for k in pk])
            .values({n: bindparam(n) for n in self_refs})
        )
        for chunk in db.chunks(pending, batch_rows):
            dst.execute(fill, list(chunk))


def _copier(dst: Connection, tbl: Table) -> Callable[[list[dict[str, Any]]], None]:
    """PostgreSQL's COPY for one table: several times faster than INSERT for bulk rows."""
    dialect = dst.dialect
    quote = dialect.identifier_preparer.quote
    cols = list(tbl.columns)
    procs = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in cols]
    sql = f"COPY {quote(tbl.name)} ({', '.join(quote(c.name) for c in cols)}) FROM STDIN"
    raw: Any = dst.connection.driver_connection

    def write(rows: list[dict[str, Any]]) -> None:
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for values in rows:
                copy.write_row(
                    [
                        None if (v := values[c.name]) is None else p(v) if p else v
                        for c, p in zip(cols, procs, strict=True)
                    ]
                )

    return write


def _batches(conn: Connection, query: Any, size: int) -> Iterator[Sequence[Any]]:
    result = conn.execute(query)
    yield from result.partitions(size)


def _reset_sequences(conn: Connection) -> None:
    """Point each serial id sequence past the copied rows (the inserts gave explicit ids)."""
    quote = conn.dialect.identifier_preparer.quote
    for tbl in tables():
        keys = list(tbl.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        qt, qc = quote(tbl.name), quote(keys[0].name)
        seq = conn.exec_driver_sql(
            "SELECT pg_get_serial_sequence(%(t)s, %(c)s)", {"t": qt, "c": keys[0].name}
        ).scalar()
        if seq is not None:  # a natural key (calendaryear.year) has no sequence
            conn.exec_driver_sql(
                f"SELECT setval(%(s)s, COALESCE(MAX({qc}), 1), MAX({qc}) IS NOT NULL) FROM {qt}",
                {"s": seq},
            )
