"""Reading ledger workbooks (附件2): tables found, every row numbered, odd files never crash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from callqueue.ledger.read import (
    COLUMNS,
    NOTE_ROW,
    REPEATED_HEADER,
    SEQ_ONLY,
    RawRow,
    SheetTable,
    UnreadableWorkbook,
    normalise_header,
    read_workbook,
)

from .ledger_files import (
    ANNEX2_HEADERS,
    ANNEX2_KEYS,
    Row,
    break_dimension,
    drop_sheets,
    edit,
    fill_annex2,
    licence_row,
    rewrite_parts,
    write_annex2,
)

PEERS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "xlsx-peers"
NEEDS_PEERS = pytest.mark.skipif(
    not PEERS.is_dir(), reason="shared/testdata/xlsx-peers is not beside this checkout"
)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def only_table(path: Path) -> SheetTable:
    tables = read_workbook(path).tables
    assert len(tables) == 1
    return tables[0]


def row_numbers(table: SheetTable) -> list[int]:
    return [r.row for r in table.rows]


# --- the plan's layout ----------------------------------------------------------------------


def test_annex2_layout_gives_header_section_and_rows(tmp_path: Path) -> None:
    path = write_annex2(tmp_path / "ledger.xlsx", [licence_row(1), licence_row(2)])
    book = read_workbook(path)
    table = book.tables[0]
    assert (table.sheet, table.header_row, table.section, table.hidden) == (
        "Sheet1",
        4,
        "社会事务科",
        False,
    )
    assert table.columns == {key: col for col, key in enumerate(ANNEX2_KEYS)}
    assert table.extra_headers == [] and table.duplicate_headers == [] and table.skipped == []
    assert row_numbers(table) == [5, 6]
    first = table.rows[0]
    assert first.sheet == "Sheet1"
    assert first.values["holder"] == "天津市东丽区第1号商贸有限公司"
    assert first.values["certificate"] == "农药经营许可证"
    assert first.values["expires_on"] == date(2026, 5, 2)
    assert first.values["reminded_on"] is None
    assert set(first.values) == set(ANNEX2_KEYS)
    assert book.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert book.path == path


def test_values_are_stripped_and_otherwise_untouched(tmp_path: Path) -> None:
    row = licence_row(
        1, holder="\u3000 甲公司\u00a0", contact=13812345678, contact_name="   ", reminder=""
    )
    values = only_table(write_annex2(tmp_path / "v.xlsx", [row])).rows[0].values
    assert values["holder"] == "甲公司"
    assert values["contact"] == 13812345678.0  # phone as a float: parsing is a later step
    assert values["contact_name"] is None and values["reminder"] is None
    assert values["issued_on"] == date(2021, 5, 2)


def test_headers_in_any_order_with_variants(tmp_path: Path) -> None:
    headers = (
        "期满 日期",
        "单位(个人)\n名称",
        "状态",
        "证书编号",
        "许可证书名称：",
        "联系电话",
        "企业名称",
        "E-mail",
        "备　注",
    )
    keys = (
        "expires_on",
        "holder",
        "state",
        "number",
        "certificate",
        "contact",
        "other",
        "email",
        "note",
    )
    row = {
        "expires_on": "2026.5.1",
        "holder": "乙公司",
        "state": "在办",
        "number": "X-1",
        "certificate": "卫生许可证",
        "contact": "022-2438 1234",
        "other": "乙",
        "email": "a@b.cn",
    }
    table = only_table(write_annex2(tmp_path / "h.xlsx", [row], headers=headers, keys=keys))
    assert table.columns == {
        "expires_on": 0,
        "holder": 1,
        "number": 3,
        "certificate": 4,
        "contact": 5,
        "email": 7,
        "note": 8,
    }
    assert table.extra_headers == ["状态"]
    assert table.duplicate_headers == ["企业名称"]
    assert table.rows[0].values == {
        "expires_on": "2026.5.1",
        "holder": "乙公司",
        "number": "X-1",
        "certificate": "卫生许可证",
        "contact": "022-2438 1234",
        "email": "a@b.cn",
        "note": None,
    }


@pytest.mark.parametrize(
    "expiry",
    ["期满日期（有效期至）", "证书有效期至", "有效期至(含当日)", "到期时间", "许可证有效期至"],
)
def test_expiry_headers_with_remarks_or_an_owner_are_known(tmp_path: Path, expiry: str) -> None:
    # Unknown, the expiry column was ignored and the expiry computed from the issue date.
    headers = ("单位名称", "证书名称", "发证时间", expiry, "联系人")
    keys = ("holder", "certificate", "issued_on", "expires_on", "contact_name")
    row = {"holder": "甲", "certificate": "卫生许可证", "expires_on": "2024.12.31"}
    table = only_table(write_annex2(tmp_path / "e.xlsx", [row], headers=headers, keys=keys))
    assert table.columns["expires_on"] == 3 and table.columns["issued_on"] == 2
    assert table.rows[0].values["expires_on"] == "2024.12.31" and table.extra_headers == []


@pytest.mark.parametrize(
    "expiry",
    [
        "有效期止",
        "有效期截至",
        "有效期至",
        "期满时间",
        "届满日期",
        "有效期结束日期",
        "有效日期至",
        "有效期限截止",
        "到期日期",
        "到期时间",
    ],
)
def test_common_expiry_spellings_are_known(tmp_path: Path, expiry: str) -> None:
    headers = ("序号", "单位名称", "许可证书名称", "发证日期", expiry, "联系人", "联系电话")
    keys = ("seq", "holder", "certificate", "issued_on", "expires_on", "contact_name", "contact")
    row = licence_row(1, expires_on=date(2031, 3, 4))
    table = only_table(write_annex2(tmp_path / "e.xlsx", [row], headers=headers, keys=keys))
    assert table.columns["expires_on"] == 4 and table.extra_headers == []
    assert table.rows[0].values["expires_on"] == date(2031, 3, 4)


def test_a_bare_validity_header_is_the_expiry_only_when_nothing_else_is(tmp_path: Path) -> None:
    headers = ("单位名称", "证书名称", "有效期", "联系电话")
    keys = ("holder", "certificate", "validity", "contact")
    row = {"holder": "甲", "certificate": "卫生许可证", "validity": "2024.12.31"}
    table = only_table(write_annex2(tmp_path / "w.xlsx", [row], headers=headers, keys=keys))
    assert table.columns["expires_on"] == 2
    assert table.rows[0].values["expires_on"] == "2024.12.31"
    headers = ("单位名称", "证书名称", "有效期", "期满日期")
    keys = ("holder", "certificate", "validity", "expires_on")
    row = {"holder": "甲", "certificate": "卫生许可证", "validity": "4年", "expires_on": 20241231}
    table = only_table(write_annex2(tmp_path / "x.xlsx", [row], headers=headers, keys=keys))
    assert table.columns["expires_on"] == 3 and table.extra_headers == ["有效期"]


def test_several_phone_columns_add_up(tmp_path: Path) -> None:
    headers = ("单位名称", "证书名称", "期满日期", "电话", "手机", "联系方式", "邮箱", "电子邮箱")
    keys = ("holder", "certificate", "expires_on", "phone", "mobile", "contact", "m1", "m2")
    rows = [
        {
            "holder": "甲",
            "certificate": "卫生许可证",
            "expires_on": "2027.1.1",
            "mobile": 13812345678.0,
        },
        {
            "holder": "乙",
            "certificate": "卫生许可证",
            "expires_on": "2027.1.1",
            "phone": "022-23456789",
            "mobile": 13912345678,
            "contact": " ",
            "m1": "a@b.cn",
            "m2": "c@d.cn",
        },
    ]
    table = only_table(write_annex2(tmp_path / "p.xlsx", rows, headers=headers, keys=keys))
    assert table.columns["contact"] == 3 and table.duplicate_headers == []
    first, second = (r.values for r in table.rows)
    assert first["contact"] == 13812345678.0  # one cell given: kept as it is
    assert second["contact"] == "022-23456789、13912345678"
    assert second["email"] == "a@b.cn、c@d.cn"


def test_normalise_header_folds_spelling_variants() -> None:
    assert normalise_header(" 单位（个人）\n名称 ") == "单位(个人)名称"
    assert normalise_header("期满\u3000日期：") == "期满日期"
    assert normalise_header("【备注】:") == "(备注)"
    assert normalise_header("E-Mail") == "e-mail"
    assert normalise_header("*期满日期") == "期满日期"
    for texts in COLUMNS.values():
        assert all(normalise_header(text) == text for text in texts)


def test_two_level_header_with_vertical_merges(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["序号", "单位名称", "许可信息", None, None, "联系人"])
    ws.append([None, None, "证书名称", "发证日期", "有效期至", None])
    ws.append([1, "丙公司", "排污许可证", "2021-01-01", "2026-01-01", "李"])
    for ref in ("A1:A2", "B1:B2", "C1:E1", "F1:F2"):
        ws.merge_cells(ref)
    wb.save(tmp_path / "two.xlsx")
    table = only_table(tmp_path / "two.xlsx")
    assert table.header_row == 2
    assert set(table.columns) == {
        "seq",
        "holder",
        "certificate",
        "issued_on",
        "expires_on",
        "contact_name",
    }
    assert table.rows[0].row == 3 and table.rows[0].values["holder"] == "丙公司"


def two_level_ledger(path: Path, *, merged: bool = True) -> Path:
    """WPS's two-level header: 证书有效期 merged across 颁发日期 | 期满日期 on the row below,
    the other headers merged down over both rows; the top row alone looks like a header."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["东丽区政务服务办公室许可证书到期前提醒台账"])
    ws.append(["科室名称：社会事务科"])
    ws.append(
        ["序号", "单位（个人）名称", "许可证书名称", "证书有效期", None, "联系人", "联系方式"]
    )
    ws.append([None, None, None, "颁发日期", "期满日期", None, None])
    ws.append([1, "丁公司", "卫生许可证", date(2023, 5, 10), date(2027, 5, 9), "赵", "13800138000"])
    ws.append([2, "戊公司", "卫生许可证", date(2022, 7, 1), date(2026, 6, 30), "钱", "13900139000"])
    if merged:
        for ref in ("A3:A4", "B3:B4", "C3:C4", "D3:E3", "F3:F4", "G3:G4"):
            ws.merge_cells(ref)
    wb.save(path)
    return path


