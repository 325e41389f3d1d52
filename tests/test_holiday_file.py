"""Reading and writing the office's holiday schedule file."""

from __future__ import annotations

from datetime import date

import pytest

from callqueue.calendar import library_schedule
from callqueue.holiday_file import HolidayFileError, Schedule, read_schedule, write_schedule
from callqueue.holiday_file import OfficialDay as Day

SAMPLE = """\ufeff# 国务院办公厅关于2027年部分节假日安排的通知（测试用的虚构安排）
年份，2027
元旦, 2027-01-01 ~ 2027-01-03, 休
春节\t2027年2月6日至2027年2月13日\t放假
春节,2027/2/14,班

劳动节,2027.5.1～2027.5.5,休
"""


def test_reads_ranges_forms_and_kinds() -> None:
    schedule = read_schedule(SAMPLE)
    assert schedule.year == 2027
    assert schedule.holidays == 3 + 8 + 5 and schedule.workdays == 1
    assert schedule.days[0] == Day(date(2027, 1, 1), False, "元旦")
    assert Day(date(2027, 2, 14), True, "春节") in schedule.days
    assert [d.day for d in schedule.days] == sorted(d.day for d in schedule.days)
    (warning,) = schedule.warnings  # the sample is only part of a year's notice
    assert warning.startswith("文件中没有清明节、端午节、中秋节、国庆节的放假安排")


def test_every_bad_line_is_reported_with_its_number_and_nothing_is_guessed() -> None:
    text = "\n".join(
        [
            "年份,2027",
            "元旦,2027-01-01,休",
            "春节,27-2-6,休",  # two-digit year: never guessed
            "清明节,2027-04-05",  # kind missing
            "端午节,2027-06-09,调班",  # unknown kind
            "国庆节,2027-10-07~2027-10-01,休",  # backwards
            "国庆节,2027-10-01~2027-11-30,休",  # far too long
            "元旦,2027-01-01,班",  # contradicts line 2
            "中秋节,2027-02-30,休",  # no such day
        ]
    )
    with pytest.raises(HolidayFileError) as caught:
        read_schedule(text)
    problems = caught.value.problems
    assert [p.split("：")[0] for p in problems] == [f"第{n}行" for n in (3, 4, 5, 6, 7, 8, 9)]
    assert "已写为休" in problems[5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "没有任何"),
        ("# 只有说明\n\n", "没有任何"),
        ("年份,27\n元旦,2027-01-01,休", "年份应写成"),
        ("年份,2027\n元旦,2029-01-01,休", "不在2027年"),
    ],
)
def test_empty_or_inconsistent_files_are_refused(text: str, expected: str) -> None:
    with pytest.raises(HolidayFileError, match=expected):
        read_schedule(text)


def test_a_make_up_day_on_a_weekday_is_a_warning_not_an_error() -> None:
    schedule = read_schedule("春节,2027-02-15,班\n春节,2027-02-06,休")
    assert schedule.year == 2027
    assert schedule.warnings[0] == "2027-02-15（春节）本来就是工作日，写为“班”没有改变"


def test_a_break_crossing_new_year_belongs_to_the_declared_year() -> None:
    schedule = read_schedule("年份,2027\n元旦,2026-12-31~2027-01-02,休")
    assert schedule.year == 2027 and schedule.days[0].day == date(2026, 12, 31)


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_written_files_read_back_to_the_same_days(year: int) -> None:
    official = Schedule(year, [Day(*d) for d in library_schedule(year)])
    assert official.days, "chinesecalendar should know this year"
    text = write_schedule(official, title=f"{year}年")
    assert text.startswith(f"# {year}年\n年份,{year}\n")
    assert read_schedule(text).days == official.days


def test_a_range_end_may_leave_out_year_and_month_as_the_notice_writes_it() -> None:
    text = "\n".join(
        [
            "元旦,2027年1月1日至3日,休",
            "春节，2027年2月5日至2月13日，休",
            "国庆节,2027年10月1日至７日,休",
        ]
    )
    schedule = read_schedule(text)
    off = [d.day for d in schedule.days]
    assert off[:3] == [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)]
    assert date(2027, 2, 5) in off and date(2027, 2, 13) in off and schedule.holidays == 3 + 9 + 7


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2027年1月30日至31日", None),
        ("2027年2月27日至30日", "不存在"),
        ("2026年12月31日至1月2日", "早于开始日期"),  # never taken as the next year
        ("1月1日至3日", "不是日期"),  # the start must be a full date
        ("2027年1月1日至3", "不是日期"),
    ],
)
def test_a_short_range_end_is_never_guessed(when: str, expected: str | None) -> None:
    if expected is None:
        assert read_schedule(f"元旦,{when},休").holidays == 2
        return
    with pytest.raises(HolidayFileError) as caught:
        read_schedule(f"年份,2027\n元旦,{when},休")
    assert expected in caught.value.problems[0]


def test_a_schedule_missing_a_festival_says_which_before_it_is_loaded() -> None:
    # Loaded, the year counts as known: a festival left out would silently be working days.
    schedule = read_schedule(
        "年份,2027\n元旦,2027-01-01~2027-01-03,休\n五一,2027-05-01~2027-05-05,休\n"
    )
    assert [d.day for d in schedule.days][0] == date(2027, 1, 1)
    (warning,) = schedule.warnings
    assert "文件中没有春节、清明节、端午节、中秋节、国庆节的放假安排" in warning
    assert "载入后2027年这些节日按普通工作日计算" in warning
    whole = "年份,2027\n" + "".join(
        f"{name},2027-{month:02d}-0{day},休\n"
        for name, month, day in (
            ("元旦", 1, 1),
            ("春节", 2, 6),
            ("清明节", 4, 5),
            ("劳动节", 5, 1),
            ("端午节", 6, 9),
            ("国庆节、中秋节", 10, 1),  # a shared break names both
        )
    )
    assert read_schedule(whole).warnings == []


def test_two_different_years_in_one_file_are_refused() -> None:
    with pytest.raises(HolidayFileError) as caught:
        read_schedule("年份,2027\n元旦,2027-01-01,休\n年份,2028\n")
    assert caught.value.problems == ["第3行：年份已在第1行写为2027，这里又写为2028"]
