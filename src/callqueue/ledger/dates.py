"""Strict reader for the date cells of hand-kept ledgers (台账)."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time, timedelta

MIN_YEAR = 1950
MAX_YEAR = 2100
_MIN_DATE = date(MIN_YEAR, 1, 1)
_MAX_DATE = date(MAX_YEAR, 12, 31)

# Excel's 1900 system counts 1900-02-29 (which never existed), so from serial 61 on the
# serial is the day count since 1899-12-30; our plausible range starts far above 61.
_EXCEL_EPOCH_ORDINAL = date(1899, 12, 30).toordinal()
_MIN_SERIAL = _MIN_DATE.toordinal() - _EXCEL_EPOCH_ORDINAL
_MAX_SERIAL = _MAX_DATE.toordinal() - _EXCEL_EPOCH_ORDINAL

_TWO_DIGIT_YEAR = "年份必须写全4位，例如 2025-03-01"
_AMBIGUOUS_ORDER = "无法确定是“日/月/年”还是“月/日/年”，请按“年-月-日”填写，例如 2021-03-05"
_NO_SUCH_DAY = "不存在的日期"
_MONTH_ONLY = "只有年和月，缺少日，请写到具体哪一天"
_YEAR_ONLY = "只有年份，缺少月和日"
_YEAR_RANGE = f"年份不在合理范围内（应为{MIN_YEAR}–{MAX_YEAR}年）"
_NUMBER_RANGE = f"数字不是合理范围内的日期（应为{MIN_YEAR}–{MAX_YEAR}年的 Excel 日期，或 20210305 这样的8位数字）"
_EXTRA_TEXT = "日期前后有多余的文字，请只填写日期，例如 2021-03-05"
_NO_EXPIRY = "证书为长期有效，没有期满日期"
_NOT_A_DATE = "不是日期，请按“年-月-日”填写，例如 2021-03-05"
_BAD_TIME = "日期后面的时间不正确"
_TIME_ONLY = "只有时间，没有日期"
_DURATION = "是一段时长，不是日期"
_BOOLEAN = "是逻辑值（是/否），不是日期"

_DATE_TEXT = re.compile(
    r"\s*(?P<y>\d{4})(?:(?P<mmdd>\d{4})|\s*(?:"
    r"[-./]\s*(?P<m>\d{1,2})\s*[-./]\s*(?P<d>\d{1,2})\s*\.?"
    r"|年\s*(?P<cm>\d{1,2})\s*月\s*(?P<cd>\d{1,2})\s*[日号]?"
    r"))"
    r"(?:\s*[Tt\s]\s*(?P<H>\d{1,2})\s*:\s*(?P<M>\d{2})(?:\s*:\s*(?P<S>\d{2})(?:\.\d{1,6})?)?)?\s*",
    re.ASCII,
)
_DAY_FIRST = re.compile(r"\d{1,2}[-./]\d{1,2}[-./]\d{4}\.?", re.ASCII)
_SHORT_YEAR = re.compile(
    r"\d{1,3}(?:[-./]\d{1,2}[-./]\d{1,2}\.?|年\d{1,2}月\d{1,2}[日号]?)", re.ASCII
)
_YEAR_MONTH = re.compile(r"(\d{4})(?:[-./](\d{1,2})\.?|年(\d{1,2})月|(\d{2}))", re.ASCII)
_YEAR = re.compile(r"(\d{4})年?", re.ASCII)
_DATE_CORE = re.compile(r"\d{4}[-./年]|\d{8}", re.ASCII)
_DATE_CHARS = re.compile(r"[\d\-./:Tt年月日号]*", re.ASCII)
_NO_EXPIRY_WORDS = re.compile(r"长期|永久|无期限|无固定期限")
_SPACES = re.compile(r"\s+")
_LONGEST_DATE_TEXT = 64

# NFKC folds full-width forms; these marks it leaves alone are what IMEs produce in dates.
_FOLD = str.maketrans(
    {
        "。": ".",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\ufeff": None,
    }
)


class DateParseError(ValueError):
    """A date cell that cannot be read with certainty; str(exc) is the Chinese reason."""


def read_date(value: object) -> date | None:
    """Read one ledger cell as a date, never guessing.

    Args:
        value: the cell as python-calamine returns it (None, str, int, float, bool, date,
            datetime, time or timedelta).

    Returns:
        None for an empty cell, else the date.

    Raises:
        DateParseError: the cell is not a date that can be read with certainty; the message
            is the reason in Chinese and quotes the cell.
    """
    if type(value) is datetime:
        return _in_range(value.date(), value)
    if type(value) is date:
        return _in_range(value, value)
    if value is None:
        return None
    if isinstance(value, str):
        return _read_text(value)
    if isinstance(value, bool):
        raise _error(_BOOLEAN, value)
    if isinstance(value, int):
        return _read_number(value, value)
    if isinstance(value, float):
        return _read_float(value)
    if isinstance(value, datetime):
        return _in_range(date(value.year, value.month, value.day), value)
    if isinstance(value, date):
        return _in_range(date(value.year, value.month, value.day), value)
    if isinstance(value, time):
        raise _error(_TIME_ONLY, value)
    if isinstance(value, timedelta):
        raise _error(_DURATION, value)
    raise _error(_NOT_A_DATE, value)


def _error(reason: str, value: object) -> DateParseError:
    """Build the error for `value`, quoting the cell as the office sees it."""
    if isinstance(value, bool):
        shown = str(value).upper()
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        shown = str(int(value))
    elif isinstance(value, datetime | date):
        shown = value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    else:
        shown = str(value).strip()
    if len(shown) > 60:
        shown = shown[:60] + "…"
    return DateParseError(f"“{shown}”：{reason}")


def _in_range(day: date, value: object) -> date:
    """Return `day` when it lies in the plausible ledger range, else raise."""
    if _MIN_DATE <= day <= _MAX_DATE:
        return day
    raise _error(_YEAR_RANGE, value)


def _make_date(year: int, month: int, day: int, value: object) -> date:
    """Build a date from parts that were written out in full, or raise."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _error(_YEAR_RANGE, value)
    try:
        return date(year, month, day)
    except ValueError:
        detail = "月份只有1–12" if not 1 <= month <= 12 else f"{year}年{month}月没有{day}日"
        raise _error(f"{_NO_SUCH_DAY}（{detail}）", value) from None