@pytest.mark.parametrize("merged", [True, False], ids=["merged", "merges lost"])
def test_second_header_row_under_a_header_names_the_columns(tmp_path: Path, merged: bool) -> None:
    # The top row was taken for the header: 证书有效期 became the expiry (the issue dates) and
    # the 颁发日期 | 期满日期 row a data row.
    table = only_table(two_level_ledger(tmp_path / "wps.xlsx", merged=merged))
    assert (table.header_row, table.section) == (4, "社会事务科")
    assert table.columns == {
        "seq": 0,
        "holder": 1,
        "certificate": 2,
        "issued_on": 3,
        "expires_on": 4,
        "contact_name": 5,
        "contact": 6,
    }
    assert table.extra_headers == [] and table.duplicate_headers == [] and table.skipped == []
    assert row_numbers(table) == [5, 6]
    first = table.rows[0].values
    assert (first["issued_on"], first["expires_on"]) == (date(2023, 5, 10), date(2027, 5, 9))
    assert read_lazily(tmp_path / "wps.xlsx") == read_at_once(tmp_path / "wps.xlsx")


def test_a_row_under_the_header_is_a_second_header_only_if_all_of_it_names_columns(
    tmp_path: Path,
) -> None:
    path = two_level_ledger(tmp_path / "wps.xlsx")
    with edit(path) as wb:
        assert wb.active is not None
        wb.active["D4"] = "张三"  # not a column name: the row is data (and rejected later)
    table = only_table(path)
    assert table.header_row == 3 and table.columns["expires_on"] == 3
    assert row_numbers(table) == [4, 5, 6]


