"""`callqueue import`, `ledger` and `export ledger`: the contract of DESIGN.md §7 and issue 3."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import create_engine, text

from callqueue import cli

from .conftest import SHARED
from .ledger_files import edit, licence_row, rewrite_parts, write_annex2, write_annex2_bulk

PEERS = SHARED / "testdata" / "xlsx-peers"
TODAY = "2026-11-24"
REPORT_KEYS = {
    "file",
    "rows",
    "imported",
    "updated",
    "duplicates",
    "rejected",
    "warnings",
    "problems",
    "rejects_file",
}


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Invoke the CLI on the test database with a fixed date."""
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli.main, ["--db", db_url, "--today", TODAY, *args])

    return invoke


def report_of(result: Result) -> dict[str, Any]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_json_report_shape_and_exit_codes(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = write_annex2(tmp_path / "good.xlsx", [licence_row(1, expires_on=date(2027, 5, 6))])
    result = run("import", str(good), "--json")
    assert result.exit_code == 0, result.output
    data = report_of(result)
    assert set(data) >= REPORT_KEYS
    assert (data["rows"], data["imported"], data["rejected"]) == (1, 1, 0)

    bad = write_annex2(tmp_path / "bad.xlsx", [licence_row(7), licence_row(8, expires_on="坏")])
    result = run("import", str(bad), "--json")
    assert result.exit_code == 1
    data = report_of(result)
    assert data["rejected"] == 1 and data["rejects_file"].endswith("bad-未导入.xlsx")
    problem = next(p for p in data["problems"] if p["severity"] == "error")
    assert (problem["sheet"], problem["row"], problem["column"]) == ("Sheet1", 6, "期满日期")
    assert set(problem) == {"sheet", "row", "column", "value", "severity", "message"}

    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    result = run("import", str(empty), "--json")
    assert result.exit_code == 2
    assert result.stdout == "" and result.stderr.startswith("错误：") and "为空" in result.stderr


def test_a_workbook_without_a_ledger_exits_2_and_writes_nothing(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, db_url: str
) -> None:
    from openpyxl import Workbook

    empty = tmp_path / "新建工作簿.xlsx"
    Workbook().save(empty)
    other = Workbook()
    assert other.active is not None
    other.active.append(["姓名", "部门", "电话"])
    other.active.append(["张三", "办公室", "13800138000"])
    hidden = write_annex2(tmp_path / "h.xlsx", [], hidden_sheets={"社会事务科": [licence_row(1)]})
    with edit(hidden) as wb:
        wb["Sheet1"].delete_rows(1, 10)  # only the hidden sheet holds a ledger
    other.save(tmp_path / "通讯录.xlsx")
    for path in (empty, tmp_path / "通讯录.xlsx", hidden):
        result = run("import", str(path), "--json")
        assert result.exit_code == 2, (path.name, result.output)
        assert result.stdout == "" and result.stderr.count("\n") == 1
        assert result.stderr.startswith("错误：") and "没有台账" in result.stderr
        assert "13800138000" not in result.output
        # Only the hidden sheet holds the ledger: the message names it and says what to do.
        assert ("隐藏的工作表“社会事务科”未读取" in result.stderr) == (path == hidden)
        assert ("请在 Excel 或 WPS 中取消隐藏后重新导入" in result.stderr) == (path == hidden)
    with create_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM importbatch")).scalar_one() == 0


def test_a_repeated_column_is_reported_and_phone_columns_add_up(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    headers = ("单位名称", "许可证书名称", "期满日期", "到期日期", "电话", "手机")
    keys = ("holder", "certificate", "expires_on", "again", "phone", "mobile")
    row = {
        "holder": "甲公司",
        "certificate": "农药经营许可证",
        "expires_on": date(2027, 5, 6),
        "again": date(2027, 6, 6),
        "phone": "022-23456789",
        "mobile": 13912345678,
    }
    path = write_annex2(tmp_path / "d.xlsx", [row], headers=headers, keys=keys)
    data = report_of(run("import", str(path), "--json"))
    assert data["imported"] == 1
    (warning,) = [p for p in data["problems"] if p["column"] == "到期日期"]
    assert warning["severity"] == "warning" and "重复" in warning["message"]
    (cert,) = json.loads(run("ledger", "--json").stdout)
    assert cert["expires_on"] == "2027-05-06"
    assert cert["phones"] == ["+862223456789", "+8613912345678"]


def test_human_report_and_dry_run(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_annex2(tmp_path / "h.xlsx", [licence_row(1), licence_row(2, holder=None)])
    result = run("import", str(path), "--dry-run")
    assert result.exit_code == 1
    assert "试运行" in result.output and "缺少单位" in result.output
    assert not (tmp_path / "h-未导入.xlsx").exists()
    ledger = json.loads(run("ledger", "--json").stdout)
    assert ledger == []


def test_unknown_section_option_is_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_annex2(tmp_path / "s.xlsx", [licence_row(1)])
    result = run("import", str(path), "--section", "不存在科")
    assert result.exit_code == 2 and "不存在" in result.stderr


def test_ledger_json_fields(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_annex2(
        tmp_path / "l.xlsx",
        [
            licence_row(1, expires_on=date(2027, 1, 20), contact="022-23456789-8021 a@b.cn"),
            licence_row(2, expires_on=date(2026, 10, 1), contact=None),
        ],
        section="涉农事务和经贸商务科",
    )
    assert run("import", str(path)).exit_code == 0
    data = json.loads(run("ledger", "--json").stdout)
    assert [d["holder"] for d in data] == [
        "天津市东丽区第2号商贸有限公司",
        "天津市东丽区第1号商贸有限公司",
    ]
    lapsed, live = data
    for key in (
        "id",
        "section",
        "holder",
        "certificate",
        "issued_on",
        "expires_on",
        "contact_name",
        "phones",
        "extensions",
        "emails",
        "remind_on",
        "apply_by",
        "state",
        "flags",
    ):
        assert key in live
    assert live["phones"] == ["+862223456789"] and live["extensions"] == ["8021"]
    assert live["emails"] == ["a@b.cn"] and live["expires_on"] == "2027-01-20"
    assert live["state"] == "due" and "late" in live["flags"]
    assert lapsed["state"] == "lapsed" and {"expired", "no_contact"} <= set(lapsed["flags"])
    only = json.loads(run("ledger", "--json", "--section", "社会事务科").stdout)
    assert only == []
    text_out = run("ledger").stdout  # for people: the state and flags in words
    assert "已过期（已过期满日、" in text_out and "无联系方式）" in text_out
    assert "待联系（补录" in text_out
    assert not any(code in text_out for code in ("lapsed", "expired", "no_contact", "due"))


def test_export_round_trip_changes_nothing(run, tmp_path: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    issued = {"issued_on": date(2023, 1, 5)}
    source = write_annex2(
        tmp_path / "src.xlsx",
        [
            licence_row(
                1, expires_on=date(2027, 3, 1), contact="13800138000；022-23456789转12", **issued
            ),
            licence_row(
                2,
                holder='=HYPERLINK("http://x")',
                contact="+86 139 0013 9000",
                expires_on=date(2028, 1, 4),
                **issued,
            ),
            licence_row(
                3,
                certificate="兽药经营许可证",
                holder="@东丽区水务",
                expires_on="2028.1.5",
                **issued,
            ),
            licence_row(
                4,
                holder="-东丽区减号公司",
                contact="zhang@example.com",
                expires_on=date(2027, 12, 1),
                **issued,
            ),
        ],
        section="涉农事务和经贸商务科",
    )
    with edit(source) as wb:
        wb.active["B6"].data_type = "s"  # keep the formula-looking holder as text
    result = run("import", str(source))
    assert result.exit_code == 0, result.output
    out = tmp_path / "台账导出.xlsx"
    result = run("export", "ledger", "-o", str(out))
    assert result.exit_code == 0, result.output

    wb = load_workbook(out)
    assert wb.sheetnames == ["涉农事务和经贸商务科", "环保城管和建设交通科", "社会事务科"]
    ws = wb["涉农事务和经贸商务科"]
    assert ws["A3"].value == "科室名称：涉农事务和经贸商务科"
    assert [c.value for c in ws[4]][:10] == [
        "序号",
        "单位（个人）名称",
        "许可证书名称",
        "颁发日期",
        "期满日期",
        "联系人",
        "联系方式",
        "提醒日期",
        "提醒方式",
        "提醒人",
    ]
    holders = [ws.cell(r, 2).value for r in range(5, ws.max_row + 1)]
    assert '=HYPERLINK("http://x")' in holders and "-东丽区减号公司" in holders
    expiry = ws.cell(5, 5)
    assert isinstance(expiry.value, date) and expiry.number_format == "yyyy-mm-dd"
    with zipfile.ZipFile(out) as zf:
        assert not any(b"<f>" in zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets"))

    before = json.loads(run("ledger", "--json").stdout)
    again = report_of(run("import", str(out), "--json"))
    assert (again["imported"], again["updated"], again["rejected"]) == (0, 0, 0)
    assert again["duplicates"] == 4 and again["warnings"] == 0
    assert json.loads(run("ledger", "--json").stdout) == before


def test_an_export_keeps_the_certificate_numbers_for_another_database(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbered = ("序号", "单位（个人）名称", "许可证书名称", "证书编号", "颁发日期", "期满日期")
    keys = ("seq", "holder", "certificate", "number", "issued_on", "expires_on")
    source = write_annex2(
        tmp_path / "src.xlsx",
        [
            licence_row(1, number="津东农药14-0001221", expires_on=date(2027, 3, 1)),
            licence_row(2, number="120110000012345", expires_on=date(2027, 4, 1)),  # digits only
            licence_row(3, expires_on=date(2027, 5, 1)),  # none given
        ],
        section="涉农事务和经贸商务科",
        headers=numbered,
        keys=keys,
    )
    assert run("import", str(source)).exit_code == 0
    out = tmp_path / "导出.xlsx"
    assert run("export", "ledger", "-o", str(out)).exit_code == 0
    ws = load_workbook(out)["涉农事务和经贸商务科"]
    header = [c.value for c in ws[4]]
    assert header[10] == "证书编号"  # after the plan's ten columns
    numbers = [ws.cell(r, 11).value for r in range(5, ws.max_row + 1)]
    assert sorted(numbers, key=str) == sorted(
        ["津东农药14-0001221", "120110000012345", None], key=str
    )
    cells = [ws.cell(r, 11) for r in range(5, ws.max_row + 1) if ws.cell(r, 11).value]
    assert [c.data_type for c in cells] == ["s", "s"]  # text, not a number

    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"  # another office's database
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    imported = CliRunner().invoke(
        cli.main, ["--db", fresh, "--today", TODAY, "import", str(out), "--json"]
    )
    assert report_of(imported)["imported"] == 3
    with create_engine(fresh).connect() as conn:
        kept = set(conn.execute(text("SELECT number FROM certificate")).scalars())
    assert kept == {"津东农药14-0001221", "120110000012345", ""}


def test_an_export_with_a_retired_items_certificates_reads_back_unchanged(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, db_url: str
) -> None:
    """Its known certificates are duplicates; only a new certificate of it is refused."""
    rows = [
        licence_row(1, expires_on=date(2027, 3, 1)),
        licence_row(2, certificate="兽药经营许可证", expires_on=date(2027, 4, 1)),
    ]
    assert run("import", str(write_annex2(tmp_path / "a.xlsx", rows))).exit_code == 0
    with create_engine(db_url).connect() as conn:
        seq = conn.execute(
            text("SELECT seq FROM catalogitem WHERE certificate_name = '农药经营许可证'")
        ).scalar_one()
    assert (
        run("staff", "add", "周主任", "--section", "政务服务科", "--role", "supervisor").exit_code
        == 0
    )
    retired = run(
        "--staff", "周主任", "catalog", "retire", str(seq), "--reason", "事项取消", "--yes"
    )
    assert retired.exit_code == 0, retired.output
    out = tmp_path / "导出.xlsx"
    assert run("export", "ledger", "-o", str(out)).exit_code == 0
    again = report_of(run("import", str(out), "--json"))
    assert (again["imported"], again["rejected"], again["duplicates"]) == (0, 0, 2)

    new = write_annex2(tmp_path / "b.xlsx", [licence_row(3, expires_on=date(2027, 5, 1))])
    refused = report_of(run("import", str(new), "--json"))
    assert (refused["imported"], refused["rejected"]) == (0, 1)
    [problem] = [p for p in refused["problems"] if p["severity"] == "error"]
    assert (
        problem["message"] == "“农药经营许可证”已从目录停用，不再导入新证书（已有的证书不受影响）"
    )
    typo = write_annex2(tmp_path / "c.xlsx", [licence_row(4, certificate="农药经营许可正")])
    hinted = report_of(run("import", str(typo), "--json"))  # no hint to a retired name
    assert all("农药经营许可证" not in p["message"] for p in hinted["problems"])


def test_a_section_with_no_certificates_gets_its_own_empty_ledger(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    """Asked for by --section, or one of every section: its sheet, named, headed, empty."""
    rows = [licence_row(1, expires_on=date(2027, 3, 1))]
    assert run("import", str(write_annex2(tmp_path / "a.xlsx", rows))).exit_code == 0  # 社会事务科
    one = tmp_path / "一个科室.xlsx"
    result = run("export", "ledger", "--section", "环保城管和建设交通科", "-o", str(one))
    assert result.exit_code == 0, result.output
    wb = load_workbook(one)
    assert wb.sheetnames == ["环保城管和建设交通科"]
    ws = wb.active
    assert ws is not None and ws.max_row == 4
    assert ws["A3"].value == "科室名称：环保城管和建设交通科"
    assert ws["A4"].value == "序号" and ws.print_title_rows == "$4:$4"

    every = tmp_path / "全部.xlsx"
    assert run("export", "ledger", "-o", str(every)).exit_code == 0
    wb = load_workbook(every)  # the approval sections, not 政务服务科 (it keeps no ledger)
    assert wb.sheetnames == ["涉农事务和经贸商务科", "环保城管和建设交通科", "社会事务科"]
    assert [wb[n].max_row for n in wb.sheetnames] == [4, 4, 5]
    result = run("import", str(every), "--json")  # the empty sheets read back as nothing
    assert result.exit_code == 0, result.output
    again = report_of(result)
    assert (again["imported"], again["duplicates"], again["rejected"]) == (0, 1, 0)


# Two sections alike in their first 31 characters (a sheet name's limit), with characters no
# sheet name may hold: Excel would refuse the names, openpyxl raises on them.
LONG_NAME = "东丽区政务服务办公室许可证书到期前提醒服务行政审批业务第一科室"


def test_section_names_a_sheet_cannot_take_still_export_and_read_back(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, db_url: str
) -> None:
    rows = [licence_row(1, expires_on=date(2027, 3, 1))]
    farm = write_annex2(tmp_path / "a.xlsx", rows, section="涉农事务和经贸商务科")
    social = [licence_row(2, certificate="卫生许可证", expires_on=date(2027, 4, 1))]
    assert run("import", str(farm)).exit_code == 0
    assert run("import", str(write_annex2(tmp_path / "b.xlsx", social))).exit_code == 0
    renamed = {"涉农事务和经贸商务科": f"{LONG_NAME}[甲]", "社会事务科": f"{LONG_NAME}/乙:*?"}
    with create_engine(db_url).begin() as conn:
        for old, new in renamed.items():
            conn.execute(text("UPDATE section SET name = :n WHERE name = :o"), {"n": new, "o": old})
    out = tmp_path / "导出.xlsx"
    result = run("export", "ledger", "-o", str(out))
    assert result.exit_code == 0, result.output

    wb = load_workbook(out)
    names = wb.sheetnames
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names), names
    assert len({n.casefold() for n in names}) == len(names)
    sections = {wb[n]["A3"].value.removeprefix("科室名称：") for n in names}
    assert set(renamed.values()) <= sections  # the full names, for the import
    again = report_of(run("import", str(out), "--json"))
    assert (again["imported"], again["updated"], again["rejected"]) == (0, 0, 0)
    assert again["duplicates"] == 2


def test_control_characters_never_break_the_rejects_or_an_export(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Text pasted from Word brings control characters, which Excel stores as `_x000B_`; a
    # worksheet cannot hold them, so kept they failed the rejects workbook after the import
    # had committed (with a false "nothing saved") and every later export of the ledger.
    log_file = tmp_path / "cq.log"
    monkeypatch.setenv("CALLQUEUE_LOG", str(log_file))
    path = write_annex2(
        tmp_path / "word.xlsx",
        [
            licence_row(1, holder="天津控制_x000B_符公司", contact_name="张_x0007_"),
            licence_row(
                2, holder="天津拒绝_x000B_公司", certificate="卫生许可", number="A_x0001_1"
            ),
        ],
    )
    result = run("import", str(path), "--json")
    assert result.exit_code == 1, result.output
    data = report_of(result)
    assert (data["imported"], data["rejected"]) == (1, 1)
    assert not [p for p in data["problems"] if "未导入行文件" in p["message"]]
    rejects = load_workbook(data["rejects_file"])
    assert rejects.active is not None
    assert [rejects.active.cell(4, c).value for c in (2, 3)] == ["天津拒绝公司", "卫生许可"]
    (row,) = json.loads(run("ledger", "--json").stdout)
    assert (row["holder"], row["contact_name"]) == ("天津控制符公司", "张")
    out = tmp_path / "out.xlsx"
    assert run("export", "ledger", "-o", str(out)).exit_code == 0
    assert load_workbook(out)["社会事务科"].cell(5, 2).value == "天津控制符公司"


def test_a_rejects_workbook_that_fails_leaves_the_import_reported(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callqueue.ledger import rejects

    def broken(*_args: object, **_kwargs: object) -> Path:
        raise ValueError("天津拒绝公司 cannot be used in worksheets")

    log_file = tmp_path / "cq.log"
    monkeypatch.setenv("CALLQUEUE_LOG", str(log_file))
    monkeypatch.setattr(rejects, "write_rejects", broken)
    path = write_annex2(tmp_path / "r.xlsx", [licence_row(1), licence_row(2, holder=None)])
    result = run("import", str(path), "--json")
    assert result.exit_code == 1, result.output
    data = report_of(result)
    assert (data["imported"], data["rejected"], data["rejects_file"]) == (1, 1, None)
    first = data["problems"][0]
    assert first["severity"] == "error" and "导入本身已完成" in first["message"]
    assert "ValueError" in first["message"]
    assert len(json.loads(run("ledger", "--json").stdout)) == 1  # the import stands
    logged = log_file.read_text(encoding="utf-8")
    assert "ValueError" in logged and "天津拒绝公司" not in logged and "天＊＊＊＊＊" in logged


def test_a_workbook_open_in_excel_or_a_file_for_a_folder_is_said_in_chinese(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows a workbook open in Excel/WPS cannot be replaced: a permission error."""
    rows = [licence_row(1, expires_on=date(2027, 3, 1)), licence_row(2, holder=None)]
    folder = tmp_path / "共享"
    folder.mkdir()
    source = write_annex2(folder / "a.xlsx", rows)
    (folder / "a-未导入.xlsx").write_bytes(b"last time's rejects, open in Excel")
    out = folder / "台账.xlsx"
    out.write_bytes(b"the copy open in Excel")

    def locked(src: str, dst: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", locked)
        result = run("export", "ledger", "-o", str(out))
        imported = report_of(run("import", str(source), "--json"))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"错误：无法写入 {out}：没有写入权限，或该文件正在 Excel/WPS 中打开（请关闭后重试）"
    )
    assert out.read_bytes() == b"the copy open in Excel"  # untouched, no temporary file left
    assert sorted(p.name for p in folder.iterdir()) == ["a-未导入.xlsx", "a.xlsx", "台账.xlsx"]
    first = imported["problems"][0]  # the rejects workbook could not replace its old copy
    assert "没有写入权限，或该文件正在 Excel/WPS 中打开" in first["message"]
    assert "导入本身已完成" in first["message"] and imported["imported"] == 1

    (tmp_path / "一个文件").write_text("")
    under_a_file = run("export", "catalog", "-o", str(tmp_path / "一个文件" / "目录.xlsx"))
    assert under_a_file.exit_code == 2
    assert "路径中有一部分不是文件夹" in under_a_file.stderr
    assert "File exists" not in under_a_file.stderr


def test_the_demo_ledger_exported_and_imported_changes_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The demo once stored numbers of no known kind (194…, 154…); exported as `194-48402905`,
    # they came back as made-up Tianjin landlines, and the round trip "updated" contacts.
    assert run("demo", "--no-tui", "--certificates", "300").exit_code == 0
    out = tmp_path / "demo.xlsx"
    assert run("export", "ledger", "-o", str(out)).exit_code == 0, out
    before = json.loads(run("ledger", "--json").stdout)
    data = report_of(run("import", str(out), "--json"))
    assert (data["imported"], data["updated"], data["rejected"]) == (0, 0, 0), data["problems"]
    assert json.loads(run("ledger", "--json").stdout) == before


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+8613812345678", "13812345678"),
        ("+862223456789", "022-23456789"),
        ("+861012345678", "010-12345678"),
        ("+8619448402905", "19448402905"),  # no known kind: digits, never an area-code dash
    ],
)
def test_display_phone(e164: str, shown: str) -> None:
    from callqueue.ledger.phones import display_phone

    assert display_phone(e164) == shown
    assert display_phone(e164, "12") == shown + "转12"


def test_a_broken_later_sheet_exits_2_and_writes_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_annex2(
        tmp_path / "later.xlsx",
        [licence_row(n) for n in range(1, 6)],
        extra_sheets={"社会事务科": [licence_row(9)]},
    )
    rewrite_parts(path, r"xl/worksheets/sheet2\.xml", lambda data: data[: len(data) // 2])
    result = run("import", str(path), "--json")
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and result.stderr.startswith("错误：")
    assert "工作表“社会事务科”的内容已损坏" in result.stderr and result.stderr.count("\n") == 1
    assert json.loads(run("ledger", "--json").stdout) == []


def test_every_peer_file_is_accounted_or_refused_in_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not PEERS.is_dir():
        pytest.skip("shared/testdata is not beside this checkout")
    files = sorted(PEERS.glob("*.xlsx"))
    assert len(files) >= 25
    for path in files:
        copy = tmp_path / path.name
        copy.write_bytes(path.read_bytes())
        result = run("import", str(copy), "--json", "--section", "社会事务科")
        assert "Traceback" not in result.output, path.name
        assert result.exception is None or isinstance(result.exception, SystemExit), path.name
        if result.exit_code == 2:
            assert result.stdout == "" and result.stderr.startswith("错误："), path.name
            assert result.stderr.count("\n") == 1, path.name
            continue
        assert result.exit_code in (0, 1), (path.name, result.output)
        data = report_of(result)
        assert data["rows"] == (
            data["imported"] + data["updated"] + data["duplicates"] + data["rejected"]
        ), path.name
        if data["rows"] == 0:
            assert data["problems"], path.name  # "no ledger table found" is said, not silent


@pytest.fixture(scope="module")
def big_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger big enough to be read in a second process and still running when killed."""
    return write_annex2_bulk(tmp_path_factory.mktemp("big") / "big.xlsx", 30_000)


def _import_env(tmp_path: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CALLQUEUE_DB": url,
        "CALLQUEUE_TODAY": TODAY,
        "CALLQUEUE_CONFIG": str(tmp_path / "none.toml"),
    }


def _start_import(path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "callqueue.cli", "import", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_killed_import_leaves_the_database_as_before(tmp_path: Path, big_ledger: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.sqlite'}"
    env = _import_env(tmp_path, url)
    subprocess.run(
        [sys.executable, "-m", "callqueue.cli", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )
    proc = _start_import(big_ledger, env)
    engine = create_engine(url)
    deadline = time.monotonic() + 60
    # Kill it once it holds the write lock (the import transaction has begun).
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA busy_timeout = 0")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.exec_driver_sql("ROLLBACK")
        except Exception:
            break
        time.sleep(0.02)
    time.sleep(0.3)
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with engine.connect() as conn:
        certs = conn.execute(text("SELECT count(*) FROM certificate")).scalar_one()
        batches = conn.execute(text("SELECT count(*) FROM importbatch")).scalar_one()
    engine.dispose()
    assert killed, "the import finished before it could be killed; make the file bigger"
    assert (certs, batches) == (0, 0)


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in found.read_text().split()] if found.exists() else []


def _running(pid: int) -> bool:
    try:  # a zombie no one reaps (the sandbox's init may not) has finished too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads processes from /proc")
def test_the_reader_process_does_not_outlive_a_killed_import(
    tmp_path: Path, big_ledger: Path
) -> None:
    """A killed import's reading process leaves by itself instead of blocking forever on a
    full pipe with the whole workbook in memory."""
    proc = _start_import(
        big_ledger, _import_env(tmp_path, f"sqlite:///{tmp_path / 'orphan.sqlite'}")
    )
    deadline = time.monotonic() + 60
    while not (readers := _children(proc.pid)) and proc.poll() is None:
        assert time.monotonic() < deadline, "no reading process was started"
        time.sleep(0.02)
    time.sleep(0.5)  # it has sent parts by now
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert readers, "the import finished before it could be killed; make the file bigger"
    deadline = time.monotonic() + 10
    while any(map(_running, readers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in readers if _running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "the reading process outlived the import"


def assert_prints_on_a4(ws: Any, header_rows: str | None) -> None:
    """A4 landscape, one page wide, the header rows on every printed page."""
    setup = ws.page_setup
    assert (str(setup.paperSize), setup.orientation) == (ws.PAPERSIZE_A4, "landscape"), ws.title
    assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), ws.title
    assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    assert ws.print_title_rows == header_rows, ws.title


def test_every_exported_workbook_prints_on_a4_one_page_wide(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    rows = [licence_row(1, expires_on=date(2027, 3, 1)), licence_row(2, expires_on="坏")]
    source = write_annex2(tmp_path / "a.xlsx", rows)
    assert run("import", str(source)).exit_code == 1  # one row rejected
    books = {"rejects": tmp_path / "a-未导入.xlsx"}
    for what in ("ledger", "catalog", "report"):
        books[what] = tmp_path / f"{what}.xlsx"
        result = run("export", what, "-o", str(books[what]))
        assert result.exit_code == 0, result.output
    ledger = load_workbook(books["ledger"])
    for ws in ledger.worksheets:
        assert_prints_on_a4(ws, "$4:$4")
    catalog = load_workbook(books["catalog"])
    assert_prints_on_a4(catalog["附件1"], "$3:$3")
    assert_prints_on_a4(catalog["换证须知"], "$2:$2")
    assert_prints_on_a4(load_workbook(books["rejects"]).worksheets[0], "$3:$3")
    report = load_workbook(books["report"])
    assert_prints_on_a4(report["汇总"], "$3:$3")
    assert_prints_on_a4(report["工作量"], "$3:$3")
    for ws in report.worksheets[1:-1]:  # a table per figure: no one header to repeat
        assert_prints_on_a4(ws, None)


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (("export", "ledger"), ()),
        (("export", "catalog"), ()),
        (("export", "report"), ("--rows", "1")),
    ],
)
def test_an_export_is_always_an_xlsx_workbook_and_says_when_it_replaced_one(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, command: tuple[str, ...], extra: tuple[str, ...]
) -> None:
    # `-o 台账` once wrote a workbook named 台账 (no extension: double-clicking it asks which
    # program to use), and `-o 台账.xls` an .xlsx that Excel and WPS open with a warning that the
    # file is damaged; an earlier export of the same name was replaced without a word.
    folder = tmp_path / "导出"
    folder.mkdir()
    plain = run(*command, "-o", str(folder / "台账2026.11"), *extra)
    assert plain.exit_code == 0, plain.stderr
    made = folder / "台账2026.11.xlsx"
    assert load_workbook(made).sheetnames  # a workbook, under the name Excel expects
    assert plain.stdout.strip().endswith(f"到 {made}")
    assert sorted(p.name for p in folder.iterdir()) == [made.name]

    for wrong in ("台账.xls", "台账.CSV", "台账.et"):
        refused = run(*command, "-o", str(folder / wrong), *extra)
        assert refused.exit_code == 2, refused.stdout
        assert "文件名须以 .xlsx 结尾（如 台账.xlsx）" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert sorted(p.name for p in folder.iterdir()) == [made.name]  # nothing written

    again = run(*command, "-o", str(folder / "台账2026.11"), *extra)
    assert again.exit_code == 0, again.stderr
    assert again.stdout.strip().endswith("（已替换原有文件）")

    upper = run(*command, "-o", str(folder / "目录.XLSX"), *extra)
    assert upper.exit_code == 0, upper.stderr
    assert sorted(p.name for p in folder.iterdir()) == [made.name, "目录.XLSX"]
