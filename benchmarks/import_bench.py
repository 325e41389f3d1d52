"""Benchmark the ledger import against a bare openpyxl read of the same 附件2 workbook.

Usage: .venv/bin/python benchmarks/import_bench.py [--rows 100000] [--keep DIR] [--repeat 3]

The workbook is generated in this process; each measurement then runs in a fresh subprocess,
so neither generation memory nor the other measurement counts towards its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

TARGET_RATIO, TARGET_RSS_MB = 0.5, 500
TODAY, MARGIN = date(2026, 11, 24), 10
ROOT = Path(__file__).resolve().parents[1]
KEYS = (
    "seq holder certificate issued_on expires_on contact_name contact reminded_on method reminder"
)
HEADERS = ["序号", "单位（个人）名称", "许可证书名称", "颁发日期", "期满日期", "联系人"]
HEADERS += ["联系方式", "提醒日期", "提醒方式", "提醒人"]
ZIHAO = "鑫瑞达恒泰华盛宏源金海兴隆昌顺福安康利民嘉禾祥和永信诚德润丰中"
ZIHAO += "天宇创新锦博远东方晨光明辉航正通广汇美佳百川万豪益联合众凯旋腾飞"
TRADE = ["商贸", "化工", "农业科技", "水产养殖", "医药", "石油销售", "环保科技"]
TRADE += ["奶牛养殖", "种业", "物流", "机械制造", "建材", "食品", "兽药"]
FORM = ("有限公司", "有限责任公司", "股份有限公司", "专业合作社", "加油站", "经营部")
PLACE = ("天津市东丽区", "天津", "天津市", "东丽区", "")
SURNAMES, TITLES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗", ("经理", "女士", "先生", "主任")
MOBILE = ("138", "139", "135", "136", "150", "151", "186", "187", "177", "199", "132", "158")
EXCEL_EPOCH = date(1899, 12, 30).toordinal()


def rss_mb() -> float:
    """This process's peak resident set size in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu() -> dict[str, float]:
    """This process's CPU seconds so far (user + system), steadier than wall time when busy."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu": usage.ru_utime + usage.ru_stime}


def dated(rnd: random.Random, d: date) -> Any:
    """A date cell as ledgers keep it: date cell, text forms, yyyymmdd or serial number."""
    serial = d.toordinal() - EXCEL_EPOCH
    forms: list[Any] = [datetime(d.year, d.month, d.day), f"{d.year}.{d.month}.{d.day}"]
    forms += [d.isoformat(), f"{d.year}年{d.month}月{d.day}日"]
    forms += [d.year * 10000 + d.month * 100 + d.day]
    return rnd.choices([*forms, serial, float(serial)], [40, 10, 15, 10, 10, 10, 5])[0]


def contact(rnd: random.Random, n: int) -> Any:
    """A contact cell: mobiles as text or number, landlines with 转, bare 8 digits, pairs, email."""
    mobile = rnd.choice(MOBILE) + f"{rnd.randrange(10**8):08d}"
    local = f"{rnd.randint(2, 8)}{rnd.randrange(10**7):07d}"
    forms: list[Any] = [mobile, int(mobile)]
    forms += [f"022-{local[:4]} {local[4:]}转{rnd.randint(100, 899)}"]
    forms += [local, int(local), f"{mobile}、022-{local}", f"{mobile} ledger{n}@163.com"]
    return rnd.choices([*forms, f"office{n}@qq.com", None], [35, 20, 10, 10, 5, 10, 5, 2, 3])[0]


def years_before(day: date, years: int) -> date:
    return date(day.year - years, day.month, min(day.day, 28 if day.month == 2 else 31))


def generate(path: Path, rows: int, seed: int = 7) -> dict[str, int]:
    """Write a 3-sheet 附件2 workbook with `rows` data rows; return counts of its variety."""
    from openpyxl import Workbook

    rnd = random.Random(seed)
    catalog = tomllib.loads((ROOT / "seeds" / "catalog.toml").read_text("utf-8"))
    sections = [s["name"] for s in catalog["section"] if s["kind"] == "approval"]
    items = catalog["item"]
    sheets: dict[str, list[list[Any]]] = {name: [] for name in sections}
    counts = dict.fromkeys(("bad", "blank_or_note", "duplicate", "renewal"), 0)
    held = [0] * max(1, rows * 2 // 3)  # certificates per holder so far: often more than one
    made = 0
    while made < rows:
        h = rnd.randrange(len(held))
        z = "".join(ZIHAO[(h // len(ZIHAO) ** k) % len(ZIHAO)] for k in range(3))
        holder = f"{PLACE[h % 5]}{z}{TRADE[h % len(TRADE)]}{FORM[h % len(FORM)]}"
        item = items[(h * 5 + held[h]) % len(items)]  # each certificate of a holder: a new item
        held[h] += 1
        years = item["validity_years"][-1]
        expires = date(2024, 6, 1) + timedelta(days=rnd.randrange(7 * 365))
        issued = years_before(expires, years) + timedelta(days=1)
        row = {"holder": holder, "certificate": item["certificate_name"]}
        row |= {"issued_on": dated(rnd, issued), "expires_on": dated(rnd, expires)}
        row |= {"contact_name": rnd.choice(SURNAMES) + rnd.choice(TITLES)}
        row |= {"contact": contact(rnd, made)}
        if rnd.random() < 0.10:
            row |= {"reminded_on": dated(rnd, TODAY - timedelta(days=rnd.randrange(90)))}
            row |= {"method": "人工电话通知", "reminder": "张三"}
        bad = rnd.random()
        if bad < 0.01:
            row["certificate"] = rnd.choice(("食品经营许可证", "农药经营许可正", "营业执照"))
        elif bad < 0.02:
            row["expires_on"] = rnd.choice(("2025-02-30", "2024.13.5", "20250431", "25-3-1"))
        elif bad < 0.03:
            row["holder"] = None
        elif bad < 0.04:
            row["expires_on"] = None  # computed from the issue date (or rejected: no single term)
        counts["bad"] += bad < 0.03
        out = sheets[item["section"]]
        extra = rnd.random()
        if extra < 0.008 and made + 2 <= rows and row["holder"]:
            if extra < 0.003:  # the same row twice
                counts["duplicate"] += 1
                first = row
            else:  # the previous cycle of the certificate, then this one
                counts["renewal"] += 1
                first = row | {"expires_on": years_before(expires, years)}
                first |= {"issued_on": years_before(issued, years)}
            out += [cells(first, len(out) + 1), cells(row, len(out) + 2)]
            made += 2
            continue
        if extra < 0.013:
            out.append([None, "注：以下为本年度新增"] if rnd.random() < 0.3 else [])
            counts["blank_or_note"] += 1
        out.append(cells(row, len(out) + 1))
        made += 1

    book = Workbook(write_only=True)
    for name in sections:
        ws = book.create_sheet(name)
        for line in ("附件2", "东丽区政务服务办公室许可证书到期前提醒台账", f"科室名称：{name}"):
            ws.append([line])
        ws.append(HEADERS)
        for values in sheets[name]:
            ws.append(values)
    book.save(path)
    return counts


def cells(row: dict[str, Any], seq: int) -> list[Any]:
    return [seq if key == "seq" else row.get(key) for key in KEYS.split()]


def bare_read(path: Path) -> dict[str, Any]:
    """Iterate every sheet with openpyxl read-only, values only."""
    from openpyxl import load_workbook

    start, rows = time.perf_counter(), 0
    book = load_workbook(path, read_only=True)
    for ws in book.worksheets:
        for _ in ws.iter_rows(values_only=True):
            rows += 1
    book.close()
    return {"seconds": time.perf_counter() - start, "rows": rows, "rss_mb": rss_mb(), **cpu()}


def full_import(path: Path, db_file: Path) -> dict[str, Any]:
    """Import into a fresh SQLite file database, as `callqueue import` does."""
    from callqueue import db
    from callqueue.bootstrap import open_database
    from callqueue.ledger.service import import_ledger

    engine = open_database(f"sqlite:///{db_file}")
    last: dict[str, float] = {}  # when each stage last reported: its end

    def progress(stage: str, _done: int, _total: int) -> None:
        last[stage] = time.perf_counter()

    start = time.perf_counter()
    with db.session_scope(engine, write=True, bulk=True) as session:
        report = import_ledger(
            session, path=path, today=TODAY, margin_workdays=MARGIN, progress=progress
        )
    end = time.perf_counter()
    read, check = last["读取"] - start, last["检查"] - last["读取"]
    stages = {"read": read, "check": check, "write": end - last["检查"]}
    keys = ("rows", "imported", "updated", "duplicates", "rejected", "warnings")
    counts = {k: getattr(report, k) for k in keys}
    reader = resource.getrusage(resource.RUSAGE_CHILDREN)  # the reading process, if any
    return {
        "seconds": end - start,
        "stages": stages,
        "rss_mb": rss_mb(),
        "reader_rss_mb": reader.ru_maxrss / 1024,
        "reader_cpu": reader.ru_utime + reader.ru_stime,
        **counts,
        **cpu(),
    }


def child(kind: str, *args: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="keep the workbook and database in DIR")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *paths = args.child
        run = bare_read(Path(paths[0])) if kind == "bare" else full_import(*map(Path, paths))
        print(json.dumps(run))
        return
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        path, db_file = where / "ledger-bench.xlsx", where / "bench.sqlite"
        for old in (db_file, *where.glob("bench.sqlite-*")):
            old.unlink(missing_ok=True)
        start = time.perf_counter()
        counts = generate(path, args.rows)
        print(f"generated {args.rows:,} data rows in {time.perf_counter() - start:.1f} s: {path}")
        print(f"  ({path.stat().st_size / 1e6:.1f} MB; {counts})")
        # Alternate the two and keep each one's fastest run: a busy machine slows single runs
        # unevenly, and the fastest is the one least disturbed.
        runs_a, runs_b = [], []
        for n in range(args.repeat):
            runs_a.append(child("bare", str(path)))
            for old in (db_file, *where.glob("bench.sqlite-*")):
                old.unlink(missing_ok=True)
            runs_b.append(child("import", str(path), str(db_file)))
            a, b = runs_a[-1], runs_b[-1]
            print(f"  run {n + 1}: bare {a['seconds']:.2f} s (cpu {a['cpu']:.2f} s),", end="")
            print(f" import {b['seconds']:.2f} s (cpu {b['cpu']:.2f} s", end="")
            print(f" + reader process {b['reader_cpu']:.2f} s)")
        a = min(runs_a, key=lambda r: r["seconds"])
        b = min(runs_b, key=lambda r: r["seconds"])
    outcomes = b["imported"] + b["updated"] + b["duplicates"] + b["rejected"]
    assert b["rows"] == outcomes, f"rows {b['rows']} != outcomes {outcomes}"
    assert b["rows"] == args.rows, f"the import saw {b['rows']} data rows of {args.rows}"
    # The reader is a forked copy of the importing process: their peaks together are the most
    # the import can have held (shared pages counted twice).
    rss_total = b["rss_mb"] + b["reader_rss_mb"]
    ratio, ok_rss = b["seconds"] / a["seconds"], rss_total < TARGET_RSS_MB
    print(f"fastest of {args.repeat} runs each; peak RSS (ru_maxrss) of each in its own subprocess")
    print(f"(a) bare openpyxl read-only: {a['seconds']:6.2f} s {a['rss_mb']:5.0f} MB", end="")
    print(f"  ({a['rows']:,} sheet rows)")
    print(f"(b) full import to SQLite:   {b['seconds']:6.2f} s {b['rss_mb']:5.0f} MB", end="")
    print(f" + reader {b['reader_rss_mb']:.0f} MB")
    print("    last progress of each stage, from the start: read header", end="")
    print(f" {b['stages']['read']:.2f} s, last rows checked", end="")
    print(f" +{b['stages']['check']:.2f} s, last write and commit +{b['stages']['write']:.2f} s")
    print(f"    rows {b['rows']:,} = imported {b['imported']:,} + updated {b['updated']:,}", end="")
    print(f" + duplicates {b['duplicates']:,} + rejected {b['rejected']:,}", end="")
    print(f"  ({b['warnings']:,} warnings)")
    print(f"ratio b/a: {ratio:.2f}   rows/s: {b['rows'] / b['seconds']:,.0f}")
    print(f"{'PASS' if ratio <= TARGET_RATIO else 'FAIL'}: import <= {TARGET_RATIO}x openpyxl read")
    print(f"{'PASS' if ok_rss else 'FAIL'}: import peak RSS (with its reader) < {TARGET_RSS_MB} MB")
    sys.exit(0 if ratio <= TARGET_RATIO and ok_rss else 1)


if __name__ == "__main__":
    main()