# --- sheets ---------------------------------------------------------------------------------


def test_each_sheet_is_a_table_and_hidden_sheets_are_not_read(tmp_path: Path) -> None:
    path = write_annex2(
        tmp_path / "s.xlsx",
        [licence_row(1)],
        extra_sheets={"环保城管和建设交通科": [licence_row(2), licence_row(3)]},
        hidden_sheets={"旧台账": [licence_row(4)]},
        very_hidden_sheets={"模板": [licence_row(5)]},
    )
    tables = read_workbook(path).tables
    assert [(t.sheet, t.hidden, len(t.rows)) for t in tables] == [
        ("Sheet1", False, 1),
        ("环保城管和建设交通科", False, 2),
        ("旧台账", True, 0),
        ("模板", True, 0),
    ]
    assert [t.section for t in tables[:2]] == ["社会事务科", "环保城管和建设交通科"]
    assert all(t.header_row is None for t in tables[2:])


def test_sheet_without_ledger_header(tmp_path: Path) -> None:
    path = write_annex2(tmp_path / "n.xlsx", [licence_row(1)])
    with edit(path) as wb:
        other = wb.create_sheet("说明")
        other.append(["填表说明：期满日期按证书填写"])
        contacts = wb.create_sheet("通讯录")
        contacts.append(["序号", "单位名称", "联系人", "联系电话"])  # no certificate, no expiry
        contacts.append([1, "丁公司", "赵", "13800000000"])
        wb.create_sheet("空白")
    tables = read_workbook(path).tables
    assert [(t.sheet, t.header_row, t.rows) for t in tables[1:]] == [
        ("说明", None, []),
        ("通讯录", None, []),
        ("空白", None, []),
    ]


