"""Read and check a ledger workbook, a part at a time, in a second process for large files.

An import is three steps on one core each: read the workbook, check its rows, write them.
For a large workbook the reading and checking run in a forked child process that hands over
each part of checked rows as soon as it is ready, so the import's own process writes the
first rows while the rest are still being read and checked (two cores instead of one). Rows
cross as plain tuples in ValidRow's field order: pickling a tuple costs a fraction of a
dataclass or named tuple, and the writer reads rows by position. Small workbooks, and systems
without fork, read and check in this process: the parts are the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from callqueue.catalog import CatalogEntry
from callqueue.ledger.check import CheckResult, Problem, RejectedRow, ValidRow, iter_checked
from callqueue.ledger.plans import Planner
from callqueue.ledger.read import UnreadableWorkbook, read_workbook

# Below this size a workbook is read and checked in this process: starting a second one
# costs more than it saves. 1 MB of .xlsx is roughly 15,000 ledger rows.
PARALLEL_MIN_BYTES = 1_000_000
FIRST_PART_ROWS = 1_000  # small, so the writer starts early
PART_ROWS = 5_000
_POLL_SECONDS = 1.0  # how often each side checks that the other is still alive


@dataclass
class Workbook:
    """What the reader says before any rows: the file's identity, its sheets and its size."""

    sha256: str
    sheets: list[tuple[str, bool]]  # (name, hidden), in workbook order
    rows: int  # at most this many data rows (an estimate until they are read)


@dataclass
class Part:
    """The next checked rows: valid ones as ValidRow or its plain tuple, in file order."""

    valid: list[tuple[Any, ...]] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)
    plans: dict[Any, tuple[Any, ...]] = field(default_factory=dict)  # for RowWriter.plans

    @property
    def rows(self) -> int:
        """Data rows in this part."""
        return len(self.valid) + len(self.rejected)


class ReaderFailed(RuntimeError):
    """The reading process stopped with an error (its summary holds no cell values)."""


def use_second_process(path: Path) -> bool:
    """Whether `checked_parts` should read `path` in a second process by default."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        return False  # the reader will say what is wrong with it
    return size >= PARALLEL_MIN_BYTES and "fork" in multiprocessing.get_all_start_methods()


def checked_parts(
    path: Path,
    *,
    catalog: Iterable[CatalogEntry],
    sections: Iterable[str],
    section_option: str | None = None,
    parallel: bool | None = None,
    planner: Planner | None = None,
) -> Generator[Workbook | Part, None, None]:
    """Read and check `path`: yield its Workbook first, then its Parts in file order.

    Args:
        path: the workbook.
        catalog: the active catalog entries.
        sections: names of the known sections.
        section_option: the section for sheets that do not name one.
        parallel: read and check in a second process; None decides by the file's size.
        planner: in the second process, also work out the valid rows' reminder plans
            (`Part.plans`), so the writer need not.

    Raises:
        UnreadableWorkbook: the file cannot be read (before the Workbook is yielded).
        ReaderFailed: the second process failed; whatever was yielded must be thrown away.
    """
    entries, names = list(catalog), list(sections)
    if parallel is None:
        parallel = use_second_process(path)
    if parallel:
        yield from _from_child(path, entries, names, section_option, planner)
    else:
        yield from _produce(path, entries, names, section_option)


def _produce(
    path: Path, catalog: list[CatalogEntry], sections: list[str], section_option: str | None
) -> Iterator[Workbook | Part]:
    book = read_workbook(path, lazy=True)
    yield Workbook(
        sha256=book.sha256,
        sheets=[(t.sheet, t.hidden) for t in book.tables],
        rows=sum(t.expected_rows for t in book.tables),
    )
    parts = iter_checked(
        book,
        catalog=catalog,
        sections=sections,
        section_option=section_option,
        chunk_rows=FIRST_PART_ROWS,
    )
    # The first rows go at once, so the writer can start; then larger handfuls.
    pending, size = CheckResult(), FIRST_PART_ROWS
    for checked in parts:
        pending.valid += checked.valid
        pending.rejected += checked.rejected
        pending.problems += checked.problems
        pending.columns |= checked.columns
        if pending.rows >= size:
            yield _part(pending)
            pending, size = CheckResult(), PART_ROWS
    if pending.rows or pending.problems or pending.columns:
        yield _part(pending)


def _part(checked: CheckResult) -> Part:
    return Part(list(checked.valid), checked.rejected, checked.problems, checked.columns)


def _from_child(
    path: Path,
    catalog: list[CatalogEntry],
    sections: list[str],
    section_option: str | None,
    planner: Planner | None,
) -> Iterator[Workbook | Part]:
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[tuple[str, Any]] = context.Queue()
    child = context.Process(
        target=_child_main,
        args=(out, path, catalog, sections, section_option, planner, os.getpid()),
        name="callqueue-import-reader",
        daemon=True,
    )
    with warnings.catch_warnings():
        # Python 3.12+ warns that a forked child of a threaded process may deadlock on a lock
        # another thread held. The child only reads the file and runs pure checks: it takes
        # no lock of ours, touches no database connection and leaves through os._exit.
        warnings.simplefilter("ignore", DeprecationWarning)
        child.start()
    days: dict[int, date] = {}  # one date object per day: most rows share their days
    try:
        while True:
            try:
                kind, payload = out.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if child.is_alive():
                    continue
                raise ReaderFailed(
                    f"读取台账的进程意外退出（退出码 {child.exitcode}），已全部撤销"
                ) from None
            if kind == "end":
                return
            if kind == "unreadable":
                raise UnreadableWorkbook(payload)
            if kind == "failed":
                raise ReaderFailed(f"读取台账时出错，已全部撤销：{payload}")
            if kind == "part":
                payload.valid = [_from_wire(r, days) for r in payload.valid]
            yield payload
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        out.close()
        out.cancel_join_thread()


def _child_main(
    out: multiprocessing.Queue[tuple[str, Any]],
    path: Path,
    catalog: list[CatalogEntry],
    sections: list[str],
    section_option: str | None,
    planner: Planner | None,
    writer: int,
) -> None:
    """The reading process: send each part as it is ready, then "end" (or why not).

    `writer` is the importing process's id: should it die, this one leaves too.
    """
    # The parent may be a full-screen app: nothing here may reach its terminal.
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the child
    threading.Thread(
        target=_exit_with_writer, args=(writer,), name="callqueue-reader-watch", daemon=True
    ).start()
    try:
        for item in _produce(path, catalog, sections, section_option):
            if isinstance(item, Part):
                if planner is not None:
                    item.plans = planner.new_plans(item.valid)
                item.valid = [_to_wire(r) for r in item.valid]
                out.put(("part", item))
            else:
                out.put(("workbook", item))
        out.put(("end", None))
    except UnreadableWorkbook as exc:
        out.put(("unreadable", str(exc)))
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the writer
        out.put(("failed", _summary(exc)))
    finally:
        out.close()
        out.join_thread()


def _exit_with_writer(writer: int) -> None:
    """Leave as soon as the writer is gone (killed, say): nobody will read what comes next.

    Without this the reader outlived a killed import for good: it holds the pipe's reading end
    too (inherited through fork), so once the pipe was full its sends blocked forever, and the
    process kept its memory (180 MB for 100,000 rows) until the machine restarted.
    """
    while os.getppid() == writer:
        time.sleep(_POLL_SECONDS)
    os._exit(1)


def _summary(exc: BaseException) -> str:
    """The error's type and where it happened, without its message (it may quote a cell)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = " ← ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    return f"{type(exc).__name__}（{where}）"


