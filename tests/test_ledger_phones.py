"""Tests for reading ledger contact cells and masking phone numbers."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, time

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from callqueue.ledger.phones import ContactInfo, Phone, mask_phone, read_contact

MOBILE = "+8613800138000"
MOBILE_2 = "+8613900139000"
TIANJIN = "+862223456789"
E164 = re.compile(r"\+\d{8,15}")
# Seven or more digits in a row (a space or hyphen allowed between them): an unmasked number.
UNMASKED = re.compile(r"\d(?:[ \-]?\d){6,}")


def numbers(info: ContactInfo) -> list[tuple[str, str]]:
    return [(p.e164, p.extension) for p in info.phones]


@pytest.mark.parametrize("cell", [None, "", "   ", "\u3000\xa0", "\n"])
def test_empty_cells(cell: object) -> None:
    assert read_contact(cell) == ContactInfo((), (), (), ())


@pytest.mark.parametrize(
    "cell",
    [
        "13800138000",
        " 13800138000 ",
        13800138000,
        13800138000.0,
        "138 0013 8000",
        "138-0013-8000",
        "+8613800138000",
        "+86 138 0013 8000",
        "+86-13800138000",
        "+86-138-0013-8000",
        "(+86)13800138000",
        "（+86）138 0013 8000",
        "8613800138000",
        8613800138000,
        "86 138 0013 8000",
        "008613800138000",
        "0086 138 0013 8000",
        "１３８００１３８０００",
        "手机：13800138000",
        "手机号码13800138000",
        # A number cell saved through CSV as a float.
        "13800138000.0",
        "13800138000.00",
    ],
)
def test_mobile_spellings(cell: object) -> None:
    info = read_contact(cell)
    assert info.phones and info.phones[0].e164 == MOBILE
    assert info.phones[0].kind == "mobile"
    assert info.phones[0].extension == ""
    assert info.problems == ()


def test_plain_mobile_keeps_the_cell_as_raw() -> None:
    assert read_contact(" 13800138000 ").phones == (Phone(MOBILE, "", "13800138000", "mobile"),)
    assert read_contact(13800138000.0).phones[0].raw == "13800138000"
    assert read_contact("13800138000.0").phones[0].raw == "13800138000"
    assert read_contact("手机 138-0013-8000").phones[0].raw == "138-0013-8000"


@pytest.mark.parametrize("cell", ["1.38001E+10", "1.38001e+10", "电话：1.38E+10"])
def test_scientific_notation_lost_digits(cell: str) -> None:
    info = read_contact(cell)
    assert info.phones == ()
    assert len(info.problems) == 1
    assert "号码被 Excel 转成了科学计数法，位数已丢失" in info.problems[0]


@pytest.mark.parametrize(
    ("cell", "e164"),
    [
        ("23456789", TIANJIN),
        (23456789, TIANJIN),
        (23456789.0, TIANJIN),
        ("2345-6789", TIANJIN),
        ("2345 6789", TIANJIN),
        ("022-23456789", TIANJIN),
        ("022 2345 6789", TIANJIN),
        ("(022)23456789", TIANJIN),
        ("(022) 2345-6789", TIANJIN),
        ("（022）2345 6789", TIANJIN),
        ("02223456789", TIANJIN),
        ("+86 22 2345 6789", TIANJIN),
        ("+86-22-23456789", TIANJIN),
        ("0086 22 23456789", TIANJIN),
        ("86-22-23456789", TIANJIN),
        ("座机：022-23456789", TIANJIN),
        ("010-12345678", "+861012345678"),
        ("0755-12345678", "+8675512345678"),
        ("0951-2345678", "+869512345678"),
        ("400-123-4567", "+864001234567"),
        ("+852 2123 4567", "+85221234567"),
        # A number cell drops the trunk 0 of an area-coded landline; area codes are prefix-free.
        (2223456789, TIANJIN),
        (75512345678, "+8675512345678"),
        # Text of a float that was a number cell: its digits read as that number cell's.
        ("23456789.0", TIANJIN),
        ("2223456789.0", TIANJIN),
    ],
)
def test_landlines(cell: object, e164: str) -> None:
    info = read_contact(cell)
    assert numbers(info) == [(e164, "")]
    assert info.phones[0].kind == "landline"
    assert info.problems == ()


@pytest.mark.parametrize(
    "cell",
    [
        "0755-1234567",  # Shenzhen numbers have 8 digits
        "022-2345678",
        "2345678",
        "12345678",
        "14000000000",
        "2223456789",  # as text, a 10-digit number without its trunk 0 is not guessed
    ],
)
def test_invalid_numbers_are_problems(cell: str) -> None:
    info = read_contact(cell)
    assert info.phones == ()
    assert len(info.problems) == 1
    assert "无法识别的电话号码" in info.problems[0]


@pytest.mark.parametrize(
    ("cell", "e164", "extension"),
    [
        ("23456789转8021", TIANJIN, "8021"),
        ("23456789 转 8021", TIANJIN, "8021"),
        ("23456789转123", TIANJIN, "123"),
        ("022-23456789分机123", TIANJIN, "123"),
        ("022-23456789 分机：123", TIANJIN, "123"),
        ("022-23456789分机号 123", TIANJIN, "123"),
        ("23456789 ext 12", TIANJIN, "12"),
        ("23456789 EXT.12", TIANJIN, "12"),
        ("23456789ext.12", TIANJIN, "12"),
        ("23456789x12", TIANJIN, "12"),
        ("23456789 X 12", TIANJIN, "12"),
        ("23456789#8021", TIANJIN, "8021"),
        ("23456789-8021", TIANJIN, "8021"),
        ("23456789-1", TIANJIN, "1"),
        ("2345-6789-8021", TIANJIN, "8021"),
        ("022-23456789-8021", TIANJIN, "8021"),
        ("(022)23456789-80211", TIANJIN, "80211"),
        ("010-12345678-123", "+861012345678", "123"),
        ("（022）23456789转８０２１", TIANJIN, "8021"),
    ],
)
def test_extensions(cell: str, e164: str, extension: str) -> None:
    info = read_contact(cell)
    assert numbers(info) == [(e164, extension)]
    assert info.phones[0].raw == cell.strip()
    assert info.problems == ()


def test_extension_on_a_mobile_is_dropped_with_a_warning() -> None:
    info = read_contact("13800138000转123")
    assert numbers(info) == [(MOBILE, "")]
    assert info.problems == ("手机号码没有分机，已忽略“转123”",)


def test_hyphen_digits_after_a_mobile_are_not_an_extension() -> None:
    info = read_contact("13800138000-123")
    assert numbers(info) == [(MOBILE, "")]
    assert len(info.problems) == 1 and "“123”" in info.problems[0]


PBX = "+862258881234"


@pytest.mark.parametrize(
    ("cell", "phones"),
    [
        ("022-58881234-8011-8012", [(PBX, "8011"), (PBX, "8012")]),
        ("电话022-23456789 8021 8022", [(TIANJIN, "8021"), (TIANJIN, "8022")]),
        ("022-23456789（分机8021、8022）", [(TIANJIN, "8021"), (TIANJIN, "8022")]),
        ("022-58881234转8011/8012", [(PBX, "8011"), (PBX, "8012")]),
        ("022-58881234转8011、8012", [(PBX, "8011"), (PBX, "8012")]),
        ("022-58881234转8011或8012", [(PBX, "8011"), (PBX, "8012")]),
        ("58881234-8011、8012", [(PBX, "8011"), (PBX, "8012")]),
        ("022-58881234 8011", [(PBX, "8011")]),
        ("022-58881234/8011", [(PBX, "8011")]),
        ("022-58881234-8011转8012", [(PBX, "8011"), (PBX, "8012")]),
        ("022-58881234/8011 8012", [(PBX, "8011"), (PBX, "8012")]),
        ("022-58881234 8011 8012 8013", [(PBX, "8011"), (PBX, "8012"), (PBX, "8013")]),
        ("022-58881234转8011；13800138000", [(PBX, "8011"), (MOBILE, "")]),
    ],
)
def test_digit_groups_after_a_landline_are_its_extensions(
    cell: str, phones: list[tuple[str, str]]
) -> None:
    """Several extensions are several phones of one number, never glued into a new number."""
    info = read_contact(cell)
    assert numbers(info) == phones
    assert info.problems == ()


def test_extensions_keep_the_pieces_they_came_from() -> None:
    info = read_contact("022-23456789（分机8021、8022）")
    assert [p.raw for p in info.phones] == ["022-23456789（分机8021", "8022"]
    assert [p.kind for p in info.phones] == ["landline", "landline"]
    info = read_contact("022-58881234-8011-8012")
    assert [p.raw for p in info.phones] == ["022-58881234-8011", "8012"]


# Local numbers that no extension digits can turn into a 400/800 or mobile number.
LOCALS = st.builds(
    lambda head, tail: f"{head}{tail:07}", st.sampled_from("23567"), st.integers(0, 10**7 - 1)
)
# Three digits or more: "12、" reads as the number of an item in a list ("1、138… 2、139…").
EXTENSIONS = st.lists(st.integers(100, 999999).map(str), min_size=1, max_size=4)
WRITTEN_WHOLE = re.compile(r"(?<!\d)(?:1\d\d\D\d{4}\D\d{4}|[48]00\D\d)")
EXTENSION_SEPARATORS = st.sampled_from(
    [" ", "-", "/", "、", "，", "；", "转", "分机", "（分机", "或"]
)


def another_number_in(extensions: list[str], separators: list[str], exchange: str) -> bool:
    """Whether groups of the list are a number the reader must take as one (a little more
    often than it does): 11 digits of a mobile in any spacing, or two groups of 8 digits in one
    chunk, 3-5 or 4-4 but not of one block of extensions (8011 8012) unless the first is the
    landline's own exchange (2345 2346 after 2345 6789)."""
    for i, first in enumerate(extensions):
        for j in range(i + 1, len(extensions) + 1):
            digits = "".join(extensions[i:j])
            if len(digits) == 11 and digits[0] == "1":
                return True
        if i + 1 < len(extensions) and separators[i + 1] in (" ", "-"):
            second = extensions[i + 1]
            if (len(first), len(second)) == (3, 5):
                return True
            if len(first) == len(second) == 4 and (first[:3] != second[:3] or first == exchange):
                return True
    return False