def test_wrong_dimension_tag_does_not_cut_the_sheet(tmp_path: Path) -> None:
    rows = [licence_row(n) for n in range(1, 501)]
    path = break_dimension(write_annex2(tmp_path / "wps.xlsx", rows), "A1:J1")
    # The trap this guards against: openpyxl read-only trusts the tag and stops, silently.
    naive = load_workbook(path, read_only=True)
    assert len(list(naive.active.iter_rows(values_only=True))) < 500  # type: ignore[union-attr]
    naive.close()
    table = only_table(path)
    assert len(table.rows) == 500
    assert row_numbers(table) == list(range(5, 505))


# --- row numbers ----------------------------------------------------------------------------


def test_row_numbers_with_empty_leading_rows(tmp_path: Path) -> None:
    path = write_annex2(
        tmp_path / "e.xlsx", [licence_row(1), licence_row(2)], title=False, blank_rows_before=3
    )
    table = only_table(path)
    assert (table.header_row, row_numbers(table)) == (5, [6, 7])


def test_table_starting_in_a_later_column(tmp_path: Path) -> None:
    path = write_annex2(tmp_path / "c.xlsx", [licence_row(1)], title=False, blank_rows_before=4)
    with edit(path) as wb:
        assert wb.active is not None
        wb.active.insert_cols(1, 2)
    table = only_table(path)
    assert table.header_row == 6 and table.section == "社会事务科"
    assert table.columns["holder"] == 3 and table.columns["seq"] == 2
    assert table.rows[0].row == 7
    assert table.rows[0].values["holder"] == "天津市东丽区第1号商贸有限公司"


def test_blank_rows_vanish_and_numbers_stay_true(tmp_path: Path) -> None:
    rows = [licence_row(1), None, None, licence_row(2), None, licence_row(3), None]
    table = only_table(write_annex2(tmp_path / "b.xlsx", rows))
    assert row_numbers(table) == [5, 8, 10]
    assert table.skipped == []


# --- merges, notes, repeated headers --------------------------------------------------------


def test_vertical_merge_fills_down(tmp_path: Path) -> None:
    rows = [
        licence_row(1, holder="戊公司"),
        licence_row(2, holder=None, certificate="卫生许可证"),
        licence_row(3, holder=None, certificate="事业单位法人证书"),
        {"seq": None},  # inside the merge but otherwise empty: a blank row
        licence_row(4),
    ]
    path = write_annex2(tmp_path / "m.xlsx", rows)
    with edit(path) as wb:
        assert wb.active is not None
        wb.active.merge_cells("B5:B8")
    table = only_table(path)
    assert [(r.row, r.values["holder"]) for r in table.rows] == [
        (5, "戊公司"),
        (6, "戊公司"),
        (7, "戊公司"),
        (9, "天津市东丽区第4号商贸有限公司"),
    ]
    assert table.skipped == []


def test_horizontal_merges_are_not_spread(tmp_path: Path) -> None:
    path = write_annex2(tmp_path / "hm.xlsx", [licence_row(1, contact_name="孙")])
    with edit(path) as wb:
        assert wb.active is not None
        wb.active.merge_cells("F5:G5")
    values = only_table(path).rows[0].values
    assert (values["contact_name"], values["contact"]) == ("孙", None)


