"""SQL helpers the reports share: a stored UTC timestamp's date on the office's calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from callqueue.clock import SHANGHAI

_OFFSET_HOURS = 8
"""Asia/Shanghai is UTC+8 all year (no daylight saving since 1991)."""


class local_date(FunctionElement[date]):  # noqa: N801 (SQL function style)
    """The Asia/Shanghai calendar date of a timestamp stored as UTC (SQLModel's UTCDateTime)."""

    type = Date()
    name = "local_date"
    inherit_cache = True


@compiles(local_date, "sqlite")
def _sqlite_local_date(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC text without an offset; date() shifts it and returns 'YYYY-MM-DD',
    # which compares correctly with the text of a Date column.
    return f"date({compiler.process(element.clauses, **kw)}, '+{_OFFSET_HOURS} hours')"


@compiles(local_date, "postgresql")
def _pg_local_date(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    zone = str(SHANGHAI)
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE '{zone}') AS DATE)"