@settings(max_examples=500, deadline=None)
@given(LOCALS, st.sampled_from(["", "022-", "(022)"]), EXTENSIONS, st.data())
def test_extensions_never_make_another_number(
    local: str, area: str, extensions: list[str], data: st.DataObject
) -> None:
    assume(read_contact(local).phones)  # a valid Tianjin number
    e164 = "+8622" + local
    cell = area + local
    separators = [data.draw(EXTENSION_SEPARATORS) for _ in extensions]
    for separator, extension in zip(separators, extensions, strict=True):
        cell += separator + extension
    # Numbers that say they are whole: a mobile spaced 3-4-4, a 400/800 number.
    assume(not WRITTEN_WHOLE.search(cell))
    assume(not another_number_in(extensions, separators, local[:4]))
    info = read_contact(cell)
    assert {p.e164 for p in info.phones} <= {e164}, cell
    assert {p.extension for p in info.phones} <= {"", *extensions}, cell
    for problem in info.problems:
        assert not UNMASKED.search(problem), problem


@pytest.mark.parametrize(
    ("cell", "phones"),
    [
        # A number written whole after a landline is another number.
        ("022-58881234、23456789", [(PBX, ""), (TIANJIN, "")]),
        ("022-58881234 23456789", [(PBX, ""), (TIANJIN, "")]),
        ("022-58881234-8011、23456789", [(PBX, "8011"), (TIANJIN, "")]),
        ("022-58881234 022 2345 6789", [(PBX, ""), (TIANJIN, "")]),
        ("022-58881234 13800138000", [(PBX, ""), (MOBILE, "")]),
        ("022-58881234/138 0013 8000", [(PBX, ""), (MOBILE, "")]),
        ("022-58881234 400-123-4567", [(PBX, ""), ("+864001234567", "")]),
        ("022-58881234、+86 22 2345 6789", [(PBX, ""), (TIANJIN, "")]),
        # Spaces inside one number still read as one number.
        ("022 5888 1234", [(PBX, "")]),
        ("5888 1234", [(PBX, "")]),
        ("5888 1234转8011", [(PBX, "8011")]),
        ("13800138000、5888 1234", [(MOBILE, ""), (PBX, "")]),
    ],
)
def test_whole_numbers_after_a_landline_are_other_numbers(
    cell: str, phones: list[tuple[str, str]]
) -> None:
    info = read_contact(cell)
    assert numbers(info) == phones
    assert info.problems == ()