def test_note_rows_are_skipped_with_a_reason(tmp_path: Path) -> None:
    rows: list[Row] = [
        licence_row(1),
        ["本页以下为2024年新增"],  # merged over A6:J7 below
        None,
        ["注：期满日期以证书为准"],
        [None, None, None, None, None, None, None, None, None, None, "仅供内部参考"],
        ["填表人：张三", None, None, "审核人：李四", None, "填表日期：2024-01-05"],
        licence_row(2),
        [None, "注塑制品厂"],  # a holder alone is a data row, even one starting with 注
        [7],  # a pre-numbered template row with nothing in it
        ["合计：3户"],
        ["合计", "2户"],  # totals rows: a label, then counts
        ["总 计", None, "2"],
        [None, "小计", None, None, None, None, "3"],
        [None, "合计贸易有限公司", "卫生许可"],  # a name that starts like a total is data
    ]
    path = write_annex2(tmp_path / "notes.xlsx", rows)
    with edit(path) as wb:
        assert wb.active is not None
        wb.active.merge_cells("A6:J7")  # a two-row block note: skipped once, not filled down
    table = only_table(path)
    assert row_numbers(table) == [5, 11, 12, 18]
    assert table.rows[2].values["holder"] == "注塑制品厂"
    assert table.rows[3].values["holder"] == "合计贸易有限公司"
    assert table.skipped == [
        (6, NOTE_ROW),
        (8, NOTE_ROW),
        (9, NOTE_ROW),
        (10, NOTE_ROW),
        (13, SEQ_ONLY),
        (14, NOTE_ROW),
        (15, NOTE_ROW),
        (16, NOTE_ROW),
        (17, NOTE_ROW),
    ]


def test_footer_rows_are_note_rows_but_a_licence_never_is(tmp_path: Path) -> None:
    rows: list[Row] = [
        licence_row(1),
        [None, "合计：1户"],
        None,
        ["填表人：张敏", None, None, "审核人：王主任", None, None, "填表日期：2024年5月1日"],
        ["填报单位：涉农事务和经贸商务科", None, None, None, None, "联系电话：", "24399999"],
        ["说明", "本表每月更新"],
        ["制表：张三", None, None, "日期：2024-05-01"],
        ["负责人：李四", None, None, None, None, None, "13800138000"],
        # Data, whatever the first cell says: a holder with a certificate or a date.
        ["说明", "丁公司", "卫生许可证", None, date(2027, 1, 1)],
        ["备注：补录", "说明书印刷有限公司", "卫生许可证"],
        ["注：", "戊公司", None, None, "2027.1.1"],
    ]
    table = only_table(write_annex2(tmp_path / "footer.xlsx", rows))
    assert row_numbers(table) == [5, 13, 14, 15]
    assert [r.values["holder"] for r in table.rows[1:]] == [
        "丁公司",
        "说明书印刷有限公司",
        "戊公司",
    ]
    assert table.skipped == [(n, NOTE_ROW) for n in (6, 8, 9, 10, 11, 12)]


def test_repeated_header_rows_are_skipped(tmp_path: Path) -> None:
    rows: list[Row] = [licence_row(1), list(ANNEX2_HEADERS), licence_row(2), licence_row(3)]
    table = only_table(write_annex2(tmp_path / "r.xlsx", rows))
    assert row_numbers(table) == [5, 7, 8]
    assert table.skipped == [(6, REPEATED_HEADER)]


@pytest.mark.parametrize(
    ("cells", "section"),
    [
        (["科室名称：社会事务科"], "社会事务科"),
        (["科室：环保城管和建设交通科"], "环保城管和建设交通科"),
        (["科室名称 : 涉农事务和经贸商务科 "], "涉农事务和经贸商务科"),
        (["科室名称", None, "社会事务科"], "社会事务科"),
        (["科室名称：", "政务服务科"], "政务服务科"),
        (["科室", "社会事务科"], "社会事务科"),
        (["科室名称："], None),
        (["科室名称：", None, None, "填报日期：2024年1月"], None),
        (["科室负责人：张三"], None),
        ([], None),
    ],
)
def test_section_row_variants(tmp_path: Path, cells: list[str | None], section: str | None) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["东丽区政务服务办公室许可证书到期前提醒台账"])
    ws.append(cells or [None])
    fill_annex2(ws, [licence_row(1)], title=False, section_row=False, blank_rows_before=2)
    wb.save(tmp_path / "sec.xlsx")
    table = only_table(tmp_path / "sec.xlsx")
    assert (table.header_row, table.section) == (3, section)


