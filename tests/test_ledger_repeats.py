"""A certificate given twice in one file: what the later row adds to its contact is kept."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from callqueue import clock, db
from callqueue.db import table
from callqueue.ledger import pipeline, service
from callqueue.models import (
    Attempt,
    AuditEvent,
    Certificate,
    Contact,
    ContactEmail,
    ContactPhone,
    Holder,
    Reminder,
)

from .ledger_files import licence_row, write_annex2
from .test_ledger_import import SECTION, accounted, count, run_import

_TABLES = (Holder, Contact, ContactPhone, ContactEmail, Certificate, Reminder)


@pytest.fixture(autouse=True, params=["one process", "reader process"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways an import reads and checks (see test_ledger_import)."""
    threshold = 0 if request.param == "reader process" else 1 << 62
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", threshold)
    return str(request.param)


def ledger(path: Path, *rows: dict[str, Any]) -> Path:
    return write_annex2(path, list(rows), section=SECTION)


def row(**values: Any) -> dict[str, Any]:
    """Licence 1 of the file, with these cells."""
    return licence_row(1, issued_on=date(2022, 7, 1), expires_on=date(2027, 6, 30), **values)


def other() -> dict[str, Any]:
    """Another licence, so a file holds more than the repeated one."""
    return licence_row(2, issued_on=date(2022, 8, 1), expires_on=date(2027, 7, 31))


def contacts(engine: Engine) -> dict[str, set[str]]:
    """Licence 1's holder's contacts by name: their phones (E.164) and emails."""
    holder = licence_row(1)["holder"]
    c, ct, h = table(ContactPhone), table(Contact), table(Holder)
    e = table(ContactEmail)
    out: dict[str, set[str]] = {}
    with db.session_scope(engine, write=False) as session:
        for name, cid in session.execute(
            select(ct.c.name, ct.c.id).join(h, h.c.id == ct.c.holder_id).where(h.c.name == holder)
        ):
            phones = session.execute(select(c.c.e164).where(c.c.contact_id == cid)).scalars()
            emails = session.execute(select(e.c.address).where(e.c.contact_id == cid)).scalars()
            out[name] = {*phones, *emails}
    return out


def certificate_contact(engine: Engine) -> str:
    """The name of licence 1's certificate's contact."""
    c, ct = table(Certificate), table(Contact)
    with db.session_scope(engine, write=False) as session:
        return str(
            session.execute(
                select(ct.c.name)
                .join(c, c.c.contact_id == ct.c.id)
                .where(c.c.expires_on == date(2027, 6, 30))
            ).scalar_one()
        )


def tables(engine: Engine) -> dict[Any, int]:
    return {m: count(engine, m) for m in (*_TABLES, AuditEvent)}


def said(report: service.ImportReport, row: int) -> list[str]:
    return [p.message for p in report.problems if p.row == row]


def assert_again_changes_nothing(engine: Engine, path: Path, rows: int) -> None:
    """Importing the same file again finds every row known and writes nothing but its batch."""
    before = tables(engine)
    again = run_import(engine, path)
    assert (again.imported, again.updated, again.rejected) == (0, 0, 0), again.problems
    assert again.duplicates == rows
    after = tables(engine)
    assert after.pop(AuditEvent) == before.pop(AuditEvent) + 1  # the import's own
    assert after == before


def test_a_repeated_row_that_adds_a_mobile_keeps_it_and_counts_as_updated(
    engine: Engine, tmp_path: Path
) -> None:
    path = ledger(
        tmp_path / "a.xlsx",
        row(contact="022-23456789"),
        other(),
        row(contact="022-23456789、13912345678"),
    )
    report = run_import(engine, path)
    assert (report.rows, report.imported, report.updated, report.duplicates) == (3, 2, 1, 0)
    assert accounted(report) and report.rejected == 0
    assert contacts(engine) == {"王经理": {"+862223456789", "+8613912345678"}}
    assert said(report, 7) == ["与第5行是同一张证书，已合并：新增电话1个"]
    assert_again_changes_nothing(engine, path, rows=3)