# A second number after a landline is another number, never a list of invented extensions
# (73d3ec4 read "022-2345 6789、2345 6790" as extensions 2345 and 6790 of the first).
@pytest.mark.parametrize(
    ("cell", "phones"),
    [
        ("022-23456789、2345 6790", [(TIANJIN, ""), ("+862223456790", "")]),
        ("022-2345 6789、2345 6790", [(TIANJIN, ""), ("+862223456790", "")]),
        ("022-2345 6789，234 56790", [(TIANJIN, ""), ("+862223456790", "")]),
        ("022-2345 6789/2345-6790", [(TIANJIN, ""), ("+862223456790", "")]),
        ("24356789 2345 6790", [("+862224356789", ""), ("+862223456790", "")]),
        ("022 8439 8765 8439 8766", [("+862284398765", ""), ("+862284398766", "")]),
        ("022-23456789 (王) 2345 6790", [(TIANJIN, ""), ("+862223456790", "")]),
        ("022-84398765 84398766", [("+862284398765", ""), ("+862284398766", "")]),
        ("84398765-803 84398766", [("+862284398765", "803"), ("+862284398766", "")]),
        ("(022)84398765 84398766-12", [("+862284398765", ""), ("+862284398766", "12")]),
        ("022-23456789 / 022 2345 6790", [(TIANJIN, ""), ("+862223456790", "")]),
        ("022-58881234/58885678", [(PBX, ""), ("+862258885678", "")]),
        # A mobile after a landline, in any spacing, is a mobile.
        ("022-23456789 1380 013 8000", [(TIANJIN, ""), (MOBILE, "")]),
        ("022-23456789 1380 0138 000", [(TIANJIN, ""), (MOBILE, "")]),
        ("022-23456789 138 0013 8000", [(TIANJIN, ""), (MOBILE, "")]),
        ("022-23456789，138-0013-8000", [(TIANJIN, ""), (MOBILE, "")]),
        ("022-23456789 13800138000", [(TIANJIN, ""), (MOBILE, "")]),
        ("022-23456789-1380-013-8000", [(TIANJIN, ""), (MOBILE, "")]),
        ("022-23456789 转8011 13800138000", [(TIANJIN, "8011"), (MOBILE, "")]),
        ("022-23456789转8011、2345 6790", [(TIANJIN, "8011"), ("+862223456790", "")]),
        ("022-23456789 8011 2345 6790", [(TIANJIN, "8011"), ("+862223456790", "")]),
        # The landline's own exchange first: its neighbour number, though the two groups look
        # like one block of extensions (read before as extensions 2345 and 2346 of the first).
        ("022-2345 6789、2345 2346", [(TIANJIN, ""), ("+862223452346", "")]),
        ("022-23456789 2345 2346", [(TIANJIN, ""), ("+862223452346", "")]),
        ("022-23456789 2345 2399", [(TIANJIN, ""), ("+862223452399", "")]),
        ("022-23456789转8011、2345 2346", [(TIANJIN, "8011"), ("+862223452346", "")]),
    ],
)
def test_a_second_number_after_a_landline_is_not_extensions(
    cell: str, phones: list[tuple[str, str]]
) -> None:
    info = read_contact(cell)
    assert numbers(info) == phones
    assert info.problems == ()