def test_content_not_name_decides_the_format(tmp_path: Path) -> None:
    path = write_annex2(tmp_path / "台账.xlsx", [licence_row(1)])
    renamed = path.rename(tmp_path / "台账.xls")
    assert len(only_table(renamed).rows) == 1


# --- files that cannot be read --------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (lambda p: p.write_bytes(b""), "文件为空"),
        (
            lambda p: p.write_text("序号,单位名称\n1,甲\n", encoding="utf-8"),
            "不是有效的 Excel 工作簿",
        ),
        (lambda p: p.write_bytes(b"PK\x03\x04" + b"\0" * 200), "不是有效的 Excel 工作簿"),
        (lambda p: p.mkdir(), "文件夹"),
        (lambda p: None, "文件不存在"),
        (lambda p: drop_sheets(write_annex2(p, [])), "工作簿中没有工作表"),
        # An encrypted workbook is an OLE container holding an EncryptedPackage stream.
        (
            lambda p: p.write_bytes(
                b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
                + b"\0" * 600
                + "EncryptedPackage".encode("utf-16-le")
            ),
            "文件已加密",
        ),
    ],
    ids=["empty", "csv", "corrupt-zip", "directory", "missing", "no-sheets", "encrypted"],
)
def test_unreadable_files_raise_one_chinese_sentence(
    tmp_path: Path, make: Callable[[Path], object], cause: str
) -> None:
    path = tmp_path / "台账.xlsx"
    make(path)
    with pytest.raises(UnreadableWorkbook) as caught:
        read_workbook(path)
    message = str(caught.value)
    assert "台账.xlsx" in message and cause in message
    assert message.endswith("。") and "\n" not in message