def test_the_added_number_is_masked_in_the_report_and_the_audit(
    engine: Engine, tmp_path: Path
) -> None:
    path = ledger(tmp_path / "m.xlsx", row(contact="02223456789"), row(contact="13912345678"))
    report = run_import(engine, path)
    assert report.updated == 1
    for problem in report.problems:
        assert "12345678" not in f"{problem.message} {problem.value}"
    with db.session_scope(engine, write=False) as session:
        a = table(AuditEvent)
        (after,) = session.execute(select(a.c.after).where(a.c.action == "ledger.update")).scalars()
    assert after["phones"] == ["+86139****5678"]


def test_a_repeated_row_that_adds_an_email_keeps_it(engine: Engine, tmp_path: Path) -> None:
    path = ledger(
        tmp_path / "e.xlsx",
        row(contact="13812345678"),
        row(contact="13812345678 Wang@Example.cn", contact_name=None),  # no name: the same one
    )
    report = run_import(engine, path)
    assert (report.imported, report.updated, report.duplicates) == (1, 1, 0)
    assert accounted(report)
    assert contacts(engine) == {"王经理": {"+8613812345678", "wang@example.cn"}}
    assert said(report, 6) == ["与第5行是同一张证书，已合并：新增邮箱1个"]
    assert_again_changes_nothing(engine, path, rows=2)


def test_a_repeated_row_with_nothing_new_is_a_duplicate(engine: Engine, tmp_path: Path) -> None:
    path = ledger(
        tmp_path / "d.xlsx",
        row(contact="13812345678"),
        row(contact="138 1234 5678"),  # the same number, written otherwise
        row(contact=None, contact_name=None),  # nothing at all
    )
    report = run_import(engine, path)
    assert (report.imported, report.updated, report.duplicates) == (1, 0, 2)
    assert accounted(report)
    assert contacts(engine) == {"王经理": {"+8613812345678"}}
    assert said(report, 6)[-1] == "与第5行是同一张证书，已跳过"
    assert count(engine, ContactPhone) == 1
    assert_again_changes_nothing(engine, path, rows=3)


def test_a_repeated_row_naming_another_person_adds_them_to_the_holder(
    engine: Engine, tmp_path: Path
) -> None:
    path = ledger(
        tmp_path / "n.xlsx",
        row(contact="13812345678"),
        row(contact_name="李主任", contact="13912345678"),
    )
    report = run_import(engine, path)
    assert (report.imported, report.updated, report.duplicates) == (1, 1, 0)
    assert accounted(report)
    # The first row's person stays the certificate's: the second is another of the holder's.
    assert certificate_contact(engine) == "王经理"
    assert contacts(engine) == {"王经理": {"+8613812345678"}, "李主任": {"+8613912345678"}}
    assert said(report, 6) == ["与第5行是同一张证书，已合并：新增联系人，新增电话1个"]
    assert_again_changes_nothing(engine, path, rows=2)
    assert certificate_contact(engine) == "王经理"


def test_a_repeated_row_gives_a_certificate_without_contact_its_number(
    engine: Engine, tmp_path: Path
) -> None:
    path = ledger(
        tmp_path / "r.xlsx",
        row(contact=None),  # flagged for data repair
        row(contact="13912345678", contact_name=None),
    )
    report = run_import(engine, path)
    assert (report.imported, report.updated) == (1, 1)
    with db.session_scope(engine, write=False) as session:
        (repair,) = session.execute(select(table(Reminder).c.needs_repair)).scalars()
    assert repair is False
    assert contacts(engine) == {"王经理": {"+8613912345678"}}