@settings(max_examples=300, deadline=None)
@given(
    LOCALS,
    st.sampled_from(["", "022-", "(022)"]),
    st.sampled_from(["、", "/", "，", "；", " ", " / ", "或"]),
    st.integers(2, 9),
    st.integers(0, 10**7 - 1),
)
def test_a_local_number_after_a_landline_is_read(
    local: str, area: str, separator: str, head: int, tail: int
) -> None:
    """A second local number written 4-4 after a landline is read, unless its halves could be
    one block of extensions (spaced and sharing two leading digits, or sharing three)."""
    assume(read_contact(local).phones)
    second = f"{head}{tail:07}"
    spaced = separator.strip() == ""
    assume(second[:3] != second[4:7] and not (spaced and second[:2] == second[4:6]))
    assume(second != local)
    info = read_contact(f"{area}{local}{separator}{second[:4]} {second[4:]}")
    assert numbers(info) == [("+8622" + local, ""), ("+8622" + second, "")]
    assert info.problems == ()


@pytest.mark.parametrize(
    ("cell", "phones"),
    [
        # One block of extensions (same first three digits) is still a list of extensions.
        ("022-23456789 8021 8022", [(TIANJIN, "8021"), (TIANJIN, "8022")]),
        ("022-23456789、8021 8022", [(TIANJIN, "8021"), (TIANJIN, "8022")]),
        ("022-23456789转8011、8012", [(TIANJIN, "8011"), (TIANJIN, "8012")]),
        ("022-23456789 88 13800138000", [(TIANJIN, "88"), (MOBILE, "")]),
        # After an extension word or a hyphen, 4-digit groups are extensions, not a number.
        ("022-23456789-2345-6790", [(TIANJIN, "2345"), (TIANJIN, "6790")]),
        ("022-23456789分机2345 6790", [(TIANJIN, "2345"), (TIANJIN, "6790")]),
        ("022-23456789 2345-6790", [(TIANJIN, "2345"), (TIANJIN, "6790")]),
    ],
)
def test_extension_lists_after_a_landline_stay_extensions(
    cell: str, phones: list[tuple[str, str]]
) -> None:
    info = read_contact(cell)
    assert numbers(info) == phones
    assert info.problems == ()