def test_truncated_workbook_is_unreadable(tmp_path: Path) -> None:
    whole = write_annex2(tmp_path / "whole.xlsx", [licence_row(n) for n in range(50)]).read_bytes()
    for cut in (len(whole) // 3, len(whole) - 30):
        path = tmp_path / f"cut{cut}.xlsx"
        path.write_bytes(whole[:cut])
        with pytest.raises(UnreadableWorkbook, match="无法读取"):
            read_workbook(path)


# --- the corpus of odd files from other projects --------------------------------------------


def peer_files() -> list[Path]:
    return sorted(PEERS.glob("*.xlsx")) if PEERS.is_dir() else []


@NEEDS_PEERS
@pytest.mark.parametrize("path", peer_files(), ids=lambda p: p.name)
def test_peer_file_reads_or_says_why(path: Path) -> None:
    try:
        book = read_workbook(path)
    except UnreadableWorkbook as exc:
        assert CHINESE.search(str(exc)) and path.name in str(exc)
        return
    assert book.tables
    for table in book.tables:
        numbers = [r.row for r in table.rows] + [n for n, _ in table.skipped]
        assert len(numbers) == len(set(numbers))
        assert all(table.header_row is not None and n > table.header_row for n in numbers)


@NEEDS_PEERS
def test_peer_quirks() -> None:
    with pytest.raises(UnreadableWorkbook, match="文件为空"):
        read_workbook(PEERS / "openpyxl__null_file.xlsx")
    hidden = read_workbook(PEERS / "openpyxl__hidden_sheets.xlsx").tables
    assert [(t.sheet, t.hidden) for t in hidden] == [
        ("Sheet", False),
        ("Hidden", True),
        ("VeryHidden", True),
    ]
    strict = read_workbook(PEERS / "calamine__strict_iso_paths.xlsx").tables
    assert [(t.sheet, t.hidden) for t in strict] == [("ml_out", False)]


# --- sheets read ahead (lazy reading, as an import does) -------------------------------------


def shown(table: SheetTable, rows: list[RawRow]) -> tuple[object, ...]:
    return (
        table.sheet,
        table.hidden,
        table.header_row,
        table.columns,
        table.extra_headers,
        table.section,
        [(r.sheet, r.row, r.values) for r in rows],
        table.skipped,
    )


def read_at_once(path: Path) -> list[tuple[object, ...]]:
    return [shown(t, t.rows) for t in read_workbook(path).tables]


def read_lazily(path: Path) -> list[tuple[object, ...]]:
    """Every table as an import reads it: waiting for each sheet read ahead when reached."""
    tables = []
    for table in read_workbook(path, lazy=True).tables:
        rows = list(table.ready().data_rows())  # rows first: `skipped` fills as they are read
        tables.append(shown(table, rows))
    return tables


def test_sheets_after_the_first_are_read_ahead_and_read_the_same(tmp_path: Path) -> None:
    path = write_annex2(
        tmp_path / "three.xlsx",
        [licence_row(n) for n in range(1, 41)],
        sheet="社会事务科",
        extra_sheets={
            "涉农事务和经贸商务科": [licence_row(n) for n in range(41, 201)] + [None, None],
            "环保城管和建设交通科": [licence_row(n) for n in range(201, 221)],
        },
        hidden_sheets={"隐藏": [licence_row(300)]},
    )
    book = read_workbook(path, lazy=True)
    first, second, third, hidden = book.tables
    assert first.later is None and first.header_row == 4
    # Not waited for yet: only a guess of their size, from the first sheet's rows per byte.
    assert second.later is not None and third.later is not None and hidden.later is None
    assert second.header_row is None and not second.columns
    assert 160 * 0.8 <= second.expected_rows <= 160 * 1.25
    assert 20 * 0.8 <= third.expected_rows <= 20 * 1.25
    assert second.ready() is second and second.later is None and second.header_row == 4
    assert second.section == "涉农事务和经贸商务科"

    lazy = read_lazily(path)
    assert lazy == read_at_once(path)
    assert [len(t[6]) for t in lazy] == [40, 160, 20, 0]  # type: ignore[arg-type]


def test_a_broken_sheet_read_ahead_is_reported_when_reached(tmp_path: Path) -> None:
    path = write_annex2(
        tmp_path / "broken.xlsx",
        [licence_row(n) for n in range(1, 11)],
        extra_sheets={"乙科": [licence_row(n) for n in range(11, 31)]},
    )
    rewrite_parts(path, r"xl/worksheets/sheet2\.xml", lambda data: data[: len(data) // 2])
    with pytest.raises(UnreadableWorkbook, match="工作表“乙科”的内容已损坏"):
        read_workbook(path)
    first, second = read_workbook(path, lazy=True).tables
    assert len(list(first.data_rows())) == 10  # the first sheet reads while the next is parsed
    with pytest.raises(UnreadableWorkbook, match="工作表“乙科”的内容已损坏"):
        second.ready()


@NEEDS_PEERS
@pytest.mark.parametrize("path", peer_files(), ids=lambda p: p.name)
def test_peer_file_reads_lazily_as_at_once(path: Path) -> None:
    try:
        eager = read_at_once(path)
    except UnreadableWorkbook as exc:
        with pytest.raises(UnreadableWorkbook) as lazily:
            read_lazily(path)
        assert str(lazily.value) == str(exc)
        return
    assert read_lazily(path) == eager


def test_error_cells_are_found_whatever_the_writer_spelled(tmp_path: Path) -> None:
    """A cell with t="e" (its attributes in any order) is an error value, read as
    empty by calamine but handed on with its value; t="e" inside a text is no cell's."""
    path = write_annex2(
        tmp_path / "e.xlsx",
        [licence_row(1, contact='见 t="e" 说明'), licence_row(2), licence_row(3)],
    )

    def spell(xml: bytes) -> bytes:
        xml = re.sub(rb'<c r="E5"[^>]*>.*?</c>', b'<c t="e" s="0" r="E5"><v>#N/A</v></c>', xml)
        return re.sub(rb'<c r="D6"[^>]*>.*?</c>', b'<c r="D6" t="e"><v>#NULL!</v></c>', xml)

    rewrite_parts(path, r"xl/worksheets/sheet1\.xml", spell)
    for lazy in (False, True):
        (table,) = read_workbook(path, lazy=lazy).tables
        rows = list(table.data_rows())
        assert [(r.row, r.errors) for r in rows] == [
            (5, (("expires_on", "#N/A"),)),
            (6, (("issued_on", "#NULL!"),)),
            (7, ()),
        ]
        assert rows[0].values["expires_on"] is None and rows[0].values["contact"] == '见 t="e" 说明'
