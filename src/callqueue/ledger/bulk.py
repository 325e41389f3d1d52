"""Bulk inserts for the ledger import, fast on SQLite and by SQLAlchemy's RETURNING elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select
from sqlmodel import Session

from callqueue.db import foreign_keys_checked, table
from callqueue.models import Certificate, Contact, Holder

BATCH = 10_000  # rows converted and sent per executemany: bounds the copies held at once
# SQLite's page cache while an import writes, in KiB (a negative cache_size). The default 2 MB
# cannot hold the indexes a large ledger grows, so SQLite would spill pages to the WAL and read
# them back; 64 MB holds 100,000 rows' worth and saved a sixth of the write's CPU time.
IMPORT_CACHE_KIB = 65_536


# A key unique among the rows of one insert, to match RETURNING ids to rows; no key, no ids.
_KEYS: dict[str, tuple[str, ...]] = {
    table(Holder).name: ("name_key",),
    table(Contact).name: ("holder_id", "name"),
    table(Certificate).name: ("holder_id", "catalog_item_id", "expires_on"),
}


def insert_rows(
    session: Session,
    model: type[Any],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    fixed: dict[str, Any] | None = None,
    memo: dict[tuple[str, str], dict[Any, Any]] | None = None,
) -> list[int]:
    """Insert rows in bulk and return their new ids in order (on PostgreSQL: tables in _KEYS only).

    Args:
        session: the import's unit of work.
        model: the table's model.
        columns: the column of each position of a row.
        rows: one tuple per row, in `columns` order.
        fixed: columns with the same value in every row. Between them, `columns` and `fixed`
            must give every column that has a default.
        memo: values already converted for the database, by (table, column): pass the same
            dict to every call of one import, so a date seen in an earlier part is not
            converted again.
    """
    if not rows:
        return []
    t, conn, fixed = table(model), session.connection(), fixed or {}
    if conn.dialect.name != "sqlite" or conn.dialect.driver != "pysqlite":
        return _insert_returning(conn, t, columns, rows, fixed)
    # SQLAlchemy builds and converts a parameter dict per row (~15 µs, most of a 100,000-row
    # write) and cannot return SQLite's RETURNING rows in order without a statement per row.
    # So the rows go to the driver's executemany with their ids given: the write transaction
    # began with BEGIN IMMEDIATE, so nobody else can take the ids above the current maximum,
    # which are the ones SQLite would have picked. Each column is converted by the dialect's
    # own bind processor once per distinct value.
    dialect, quote = conn.dialect, conn.dialect.identifier_preparer.quote
    names = ("id", *columns, *fixed)
    convert = {n: t.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names}
    # The same value in every row is written into the statement, not bound a million times.
    consts = [_sql_literal(v if (p := convert[n]) is None else p(v)) for n, v in fixed.items()]
    sql = (
        f"INSERT INTO {quote(t.name)} ({', '.join(map(quote, names))}) "
        f"VALUES ({', '.join(['?'] * (1 + len(columns)) + consts)})"
    )
    changed = [(i, n, p) for i, n in enumerate(columns) if (p := convert[n]) is not None]
    memo = {} if memo is None else memo
    first = conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one() + 1
    ids = range(first, first + len(rows))
    for start in range(0, len(rows), BATCH):
        part = rows[start : start + BATCH]
        values: list[Iterable[Any]] = list(zip(*part, strict=True))
        for i, name, process in changed:
            done = memo.setdefault((t.name, name), {})
            for value in set(values[i]).difference(done):
                done[value] = process(value)
            values[i] = map(done.__getitem__, values[i])
        conn.exec_driver_sql(sql, list(zip(ids[start : start + len(part)], *values, strict=True)))
    return list(ids)


def _sql_literal(value: Any) -> str:
    """A stored value (after the dialect's bind processor) as an SQLite literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(int(value))
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def _insert_returning(
    conn: Connection,
    t: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    fixed: dict[str, Any],
) -> list[int]:
    """Insert through SQLAlchemy's batched INSERT … RETURNING; ids matched to rows by key."""
    params = [fixed | dict(zip(columns, row, strict=True)) for row in rows]
    key = _KEYS.get(t.name)
    if key is None:
        conn.execute(insert(t), params)
        return []
    stmt = insert(t).returning(t.c.id, *(t.c[k] for k in key))
    sent = [tuple(p[k] for k in key) for p in params]
    ids = {tuple(row[1:]): row[0] for row in conn.execute(stmt, params)}
    if len(ids) != len(sent):
        raise ValueError(f"{t.name}: {len(ids)} new keys {key} for {len(sent)} inserted rows")
    return [ids[k] for k in sent]


@contextmanager
def import_cache(session: Session) -> Iterator[None]:
    """On SQLite, give the connection a larger page cache for the duration, then restore it."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    # cache_size changes only this connection's memory, never what is written or when it is
    # synced, and may be set inside the transaction.
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


class BrokenReference(RuntimeError):
    """Rows the import wrote point at rows that do not exist (a bug: nothing is committed)."""


@contextmanager
def loading(
    session: Session, models: Sequence[type[Any]], incoming: int
) -> Iterator[Callable[[], None]]:
    """Around the inserts of an import on SQLite: cheaper index upkeep, references checked.

    A table that the import at least doubles loses its secondary (non-unique) indexes for the
    duration and gets them rebuilt at the end: sorting the rows once is far cheaper than
    `incoming` random inserts into each index (a first import of 100,000 rows spent a third of
    its write time there). Unique indexes stay, so duplicates are still refused row by row.
    When the unit runs without per-row foreign key checks (`session_scope(bulk=True)`), every
    reference of the new rows is checked, one query per table: for the rows written since the
    last check each time the caller calls what this yields (after each part, while the reading
    process is still busy), and for the rest at the end.

    Everything here is part of the import's transaction: an error rolls the indexes back too.

    Args:
        session: the import's unit of work.
        models: the tables the import inserts into.
        incoming: about how many rows each of them will receive.

    Yields:
        Check the references of the rows written so far (does nothing where the database
        checks them itself). Call it only between complete parts: a row may refer to a row
        of the same part written after it.

    Raises:
        BrokenReference: a new row refers to a missing row.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield _nothing
        return
    tables = [table(m) for m in models]
    since = {t.name: _max_id(conn, t) for t in tables}
    rebuilt = [ix for t in tables if since[t.name] < incoming for ix in t.indexes if not ix.unique]
    for index in rebuilt:
        index.drop(conn)
    check = _nothing if foreign_keys_checked(session) else _reference_checks(conn, tables)
    yield check
    for index in rebuilt:
        index.create(conn)
    check()


def _nothing() -> None:
    return None


def _max_id(conn: Connection, t: Table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one())


def _reference_checks(conn: Connection, tables: Sequence[Table]) -> Callable[[], None]:
    """What checks the references of the rows of `tables` written since the last call.

    The statements are written once, as SQL for the driver: run after every part, building
    and compiling them through SQLAlchemy each time cost more than SQLite's own work.
    """
    quote = conn.dialect.identifier_preparer.quote
    checks = []
    for t in tables:
        name = quote(t.name)
        joins, broken = [], []
        for n, fk in enumerate(sorted(t.foreign_keys, key=lambda f: f.parent.name)):
            column, target = quote(fk.parent.name), quote(fk.column.name)
            joins.append(
                f"LEFT OUTER JOIN {quote(fk.column.table.name)} AS p{n}"
                f" ON p{n}.{target} = {name}.{column}"
            )
            broken.append(f"({name}.{column} IS NOT NULL AND p{n}.{target} IS NULL)")
        count = (
            f"SELECT count(*) FROM {name} {' '.join(joins)}"
            f" WHERE {name}.id > ? AND {name}.id <= ? AND ({' OR '.join(broken)})"
        )
        top = f"SELECT coalesce(max(id), 0) FROM {name}"
        if broken:
            checks.append((t.name, top, count, [_max_id(conn, t)]))

    def check() -> None:
        for table_name, top, count, done in checks:
            upto = conn.exec_driver_sql(top).scalar_one()
            if upto == done[0]:
                continue
            found = conn.exec_driver_sql(count, (done[0], upto)).scalar_one()
            if found:
                raise BrokenReference(
                    f"导入写入了 {found} 行无效引用（{table_name}），已全部撤销，请联系开发人员"
                )
            done[0] = upto

    return check