def _read_number(number: int, value: object) -> date:
    """Read an integer cell as yyyymmdd or an Excel serial, or raise."""
    if 10_000_000 <= number <= 99_999_999:
        year, rest = divmod(number, 10_000)
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise _error(_NUMBER_RANGE, value)
        return _make_date(year, rest // 100, rest % 100, value)
    if _MIN_SERIAL <= number <= _MAX_SERIAL:
        return date.fromordinal(_EXCEL_EPOCH_ORDINAL + number)
    if 100_000 <= number <= 999_999 and MIN_YEAR <= number // 100 <= MAX_YEAR:
        if 1 <= number % 100 <= 12:
            raise _error(_MONTH_ONLY, value)
    elif MIN_YEAR <= number <= MAX_YEAR:
        raise _error(_YEAR_ONLY, value)
    raise _error(_NUMBER_RANGE, value)


def _read_float(number: float) -> date:
    """Read a float cell: integral values as integers, others as datetime serials."""
    if not math.isfinite(number):
        raise _error(_NOT_A_DATE, number)
    if number.is_integer():
        return _read_number(int(number), number)
    serial = math.floor(number)
    if _MIN_SERIAL <= serial <= _MAX_SERIAL:
        return date.fromordinal(_EXCEL_EPOCH_ORDINAL + serial)
    raise _error(_NUMBER_RANGE, number)


def _read_text(original: str) -> date | None:
    """Read a text cell in one of the written forms ledgers use, or raise."""
    text = original
    if len(text) > _LONGEST_DATE_TEXT:
        # No accepted form is this long; the limit also bounds the regex's backtracking.
        raise _rejection(_SPACES.sub("", text), original)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    match = _DATE_TEXT.fullmatch(text)
    if match is None:
        compact = _SPACES.sub("", text)
        if not compact:
            return None
        raise _rejection(compact, original)
    year = int(match["y"])
    if match["mmdd"] is not None:
        month, day = int(match["mmdd"][:2]), int(match["mmdd"][2:])
    elif match["m"] is not None:
        month, day = int(match["m"]), int(match["d"])
    else:
        month, day = int(match["cm"]), int(match["cd"])
    result = _make_date(year, month, day, original)
    if match["H"] is not None and (
        int(match["H"]) > 23 or int(match["M"]) > 59 or int(match["S"] or 0) > 59
    ):
        raise _error(_BAD_TIME, original)
    return result


def _rejection(compact: str, original: str) -> DateParseError:
    """Return the error with the most specific reason for text that is not a date."""
    if _NO_EXPIRY_WORDS.search(compact):
        return _error(_NO_EXPIRY, original)
    if _DAY_FIRST.fullmatch(compact):
        return _error(_AMBIGUOUS_ORDER, original)
    if _SHORT_YEAR.fullmatch(compact):
        return _error(_TWO_DIGIT_YEAR, original)
    month_only = _YEAR_MONTH.fullmatch(compact)
    if month_only is not None:
        month = int(month_only[2] or month_only[3] or month_only[4])
        if 1 <= month <= 12 and MIN_YEAR <= int(month_only[1]) <= MAX_YEAR:
            return _error(_MONTH_ONLY, original)
    if _YEAR.fullmatch(compact):
        return _error(_YEAR_ONLY, original)
    if _DATE_CORE.search(compact) and not _DATE_CHARS.fullmatch(compact):
        return _error(_EXTRA_TEXT, original)
    return _error(_NOT_A_DATE, original)