@pytest.mark.parametrize(
    ("cell", "phones", "problem"),
    [
        # Two spaced groups that could be two extensions of one block or a number: neither is
        # invented, staff are told.
        (
            "022-23456789 8011 8099",
            [(TIANJIN, "")],
            "无法确定“****8099”是分机号还是另一个电话号码，未使用，请核对",
        ),
        # An extension has at most 5 digits.
        ("022-23456789转123456", [(TIANJIN, "")], "无法识别的电话号码：“123456”（6位数字）"),
        ("022-23456789 123456", [(TIANJIN, "")], "无法识别的电话号码：“123456”（6位数字）"),
        ("022-23456789-123456", [(TIANJIN, "")], "无法识别的电话号码：“123456”（6位数字）"),
    ],
)
def test_uncertain_digits_after_a_landline_are_a_warning(
    cell: str, phones: list[tuple[str, str]], problem: str
) -> None:
    info = read_contact(cell)
    assert numbers(info) == phones
    assert info.problems == (problem,)


@pytest.mark.parametrize(
    ("cell", "left"),
    [
        ("13812345678 8011", "“8011”（4位数字）"),
        ("13812345678 8011 8012", "“****8012”（8位数字）"),
        ("13812345678-8011-8012", "“****8012”（8位数字）"),
        ("022-58881234 张三 8011", "“8011”（4位数字）"),
        # Not read as a local number glued from groups; the warning masks it like any number.
        ("13800138000 2458 1234", "“****1234”（8位数字）"),
    ],
)
def test_short_groups_that_extend_no_landline_are_not_glued(cell: str, left: str) -> None:
    info = read_contact(cell)
    assert len(info.phones) == 1
    assert info.problems == ("无法识别的电话号码：" + left,)


@pytest.mark.parametrize(
    "cell",
    [
        "13800138000/13900139000",
        "13800138000／13900139000",
        "13800138000,13900139000",
        "13800138000，13900139000",
        "13800138000;13900139000",
        "13800138000；13900139000",
        "13800138000、13900139000",
        "13800138000\n13900139000",
        "13800138000\r\n13900139000",
        "13800138000  13900139000",
        "13800138000 13900139000",
        "138 0013 8000 139 0013 9000",
        "张三13800138000 李四13900139000",
        "13800138000或13900139000",
        "1、13800138000 2、13900139000",
        "13800138000/13900139000/13800138000",
    ],
)
def test_several_numbers_in_one_cell(cell: str) -> None:
    info = read_contact(cell)
    assert numbers(info) == [(MOBILE, ""), (MOBILE_2, "")]
    assert info.problems == ()


