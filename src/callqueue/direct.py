"""Core statements run on SQLite's own cursor: the desk's claim and outcome path.

A claim and an outcome are short transactions of one and four small statements. SQLAlchemy's
execution path (execution context, parameter conversion, result object) cost 20–80 µs a
statement there, three times the database's own work (`benchmarks/queue_bench.py`). A `Direct`
statement is still built with Core and compiled by SQLAlchemy, once per dialect and set of
parameter names, and its values still go through the dialect's own type processors; only the
execution is done here: constants are converted once, each call converts just its own values and
hands them to the driver's cursor. On any other database `Connection.execute` runs it unchanged.

What this path skips: SQLAlchemy's statement events and echo logging. Errors are wrapped as
SQLAlchemy's own exceptions, so callers handle them the same way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Executable
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.dml import UpdateBase

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """One compiled form: SQL text, converted constants, converters per parameter and column."""

    sql: str
    constants: dict[str, Any]
    binds: tuple[tuple[str, Processor], ...]
    results: tuple[Processor, ...]


class Direct:
    """A Core statement executed on the SQLite driver's cursor (see the module docstring)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[Dialect, frozenset[str]], _Plan] = {}

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """The statement's rows (SELECT, or DML with RETURNING), values converted to Python."""
        if conn.dialect.name != "sqlite":
            return conn.execute(self.statement, dict(params)).all()
        plan = self._plan(conn.dialect, params)
        cursor = self._run(conn, plan, params)
        found: list[tuple[Any, ...]] = cursor.fetchall()
        cursor.close()
        convert = plan.results
        if not any(convert):
            return found
        return [
            tuple(value if p is None else p(value) for p, value in zip(convert, row, strict=True))
            for row in found
        ]

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Run a statement that returns nothing (INSERT, UPDATE)."""
        if conn.dialect.name != "sqlite":
            conn.execute(self.statement, dict(params))
            return
        self._run(conn, self._plan(conn.dialect, params), params).close()

    def insert(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run an INSERT of one row; return its new primary key."""
        if conn.dialect.name != "sqlite":
            key = conn.execute(self.statement, dict(params)).inserted_primary_key
            assert key is not None
            return int(key[0])
        cursor = self._run(conn, self._plan(conn.dialect, params), params)
        rowid = cursor.lastrowid
        cursor.close()
        assert rowid is not None
        return int(rowid)

    def _run(self, conn: Connection, plan: _Plan, params: Mapping[str, Any]) -> Any:
        # SQLAlchemy's own path would begin a transaction here; the driver's cursor (isolation
        # level None) would write in autocommit instead: a half-written outcome on an error.
        if not conn.in_transaction():
            raise RuntimeError("Direct statements run only inside a transaction")
        values = dict(plan.constants)
        for name, process in plan.binds:
            value = params[name]  # processors take None too (JSON writes it as 'null')
            values[name] = value if process is None else process(value)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(plan.sql, values)
        except sqlite3.Error as exc:
            cursor.close()
            raise sa_exc.DBAPIError.instance(
                plan.sql, None, exc, sqlite3.Error, hide_parameters=True
            ) from exc
        return cursor

    def _plan(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        key = (dialect, frozenset(params))  # one engine, one dialect: a handful of plans
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _compile(self.statement, dialect, params)
        return plan


def _compile(statement: Executable, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
    keys = list(params)
    compiled = statement.compile(dialect=dialect, column_keys=keys)  # type: ignore[attr-defined]
    if dialect.paramstyle != "named" or compiled.positiontup:
        raise ValueError("Direct needs the named paramstyle (db.make_engine sets it)")
    if (
        compiled.literal_execute_params
        or compiled.post_compile_params
        or getattr(compiled, "insert_prefetch", None)
        or getattr(compiled, "update_prefetch", None)
    ):
        raise ValueError("Direct runs plain statements: no expanding IN, no Python defaults")

    def processor(bind: Any) -> Processor:
        return bind.type.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[no-any-return]

    constants: dict[str, Any] = {}
    binds: list[tuple[str, Processor]] = []
    for name, bind in compiled.binds.items():
        if name in params:
            binds.append((name, processor(bind)))
            continue
        if bind.required or bind.callable is not None:
            raise ValueError(f"missing parameter {name!r}")
        process, value = processor(bind), bind.effective_value
        constants[name] = value if process is None else process(value)
    if isinstance(statement, UpdateBase):
        columns = list(statement.exported_columns)
    else:
        columns = list(getattr(statement, "selected_columns", ()))
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return _Plan(compiled.string, constants, tuple(binds), results)