def test_another_persons_number_makes_a_certificate_without_contact_callable(
    engine: Engine, tmp_path: Path
) -> None:
    """The holder is reached through any of its contacts (the briefing shows them all)."""
    path = ledger(
        tmp_path / "o.xlsx",
        row(contact=None),  # flagged for data repair
        row(contact_name="李主任", contact="13912345678"),
    )
    report = run_import(engine, path)
    assert (report.imported, report.updated) == (1, 1)
    assert certificate_contact(engine) == "王经理"
    with db.session_scope(engine, write=False) as session:
        (repair,) = session.execute(select(table(Reminder).c.needs_repair)).scalars()
    assert repair is False


def test_a_repeated_row_of_a_certificate_already_in_the_ledger_adds_its_number(
    engine: Engine, tmp_path: Path
) -> None:
    first = run_import(engine, ledger(tmp_path / "1.xlsx", row(contact="13812345678"), other()))
    assert first.imported == 2
    path = ledger(
        tmp_path / "2.xlsx",
        row(contact="13812345678"),
        other(),
        row(contact="13812345678、13912345678"),
    )
    report = run_import(engine, path)
    assert (report.imported, report.updated, report.duplicates) == (0, 1, 2)
    assert accounted(report)
    assert contacts(engine) == {"王经理": {"+8613812345678", "+8613912345678"}}
    assert said(report, 7) == ["与第5行是同一张证书，已合并：新增电话1个"]
    assert_again_changes_nothing(engine, path, rows=3)


def test_an_updated_file_with_the_new_number_on_a_single_row_still_updates(
    engine: Engine, tmp_path: Path
) -> None:
    run_import(engine, ledger(tmp_path / "1.xlsx", row(contact="13812345678")))
    path = ledger(tmp_path / "2.xlsx", row(contact="13812345678、13912345678"))
    report = run_import(engine, path)
    assert (report.imported, report.updated, report.duplicates) == (0, 1, 0)
    assert said(report, 5) == ["已有此证书，已更新：新增电话1个"]
    assert contacts(engine) == {"王经理": {"+8613812345678", "+8613912345678"}}
    assert_again_changes_nothing(engine, path, rows=1)