def test_mixed_numbers_keep_order_and_dedupe_on_number_and_extension() -> None:
    info = read_contact("23456789转8021 / 13800138000，022-23456789-8021；23456789；13800138000")
    assert numbers(info) == [(TIANJIN, "8021"), (MOBILE, ""), (TIANJIN, "")]
    assert [p.kind for p in info.phones] == ["landline", "mobile", "landline"]
    assert info.phones[0].raw == "23456789转8021"


@pytest.mark.parametrize(
    ("cell", "emails", "phones"),
    [
        ("zhang@example.com", ("zhang@example.com",), []),
        ("ZHANG@Example.COM", ("zhang@example.com",), []),
        ("Zhang.San+ledger@mail.example.com.cn", ("zhang.san+ledger@mail.example.com.cn",), []),
        ("zhang@example.com；ZHANG@example.com", ("zhang@example.com",), []),
        ("13800138000 zhang@example.com", ("zhang@example.com",), [(MOBILE, "")]),
        ("邮箱：zhang@example.com 手机13800138000", ("zhang@example.com",), [(MOBILE, "")]),
        ("13800138000@qq.com", ("13800138000@qq.com",), []),
        ("a@example.com/b@example.org", ("a@example.com", "b@example.org"), []),
        ("ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", ("zhang@example.com",), []),
    ],
)
def test_emails(cell: str, emails: tuple[str, ...], phones: list[tuple[str, str]]) -> None:
    info = read_contact(cell)
    assert info.emails == emails
    assert numbers(info) == phones
    assert info.problems == ()


@pytest.mark.parametrize("cell", ["zhang@", "zhang@example", "@example.com"])
def test_broken_email_is_a_problem(cell: str) -> None:
    info = read_contact(cell)
    assert info.emails == ()
    assert info.problems == (f"邮箱地址不完整：“{cell}”",)


@pytest.mark.parametrize(
    ("cell", "names"),
    [
        ("张三 13800138000", ("张三",)),
        ("张三13800138000", ("张三",)),
        ("13800138000（张三）", ("张三",)),
        ("联系人：王小明 电话：13800138000", ("王小明",)),
        ("联系电话：张三13800138000", ("张三",)),
        ("张三手机13800138000", ("张三",)),
        ("张先生 13800138000", ("张先生",)),
        ("欧阳娜娜/13800138000", ("欧阳娜娜",)),
        ("张三13800138000 李四13900139000 张三", ("张三", "李四")),
        ("手机 电话 座机 固话 办公 传真 转 分机 微信 邮箱 13800138000", ()),
        ("办公室电话23456789", ()),
        ("13800138000微信同号", ()),
        ("暂无", ()),
        ("同上", ()),
        ("请拨打总机后转人工服务台", ()),
        ("张", ()),
    ],
)
def test_names(cell: str, names: tuple[str, ...]) -> None:
    assert read_contact(cell).names == names


@pytest.mark.parametrize(
    "cell",
    [
        "传真：022-23456789",
        "传真 23456789",
        "传真号码：23456789",
        "fax 23456789",
        "FAX:022-23456789",
    ],
)
def test_fax_numbers_are_not_phones(cell: str) -> None:
    info = read_contact(cell)
    assert info.phones == ()
    assert len(info.problems) == 1
    assert info.problems[0].startswith("传真号码不用于电话提醒")
    assert "6789" in info.problems[0]
    assert "23456789" not in info.problems[0]


def test_only_the_number_after_fax_is_skipped() -> None:
    info = read_contact("电话：23456780 传真：23456789 手机13800138000")
    assert numbers(info) == [("+862223456780", ""), (MOBILE, "")]
    assert len(info.problems) == 1


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("12345", "无法识别的电话号码：“12345”（5位数字）"),
        ("1380013800", "无法识别的电话号码：“******3800”（10位数字）"),
        ("138001380001", "无法识别的电话号码：“********0001”（12位数字）"),
        ("2021.3.5", "无法识别的电话号码：“2021.3.5”（6位数字）"),
        (12345, "无法识别的电话号码：“12345”（5位数字）"),
        (-13800138000, "不是联系方式：“-138****8000”"),
        (12.5, "不是联系方式：“12.5”"),
        (float("nan"), "不是联系方式：“nan”"),
        (True, "不是联系方式：“TRUE”"),
        (date(2021, 3, 5), "不是联系方式：“2021年3月5日”"),
        (datetime(2021, 3, 5, 8, 0), "不是联系方式：“2021年3月5日 08:00”"),
        (time(8, 0), "不是联系方式：“08:00:00”"),
    ],
)
def test_leftovers_are_quoted_problems(cell: object, problem: str) -> None:
    info = read_contact(cell)
    assert info.phones == ()
    assert info.problems == (problem,)


