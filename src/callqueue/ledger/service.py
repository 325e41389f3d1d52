"""Import a ledger workbook: read → check → write in one transaction, and report every row."""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import select
from sqlmodel import Session

from callqueue import audit, catalog, clock, roles, workdays
from callqueue.db import table
from callqueue.ledger.bulk import import_cache, loading
from callqueue.ledger.check import Problem, RejectedRow, ValidRow
from callqueue.ledger.pipeline import Part, ReaderFailed, Workbook, checked_parts
from callqueue.ledger.plans import Planner
from callqueue.ledger.read import UnreadableWorkbook, read_workbook
from callqueue.ledger.write import WRITTEN_MODELS, RowWriter
from callqueue.models import ImportBatch, Role, Section

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
"""Called as progress(stage, done, total); stage is 读取 / 检查 / 写入."""

__all__ = ["ImportReport", "ReaderFailed", "UnreadableWorkbook", "import_ledger"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _cycle_collection_paused(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run `func` with the cyclic garbage collector paused, as it was before afterwards.

    An import allocates millions of objects that live until it ends; the collector would
    walk them all again each time the heap grows by a quarter (over a second for 100,000
    rows). Memory freed by reference counting is freed as usual.
    """

    @functools.wraps(func)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused


@dataclass
class ImportReport:
    """How every data row of one workbook ended."""

    file: str
    rows: int = 0
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    rejects_file: str | None = None
    batch_id: int | None = None
    dry_run: bool = False
    rejected_rows: list[RejectedRow] = field(default_factory=list, repr=False)

    @property
    def warnings(self) -> int:
        """Problems that did not stop a row."""
        return sum(1 for p in self.problems if p.severity == "warning")

    def to_json(self) -> dict[str, Any]:
        """The report object of `callqueue import --json`."""
        return {
            "file": self.file,
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "warnings": self.warnings,
            "problems": [p.to_json() for p in self.problems],
            "rejects_file": self.rejects_file,
            "dry_run": self.dry_run,
        }


@_cycle_collection_paused
def import_ledger(
    session: Session,
    *,
    path: Path,
    today: date,
    margin_workdays: int,
    section: str | None = None,
    dry_run: bool = False,
    actor: str = "import",
    staff_id: int | None = None,
    progress: Progress | None = None,
    parallel: bool | None = None,
    caller_section: str | None = None,
) -> ImportReport:
    """Import one ledger workbook within `session` (the caller commits once).

    Args:
        session: a write session; on a dry run everything is rolled back.
        path: the workbook.
        today: the date in force (reminder states).
        margin_workdays: see DESIGN.md §4.
        section: the section of sheets that do not name one.
        dry_run: check and count only; nothing is written, not even the rejects file.
        actor: who imports.
        staff_id: their staff id.
        progress: optional progress callback.
        parallel: read and check in a second process while this one writes (see
            ledger/pipeline.py); None decides by the file's size.
        caller_section: set when a caller (提醒人) imports: their section, which sheets that
            name none go to; None (supervisors, admins, nobody named) imports into any section.

    Returns:
        The report; `rejected_rows` holds the rows for the rejects workbook.

    Raises:
        UnreadableWorkbook: the file cannot be read; nothing was written.
        ReaderFailed: reading or checking failed in the second process; roll back.
        roles.NotAllowed: a caller's import names another section (`section`, a sheet, or a
            certificate of another section already in the ledger); roll back.
    """
    if caller_section is not None:
        if section is not None and section != caller_section:
            raise roles.NotAllowed(f"不能导入到{section}：" + _caller_only(actor, caller_section))
        section = caller_section
    notify = progress or (lambda _stage, _done, _total: None)
    notify("读取", 0, 1)
    entries = catalog.list_items(session, include_retired=True)  # see ledger.check._Catalog
    sections = [name for (name,) in session.execute(select(table(Section).c.name))]
    calendar = workdays.load_calendar(session)
    with contextlib.closing(
        checked_parts(
            path,
            catalog=entries,
            sections=sections,
            section_option=section,
            parallel=parallel,
            planner=Planner(calendar, today, margin_workdays),
        )
    ) as parts:
        workbook = next(parts)
        assert isinstance(workbook, Workbook)
        total = workbook.rows
        notify("读取", 1, 1)
        section_id = None
        if section is not None:
            section_id = session.execute(
                select(table(Section).c.id).where(table(Section).c.name == section)
            ).scalar()
        batch = ImportBatch(
            file_name=path.name,
            file_hash=workbook.sha256,
            staff_id=staff_id,
            section_id=section_id,
            started_at=clock.now(),
        )
        session.add(batch)
        session.flush()
        assert batch.id is not None
        report = ImportReport(file=str(path), dry_run=dry_run)
        rejected: list[RejectedRow] = []
        with import_cache(session):
            with loading(session, WRITTEN_MODELS, total) as check_references:
                writer = RowWriter(
                    session,
                    batch_id=batch.id,
                    calendar=calendar,
                    today=today,
                    margin_workdays=margin_workdays,
                    actor=actor,
                    staff_id=staff_id,
                    only_section=caller_section,
                )
                for part in parts:
                    assert isinstance(part, Part)
                    if caller_section is not None:  # raising rolls back what was written
                        _refuse_other_sections(
                            actor,
                            caller_section,
                            [(v[0], v[2]) for v in part.valid]  # (sheet, section)
                            + [(r.sheet, r.section) for r in part.rejected if r.section],
                        )
                    report.rows += part.rows
                    report.problems += part.problems
                    rejected += part.rejected
                    notify("检查", report.rows, total)
                    writer.plans.update(part.plans)
                    writer.add(part.valid)
                    # While the reader is still busy: less to check after its last part.
                    check_references()
                    notify("写入", writer.done, total)
            written = writer.finish()
    if written.foreign:  # raising rolls the whole import back
        assert caller_section is not None
        first, section_of = written.foreign[0]
        more = f"等 {len(written.foreign)} 行" if len(written.foreign) > 1 else ""
        raise roles.NotAllowed(
            _caller_only(
                actor,
                caller_section,
                what=f"工作表“{first.sheet}”第{first.row}行{more}的证书已在台账中，",
                section=section_of,
            )
        )
    for sheet, hidden in workbook.sheets:
        if hidden:
            report.problems.append(
                Problem(sheet, None, None, None, "warning", "隐藏的工作表，未读取")
            )
    late_rejects: list[RejectedRow] = []
    if written.rejected:  # rare: only then read the raw cells of the rows again
        raw = _raw_values(path, workbook.sha256)
        late_rejects = [
            RejectedRow(
                v.sheet, v.row, v.section, raw.get((v.sheet, v.row)) or _values_of(v), (why,)
            )
            for v, why in written.rejected
        ]
    for v, why in written.rejected:
        report.problems.append(Problem(v.sheet, v.row, None, None, "error", why))
    report.problems.extend(written.problems)
    report.rejected_rows = sorted(rejected + late_rejects, key=lambda r: (r.sheet, r.row))
    report.imported, report.updated = written.imported, written.updated
    report.duplicates, report.rejected = written.duplicates, len(report.rejected_rows)
    report.problems.sort(key=lambda p: (p.sheet, p.row or 0))
    batch.rows, batch.imported, batch.updated = report.rows, report.imported, report.updated
    batch.duplicates, batch.rejected, batch.warnings = (
        report.duplicates,
        report.rejected,
        report.warnings,
    )
    batch.finished_at = clock.now()
    report.batch_id = batch.id
    if report.rejected and not dry_run:
        report.rejects_file = str(rejects_path(path))
        batch.rejects_file = report.rejects_file
    session.add(batch)
    audit.record(
        session,
        action="ledger.import",
        entity="importbatch",
        entity_id=batch.id,
        after={k: v for k, v in report.to_json().items() if k != "problems"},
        actor=actor,
        staff_id=staff_id,
    )
    if dry_run:
        session.rollback()
    notify("写入", total, total)
    log.info(
        "import %s: %s rows, %s imported, %s updated, %s duplicates, %s rejected",
        path.name,
        report.rows,
        report.imported,
        report.updated,
        report.duplicates,
        report.rejected,
    )
    return report


def rejects_path(source: Path) -> Path:
    """Where the rejects of `source` go: beside it, `<name>-未导入.xlsx`."""
    # Here, not in ledger/rejects.py: that loads openpyxl (a quarter of a second), which only
    # writing the workbook needs, after the import's transaction.
    return source.with_name(f"{source.stem}-未导入.xlsx")


def save_rejects(session: Session, report: ImportReport) -> str | None:
    """Write the rejects workbook named in `report`, after the import committed.

    The import stands whatever happens here: a workbook that cannot be written (disk full,
    folder read-only, or a bug) becomes an error in the report, first, and `rejects_file`
    is cleared; the cause goes to the log (masked).
    """
    if not report.rejects_file:
        return None
    office = catalog.office(session)
    # openpyxl loads only when a workbook is written
    from callqueue.files import write_error
    from callqueue.ledger.rejects import write_rejects

    try:
        write_rejects(report.rejected_rows, Path(report.rejects_file), office_name=office["name"])
    except Exception as exc:  # noqa: BLE001 - the committed import must still be reported
        if isinstance(exc, OSError):
            why = write_error(exc)
        else:
            log.error("rejects workbook not written", exc_info=exc)
            why = f"程序内部错误 {type(exc).__name__}，详见日志"
        report.problems.insert(
            0,
            Problem(
                "", None, None, None, "error", f"未导入行文件无法写入（{why}）；导入本身已完成"
            ),
        )
        report.rejects_file = None
        return None
    return report.rejects_file


def _caller_only(
    name: str, own_section: str, *, what: str | None = None, section: str | None = None
) -> str:
    return roles.other_section_message(
        name,
        Role.CALLER.value,
        own_section=own_section,
        task="导入",
        kind="台账",
        what=what,
        section=section,
    )


def _refuse_other_sections(name: str, own_section: str, rows: Iterable[tuple[str, str]]) -> None:
    """Refuse a caller's import when rows (sheet, section) belong to another section."""
    other = {(sheet, section) for sheet, section in rows if section != own_section}
    if not other:
        return
    sheets = "、".join(f"“{sheet}”" for sheet in sorted({sheet for sheet, _ in other}))
    sections = "、".join(sorted({section for _, section in other}))
    raise roles.NotAllowed(
        _caller_only(name, own_section, what=f"工作表{sheets}中的证书", section=sections)
    )


def _raw_values(path: Path, sha256: str) -> dict[tuple[str, int], dict[str, object]]:
    """Every data row's cells by (sheet, row), read again; empty if the file has changed."""
    try:
        book = read_workbook(path)
    except UnreadableWorkbook:
        return {}
    if book.sha256 != sha256:
        return {}
    return {(t.sheet, r.row): r.values for t in book.tables for r in t.rows}


def _values_of(row: ValidRow) -> dict[str, object]:
    """A written-off row's cells as the import understood them (the file changed meanwhile)."""
    return {
        "holder": row.holder,
        "certificate": row.item.certificate_name,
        "number": row.number or None,
        "issued_on": row.issued_on,
        "expires_on": row.expires_on,
        "contact_name": row.contact_name or None,
        "contact": "、".join(p.raw for p in row.phones) or None,
        "email": "、".join(row.emails) or None,
    }
