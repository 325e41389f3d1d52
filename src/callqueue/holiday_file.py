"""Read the State Council's holiday schedule for a year from the office's small text/CSV file.

One line per holiday or make-up workday (调休上班), fields separated by commas (half or full
width) or tabs:

    # 国务院办公厅关于2027年部分节假日安排的通知
    年份,2027
    元旦,2027-01-01~2027-01-03,休
    春节,2027-02-06~2027-02-13,休
    春节,2027-02-14,班

A day is a date as ledgers write it (2027-01-01, 2027/1/1, 2027.1.1, 2027年1月1日), a range
joins two days with ~, ～ or 至. As the notice itself writes them, a range's end may leave out what
it shares with its start: 2027年1月1日至3日, 2027年1月28日至2月4日 (the year, or year and month,
come from the start; never the following year). The kind is 休 (放假, 假) or 班 (上班, 调休上班). Lines starting
with # and blank lines are ignored. Nothing is guessed: any line that cannot be read fails the
whole file, with every problem and its line number.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from callqueue.ledger.dates import DateParseError, read_date

HOLIDAY_WORDS = frozenset({"休", "放假", "假", "休息"})
WORKDAY_WORDS = frozenset({"班", "上班", "调休上班", "补班"})
YEAR_WORDS = frozenset({"年份", "年度", "year"})
FESTIVALS = {
    "元旦": ("元旦",),
    "春节": ("春节",),
    "清明节": ("清明",),
    "劳动节": ("劳动", "五一"),
    "端午节": ("端午",),
    "中秋节": ("中秋",),
    "国庆节": ("国庆", "十一"),
}
"""The festivals every year's notice gives days off for (全国年节及纪念日放假办法), and the
words that name them in a file."""
LONGEST_HOLIDAY = 15
"""Days; a longer range is almost certainly a typo (the longest official break is 8-9 days)."""

_SPLIT = re.compile(r"[,，\t]")
_RANGE = re.compile(r"\s*(?:~|～|至|到)\s*")
_SHORT_END = re.compile(r"(?:(?P<m>\d{1,2})月)?(?P<d>\d{1,2})日")
"""A range's end as the notice writes it after a full start: 3日, 2月4日."""


class HolidayFileError(ValueError):
    """The file cannot be loaded; `problems` lists each reason with its line, in Chinese."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class OfficialDay:
    """One day the State Council's schedule declares off (休) or working (班)."""

    day: date
    is_workday: bool
    name: str


@dataclass
class Schedule:
    """A year's official schedule as read from the file, with warnings that do not stop it."""

    year: int
    days: list[OfficialDay]
    warnings: list[str] = field(default_factory=list)

    @property
    def holidays(self) -> int:
        """Days off declared."""
        return sum(not d.is_workday for d in self.days)

    @property
    def workdays(self) -> int:
        """Make-up working days declared."""
        return sum(d.is_workday for d in self.days)


def read_schedule(text: str) -> Schedule:
    """Read a holiday schedule file's text.

    Args:
        text: The file's content.

    Returns:
        The schedule: its year and every declared day in date order.

    Raises:
        HolidayFileError: any line unreadable, days declared twice differently, no days at all,
            or days far from the year.
    """
    problems: list[str] = []
    declared_year: int | None = None
    year_line = 0
    seen: dict[date, tuple[OfficialDay, int]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in _SPLIT.split(line)]
        while fields and not fields[-1]:
            fields.pop()
        if fields and fields[0].lower() in YEAR_WORDS:
            if len(fields) != 2 or not re.fullmatch(r"\d{4}", fields[1]):
                problems.append(f"第{number}行：年份应写成“年份,2027”")
            elif declared_year is not None and declared_year != int(fields[1]):
                problems.append(
                    f"第{number}行：年份已在第{year_line}行写为{declared_year}，这里又写为{fields[1]}"
                )
            else:
                declared_year, year_line = int(fields[1]), number
            continue
        if len(fields) != 3:
            problems.append(
                f"第{number}行：应有三项“名称,日期或日期范围,休/班”，这里有{len(fields)}项"
            )
            continue
        name, when, kind = fields
        if not name:
            problems.append(f"第{number}行：缺少节日名称")
            continue
        if kind in HOLIDAY_WORDS:
            is_workday = False
        elif kind in WORKDAY_WORDS:
            is_workday = True
        else:
            problems.append(f"第{number}行：“{kind}”应为“休”或“班”")
            continue
        try:
            days = _days(when)
        except ValueError as exc:
            problems.append(f"第{number}行：{exc}")
            continue
        for day in days:
            new = OfficialDay(day, is_workday, name)
            earlier = seen.get(day)
            if earlier is None:
                seen[day] = (new, number)
            elif earlier[0].is_workday != is_workday:
                problems.append(
                    f"第{number}行：{day:%Y-%m-%d}在第{earlier[1]}行已写为"
                    f"{'班' if earlier[0].is_workday else '休'}，这里又写为{kind}"
                )
    if not seen and not problems:
        problems.append("文件中没有任何放假或调休上班的日期")
    if problems:
        raise HolidayFileError(problems)
    year = declared_year or Counter(d.year for d in seen).most_common(1)[0][0]
    far = sorted(d for d in seen if not _near(d, year))
    if far:
        raise HolidayFileError(
            [f"{d:%Y-%m-%d}不在{year}年的安排范围内（只能是该年及前后一个月）" for d in far]
        )
    declared = sorted((entry for entry, _ in seen.values()), key=lambda d: d.day)
    warnings = [
        f"{d.day:%Y-%m-%d}（{d.name}）本来就是工作日，写为“班”没有改变"
        for d in declared
        if d.is_workday and d.day.weekday() < 5
    ]
    missing = _missing_festivals(declared, year)
    if missing:
        warnings.append(
            f"文件中没有{'、'.join(missing)}的放假安排（国务院每年的通知都有"
            f"{'、'.join(FESTIVALS)}），请核对是否漏抄：载入后{year}年这些节日按普通工作日计算。"
            "两个节日合并放假时，名称请写全，如“国庆节、中秋节”。"
        )
    return Schedule(year=year, days=declared, warnings=warnings)


