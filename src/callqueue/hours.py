"""Office hours: when staff call and holders are received, on the office's working days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from callqueue.calendar import WorkCalendar
from callqueue.clock import SHANGHAI, local


class HoursError(ValueError):
    """An office-hours setting that cannot be read."""


@dataclass(frozen=True)
class OfficeHours:
    """The day's open spans, e.g. 08:30–12:00 and 13:30–17:30."""

    spans: tuple[tuple[time, time], ...]

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """Read `08:30-12:00,13:30-17:30`; raise HoursError with a Chinese message."""
        spans = []
        try:
            for part in text.replace("，", ",").split(","):
                start, end = (time.fromisoformat(p.strip()) for p in part.split("-"))
                if start >= end:
                    raise ValueError(part)
                spans.append((start, end))
        except ValueError as exc:
            raise HoursError(f"办公时间“{text}”无法识别，应写成 08:30-12:00,13:30-17:30") from exc
        spans.sort()
        if any(a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False)):
            raise HoursError(f"办公时间“{text}”的时段有重叠")
        return cls(tuple(spans))

    def label(self) -> str:
        """The spans as staff read them."""
        return "、".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in self.spans)


def is_office_time(moment: datetime, *, calendar: WorkCalendar, hours: OfficeHours) -> bool:
    """True when `moment` falls on a working day inside an open span (end excluded)."""
    at = local(moment)
    if not calendar.is_workday(at.date()):
        return False
    clock_time = at.timetz().replace(tzinfo=None)
    return any(start <= clock_time < end for start, end in hours.spans)


def next_office_time(moment: datetime, *, calendar: WorkCalendar, hours: OfficeHours) -> datetime:
    """`moment` if it is office time, else the start of the next open span on a working day."""
    at = local(moment)
    day = at.date()
    for _ in range(400):  # a year of closed days would be a configuration error
        if calendar.is_workday(day):
            for start, end in hours.spans:
                opening = datetime.combine(day, start, SHANGHAI)
                closing = datetime.combine(day, end, SHANGHAI)
                if at < closing:
                    return max(at, opening)
        day = calendar.next_workday(day + timedelta(days=1))
        at = datetime.combine(day, time(0), SHANGHAI)
    raise HoursError("一年内没有办公时间，请检查工作日设置")


def add_office_minutes(
    moment: datetime, minutes: int, *, calendar: WorkCalendar, hours: OfficeHours
) -> datetime:
    """The moment `minutes` of office time after `moment` (closed time does not count).

    Args:
        moment: where to start; outside office hours counting starts at the next opening.
        minutes: office minutes to add (>= 0).
        calendar: working days.
        hours: open spans.

    Returns:
        An aware Asia/Shanghai datetime inside office hours.
    """
    at = next_office_time(moment, calendar=calendar, hours=hours)
    left = timedelta(minutes=minutes)
    while True:
        end = next(
            datetime.combine(at.date(), e, SHANGHAI)
            for s, e in hours.spans
            if datetime.combine(at.date(), s, SHANGHAI)
            <= at
            < datetime.combine(at.date(), e, SHANGHAI)
        )
        if at + left < end:
            return at + left
        left -= end - at
        at = next_office_time(end, calendar=calendar, hours=hours)
