"""`db copy` benchmark: a demo SQLite database into a scratch PostgreSQL database (issue 8).

    .venv/bin/python benchmarks/dbcopy_bench.py --db /tmp/x.sqlite \
        --server postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Builds the demo database first if the file does not exist (`--certificates`, default 100000).
Times, in one run: the floor, every source row streamed through SQLAlchemy Core and discarded;
then `dbcopy.copy_database` into a freshly created PostgreSQL database (dropped afterwards).
Prints both, their ratio, rows per second and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from callqueue import bootstrap, db, dbcopy
from callqueue.demo import build_demo


def build(path: Path, certificates: int) -> None:
    """The same demo database `callqueue demo --no-tui` writes."""
    from datetime import date

    engine = bootstrap.open_database(f"sqlite:///{path}")
    with db.session_scope(engine, write=True) as session:
        build_demo(session, today=date(2026, 11, 24), certificates=certificates, margin_workdays=10)
    engine.dispose()


def read_all(url: str) -> tuple[int, float]:
    """Stream every row of every table and drop it: the floor a copy cannot beat."""
    engine = db.make_engine(url)
    started = time.perf_counter()
    rows = 0
    with engine.connect().execution_options(stream_results=True) as conn:
        for tbl in dbcopy.tables():
            query = select(tbl).order_by(*tbl.primary_key.columns)
            for part in conn.execute(query).partitions(dbcopy.BATCH_ROWS):
                rows += len(part)
    engine.dispose()
    return rows, time.perf_counter() - started


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=Path("/tmp/callqueue-dbcopy-bench.sqlite"))
    parser.add_argument("--certificates", type=int, default=100_000)
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if not args.db.exists():
        started = time.perf_counter()
        build(args.db, args.certificates)
        print(f"built {args.db} in {time.perf_counter() - started:.1f} s")
    source_url = f"sqlite:///{args.db}"
    rows, floor = read_all(source_url)
    print(f"floor: read {rows} rows in {floor:.2f} s")

    name = f"dbcopy_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(args.server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    target_url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    try:
        source, target = db.make_engine(source_url), db.make_engine(target_url)
        report = dbcopy.copy_database(source=source, target=target)
        source.dispose()
        target.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"copy to PostgreSQL: {report.rows} rows in {report.seconds:.2f} s "
        f"= {report.seconds / floor:.1f}x the floor, {report.rows / report.seconds:,.0f} rows/s"
    )
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