def test_leftover_beside_a_good_number() -> None:
    info = read_contact("13800138000 / 1380013800")
    assert numbers(info) == [(MOBILE, "")]
    assert info.problems == ("无法识别的电话号码：“******3800”（10位数字）",)


def test_words_alone_are_not_problems() -> None:
    assert read_contact("详见附件说明") == ContactInfo((), (), (), ())


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+8613800138000", "+86138****8000"),
        ("13800138000", "138****8000"),
        ("138 0013 8000", "138****8000"),
        ("8613800138000", "86138****8000"),
        ("022-23456789", "022****6789"),
        ("02223456789", "022****6789"),
        ("010-12345678", "010****5678"),
        ("0755-12345678", "0755****5678"),
        ("+862223456789", "+8622****6789"),
        ("+867551234567", "+86755***4567"),
        ("0086 755 1234 5678", "+86755****5678"),
        ("23456789", "****6789"),
        ("电话13800138000，座机2345-6789", "电话138****8000，座机****6789"),
        ("13800138000@qq.com", "138****8000@qq.com"),
        ("１３８００１３８０００", "138****8000"),
        ("no digits", "no digits"),
        ("123456", "123456"),
        ("1234567", "***4567"),
        ("", ""),
    ],
)
def test_mask_phone(text: str, masked: str) -> None:
    assert mask_phone(text) == masked


def test_fast_path_agrees_with_phonenumbers() -> None:
    rng = random.Random(20210305)
    for prefix in range(100, 200):
        for _ in range(5):
            digits = f"{prefix}{rng.randrange(10**8):08}"
            parsed = phonenumbers.parse(digits, "CN")
            valid = phonenumbers.is_valid_number(parsed)
            info = read_contact(digits)
            assert bool(info.phones) == valid, digits
            if valid:
                is_mobile = phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
                assert info.phones[0].kind == ("mobile" if is_mobile else "landline")
                assert info.phones[0].e164 == phonenumbers.format_number(
                    parsed, phonenumbers.PhoneNumberFormat.E164
                )


def test_tianjin_numbers_agree_with_phonenumbers() -> None:
    rng = random.Random(22)
    for _ in range(300):
        local = f"{rng.randrange(2 * 10**7, 10**8)}"
        parsed = phonenumbers.parse("022" + local, "CN")
        assert bool(read_contact(local).phones) == phonenumbers.is_valid_number(parsed), local


def test_national_numbers_classified_as_phonenumbers_does() -> None:
    """Every prefix of up to three digits, each length a Chinese number can have, landlines too."""
    rng = random.Random(86)
    seen = {"mobile": 0, "landline": 0, "invalid": 0}
    for prefix in range(1, 1000):
        for length in range(max(7, len(str(prefix))), 13):
            tail = length - len(str(prefix))
            national = f"{prefix}{rng.randrange(10**tail):0{tail}}" if tail else str(prefix)
            number = phonenumbers.PhoneNumber(country_code=86, national_number=int(national))
            kind = phonenumbers.number_type(number)
            expected = None
            if phonenumbers.is_valid_number(number):
                mobile = kind == phonenumbers.PhoneNumberType.MOBILE
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                expected = (e164, "mobile" if mobile else "landline")
            info = read_contact("+86" + national)
            got = (info.phones[0].e164, info.phones[0].kind) if info.phones else None
            assert got == expected, national
            seen[expected[1] if expected else "invalid"] += 1
    assert min(seen.values()) >= 50, seen