def _missing_festivals(days: list[OfficialDay], year: int) -> list[str]:
    """The festivals no day off of the year names (a file copied only in part)."""
    names = [d.name for d in days if not d.is_workday and d.day.year == year]
    return [
        festival
        for festival, words in FESTIVALS.items()
        if not any(word in name for name in names for word in words)
    ]


def _near(day: date, year: int) -> bool:
    """Tell whether a day is in the year or within a month of it (breaks cross New Year)."""
    return date(year - 1, 12, 1) <= day <= date(year + 1, 1, 31)


def _days(when: str) -> list[date]:
    """The days a date or a range names, or ValueError with the reason in Chinese."""
    parts = _RANGE.split(when)
    if len(parts) > 2:
        raise ValueError(f"“{when}”不是一个日期或日期范围")
    try:
        ends = [read_date(p) for p in parts]
    except DateParseError as exc:
        end = unicodedata.normalize("NFKC", parts[-1]) if len(parts) == 2 else ""
        short = _SHORT_END.fullmatch(end)
        if short is None:
            raise ValueError(str(exc)) from None
        ends = [_read_day(parts[0]), _short_end(short, parts[0], when)]
    if any(end is None for end in ends):
        raise ValueError(f"“{when}”缺少日期")
    first, last = ends[0], ends[-1]
    assert first is not None and last is not None
    if last < first:
        raise ValueError(f"“{when}”的结束日期早于开始日期")
    span = (last - first).days + 1
    if span > LONGEST_HOLIDAY:
        raise ValueError(f"“{when}”长达{span}天，请检查日期")
    return [first + timedelta(days=i) for i in range(span)]


def _read_day(text: str) -> date | None:
    """One full date, or ValueError with the reason in Chinese."""
    try:
        return read_date(text)
    except DateParseError as exc:
        raise ValueError(str(exc)) from None


def _short_end(short: re.Match[str], start_text: str, when: str) -> date:
    """The end 3日 / 2月4日 of a range, in the start's year (and month when it names none)."""
    start = _read_day(start_text)
    if start is None:
        raise ValueError(f"“{when}”缺少开始日期")
    month = int(short["m"]) if short["m"] else start.month
    try:
        return date(start.year, month, int(short["d"]))
    except ValueError:
        raise ValueError(f"“{when}”的结束日期“{short[0]}”不存在") from None


def write_schedule(schedule: Schedule, *, title: str = "") -> str:
    """Write a schedule in the file format, one line per run of consecutive same-kind days.

    Args:
        schedule: The schedule.
        title: An optional first comment line.

    Returns:
        Text that read_schedule reads back to the same days.
    """
    lines = [f"# {title}"] if title else []
    lines.append(f"年份,{schedule.year}")
    run: list[OfficialDay] = []

    def flush() -> None:
        if run:
            span = f"{run[0].day:%Y-%m-%d}"
            if len(run) > 1:
                span += f"~{run[-1].day:%Y-%m-%d}"
            lines.append(f"{run[0].name},{span},{'班' if run[0].is_workday else '休'}")
            run.clear()

    for d in schedule.days:
        if run and (
            d.day - run[-1].day != timedelta(days=1)
            or d.is_workday != run[-1].is_workday
            or d.name != run[-1].name
        ):
            flush()
        run.append(d)
    flush()
    return "\n".join(lines) + "\n"