def test_a_repeated_row_in_a_later_part_of_a_large_file(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parts of one row: the repeated row's certificate was written by an earlier part.
    monkeypatch.setattr(pipeline, "FIRST_PART_ROWS", 1)
    monkeypatch.setattr(pipeline, "PART_ROWS", 1)
    path = ledger(
        tmp_path / "p.xlsx",
        row(contact="13812345678"),
        other(),
        row(contact="13912345678", contact_name=None),
        row(contact="13812345678"),
    )
    report = run_import(engine, path)
    assert (report.imported, report.updated, report.duplicates) == (2, 1, 1)
    assert accounted(report)
    assert contacts(engine) == {"王经理": {"+8613812345678", "+8613912345678"}}
    assert_again_changes_nothing(engine, path, rows=4)


def test_a_repeated_row_of_an_older_certificate_is_rejected_as_the_first(
    engine: Engine, tmp_path: Path
) -> None:
    """Both rows go to the rejects file: a clerk who corrects one must see the other."""
    newer = licence_row(1, issued_on=date(2025, 7, 1), expires_on=date(2030, 6, 30))
    assert run_import(engine, ledger(tmp_path / "new.xlsx", newer)).imported == 1
    path = ledger(
        tmp_path / "old.xlsx",
        row(contact="13812345678"),
        other(),
        row(contact="13812345678、13912345678"),
    )
    report = run_import(engine, path)
    assert (report.imported, report.updated, report.duplicates, report.rejected) == (1, 0, 0, 2)
    assert accounted(report)
    first, again = report.rejected_rows
    assert (first.row, again.row) == (5, 7)
    assert "旧证" in first.reasons[0]
    assert list(again.reasons) == [f"{first.reasons[0]}（与第5行是同一张证书）"]
    with db.session_scope(engine, write=False) as session:  # nothing of the old rows is kept
        phones = set(session.execute(select(table(ContactPhone).c.e164)).scalars())
    assert "+8613912345678" not in phones


def test_an_updated_ledger_renaming_the_contact_renames_them_keeping_numbers_and_calls(
    engine: Engine, tmp_path: Path
) -> None:
    """The updated ledger names the same person otherwise (王经理 → 王总, the same numbers):
    the holder's contact is renamed, said as such; no second contact with the same number,
    the number marked wrong stays wrong, and calls made to the number stay with it."""
    both = "13812345678、13912345678"
    first = ledger(tmp_path / "1.xlsx", row(contact=both), veterinary(contact="13812345678"))
    assert run_import(engine, first).imported == 2
    p, ct, c = table(ContactPhone), table(Contact), table(Certificate)
    with db.session_scope(engine, write=True) as session:
        session.execute(update(p).where(p.c.e164 == "+8613912345678").values(invalid=True))
        phone = session.execute(select(p.c.id).where(p.c.e164 == "+8613812345678")).scalar_one()
        reminder = session.execute(select(table(Reminder).c.id)).scalars().first()
        session.add(
            Attempt(reminder_id=reminder, at=clock.now(), outcome="no_answer", phone_id=phone)
        )
    before = session_rows(engine)

    renamed = ledger(
        tmp_path / "2.xlsx",
        row(contact=both, contact_name="王总"),
        veterinary(contact="13812345678", contact_name="王总"),
    )
    report = run_import(engine, renamed)
    assert (report.imported, report.updated, report.duplicates) == (0, 1, 1)
    assert accounted(report)
    assert said(report, 5) == [
        "号码 +86139****5678 已在该单位标记为无效，未导入；如已核实可用，请在单位记录中添加",
        "已有此证书，已更新：联系人由 王经理 改为 王总",
    ]
    assert said(report, 6) == []
    assert contacts(engine) == {"王总": {"+8613812345678", "+8613912345678"}}
    after = session_rows(engine)
    assert after["phones"] == before["phones"]  # the same rows: ids, invalid marks
    assert after["certificates"] == before["certificates"]  # the same contact
    with db.session_scope(engine, write=False) as session:
        (attempt_phone,) = session.execute(select(table(Attempt).c.phone_id)).scalars()
        assert attempt_phone == phone
        assert session.execute(select(ct.c.name)).scalars().all() == ["王总"]
        assert session.execute(select(c.c.contact_id).distinct()).scalars().all() == [
            after["phones"][0][1]
        ]
    assert_again_changes_nothing(engine, renamed, rows=2)


def test_a_renamed_contact_is_not_renamed_back_by_a_row_of_the_same_file(
    engine: Engine, tmp_path: Path
) -> None:
    """One row of the file names the person as before, another otherwise (two people at one
    number): the one named as before stays, the other becomes another contact of the holder,
    and importing the file again changes nothing."""
    first = ledger(tmp_path / "1.xlsx", row(contact="13812345678"), veterinary())
    assert run_import(engine, first).imported == 2
    path = ledger(
        tmp_path / "2.xlsx",
        row(contact="13812345678"),
        veterinary(contact_name="王总"),
    )
    report = run_import(engine, path)
    assert (report.imported, report.updated, report.duplicates) == (0, 1, 1)
    assert certificate_contact(engine) == "王经理"
    assert set(contacts(engine)) == {"王经理", "王总"}
    assert_again_changes_nothing(engine, path, rows=2)


def veterinary(**values: Any) -> dict[str, Any]:
    """Another certificate of licence 1's holder."""
    return licence_row(
        1,
        certificate="兽药经营许可证",
        issued_on=date(2022, 10, 1),
        expires_on=date(2027, 9, 30),
        **values,
    )


def session_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The phones (id, contact, number, invalid) and certificates (id, contact), by id."""
    p, c = table(ContactPhone), table(Certificate)
    with db.session_scope(engine, write=False) as session:
        return {
            "phones": [
                tuple(r)
                for r in session.execute(
                    select(p.c.id, p.c.contact_id, p.c.e164, p.c.invalid).order_by(p.c.id)
                )
            ],
            "certificates": [
                tuple(r) for r in session.execute(select(c.c.id, c.c.contact_id).order_by(c.c.id))
            ],
        }