MOBILES = st.builds(
    lambda head, tail: f"{head}{tail:08}",
    st.sampled_from(["130", "138", "139", "150", "158", "166", "177", "186", "199"]),
    st.integers(0, 10**8 - 1),
)


@given(MOBILES, st.sampled_from(["{}", "+86{}", "86{}", "0086 {}", "(+86){}", "手机：{}"]))
def test_any_mobile_in_any_spelling(number: str, spelling: str) -> None:
    spaced = f"{number[:3]} {number[3:7]} {number[7:]}"
    for text in (spelling.format(number), spelling.format(spaced)):
        info = read_contact(text)
        assert numbers(info) == [("+86" + number, "")], text
        assert info.problems == ()


CONTACT_ALPHABET = "0123456789０１２ +-()（）/，、;\n转分机extx#.@aZ张三李传真手机EＥ"


@given(
    st.one_of(
        st.none(),
        st.text(),
        st.text(alphabet=CONTACT_ALPHABET, max_size=60),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.dates(),
        st.datetimes(),
        st.times(),
        st.timedeltas(),
    )
)
def test_never_raises_and_keeps_invariants(cell: object) -> None:
    info = read_contact(cell)
    for phone in info.phones:
        assert E164.fullmatch(phone.e164)
        assert phone.extension == "" or re.fullmatch(r"[0-9]{1,6}", phone.extension)
        assert phone.kind in ("mobile", "landline")
        assert phone.raw == phone.raw.strip()
    assert len(set(numbers(info))) == len(info.phones)
    assert all(email == email.lower() for email in info.emails)
    assert len(set(info.emails)) == len(info.emails)
    for name in info.names:
        assert 2 <= len(name) <= 4
    for problem in info.problems:
        assert not UNMASKED.search(problem), problem


@given(st.text(alphabet="0123456789 -+()abc张", max_size=80))
def test_mask_phone_leaves_no_long_digit_run(text: str) -> None:
    masked = mask_phone(text)
    assert not UNMASKED.search(masked)
    assert len(re.findall(r"\d", masked)) <= len(re.findall(r"\d", text))


# Cells of the shapes phones._read_common reads without scanning, and their near misses: any
# digits (valid or not), pieces one digit short or long, other separators and extension forms.
DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=13)
COMMON_SHAPES = st.one_of(
    st.builds("{}、{}-{}".format, DIGITS, DIGITS, DIGITS),
    st.builds("{}、0{}-{}".format, MOBILES, DIGITS, DIGITS),
    st.builds(
        "{}、022-{}{}".format,
        MOBILES,
        st.sampled_from("0123456789"),
        st.integers(0, 10**7 - 1).map("{:07}".format),
    ),
    st.builds("{}-{} {}转{}".format, DIGITS, DIGITS, DIGITS, DIGITS),
    st.builds(
        "022-{}{} {}转{}".format,
        st.sampled_from("0123456789"),
        st.integers(0, 999).map("{:03}".format),
        st.integers(0, 9999).map("{:04}".format),
        DIGITS,
    ),
    st.builds(
        "{}{}{}".format,
        st.sampled_from(["", "0", "86", "+86 ", "tel ", "13812345678 "]),
        st.sampled_from(["13812345678、022-23456789", "022-2345 6789转12", "022-2345 6789转"]),
        st.sampled_from(
            ["", "0", "1", "、", " ", "转3", "-1", "@a.cn", "、8012", " 8012", "/8012"]
            + ["345", "3456", " 2345 6790", "、2345 6790", " 1380 013 8000", " 8013 8099"]
        ),
    ),
)


@settings(max_examples=3000, deadline=None)
@given(COMMON_SHAPES)
def test_common_shapes_read_as_the_full_reader_reads_them(cell: str) -> None:
    from callqueue.ledger import phones

    fast = phones._read_common(cell.strip())
    if fast is not None:
        assert fast == phones._read_text(cell.strip(), numeric=False), cell


@pytest.mark.parametrize(
    "cell",
    ["13812345678、022-23456789", "13812345678、0311-87654321", "022-2345 6789转123"],
)
def test_the_common_shapes_take_the_short_way(cell: str) -> None:
    from callqueue.ledger import phones

    assert phones._read_common(cell) is not None
    assert phones._read_common(cell) == phones._read_text(cell, numeric=False)