def _to_wire(r: tuple[Any, ...]) -> tuple[Any, ...]:
    """A ValidRow as it crosses to the writer: plain tuples all the way down, dates as day
    numbers (pickling a date object cost twice as much as the rest of the row)."""
    issued, reminded = r[_ISSUED], r[_REMINDED_ON]
    return (
        *r[:_ISSUED],
        None if issued is None else issued.toordinal(),
        r[_EXPIRES].toordinal(),
        *r[_EXPIRES + 1 : _PHONES],
        tuple(map(tuple, r[_PHONES])),
        r[_EMAILS],
        None if reminded is None else reminded.toordinal(),
        *r[_REMINDED_ON + 1 :],
    )


def _from_wire(r: tuple[Any, ...], days: dict[int, date]) -> tuple[Any, ...]:
    """The row `_to_wire` sent, with its dates back (ValidRow's field order)."""
    issued, expires, reminded = r[_ISSUED], r[_EXPIRES], r[_REMINDED_ON]
    return (
        *r[:_ISSUED],
        None if issued is None else days.get(issued) or days.setdefault(issued, _day(issued)),
        days.get(expires) or days.setdefault(expires, _day(expires)),
        *r[_EXPIRES + 1 : _REMINDED_ON],
        None
        if reminded is None
        else days.get(reminded) or days.setdefault(reminded, _day(reminded)),
        *r[_REMINDED_ON + 1 :],
    )


_day = date.fromordinal
_ISSUED, _EXPIRES = ValidRow._fields.index("issued_on"), ValidRow._fields.index("expires_on")
_PHONES, _EMAILS = ValidRow._fields.index("phones"), ValidRow._fields.index("emails")
_REMINDED_ON = ValidRow._fields.index("reminded_on")
# _to_wire's layout: the two dates side by side, then the rest up to phones, emails, reminded_on.
assert _EXPIRES == _ISSUED + 1 and _EMAILS == _PHONES + 1 and _REMINDED_ON == _EMAILS + 1
