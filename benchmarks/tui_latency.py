"""Key latency of the call screen on a big database, under a real pty (issue 5).

    .venv/bin/python benchmarks/tui_latency.py --db /tmp/callqueue-bench.sqlite [--repeat 40]

Uses ../shared/tools/keylatency.py: starts `callqueue tui` at 120x40 on a copy of the database,
waits for the first queue page, and times keypress -> settled screen for a cursor move (`down`)
and for an outcome key without a dialog (`4` 无人接听: save, claim the next holder, show it).
For the outcome key it also prints how many of the presses were saved: a press that lands while
the last save is still running is ignored, and its figure is then the previous press's screen.
Also prints the app's peak RSS. Targets: start to first queue row < 1.5 s, both keys p95 < 50 ms,
RSS < 250 MB. Build the database once with
`callqueue --db sqlite:////tmp/callqueue-bench.sqlite demo --no-tui --certificates 1000000`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYLATENCY = ROOT.parent / "shared" / "tools" / "keylatency.py"
READY = "待联系 "  # the status line, written once the first page is on screen
PROBE = """
import os, sys, threading, time
out = sys.argv.pop(1)
def probe():
    while True:
        with open("/proc/self/status") as f:
            hwm = next(line for line in f if line.startswith("VmHWM"))
        with open(out + ".tmp", "w") as f:
            f.write(hwm.split()[1])
        os.replace(out + ".tmp", out)
        time.sleep(0.05)
threading.Thread(target=probe, daemon=True).start()
from callqueue.cli import main
main(prog_name="callqueue")
"""


def measure(key: str, url: str, args: argparse.Namespace, rss: Path) -> dict[str, object]:
    """Run keylatency for one key; return its JSON plus the app's peak RSS in MB."""
    app = [sys.executable, "-c", PROBE, str(rss), "--db", url, "--today", args.today]
    app += ["--staff", args.staff, "tui"]
    found = subprocess.run(
        [sys.executable, str(KEYLATENCY), "--ready", READY, "--key", key]
        + ["--repeat", str(args.repeat), "--cols", "120", "--rows", "40", "--", *app],
        capture_output=True,
        text=True,
        check=False,
    )
    result: dict[str, object] = json.loads(found.stdout)
    result["rss_mb"] = round(int(rss.read_text()) / 1024, 1) if rss.exists() else None
    return result


def last_attempt(path: Path) -> int:
    """The id of the last attempt recorded."""
    with sqlite3.connect(path) as con:
        return int(con.execute("SELECT coalesce(max(id), 0) FROM attempt").fetchone()[0])


def saves_since(path: Path, attempt_id: int) -> int:
    """Outcomes saved after `attempt_id`: one per holder (a save logs each of its reminders)."""
    with sqlite3.connect(path) as con:
        return int(
            con.execute(
                "SELECT count(DISTINCT r.holder_id) FROM attempt a"
                " JOIN reminder r ON r.id = a.reminder_id WHERE a.id > ?",
                (attempt_id,),
            ).fetchone()[0]
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db", type=Path, required=True, help="a demo SQLite database (copied, not changed)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=40,
        help="presses per key (the cursor stays within one 50-row page)",
    )
    parser.add_argument("--staff", default="张敏")
    parser.add_argument("--today", default="2026-11-24")
    args = parser.parse_args()
    callqueue = [sys.executable, "-m", "callqueue.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bench.sqlite"
        shutil.copyfile(args.db, copy)
        url = f"sqlite:///{copy}"
        cursor = measure("down", url, args, Path(tmp) / "rss-down")
        subprocess.run(  # the outcome key needs a claimed holder: claim one as this staff member
            [*callqueue, "--db", url, "--today", args.today, "call", "next", "--staff", args.staff],
            capture_output=True,
            check=True,
        )
        before = last_attempt(copy)
        outcome = measure("4", url, args, Path(tmp) / "rss-outcome")
        outcome["saved"] = saves_since(copy, before)
    for name, result in (("cursor move (down)", cursor), ("outcome key (4 无人接听)", outcome)):
        settle = result.get("settle_ms", {})
        print(
            f"{name:26} startup {result.get('startup_s')} s · settle median "
            f"{settle.get('median')} ms p95 {settle.get('p95')} ms max {settle.get('max')} ms "
            f"(n={settle.get('n')}) · peak RSS {result['rss_mb']} MB"
            + (f" · saved {result['saved']} of {args.repeat}" if "saved" in result else "")
            + (f" · ERROR {result['error']}" if "error" in result else "")
        )
    print("targets: startup < 1.5 s, p95 < 50 ms, RSS < 250 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
