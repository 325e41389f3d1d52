"""The office's clock: Asia/Shanghai, and a `today` that demos and tests can pin."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current time in Asia/Shanghai (timezone-aware)."""
    return datetime.now(SHANGHAI)


def today() -> date:
    """The current date in Asia/Shanghai."""
    return now().date()


def local(moment: datetime) -> datetime:
    """`moment` as Asia/Shanghai wall time (naive values are taken to be Shanghai already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(SHANGHAI)


def parse_day(text: str) -> date:
    """An ISO date `YYYY-MM-DD`, or ValueError with a Chinese message."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"日期“{text}”无效，应为 YYYY-MM-DD 格式的真实日期") from exc
