"""Reading and checking a workbook in a second process while this one writes (large imports)."""

from __future__ import annotations

import multiprocessing
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from callqueue import bootstrap, catalog, db
from callqueue.db import table
from callqueue.ledger import check, pipeline, service
from callqueue.ledger.read import UnreadableWorkbook, read_workbook
from callqueue.models import (
    AuditEvent,
    Certificate,
    Contact,
    ContactEmail,
    ContactPhone,
    Holder,
    ImportBatch,
    Reminder,
    Section,
)

from .ledger_files import licence_row, write_annex2

TODAY = date(2026, 11, 24)
SECTION = "涉农事务和经贸商务科"
# Columns that hold the time of writing, which two imports cannot share.
_WHEN = {"created_at", "updated_at", "closed_at", "at", "started_at", "finished_at"}
_TABLES = (Holder, Contact, ContactPhone, ContactEmail, Certificate, Reminder, AuditEvent)


def varied_rows(n: int) -> list[dict[str, Any]]:
    """Rows with most of what an import meets: duplicates, renewals within the file, bad
    dates, unknown permits, several numbers and emails in a cell, rows without contacts."""
    out: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        row = licence_row(i, holder=f"天津市东丽区第{i % (n // 3)}号商贸有限公司")
        row["expires_on"] = date(2026 + i % 4, 1 + i % 12, 1 + i % 28)
        row["issued_on"] = date(2021 + i % 4, 1 + i % 12, 1 + i % 28)
        if i % 7 == 0:
            row["contact"] = f"13800{i:06d}、022-2{i:07d}转{i % 90 + 10} w{i}@example.cn"
        if i % 11 == 0:
            row["contact"] = ""
        if i % 13 == 0:
            row["expires_on"] = "2026.2.30"  # no such day: rejected
        if i % 17 == 0:
            row["certificate"] = "不存在的许可证"
        if i % 19 == 0:  # the same certificate again, further down
            out.append(dict(out[-1], seq=i))
            continue
        out.append(row)
    return out


def run(engine: Engine, path: Path, parallel: bool, **kwargs: Any) -> service.ImportReport:
    with db.session_scope(engine, write=True, bulk=True) as session:
        return service.import_ledger(
            session,
            path=path,
            today=TODAY,
            margin_workdays=10,
            actor="测试",
            parallel=parallel,
            **kwargs,
        )


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables an import writes, without the time it was written."""
    out = {}
    with db.session_scope(engine, write=False) as session:
        for model in _TABLES:
            t = table(model)
            columns = [c for c in t.c if c.name not in _WHEN]
            out[t.name] = [tuple(r) for r in session.execute(select(*columns).order_by(t.c.id))]
    return out


def count(engine: Engine, model: type[Any]) -> int:
    with db.session_scope(engine, write=False) as session:
        return int(session.execute(select(func.count()).select_from(table(model))).scalar_one())


@pytest.fixture
def twin(db_url: str, tmp_path: Path) -> Engine:
    """A second fresh database beside `engine` (SQLite: the pipeline is the same elsewhere)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the comparison needs two databases; the pipeline does not depend on it")
    return bootstrap.open_database(f"sqlite:///{tmp_path / 'twin.sqlite'}")


def test_both_ways_write_the_same_rows_and_report(
    engine: Engine, twin: Engine, tmp_path: Path
) -> None:
    path = write_annex2(tmp_path / "v.xlsx", varied_rows(600), section=SECTION)
    here = run(engine, path, parallel=False)
    there = run(twin, path, parallel=True)
    assert here.rejected and here.duplicates and here.warnings  # the file has all of it
    assert any("视为换证" in p.message for p in here.problems)
    assert there.to_json() == here.to_json() | {"rejects_file": there.rejects_file}
    assert there.rejected_rows == here.rejected_rows
    assert contents(twin) == contents(engine)
    # and again: the second import of the same file finds everything known, both ways
    again_here, again_there = run(engine, path, False), run(twin, path, True)
    assert again_there.to_json() == again_here.to_json()
    assert again_here.imported == 0 and contents(twin) == contents(engine)


def test_older_rows_rejected_while_writing_keep_their_cells(engine: Engine, tmp_path: Path) -> None:
    newer = write_annex2(
        tmp_path / "new.xlsx", [licence_row(1, expires_on=date(2029, 3, 1))], section=SECTION
    )
    run(engine, newer, parallel=True)
    older = write_annex2(
        tmp_path / "old.xlsx",
        [licence_row(1, expires_on=date(2027, 3, 1), contact="13800138000")],
        section=SECTION,
    )
    report = run(engine, older, parallel=True)
    assert report.rejected == 1 and "旧证" in report.rejected_rows[0].reasons[0]
    values = report.rejected_rows[0].values
    assert values["contact"] == 13800138000 or values["contact"] == "13800138000"
    assert values["expires_on"] is not None


