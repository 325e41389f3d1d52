"""Benchmark the ledger export (附件2) against a bare openpyxl write of the same cell values.

Usage: .venv/bin/python benchmarks/export_bench.py [--certificates 100000] [--db URL] [--repeat 3]

Builds a demo database (in a temporary folder, or once at `--db` if it has fewer certificates),
then times, each in a fresh subprocess so that each peak RSS is its own:
(a) the baseline: the same cell values, worked out beforehand, written by a write-only openpyxl
    workbook with no styling, no title, merge, widths or print setup;
(b) the export as `callqueue export ledger` runs it: read the ledger, write the workbook.
The ratio compares (b)'s writing, which includes working out the values (the contact cell's
phone formatting above all), to (a)'s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

TARGET_RATIO, TARGET_RSS_MB = 2.5, 400
TODAY = date(2026, 11, 25)


def rss_mb() -> float:
    """This process's peak resident set size in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def read_ledger(url: str) -> tuple[list[Any], list[str], str]:
    """The rows, sheets and office name, as `callqueue export ledger` reads them."""
    from callqueue import bootstrap, catalog, db
    from callqueue.ledger.listing import ledger_rows, ledger_sections

    engine = bootstrap.open_database(url)
    with db.session_scope(engine, write=False) as session:
        rows = ledger_rows(session, today=TODAY, sections=None)
        sheets = ledger_sections(session, sections=None, rows=rows)
        office = catalog.office(session)["name"]
    return rows, sheets, office


def bare(url: str, out: Path) -> dict[str, Any]:
    """Write the export's cell values with a bare write-only workbook: no look, no layout."""
    from openpyxl import Workbook

    from callqueue.ledger.export import HEADERS_OUT, body, by_section

    rows, sheets, office = read_ledger(url)
    start = time.perf_counter()
    values = {name: list(body(part)) for name, part in by_section(rows, sheets).items()}
    prepared = time.perf_counter() - start
    start, cpu_start = time.perf_counter(), cpu()
    book = Workbook(write_only=True)
    for n, (section, table) in enumerate(values.items()):
        ws = book.create_sheet(f"Sheet{n}")
        ws.append(["附件2"])
        ws.append([f"{office}许可证书到期前提醒台账"])
        ws.append([f"科室名称：{section}"])
        ws.append(HEADERS_OUT)
        for row in table:
            ws.append(row)
    book.save(out)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu": cpu() - cpu_start,
        "values_seconds": prepared,
        "rows": len(rows),
        "rss_mb": rss_mb(),
        "mb": out.stat().st_size / 1e6,
    }


def export(url: str, out: Path) -> dict[str, Any]:
    """The export: read the ledger, then `export_ledger` (values, looks, layout, atomic save)."""
    from callqueue.ledger.export import export_ledger

    start = time.perf_counter()
    rows, sheets, office = read_ledger(url)
    read = time.perf_counter() - start
    start, cpu_start = time.perf_counter(), cpu()
    export_ledger(rows, out, office_name=office, sections=sheets)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu": cpu() - cpu_start,
        "read_seconds": read,
        "rows": len(rows),
        "rss_mb": rss_mb(),
        "mb": out.stat().st_size / 1e6,
    }


def child(kind: str, url: str, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, url, str(out)]
    result: dict[str, Any] = json.loads(
        subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
    )
    return result


def ensure_demo(url: str, certificates: int) -> None:
    """A demo database with about `certificates` certificates at `url` (built if it has fewer)."""
    from callqueue import bootstrap, db
    from callqueue.demo import build_demo
    from callqueue.ledger.listing import certificate_count

    engine = bootstrap.open_database(url)
    with db.session_scope(engine, write=False) as session:
        have = certificate_count(session)
    if have < certificates * 0.95:
        start = time.perf_counter()
        with db.session_scope(engine, write=True) as session:
            build_demo(session, certificates=certificates - have, today=TODAY, margin_workdays=10)
        print(f"built {certificates - have:,} certificates in {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=100_000)
    parser.add_argument("--db", help="database URL to build once and reuse")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, url, out = args.child
        print(json.dumps((bare if kind == "bare" else export)(url, Path(out))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/export-bench.sqlite"
        ensure_demo(url, args.certificates)
        # Alternate the two and keep each one's fastest run: a busy machine slows single runs
        # unevenly, and the fastest is the one least disturbed.
        runs_a, runs_b = [], []
        for n in range(args.repeat):
            runs_a.append(child("bare", url, Path(tmp) / "bare.xlsx"))
            runs_b.append(child("export", url, Path(tmp) / "ledger.xlsx"))
            a, b = runs_a[-1], runs_b[-1]
            print(f"  run {n + 1}: bare {a['seconds']:.2f} s (cpu {a['cpu']:.2f} s),", end="")
            print(f" export {b['seconds']:.2f} s (cpu {b['cpu']:.2f} s)")
    a = min(runs_a, key=lambda r: r["seconds"])
    b = min(runs_b, key=lambda r: r["seconds"])
    ratio, ok_rss = b["seconds"] / a["seconds"], b["rss_mb"] < TARGET_RSS_MB
    print(
        f"{b['rows']:,} certificates; fastest of {args.repeat} runs each, each in its own process"
    )
    print(f"(a) bare write-only openpyxl, values only: {a['seconds']:6.2f} s", end="")
    print(f"  peak RSS {a['rss_mb']:4.0f} MB  ({a['mb']:.1f} MB file;", end="")
    print(f" working out the values beforehand: {a['values_seconds']:.2f} s)")
    print(f"(b) export_ledger:                         {b['seconds']:6.2f} s", end="")
    print(f"  peak RSS {b['rss_mb']:4.0f} MB  ({b['mb']:.1f} MB file;", end="")
    print(f" reading the ledger before it: {b['read_seconds']:.2f} s)")
    with_values = b["seconds"] / (a["seconds"] + a["values_seconds"])
    print(f"ratio b/a: {ratio:.2f}   rows/s: {b['rows'] / b['seconds']:,.0f}", end="")
    print(f"   (b against a plus working out the values: {with_values:.2f})")
    print(f"{'PASS' if ratio <= TARGET_RATIO else 'FAIL'}: export <= {TARGET_RATIO}x bare write")
    print(
        f"{'PASS' if ok_rss else 'FAIL'}: export peak RSS (with the rows read) < {TARGET_RSS_MB} MB"
    )
    sys.exit(0 if ratio <= TARGET_RATIO and ok_rss else 1)


if __name__ == "__main__":
    main()
