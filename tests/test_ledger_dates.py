"""Tests for reading ledger date cells."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callqueue.ledger.dates import MAX_YEAR, MIN_YEAR, DateParseError, read_date

MARCH_5 = date(2021, 3, 5)
IN_RANGE = st.dates(min_value=date(MIN_YEAR, 1, 1), max_value=date(MAX_YEAR, 12, 31))


@pytest.mark.parametrize("cell", [None, "", "   ", "\u3000", "\xa0 \t"])
def test_empty_cells_are_none(cell: object) -> None:
    assert read_date(cell) is None


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (MARCH_5, MARCH_5),
        (datetime(2021, 3, 5), MARCH_5),
        (datetime(2021, 3, 5, 14, 30, 5), MARCH_5),
        (datetime(2021, 3, 5, 23, 59, tzinfo=UTC), MARCH_5),
        # Excel serial numbers in the 1900 system.
        (25569, date(1970, 1, 1)),
        (44197, date(2021, 1, 1)),
        (44197.0, date(2021, 1, 1)),
        (44197.75, date(2021, 1, 1)),
        (44260.999, MARCH_5),
        (18264, date(1950, 1, 1)),
        (73415, date(2100, 12, 31)),
        # yyyymmdd as numbers and text.
        (20210305, MARCH_5),
        (20210305.0, MARCH_5),
        ("20210305", MARCH_5),
        (" 20210305 ", MARCH_5),
        # Written forms.
        ("2021.3.5", MARCH_5),
        ("2021-03-05", MARCH_5),
        ("2021/3/5", MARCH_5),
        ("2021年3月5日", MARCH_5),
        ("2021年03月05号", MARCH_5),
        ("2021年3月5", MARCH_5),
        ("2021.03.05.", MARCH_5),
        ("2021-03-05 00:00:00", MARCH_5),
        ("2021-03-05 08:30:15.250", MARCH_5),
        ("2021-03-05T08:00", MARCH_5),
        ("2021年3月5日 8:00", MARCH_5),
        # Stray spaces, NBSP, full-width space.
        ("2021 .3. 5", MARCH_5),
        ("  2021-3-5  ", MARCH_5),
        ("\xa02021-3-5\xa0", MARCH_5),
        ("\u30002021年 3 月 5 日\u3000", MARCH_5),
        # Full-width digits and punctuation, IME marks.
        ("２０２１．３．５", MARCH_5),
        ("2021／3／5", MARCH_5),
        ("２０２１－０３－０５", MARCH_5),
        ("2021。3。5", MARCH_5),
        ("2021\u20143\u20145", MARCH_5),
        ("\ufeff2021-3-5", MARCH_5),
        ("2024-02-29", date(2024, 2, 29)),
        ("1950-01-01", date(1950, 1, 1)),
        ("2100-12-31", date(2100, 12, 31)),
    ],
)
def test_accepted_cells(cell: object, expected: date) -> None:
    result = read_date(cell)
    assert result == expected
    assert type(result) is date


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("25-3-1", "年份必须写全4位"),
        ("21.3.5", "年份必须写全4位"),
        ("21年3月5日", "年份必须写全4位"),
        ("05-03-21", "年份必须写全4位"),
        ("3/5/2021", "无法确定是“日/月/年”还是“月/日/年”"),
        ("05-03-2021", "无法确定是“日/月/年”还是“月/日/年”"),
        ("5.3.2021", "无法确定是“日/月/年”还是“月/日/年”"),
        ("2021-02-30", "不存在的日期（2021年2月没有30日）"),
        ("2021-13-01", "不存在的日期（月份只有1–12）"),
        ("2023年2月29日", "不存在的日期"),
        ("20210230", "不存在的日期"),
        (20211305, "不存在的日期"),
        ("2021年3月", "只有年和月，缺少日"),
        ("2021-03", "只有年和月，缺少日"),
        ("202103", "只有年和月，缺少日"),
        (202103, "只有年和月，缺少日"),
        (202103.0, "只有年和月，缺少日"),
        ("2021", "只有年份"),
        ("2021年", "只有年份"),
        (2021, "只有年份"),
        ("2022.11.29白", "日期前后有多余的文字"),
        ("约2021年", "日期前后有多余的文字"),
        ("2021-03-05 全天", "日期前后有多余的文字"),
        ("截止20210305", "日期前后有多余的文字"),
        ("长期", "证书为长期有效，没有期满日期"),
        ("长期有效", "证书为长期有效，没有期满日期"),
        ("永久", "证书为长期有效，没有期满日期"),
        ("error", "不是日期"),
        ("#VALUE!", "不是日期"),
        ("3月5日", "不是日期"),
        ("44197", "不是日期"),
        ("2021-3-512:00", "不是日期"),
        ("1949-12-31", "年份不在合理范围内"),
        ("2101-01-01", "年份不在合理范围内"),
        ("0000-00-00", "年份不在合理范围内"),
        (date(1900, 1, 1), "年份不在合理范围内"),
        (datetime(2200, 1, 1), "年份不在合理范围内"),
        ("2021-03-05 25:00", "时间不正确"),
        ("2021-03-05 08:61", "时间不正确"),
        (True, "是逻辑值"),
        (False, "是逻辑值"),
        (time(8, 30), "只有时间，没有日期"),
        (timedelta(days=3), "是一段时长，不是日期"),
        (0, "数字不是合理范围内的日期"),
        (1, "数字不是合理范围内的日期"),
        (60, "数字不是合理范围内的日期"),
        (18263, "数字不是合理范围内的日期"),
        (73416, "数字不是合理范围内的日期"),
        (-44197, "数字不是合理范围内的日期"),
        (12345678, "数字不是合理范围内的日期"),
        (99999999, "数字不是合理范围内的日期"),
        (123456789, "数字不是合理范围内的日期"),
        (20210305.5, "数字不是合理范围内的日期"),
        (float("nan"), "不是日期"),
        (float("inf"), "不是日期"),
        ([2021, 3, 5], "不是日期"),
    ],
)
def test_rejected_cells(cell: object, reason: str) -> None:
    with pytest.raises(DateParseError) as caught:
        read_date(cell)
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("25-3-1", "“25-3-1”"),
        (" 3/5/2021 ", "“3/5/2021”"),
        (202103.0, "“202103”"),
        (True, "“TRUE”"),
        (date(1900, 1, 1), "“1900-01-01”"),
    ],
)
def test_message_quotes_the_cell(cell: object, shown: str) -> None:
    with pytest.raises(DateParseError, match=shown):
        read_date(cell)


def test_error_is_a_value_error() -> None:
    assert issubclass(DateParseError, ValueError)


def test_long_text_is_cut_in_the_message() -> None:
    with pytest.raises(DateParseError) as caught:
        read_date("2021-3-5" + " " * 5000 + "x")
    assert len(str(caught.value)) < 150


@given(IN_RANGE)
def test_every_written_form_round_trips(day: date) -> None:
    y, m, d = day.year, day.month, day.day
    forms: list[object] = [
        day,
        datetime(y, m, d, 12, 0),
        f"{y}.{m}.{d}",
        f"{y}-{m:02}-{d:02}",
        f"{y}/{m}/{d}",
        f"{y}年{m}月{d}日",
        f"{y}年{m:02}月{d:02}号",
        f"{y}{m:02}{d:02}",
        y * 10000 + m * 100 + d,
        float(y * 10000 + m * 100 + d),
        (day - date(1899, 12, 30)).days,
        (day - date(1899, 12, 30)).days + 0.5,
        f"{y}.{m}.{d}".translate(str.maketrans("0123456789.", "０１２３４５６７８９．")),
    ]
    for form in forms:
        assert read_date(form) == day, form


@given(
    st.one_of(
        st.none(),
        st.text(),
        st.text(alphabet="0123456789０１２３-./年月日号 T:长期约\u3000\xa0", max_size=30),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.dates(),
        st.datetimes(),
        st.times(),
        st.timedeltas(),
    )
)
def test_only_date_parse_errors(cell: object) -> None:
    try:
        result = read_date(cell)
    except DateParseError as exc:
        assert str(exc)
    else:
        assert result is None or date(MIN_YEAR, 1, 1) <= result <= date(MAX_YEAR, 12, 31)