def test_a_failure_in_the_reader_keeps_nothing_and_quotes_no_cell(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_annex2(tmp_path / "f.xlsx", varied_rows(3000), section=SECTION)
    real = check._check_row

    def failing(raw: Any, *args: Any) -> None:
        if raw.row == 2500:  # after the first parts were written
            raise ValueError(f"cannot read {raw.values['contact']}")
        real(raw, *args)

    monkeypatch.setattr(check, "_check_row", failing)
    before = {m: count(engine, m) for m in (*_TABLES, ImportBatch)}
    with pytest.raises(pipeline.ReaderFailed) as failed:
        run(engine, path, parallel=True)
    assert "ValueError" in str(failed.value) and "iter_checked" in str(failed.value)
    assert "1380000" not in str(failed.value)
    assert {m: count(engine, m) for m in before} == before


def test_a_reader_that_dies_is_noticed(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_annex2(tmp_path / "d.xlsx", varied_rows(300), section=SECTION)
    parent = os.getpid()
    real = check._check_row

    def dying(raw: Any, *args: Any) -> None:
        if os.getpid() != parent and raw.row == 200:
            os._exit(3)
        real(raw, *args)

    monkeypatch.setattr(check, "_check_row", dying)
    monkeypatch.setattr(pipeline, "_POLL_SECONDS", 0.05)
    with pytest.raises(pipeline.ReaderFailed, match="退出码 3"):
        run(engine, path, parallel=True)
    assert count(engine, Certificate) == 0


def test_an_unreadable_file_says_the_same_either_way(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not a workbook")
    messages = []
    for parallel in (False, True):
        with pytest.raises(UnreadableWorkbook) as raised:
            run(engine, path, parallel=parallel)
        messages.append(str(raised.value))
    assert messages[0] == messages[1] and "无法读取" in messages[0]
    assert count(engine, ImportBatch) == 0


def test_parts_come_in_file_order_and_add_up(engine: Engine, tmp_path: Path) -> None:
    path = write_annex2(tmp_path / "p.xlsx", varied_rows(12_000), section=SECTION)
    with db.session_scope(engine, write=False) as session:
        entries = catalog.list_items(session)
        names = [n for (n,) in session.execute(select(table(Section).c.name))]
    whole = check.check_workbook(
        read_workbook(path), catalog=entries, sections=names, section_option=None
    )
    items = list(pipeline.checked_parts(path, catalog=entries, sections=names, parallel=True))
    book, parts = items[0], items[1:]
    assert isinstance(book, pipeline.Workbook) and book.rows >= whole.rows
    assert all(isinstance(p, pipeline.Part) for p in parts)
    assert len(parts) > 2 and parts[0].rows == pipeline.FIRST_PART_ROWS
    valid = [row for p in parts if isinstance(p, pipeline.Part) for row in p.valid]
    assert [type(r) for r in valid[:1]] == [tuple]  # plain tuples crossed over
    assert valid == [tuple((*r[:12], tuple(map(tuple, r.phones)), *r[13:])) for r in whole.valid]
    rows = [r.row for p in parts if isinstance(p, pipeline.Part) for r in p.rejected]
    assert rows == [r.row for r in whole.rejected]


def test_large_files_use_the_second_process(tmp_path: Path) -> None:
    small = write_annex2(tmp_path / "s.xlsx", [licence_row(1)], section=SECTION)
    assert not pipeline.use_second_process(small)
    assert not pipeline.use_second_process(tmp_path / "missing.xlsx")
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"\0" * pipeline.PARALLEL_MIN_BYTES)
    assert pipeline.use_second_process(big) == ("fork" in multiprocessing.get_all_start_methods())


def test_a_row_crosses_to_the_writer_unchanged_dates_and_phones_included(
    engine: Engine, tmp_path: Path
) -> None:
    rows = varied_rows(40)
    path = write_annex2(tmp_path / "wire.xlsx", rows, section=SECTION)
    with db.session_scope(engine, write=False) as session:
        entries = catalog.list_items(session)
    checked = check.check_workbook(read_workbook(path), catalog=entries, sections=[SECTION])
    days: dict[int, date] = {}
    for v in checked.valid:
        sent = pipeline._to_wire(v)
        assert all(type(x) is not date for x in sent)  # no date object is pickled
        back = pipeline._from_wire(sent, days)
        assert back == tuple(v), v.row
        assert [type(x) for x in back] == [type(x) for x in v]
    reminded = checked.valid[0]._replace(issued_on=None, reminded_on=date(2026, 11, 2))
    assert pipeline._from_wire(pipeline._to_wire(reminded), days) == tuple(reminded)
