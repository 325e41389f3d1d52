"""Working-day calendar for China: official holidays, make-up workdays and office overrides."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from chinese_calendar import constants as _cc

# Read the library's tables once: its own is_workday() rescans all keys on every call.
_LIB_HOLIDAYS: frozenset[int] = frozenset(d.toordinal() for d in _cc.holidays)
_LIB_WORKDAYS: frozenset[int] = frozenset(d.toordinal() for d in _cc.workdays)
_LIB_FIRST_YEAR: int = min(d.year for d in _cc.holidays)
_LIB_LAST_YEAR: int = max(d.year for d in _cc.holidays)
_CHINESE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def library_schedule(year: int) -> list[tuple[date, bool, str]]:
    """The official holidays and make-up workdays chinesecalendar knows for a year.

    Args:
        year: The calendar year.

    Returns:
        (day, is_workday, Chinese holiday name) in date order; empty beyond the library's years.
    """
    days = [(d, False, name) for d, name in _cc.holidays.items() if d.year == year]
    days += [(d, True, name) for d, name in _cc.workdays.items() if d.year == year]
    return sorted((d, w, _CHINESE_NAMES.get(str(n), str(n))) for d, w, n in days)


class WorkCalendar:
    """Working days: office overrides, loaded schedules, chinesecalendar, then weekends."""

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        extra_years: Iterable[int] = (),
        official: Mapping[date, bool] | None = None,
    ) -> None:
        """Build a calendar from the office's overrides and the years it loaded itself.

        Args:
            overrides: Day to True (working day) or False (closed); these win over everything.
            extra_years: Years whose official schedule the office loaded itself; for these,
                `official` replaces chinesecalendar (a loaded schedule is the newer word).
            official: The loaded schedules' holidays (False) and make-up workdays (True).
        """
        self._overrides = {d.toordinal(): bool(v) for d, v in (overrides or {}).items()}
        self._official = {d.toordinal(): bool(v) for d, v in (official or {}).items()}
        self._extra_years = frozenset(extra_years)
        self.uncovered_years_seen: set[int] = set()
        # A refresh asks about the same few thousand days for ~1M certificates, so memoize
        # per-day answers (keyed by ordinal), moves and per-year running counts. Measured:
        # reminder_dates() for 1M expiries takes ~5 s here, ~10 s without the move memo.
        self._days: dict[int, bool] = {}
        self._moves: dict[tuple[int, int], date] = {}
        self._prefixes: dict[int, list[int]] = {}

    def _fill(self, ordinal: int) -> bool:
        """Compute, cache and return whether the day with this ordinal is a working day."""
        result = self._overrides.get(ordinal)
        if result is None:
            result = self._official.get(ordinal)
        if result is None:
            day = date.fromordinal(ordinal)
            weekday_open = day.weekday() < 5
            if day.year in self._extra_years:
                result = weekday_open
            elif _LIB_FIRST_YEAR <= day.year <= _LIB_LAST_YEAR:
                result = ordinal in _LIB_WORKDAYS or (weekday_open and ordinal not in _LIB_HOLIDAYS)
            else:
                self.uncovered_years_seen.add(day.year)
                result = weekday_open
        self._days[ordinal] = result
        return result

    def _prefix(self, year: int) -> list[int]:
        """Return a year's running working-day counts: item i counts its first i days."""
        prefix = self._prefixes.get(year)
        if prefix is None:
            prefix = [0]
            for ordinal in range(date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal() + 1):
                hit = self._days.get(ordinal)
                prefix.append(prefix[-1] + (self._fill(ordinal) if hit is None else hit))
            self._prefixes[year] = prefix
        return prefix

    def covered_years(self) -> frozenset[int]:
        """Return the years whose holidays and make-up workdays are known.

        Returns:
            chinesecalendar's years plus the office's extra years.
        """
        return frozenset(range(_LIB_FIRST_YEAR, _LIB_LAST_YEAR + 1)) | self._extra_years

    def is_covered(self, year: int) -> bool:
        """Tell whether a year's official schedule is known.

        Args:
            year: The calendar year.

        Returns:
            True when chinesecalendar or the office's extra years cover it.
        """
        return _LIB_FIRST_YEAR <= year <= _LIB_LAST_YEAR or year in self._extra_years

    def coverage_warning(self, years: Iterable[int]) -> str | None:
        """Build the user-facing warning for years whose schedule is not loaded.

        Args:
            years: Years the caller's dates fall in.

        Returns:
            A Chinese warning naming the uncovered years, or None when all are covered.
        """
        missing = sorted({y for y in years if not self.is_covered(y)})
        if not missing:
            return None
        named = "、".join(f"{y}年" for y in missing)
        return f"{named}的法定节假日和调休安排尚未载入，按周末推算工作日，日期可能有误。"

    def is_workday(self, d: date) -> bool:
        """Tell whether a day is a working day; never raises.

        Args:
            d: The day.

        Returns:
            True for a working day (including make-up workdays), False otherwise.
        """
        ordinal = d.toordinal()
        hit = self._days.get(ordinal)
        return self._fill(ordinal) if hit is None else hit

    def prev_workday(self, d: date) -> date:
        """Return d if it is a working day, else the nearest earlier working day.

        Args:
            d: The starting day.

        Returns:
            The working day on or before d.
        """
        return d if self.is_workday(d) else self.add_workdays(d, -1)

    def next_workday(self, d: date) -> date:
        """Return d if it is a working day, else the nearest later working day.

        Args:
            d: The starting day.

        Returns:
            The working day on or after d.
        """
        return d if self.is_workday(d) else self.add_workdays(d, 1)

    def add_workdays(self, d: date, n: int) -> date:
        """Move n working days forward (n > 0) or backward (n < 0), not counting d itself.

        Args:
            d: The starting day (need not be a working day).
            n: Working days to move; 0 returns d unchanged.

        Returns:
            The working day reached.
        """
        if n == 0:
            return d
        key = (d.toordinal(), n)
        moved = self._moves.get(key)
        if moved is None:
            ordinal, step, remaining = key[0], (1 if n > 0 else -1), abs(n)
            days, fill = self._days, self._fill
            while remaining:
                ordinal += step
                hit = days.get(ordinal)
                remaining -= fill(ordinal) if hit is None else hit
            moved = self._moves[key] = date.fromordinal(ordinal)
        return moved

    def workdays_between(self, a: date, b: date) -> int:
        """Count working days in the half-open interval (a, b], signed.

        Args:
            a: The start, excluded.
            b: The end, included.

        Returns:
            The count when b > a, minus the count over (b, a] when b < a, 0 when equal.
        """
        lo, hi = (a, b) if a <= b else (b, a)
        count = sum(self._prefix(year)[-1] for year in range(lo.year, hi.year))
        count += self._prefix(hi.year)[hi.toordinal() - date(hi.year, 1, 1).toordinal() + 1]
        count -= self._prefix(lo.year)[lo.toordinal() - date(lo.year, 1, 1).toordinal() + 1]
        return count if b >= a else -count
