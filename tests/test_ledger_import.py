"""Ledger import end to end: every row accounted for, idempotent, transactional, on both backends."""

from __future__ import annotations

import re
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, func, select, update
from sqlmodel import Session

from callqueue import db
from callqueue.db import table
from callqueue.ledger import pipeline, service, write
from callqueue.ledger.check import ANNEX2_HEADERS, ANNEX2_KEYS
from callqueue.ledger.read import UnreadableWorkbook
from callqueue.models import (
    AuditEvent,
    CatalogItem,
    Certificate,
    Contact,
    ContactEmail,
    ContactPhone,
    Holder,
    ImportBatch,
    Reminder,
    Section,
)

from .ledger_files import edit, licence_row, rewrite_parts, write_annex2

TODAY = date(2026, 11, 24)
SECTION = "涉农事务和经贸商务科"


@pytest.fixture(autouse=True, params=["one process", "reader process"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs both ways: read, check and write in this process, and read and
    check in a forked second process while this one writes (what large workbooks get)."""
    threshold = 0 if request.param == "reader process" else 1 << 62
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", threshold)
    return str(request.param)


def run_import(engine: Engine, path: Path, **kwargs: Any) -> service.ImportReport:
    with db.session_scope(engine, write=True, bulk=True) as session:
        report = service.import_ledger(
            session, path=path, today=TODAY, margin_workdays=10, actor="测试", **kwargs
        )
    if report.rejects_file:
        with db.session_scope(engine, write=False) as session:
            service.save_rejects(session, report)
    return report


def count(engine: Engine, model: type[Any]) -> int:
    with db.session_scope(engine, write=False) as session:
        return int(session.execute(select(func.count()).select_from(table(model))).scalar_one())


def accounted(report: service.ImportReport) -> bool:
    return report.rows == report.imported + report.updated + report.duplicates + report.rejected


def rows(n: int, **overrides: Any) -> list[dict[str, Any]]:
    return [
        licence_row(
            i, issued_on=date(2022, 6, 1 + i % 28), expires_on=date(2027, 6, i % 28), **overrides
        )
        for i in range(1, n + 1)
    ]


def test_import_writes_certificates_reminders_contacts(engine: Engine, tmp_path: Path) -> None:
    path = write_annex2(
        tmp_path / "台账.xlsx",
        [
            licence_row(1, expires_on=date(2027, 3, 31), contact="138 0013 8000"),
            licence_row(2, expires_on="2027年5月31日", contact="23456789转8021；li@Example.com"),
            licence_row(3, certificate="卫生许可证", expires_on=20270610, contact=13900139000.0),
        ],
        section=SECTION,
    )
    report = run_import(engine, path)
    assert (report.rows, report.imported, report.rejected) == (3, 3, 0)
    assert accounted(report)
    with db.session_scope(engine, write=False) as session:
        certs = session.exec(select(Certificate).order_by(Certificate.source_row)).scalars().all()  # type: ignore[call-overload]
        assert [c.expires_on for c in certs] == [
            date(2027, 3, 31),
            date(2027, 5, 31),
            date(2027, 6, 10),
        ]
        assert [c.source_row for c in certs] == [5, 6, 7]
        assert {c.source_sheet for c in certs} == {"Sheet1"}
        batch = session.get(ImportBatch, certs[0].import_batch_id)
        assert batch is not None and (batch.rows, batch.imported) == (3, 3)
        assert batch.file_name == "台账.xlsx" and len(batch.file_hash) == 64
        phones = {(p.e164, p.extension) for p in session.exec(select(ContactPhone)).scalars()}  # type: ignore[call-overload]
        assert phones == {
            ("+8613800138000", ""),
            ("+862223456789", "8021"),
            ("+8613900139000", ""),
        }
        emails = [e.address for e in session.exec(select(ContactEmail)).scalars()]  # type: ignore[call-overload]
        assert emails == ["li@example.com"]
        reminder = session.exec(
            select(Reminder).where(table(Reminder).c.certificate_id == certs[0].id)  # type: ignore[call-overload]
        ).scalar_one()
        # 农药经营许可证: 90 days before 2027-03-31 is 2026-12-31 (a Thursday) -> apply_by;
        # the 3-month lead (2026-12-31) is later than apply_by - 10 working days: pulled earlier.
        assert reminder.apply_by == date(2026, 12, 31)
        assert reminder.pulled_earlier and reminder.remind_on == date(2026, 12, 17)
        assert reminder.state == "scheduled" and reminder.section_id == certs[0].section_id


def test_reimport_is_idempotent_and_updates_changed_contacts(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_annex2(tmp_path / "a.xlsx", rows(5), section=SECTION)
    first = run_import(engine, path)
    assert (first.imported, first.duplicates) == (5, 0)
    before = {m: count(engine, m) for m in (Holder, Certificate, Reminder, ContactPhone)}

    again = run_import(engine, path)
    assert (again.imported, again.updated, again.duplicates, again.rejected) == (0, 0, 5, 0)
    assert {m: count(engine, m) for m in before} == before

    with edit(path) as wb:
        wb.active["G6"] = "13800000002 / 13700137000"  # row 2 gets a second number
    updated = run_import(engine, path)
    assert (updated.imported, updated.updated, updated.duplicates) == (0, 1, 4)
    said = [p for p in updated.problems if p.row == 6]
    assert said and "已更新" in said[0].message and "新增电话1个" in said[0].message
    assert count(engine, ContactPhone) == before[ContactPhone] + 1
    assert count(engine, Certificate) == before[Certificate]


def test_a_number_marked_wrong_is_not_brought_back_under_another_contact_name(
    engine: Engine, tmp_path: Path
) -> None:
    """The office marked 13800000001 wrong; the old ledger still lists it, now under 王总
    (a renamed contact) and for a new certificate: it stays wrong, and the rows say so."""
    first = licence_row(1, expires_on=date(2027, 6, 1))
    path = write_annex2(tmp_path / "a.xlsx", [first], section=SECTION)
    assert run_import(engine, path).imported == 1
    p, r = table(ContactPhone), table(Reminder)
    with db.session_scope(engine, write=True) as session:
        session.execute(update(p).values(invalid=True, invalid_reason="号码有误"))
        session.execute(update(r).values(needs_repair=True))  # as the wrong number left it
    again = write_annex2(
        tmp_path / "b.xlsx",
        [
            {**first, "contact_name": "王总"},
            licence_row(1, certificate="卫生许可证", contact_name="李会计"),
        ],
        section=SECTION,
    )
    report = run_import(engine, again)
    assert accounted(report) and report.imported == 1 and report.rejected == 0
    said = [x.message for x in report.problems if "已在该单位标记为无效" in x.message]
    assert len(said) == 2 and all("138****0001" in m for m in said)
    with db.session_scope(engine, write=False) as session:
        numbers = session.execute(select(p.c.e164, p.c.invalid)).all()
        assert numbers == [("+8613800000001", True)]
        repair = session.execute(select(r.c.needs_repair).order_by(r.c.id)).scalars().all()
        assert repair == [True, True]  # nothing else reaches the holder


def test_bad_rows_are_rejected_with_reasons_and_a_rejects_workbook(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_annex2(
        tmp_path / "b.xlsx",
        [
            licence_row(1, expires_on=date(2027, 6, 1)),
            licence_row(2, certificate="兽药许可证"),
            licence_row(3, expires_on="2027-02-30"),
            licence_row(4, expires_on="27-3-1"),
            licence_row(5, holder=None),
            None,  # a blank row is not a data row
            licence_row(7, certificate="行政许可决定书", expires_on=None),
        ],
        section="社会事务科",
    )
    report = run_import(engine, path)
    assert (report.rows, report.imported, report.rejected) == (6, 1, 5)
    assert accounted(report)
    errors = {p.row: p.message for p in report.problems if p.severity == "error"}
    assert "是否为“兽药经营许可证”" in errors[6]
    assert "不存在的日期" in errors[7]
    assert "4位" in errors[8]
    assert "缺少单位" in errors[9]
    assert "2年/3年/4年" in errors[11]
    assert report.rejects_file == str(tmp_path / "b-未导入.xlsx")

    ws = load_workbook(report.rejects_file).active
    header = [c.value for c in ws[3]]
    assert header[:10][1] == "单位（个人）名称" and header[-1] == "原因"
    reasons = [ws.cell(r, len(header)).value for r in range(4, ws.max_row + 1)]
    assert len(reasons) == 5 and reasons[0].startswith("原第6行")
    assert ws["A2"].value == "科室名称：社会事务科"

    # Fix the rows in the rejects workbook and import it again: they go in.
    with edit(Path(report.rejects_file)) as wb:
        ws = wb.active
        ws["C4"] = "兽药经营许可证"
        ws["E5"] = date(2027, 2, 28)
        ws["E6"] = "2027.3.1"
        ws["B7"] = "东丽区补录商贸有限公司"
        ws["E8"] = date(2027, 9, 30)
    fixed = run_import(engine, Path(report.rejects_file))
    assert (fixed.rows, fixed.imported, fixed.rejected) == (5, 5, 0)
    assert not [p for p in fixed.problems if "未识别的列" in p.message]


def test_text_longer_than_the_database_keeps_rejects_the_row_only(
    engine: Engine, tmp_path: Path
) -> None:
    # PostgreSQL refused the whole import (a DataError) for one over-long name.
    path = write_annex2(
        tmp_path / "long.xlsx",
        [
            licence_row(1, holder="长" * 201, expires_on=date(2027, 6, 1)),
            licence_row(2, contact_name="联" * 101, expires_on=date(2027, 6, 2)),
            licence_row(3, holder="长" * 200, contact_name="联" * 100),
        ],
        section="社会事务科",
    )
    report = run_import(engine, path)
    assert (report.rows, report.imported, report.rejected) == (3, 1, 2)
    errors = {p.row: p.message for p in report.problems if p.severity == "error"}
    assert errors == {
        5: "单位（个人）名称过长（201字，最多200字）",
        6: "联系人过长（101字，最多100字）",
    }
    assert count(engine, Holder) == 1


def test_dry_run_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_annex2(
        tmp_path / "c.xlsx", [*rows(3), licence_row(9, certificate="不存在的证")], section=SECTION
    )
    before = {m: count(engine, m) for m in (Holder, Certificate, ImportBatch, AuditEvent)}
    report = run_import(engine, path, dry_run=True)
    assert (report.imported, report.rejected, report.dry_run) == (3, 1, True)
    assert report.rejects_file is None
    assert {m: count(engine, m) for m in before} == before
    assert not (tmp_path / "c-未导入.xlsx").exists()


def test_expiry_computed_from_issue_date_with_a_warning(engine: Engine, tmp_path: Path) -> None:
    path = write_annex2(
        tmp_path / "d.xlsx",
        [licence_row(1, issued_on=date(2022, 12, 20), expires_on=None)],
        section=SECTION,
    )
    report = run_import(engine, path)
    assert report.imported == 1
    warning = next(p for p in report.problems if p.column == "期满日期")
    assert warning.severity == "warning" and "2027-12-19" in warning.message
    with db.session_scope(engine, write=False) as session:
        cert = session.exec(select(Certificate)).scalar_one()  # type: ignore[call-overload]
    assert cert.expires_on == date(2027, 12, 19) and cert.expiry_computed


def test_sections_from_row_sheet_name_option_and_catalog(engine: Engine, tmp_path: Path) -> None:
    path = write_annex2(
        tmp_path / "e.xlsx",
        rows(2),
        section=SECTION,
        extra_sheets={"社会事务科": [licence_row(1, certificate="卫生许可证")]},
        hidden_sheets={"环保城管和建设交通科": rows(4)},
    )
    with edit(path) as wb:
        ws = wb.create_sheet("未注明")
        ws.append(["单位（个人）名称", "许可证书名称", "期满日期", "联系方式"])
        ws.append(["东丽区某厂", "排污许可证", date(2028, 1, 10), "13800138000"])
    report = run_import(engine, path)
    assert (report.rows, report.imported) == (4, 4)  # hidden sheet not read
    assert any("隐藏" in p.message for p in report.problems)
    assert any("按目录归入“环保城管和建设交通科”" in p.message for p in report.problems)
    with db.session_scope(engine, write=False) as session:
        got = sorted(
            session.execute(
                select(table(Certificate).c.source_sheet, table(Section).c.name).join(
                    table(Section), table(Section).c.id == table(Certificate).c.section_id
                )
            ).all()
        )
    assert got == [
        ("Sheet1", SECTION),
        ("Sheet1", SECTION),
        ("未注明", "环保城管和建设交通科"),
        ("社会事务科", "社会事务科"),
    ]


def test_a_visible_sheet_whose_header_is_not_recognised_is_said(
    engine: Engine, tmp_path: Path
) -> None:
    """A second sheet of licences headed 公司名称 (not a holder header the reader knows) is not
    read; the report names it instead of passing over its rows in silence. Empty sheets and
    sheets with a header but no rows say nothing."""
    path = write_annex2(tmp_path / "h.xlsx", rows(2), section=SECTION)
    with edit(path) as wb:
        ws = wb.create_sheet("二季度")
        ws.append(["序号", "公司名称", "许可证书名称", "颁发日期", "期满日期", "联系方式"])
        for n in range(1, 6):
            ws.append([n, f"某公司{n}", "农药经营许可证", "2023-01-01", "2027-12-31", ""])
        wb.create_sheet("空表")
        wb.create_sheet("表头").append(list(ANNEX2_HEADERS))
    report = run_import(engine, path)
    assert (report.rows, report.imported) == (2, 2)
    said = [p for p in report.problems if p.row is None]
    assert [(p.sheet, p.severity) for p in said] == [("二季度", "warning")]
    assert "找不到台账表头" in said[0].message and "整张表未读取" in said[0].message


def test_a_section_row_under_the_header_starts_that_sections_rows(
    engine: Engine, tmp_path: Path
) -> None:
    """A summary sheet stacks two sections' tables, each under its own 科室名称 row: the rows
    of the second go to its section, not the first's, and its rejected row goes back into a
    rejects sheet of its own that names that section."""
    path = write_annex2(tmp_path / "stacked.xlsx", rows(1), section=SECTION, sheet="汇总")
    with edit(path) as wb:
        ws = wb["汇总"]
        ws.append([])
        ws.append(["科室名称：社会事务科"])
        ws.append(list(ANNEX2_HEADERS))
        for n, expires in ((2, date(2027, 6, 30)), (3, "2027-02-30")):
            row = licence_row(n, certificate="卫生许可证", expires_on=expires)
            ws.append([row[k] for k in ANNEX2_KEYS])
    report = run_import(engine, path)
    assert accounted(report)
    assert (report.imported, report.rejected) == (2, 1)
    assert not any("承办" in p.message for p in report.problems)
    with db.session_scope(engine, write=False) as session:
        got = session.execute(
            select(table(Holder).c.name, table(Section).c.name)
            .join(table(Certificate), table(Certificate).c.holder_id == table(Holder).c.id)
            .join(table(Section), table(Section).c.id == table(Certificate).c.section_id)
            .order_by(table(Certificate).c.source_row)
        ).all()
    assert [section for _, section in got] == [SECTION, "社会事务科"]
    assert report.rejects_file is not None
    rejects = load_workbook(report.rejects_file)
    assert len(rejects.sheetnames) == 1
    assert rejects.active["A2"].value == "科室名称：社会事务科"


def test_section_option_applies_to_sheets_without_one(engine: Engine, tmp_path: Path) -> None:
    path = write_annex2(tmp_path / "f.xlsx", rows(2), section=None)
    report = run_import(engine, path, section="社会事务科")
    assert report.imported == 2
    # 农药经营许可证 belongs to another section in the catalog: said, not refused.
    assert any("承办" in p.message for p in report.problems)


def test_merged_holder_applies_to_each_row(engine: Engine, tmp_path: Path) -> None:
    path = write_annex2(
        tmp_path / "g.xlsx",
        [
            licence_row(1, holder="东丽区合并单元格公司", certificate="农药经营许可证"),
            licence_row(2, holder=None, certificate="兽药经营许可证"),
            licence_row(3, holder=None, certificate="危险化学品经营许可证"),
        ],
        section=SECTION,
    )
    with edit(path) as wb:
        wb.active.merge_cells("B5:B7")
    report = run_import(engine, path)
    assert (report.imported, report.rejected) == (3, 0)
    assert count(engine, Holder) == 1


def assert_the_newer_renewed_the_older(engine: Engine) -> None:
    """Two certificates of one holder and permit: the older closed as renewed, with its reminder,
    and the newer pointing back to it."""
    with db.session_scope(engine, write=False) as session:
        certs = session.exec(select(Certificate).order_by(Certificate.expires_on)).scalars().all()  # type: ignore[call-overload]
        reminders = {
            r.certificate_id: r.state
            for r in session.exec(select(Reminder)).scalars()  # type: ignore[call-overload]
        }
    assert [c.status for c in certs] == ["renewed", "active"]
    assert certs[1].previous_id == certs[0].id
    assert reminders[certs[0].id] == "renewed"


def test_a_newer_certificate_closes_the_older_one(engine: Engine, tmp_path: Path) -> None:
    old = write_annex2(tmp_path / "old.xlsx", [licence_row(1, expires_on=date(2026, 12, 31))])
    run_import(engine, old)
    new = write_annex2(tmp_path / "new.xlsx", [licence_row(1, expires_on=date(2031, 12, 30))])
    report = run_import(engine, new)
    assert report.imported == 1 and any("视为换证" in p.message for p in report.problems)
    assert_the_newer_renewed_the_older(engine)
    # The old ledger again: its row is older than what we know, so it is refused, not revived.
    again = run_import(engine, old)
    assert (again.duplicates, again.imported) == (1, 0)


def test_a_newer_certificate_closes_one_that_had_already_lapsed(
    engine: Engine, tmp_path: Path
) -> None:
    """Renewed late: the expired certificate counts as renewed, not as lapsed unrenewed."""
    old = write_annex2(tmp_path / "old.xlsx", [licence_row(1, expires_on=date(2026, 3, 4))])
    assert run_import(engine, old).imported == 1  # expired before TODAY: lapsed at once
    new = write_annex2(tmp_path / "new.xlsx", [licence_row(1, expires_on=date(2031, 3, 3))])
    report = run_import(engine, new)
    assert report.imported == 1 and any("视为换证" in p.message for p in report.problems)
    assert_the_newer_renewed_the_older(engine)
    a = table(AuditEvent)
    with db.session_scope(engine, write=False) as session:
        before = session.execute(
            select(a.c.before).where(a.c.action == "certificate.renewed_by_import")
        ).scalar_one()
    assert before == {"status": "lapsed"}
    again = run_import(engine, old)  # the old ledger again: known, not revived
    assert (again.duplicates, again.imported) == (1, 0)


def numbered(path: Path, *rows: dict[str, Any]) -> Path:
    """A 附件2 workbook with a 证书编号 column after the plan's ten."""
    return write_annex2(
        path, list(rows), headers=(*ANNEX2_HEADERS, "证书编号"), keys=(*ANNEX2_KEYS, "number")
    )


def certificate_states(engine: Engine) -> list[tuple[str, str, str]]:
    """(number, certificate status, reminder state) of each certificate, by expiry."""
    c, r = table(Certificate), table(Reminder)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(c.c.number, c.c.status, r.c.state)
            .join(r, r.c.certificate_id == c.c.id)
            .order_by(c.c.expires_on)
        ).all()
    return [tuple(row) for row in rows]


def test_two_premises_certificates_of_one_permit_both_stay(engine: Engine, tmp_path: Path) -> None:
    """Different numbers, the later issued long before the earlier expires: two certificates
    (a property company's 二次供水 permits for two compounds), neither closed as renewed."""
    a = licence_row(1, number="001", issued_on=date(2022, 3, 5), expires_on=date(2027, 3, 4))
    b = licence_row(1, number="002", issued_on=date(2024, 1, 10), expires_on=date(2029, 1, 9))
    report = run_import(engine, numbered(tmp_path / "ab.xlsx", b, a))
    assert (report.imported, report.rejected) == (2, 0)
    [said] = [p.message for p in report.problems if "换证" in p.message]
    assert said.startswith("证书编号与原证（到期2027-03-04）不同，且颁发早于原证到期一年以上")
    assert [(n, s) for n, s, _ in certificate_states(engine)] == [
        ("001", "active"),
        ("002", "active"),
    ]


def test_an_earlier_premises_certificate_is_not_rejected_as_old(
    engine: Engine, tmp_path: Path
) -> None:
    b = licence_row(1, number="002", issued_on=date(2024, 1, 10), expires_on=date(2029, 1, 9))
    assert run_import(engine, numbered(tmp_path / "b.xlsx", b)).imported == 1
    a = licence_row(1, number="001", issued_on=date(2022, 3, 5), expires_on=date(2027, 3, 4))
    report = run_import(engine, numbered(tmp_path / "a.xlsx", a))
    assert (report.imported, report.rejected) == (1, 0)
    assert [(n, s) for n, s, _ in certificate_states(engine)] == [
        ("001", "active"),
        ("002", "active"),
    ]


@pytest.mark.parametrize(
    ("number", "issued"),
    [("009", date(2027, 2, 20)), ("001", date(2022, 6, 1)), ("", date(2022, 6, 1))],
)
def test_a_renewal_with_a_new_number_issued_near_the_old_expiry_closes_it(
    engine: Engine, tmp_path: Path, number: str, issued: date
) -> None:
    """A new number issued within a year before the old expiry, the same number, or no number:
    the later certificate is the renewal."""
    old = licence_row(1, number="001", issued_on=date(2022, 3, 5), expires_on=date(2027, 3, 4))
    new = licence_row(1, number=number, issued_on=issued, expires_on=date(2032, 3, 3))
    report = run_import(engine, numbered(tmp_path / "r.xlsx", old, new))
    assert report.imported == 2
    assert any(p.message.startswith("视为换证") for p in report.problems)
    assert [s for _, s, _ in certificate_states(engine)] == ["renewed", "active"]


@pytest.mark.parametrize("one_file", [True, False])
def test_a_renewal_closes_the_certificate_with_its_number_not_the_newest(
    engine: Engine, tmp_path: Path, one_file: bool
) -> None:
    """Premises 001 renews while premises 002 (the newest) runs on: 001's old one is closed."""
    a = licence_row(1, number="001", issued_on=date(2021, 12, 1), expires_on=date(2026, 11, 30))
    b = licence_row(1, number="002", issued_on=date(2022, 6, 1), expires_on=date(2027, 5, 31))
    c = licence_row(1, number="001", issued_on=date(2026, 11, 1), expires_on=date(2031, 10, 31))
    if one_file:
        report = run_import(engine, numbered(tmp_path / "abc.xlsx", a, b, c))
    else:
        run_import(engine, numbered(tmp_path / "ab.xlsx", a, b))
        report = run_import(engine, numbered(tmp_path / "c.xlsx", c))
    assert report.rejected == 0
    assert [(n, st) for n, st, _ in certificate_states(engine)] == [
        ("001", "renewed"),
        ("002", "active"),
        ("001", "active"),
    ]


def test_a_new_permit_years_after_one_lapsed_is_not_its_renewal(
    engine: Engine, tmp_path: Path
) -> None:
    old = licence_row(1, issued_on=date(2015, 5, 2), expires_on=date(2020, 5, 1))
    assert run_import(engine, write_annex2(tmp_path / "old.xlsx", [old])).imported == 1
    new = licence_row(1, issued_on=date(2026, 6, 1), expires_on=date(2031, 5, 31))
    report = run_import(engine, write_annex2(tmp_path / "new.xlsx", [new]))
    assert report.imported == 1
    assert [st for _, st, _ in certificate_states(engine)] == ["lapsed", "active"]


def test_a_new_holder_whose_only_row_names_a_retired_item_is_not_created(
    engine: Engine, tmp_path: Path
) -> None:
    c = table(CatalogItem)
    with db.session_scope(engine, write=True) as session:
        session.execute(
            update(c).where(c.c.certificate_name == "农药经营许可证").values(active=False)
        )
    row = licence_row(1, holder="东丽区新开业公司")
    report = run_import(engine, write_annex2(tmp_path / "r.xlsx", [row, row]))
    assert (report.imported, report.rejected) == (0, 2)
    assert all("已从目录停用" in r.reasons[0] for r in report.rejected_rows)
    assert count(engine, Holder) == 0


def test_an_older_certificate_than_known_is_rejected(engine: Engine, tmp_path: Path) -> None:
    run_import(
        engine, write_annex2(tmp_path / "n.xlsx", [licence_row(1, expires_on=date(2031, 1, 10))])
    )
    report = run_import(
        engine, write_annex2(tmp_path / "o.xlsx", [licence_row(1, expires_on=date(2026, 1, 10))])
    )
    assert (report.rejected, report.imported) == (1, 0)
    assert "旧证" in report.rejected_rows[0].reasons[0]


def test_failure_mid_write_leaves_the_database_as_before(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_annex2(tmp_path / "h.xlsx", rows(20), section=SECTION)
    before = {m: count(engine, m) for m in (Holder, Certificate, ContactPhone, ImportBatch)}
    real = write._insert

    def failing(session: Session, model: type[Any], *args: Any) -> list[int]:
        if model is Reminder:
            raise RuntimeError("disk full")
        return real(session, model, *args)

    monkeypatch.setattr(write, "_insert", failing)
    with pytest.raises(RuntimeError):
        run_import(engine, path)
    assert {m: count(engine, m) for m in before} == before


def test_unreadable_file_raises_and_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a workbook")
    before = count(engine, ImportBatch)
    with pytest.raises(UnreadableWorkbook, match="无法读取"):
        run_import(engine, path)
    assert count(engine, ImportBatch) == before


def test_a_broken_later_sheet_fails_the_import_after_rows_were_written(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second sheet is parsed while the first one's rows are written (small parts here):
    when it turns out broken, the import stops as for any unreadable file, and the rows
    already written are rolled back."""
    monkeypatch.setattr(pipeline, "FIRST_PART_ROWS", 5)
    monkeypatch.setattr(pipeline, "PART_ROWS", 5)
    path = write_annex2(
        tmp_path / "later.xlsx", rows(20), section=SECTION, extra_sheets={"社会事务科": rows(3)}
    )
    rewrite_parts(path, r"xl/worksheets/sheet2\.xml", lambda data: data[: len(data) // 2])
    written: list[int] = []
    real = write.RowWriter.add

    def add(self: write.RowWriter, part: Any) -> None:
        real(self, part)
        written.append(len(part))

    monkeypatch.setattr(write.RowWriter, "add", add)
    before = {m: count(engine, m) for m in (Holder, Certificate, Reminder, ImportBatch)}
    with pytest.raises(UnreadableWorkbook, match="工作表“社会事务科”的内容已损坏"):
        run_import(engine, path)
    assert sum(written) == 20  # the first sheet was written before the second was reached
    assert {m: count(engine, m) for m in before} == before


def test_contact_problems_never_show_a_whole_number(engine: Engine, tmp_path: Path) -> None:
    path = write_annex2(
        tmp_path / "m.xlsx", [licence_row(1, contact="1380013800 传真 022-23456789")]
    )
    report = run_import(engine, path)
    for problem in report.problems:
        assert "1380013800" not in (problem.value or "")
        assert "23456789" not in (problem.value or "")


def test_renewals_within_one_file_do_not_depend_on_row_order(
    engine: Engine, tmp_path: Path
) -> None:
    expiries = [date(2027, 1, 5), date(2025, 1, 5), date(2029, 1, 5), date(2026, 1, 5)]
    path = write_annex2(
        tmp_path / "chain.xlsx",
        [licence_row(1, issued_on=e.replace(year=e.year - 5), expires_on=e) for e in expiries],
        section=SECTION,
    )
    report = run_import(engine, path)
    assert (report.imported, report.rejected) == (4, 0)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(
                table(Certificate).c.expires_on,
                table(Certificate).c.status,
                table(Reminder).c.state,
            )
            .join(table(Reminder), table(Reminder).c.certificate_id == table(Certificate).c.id)
            .order_by(table(Certificate).c.expires_on)
        ).all()
    assert [(str(e), s) for e, s, _ in rows] == [
        ("2025-01-05", "renewed"),
        ("2026-01-05", "renewed"),
        ("2027-01-05", "renewed"),
        ("2029-01-05", "active"),
    ]
    assert [state for *_, state in rows] == ["renewed", "renewed", "renewed", "scheduled"]


def test_only_repeated_or_known_certificates_are_taken_for_renewals(
    engine: Engine, tmp_path: Path
) -> None:
    """Among many rows that renew nothing: one renews a stored certificate, one pair in the
    file renews itself; exactly those two are closed, whatever else the file holds."""
    stored = licence_row(1, expires_on=date(2026, 12, 31))  # still active
    run_import(engine, write_annex2(tmp_path / "old.xlsx", [stored], section=SECTION))
    rows = [licence_row(n) for n in range(2, 40)]  # unique holders: nothing to renew
    rows.insert(7, licence_row(1, expires_on=date(2031, 5, 2)))  # renews the stored one
    rows.insert(3, licence_row(50, expires_on=date(2030, 1, 5)))  # renews the next one
    rows.append(licence_row(50, expires_on=date(2025, 1, 5)))
    report = run_import(engine, write_annex2(tmp_path / "new.xlsx", rows, section=SECTION))
    assert (report.imported, report.rejected) == (41, 0)
    renewed = [p for p in report.problems if "视为换证" in p.message]
    assert sorted(p.row for p in renewed) == [8, 13]  # the new rows' own row numbers
    with db.session_scope(engine, write=False) as session:
        closed = session.execute(
            select(table(Holder).c.name, table(Certificate).c.expires_on)
            .join(table(Holder), table(Holder).c.id == table(Certificate).c.holder_id)
            .where(table(Certificate).c.status == "renewed")
            .order_by(table(Holder).c.name)
        ).all()
    assert [(name, str(e)) for name, e in closed] == [
        ("天津市东丽区第1号商贸有限公司", "2026-12-31"),
        ("天津市东丽区第50号商贸有限公司", "2025-01-05"),
    ]


def test_bulk_write_keeps_file_order_and_the_page_cache(
    engine: Engine, backend: str, tmp_path: Path
) -> None:
    """The bulk path gives ids in file order and leaves the connection's page cache as it was."""
    path = write_annex2(tmp_path / "c.xlsx", rows(25), section=SECTION)
    with db.session_scope(engine, write=True) as session:
        conn = session.connection()
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar() if backend == "sqlite" else 0
        report = service.import_ledger(
            session, path=path, today=TODAY, margin_workdays=10, actor="测试"
        )
        after = conn.exec_driver_sql("PRAGMA cache_size").scalar() if backend == "sqlite" else 0
    assert (report.imported, after) == (25, before)
    with db.session_scope(engine, write=False) as session:
        certs = session.execute(
            select(table(Certificate).c.id, table(Certificate).c.source_row).order_by(
                table(Certificate).c.id
            )
        ).all()
        reminders = session.execute(
            select(table(Reminder).c.certificate_id, table(Reminder).c.version)
        ).all()
    assert [r for _, r in certs] == sorted(r for _, r in certs)  # ids follow the file
    assert sorted(c for c, _ in reminders) == [i for i, _ in certs]
    assert {v for _, v in reminders} == {1}


# --- what the reader recognises, end to end --------------------------------------------------


def test_a_two_level_header_imports_the_expiry_not_the_issue_date(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "wps.xlsx"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["科室名称：社会事务科"])
    ws.append(
        ["序号", "单位（个人）名称", "许可证书名称", "证书有效期", None, "联系人", "联系方式"]
    )
    ws.append([None, None, None, "颁发日期", "期满日期", None, None])
    ws.append([1, "丁公司", "卫生许可证", date(2023, 5, 10), date(2027, 5, 9), "赵", "13800138000"])
    for ref in ("A2:A3", "B2:B3", "C2:C3", "D2:E2", "F2:F3", "G2:G3"):
        ws.merge_cells(ref)
    wb.save(path)
    report = run_import(engine, path)
    assert (report.rows, report.imported, report.rejected, report.warnings) == (1, 1, 0, 0)
    with db.session_scope(engine, write=False) as session:
        cert = session.exec(select(Certificate)).scalar_one()  # type: ignore[call-overload]
        assert (cert.issued_on, cert.expires_on) == (date(2023, 5, 10), date(2027, 5, 9))
        assert not cert.expiry_computed and cert.source_row == 4


def test_a_formula_without_a_saved_result_is_rejected_not_read_as_empty(
    engine: Engine, tmp_path: Path
) -> None:
    """A workbook written by a program (here openpyxl) holds formulas without their results.
    Such a cell is not empty: its expiry is not worked out from the issue date, its holder
    is not "missing"; the row is rejected and says why. A formula whose result Excel saved
    is read as that result."""
    path = write_annex2(tmp_path / "formulas.xlsx", rows(4), section=SECTION)
    with edit(path) as wb:
        ws = wb.active
        assert ws is not None
        ws["E5"] = "=DATE(2028,1,1)"  # expiry; the row's issue date stays
        ws["B6"] = '="某"&"公司"'  # holder
        ws["E7"] = "=DATE(2029,1,1)"  # given its result below, as Excel saves it
    serial = date(2029, 1, 1).toordinal() - date(1899, 12, 30).toordinal()
    rewrite_parts(
        path,
        r"xl/worksheets/sheet1\.xml",
        lambda xml: re.sub(
            rb"(<f>DATE\(2029,1,1\)</f>)<v\s*/>|(<f>DATE\(2029,1,1\)</f>)<v></v>",
            rb"\1\2<v>" + str(serial).encode() + rb"</v>",
            xml,
        ),
    )
    report = run_import(engine, path)
    assert accounted(report)
    assert (report.imported, report.rejected) == (2, 2)
    errors = {(p.row, p.column): p.message for p in report.problems if p.severity == "error"}
    assert set(errors) == {(5, "期满日期"), (6, "单位（个人）名称")}
    assert all("是公式，但文件中没有保存它的计算结果" in m for m in errors.values())
    assert not [p for p in report.problems if p.row in (5, 6) and p.severity == "warning"]
    with db.session_scope(engine, write=False) as session:
        expiry = session.execute(
            select(table(Certificate).c.expires_on).where(table(Certificate).c.source_row == 7)
        ).scalar_one()
    assert expiry == date(2029, 1, 1)


def test_a_cell_showing_an_excel_error_is_said_not_read_as_empty(
    engine: Engine, tmp_path: Path
) -> None:
    """A cell showing #REF!, #N/A... (t="e" in the sheet XML; python-calamine reads it as
    empty) is not a missing value: the expiry is not worked out from the issue date, the holder
    is not "missing"; the row is rejected naming the error. A contact cell in error is said,
    and the row imported for data repair."""
    errors = ["#REF!", "#N/A", "#NAME?", "#VALUE!", "#DIV/0!"]
    licences = rows(7)
    for n, key in enumerate(("expires_on", "holder", "certificate", "issued_on", "contact")):
        licences[n][key] = errors[n]  # openpyxl writes these strings as error cells
    path = write_annex2(tmp_path / "errors.xlsx", licences, section=SECTION)
    # As Excel saves a formula whose reference was deleted: the formula and its error value.
    rewrite_parts(
        path,
        r"xl/worksheets/sheet1\.xml",
        lambda xml: re.sub(
            rb'<c r="E10"[^>]*>.*?</c>', b'<c r="E10" t="e"><f>#REF!+365</f><v>#REF!</v></c>', xml
        ),
    )
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert sheet.count(b't="e"') == 6
    report = run_import(engine, path)
    assert accounted(report)
    assert (report.imported, report.rejected) == (2, 5)
    said = {(p.row, p.column): (p.severity, p.value, p.message) for p in report.problems}
    for row, column, error in (
        (5, "期满日期", "#REF!"),
        (6, "单位（个人）名称", "#N/A"),
        (7, "许可证书名称", "#NAME?"),
        (8, "颁发日期", "#VALUE!"),
        (10, "期满日期", "#REF!"),
    ):
        assert said[(row, column)] == (
            "error",
            error,
            f"{column}单元格是错误值 {error}，请在 Excel 或 WPS 中修正公式后重新导入",
        )
        # The one reason: not "missing", no expiry worked out.
        assert [p for p in report.problems if p.row == row and p.severity == "error"] == [
            p for p in report.problems if p.row == row and p.column == column
        ]
        assert not [p for p in report.problems if p.row == row and "推算" in p.message]
    (contact,) = [p for p in report.problems if p.row == 9 and p.value == "#DIV/0!"]
    assert (contact.severity, contact.column) == ("warning", "联系方式")
    assert contact.message.startswith("联系方式单元格是错误值 #DIV/0!，未能读取")
    with db.session_scope(engine, write=False) as session:
        (repair,) = session.execute(
            select(table(Reminder).c.needs_repair)
            .join(table(Certificate))
            .where(table(Certificate).c.source_row == 9)
        ).scalars()
    assert repair is True


def test_an_expiry_column_not_recognised_is_never_guessed_from_the_issue_date(
    engine: Engine, tmp_path: Path
) -> None:
    headers = ("序号", "单位名称", "许可证书名称", "发证日期", "有效期止于", "联系人", "联系电话")
    keys = ("seq", "holder", "certificate", "issued_on", "expiry", "contact_name", "contact")
    licence = licence_row(1, issued_on=date(2025, 11, 20), expiry=date(2031, 3, 4))
    path = write_annex2(tmp_path / "h.xlsx", [licence], headers=headers, keys=keys)
    report = run_import(engine, path)
    assert (report.rows, report.imported, report.rejected) == (1, 0, 1)
    assert count(engine, Certificate) == 0
    (error,) = [p for p in report.problems if p.severity == "error"]
    assert (
        error.row == 5 and "“有效期止于”" in error.message and "不按颁发日期推算" in error.message
    )
    assert any(
        p.column == "有效期止于" and "可能是期满日期" in p.message
        for p in report.problems
        if p.severity == "warning"
    )
    # Spelled as ledgers commonly do, the same column is the expiry.
    headers = ("序号", "单位名称", "许可证书名称", "发证日期", "有效期止", "联系人", "联系电话")
    path = write_annex2(tmp_path / "k.xlsx", [licence], headers=headers, keys=keys)
    report = run_import(engine, path)
    assert (report.imported, report.rejected) == (1, 0)
    with db.session_scope(engine, write=False) as session:
        cert = session.exec(select(Certificate)).scalar_one()  # type: ignore[call-overload]
        assert cert.expires_on == date(2031, 3, 4) and not cert.expiry_computed


def test_footer_and_note_rows_are_said_not_rejected(engine: Engine, tmp_path: Path) -> None:
    path = write_annex2(
        tmp_path / "f.xlsx",
        [
            licence_row(1),
            licence_row(2),
            [None, "合计：2户"],
            None,
            ["填表人：张敏", None, None, "审核人：王主任", None, None, "填表日期：2024年5月1日"],
            ["填报单位：涉农事务和经贸商务科", None, None, None, None, "联系电话：", "24399999"],
            ["说明", "本表每月更新"],
            [9],
            [10],
        ],
        section=SECTION,
    )
    report = run_import(engine, path)
    assert (report.rows, report.imported, report.rejected) == (2, 2, 0)
    assert report.rejects_file is None
    said = {(p.row, p.message) for p in report.problems if p.severity == "warning"}
    assert said == {
        *((n, "视为说明行，未导入") for n in (7, 9, 10, 11)),
        (12, "2行只有序号、没有其他内容（第12行至第13行），视为空行，未导入"),
    }
    for problem in report.problems:
        assert "24399999" not in problem.message and "张敏" not in problem.message


@pytest.mark.parametrize(
    ("name_cell", "contact_cell", "merge"),
    [
        ("李四 13900139000", None, False),
        ("李四 13900139000", None, True),  # 联系人 merged across 联系方式
        ("李四13900139000", None, False),
        ("李四（13900139000）", "13900139000", False),  # the same number twice: once
        (13900139000.0, None, False),
        ("李四 li@example.com", None, False),
        ("李四", "13900139000", False),
    ],
)
def test_a_phone_or_email_in_the_contact_name_column_is_a_contact(
    engine: Engine, tmp_path: Path, name_cell: object, contact_cell: object, merge: bool
) -> None:
    path = write_annex2(
        tmp_path / "n.xlsx",
        [licence_row(1, contact_name=name_cell, contact=contact_cell)],
        section=SECTION,
    )
    if merge:
        with edit(path) as wb:
            wb.active.merge_cells("F5:G5")
    report = run_import(engine, path)
    assert (report.imported, report.rejected) == (1, 0)
    assert not any("补充联系方式" in p.message for p in report.problems)
    with db.session_scope(engine, write=False) as session:
        names = session.execute(select(table(Contact).c.name)).scalars().all()
        phones = session.execute(select(table(ContactPhone).c.e164)).scalars().all()
        emails = session.execute(select(table(ContactEmail).c.address)).scalars().all()
        repair = session.execute(select(table(Reminder).c.needs_repair)).scalar_one()
    assert names == ([""] if isinstance(name_cell, float) else ["李四"])
    assert [*phones, *emails] == (
        ["li@example.com"] if "@" in str(name_cell) else ["+8613900139000"]
    )
    assert not repair


def test_digits_in_the_contact_name_that_are_no_phone_stay_the_name(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_annex2(
        tmp_path / "d.xlsx", [licence_row(1, contact_name="3号楼王工")], section=SECTION
    )
    report = run_import(engine, path)
    assert (report.imported, report.warnings) == (1, 0)
    with db.session_scope(engine, write=False) as session:
        assert session.execute(select(table(Contact).c.name)).scalars().all() == ["3号楼王工"]
