"""THROWAWAY stub of the report helper's API (report-api.md), only to develop the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from callqueue.calendar import WorkCalendar
from callqueue.db import table
from callqueue.models import OPEN_STATES, Certificate, Holder, Reminder, Section, SectionKind

FIGURES: tuple[str, ...] = (
    "tracked", "due_30", "due_60", "due_90", "due_unworked", "overdue",
    "informed_before_apply_by", "unreachable", "needs_repair", "lapsed", "renewed_before_expiry",
)
FIGURE_LABELS: dict[str, str] = {
    "tracked": "在管证书", "due_30": "30天内到提醒日", "due_60": "60天内到提醒日",
    "due_90": "90天内到提醒日", "due_unworked": "已到期未处理", "overdue": "逾期未处理",
    "informed_before_apply_by": "截止前已告知", "unreachable": "无法联系", "needs_repair": "需补正信息",
    "lapsed": "过期未换证", "renewed_before_expiry": "期满前换证",
}


@dataclass(frozen=True)
class SectionFigures:
    section: str
    tracked: int
    due_30: int
    due_60: int
    due_90: int
    due_unworked: int
    overdue: int
    informed_before_apply_by: int
    unreachable: int
    needs_repair: int
    lapsed: int
    renewed_before_expiry: int
    renewal_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    date: date
    sections: list[SectionFigures]
    total: SectionFigures


@dataclass(frozen=True)
class FigureRow:
    reminder_id: int
    certificate_id: int
    section: str
    holder: str
    certificate: str
    expires_on: date
    apply_by: date
    remind_on: date
    state: str
    attempts: int
    last_reminded_on: date | None


@dataclass(frozen=True)
class WeekLoad:
    week_start: date
    counts: dict[str, int]


def _names(session: Session, sections: Sequence[str] | None) -> list[str]:
    s = table(Section)
    names = session.execute(
        select(s.c.name).where(s.c.kind == SectionKind.APPROVAL).order_by(s.c.id)
    ).scalars()
    return [n for n in names if sections is None or n in sections]


def _all(session: Session, today: date, sections: Sequence[str] | None) -> list[tuple[str, FigureRow, bool]]:
    r, s, c, h = table(Reminder), table(Section), table(Certificate), table(Holder)
    q = (
        select(r, s.c.name.label("sname"), h.c.name.label("hname"))
        .join(s, s.c.id == r.c.section_id)
        .join(h, h.c.id == r.c.holder_id)
        .order_by(r.c.apply_by, r.c.expires_on, r.c.id)
    )
    out = []
    for row in session.execute(q).mappings():
        if sections is not None and row["sname"] not in sections:
            continue
        fr = FigureRow(row["id"], row["certificate_id"], row["sname"], row["hname"], "证书",
                       row["expires_on"], row["apply_by"], row["remind_on"], row["state"],
                       row["attempts"], None)
        out.append((row["sname"], fr, row["needs_repair"]))
    return out


def _figure(fig: str, fr: FigureRow, repair: bool, today: date) -> bool:
    open_ = fr.state in OPEN_STATES
    days = (fr.remind_on - today).days
    return {
        "tracked": open_,
        "due_30": open_ and fr.state == "scheduled" and 1 <= days <= 30,
        "due_60": open_ and fr.state == "scheduled" and 1 <= days <= 60,
        "due_90": open_ and fr.state == "scheduled" and 1 <= days <= 90,
        "due_unworked": fr.state == "due" and fr.attempts == 0,
        "overdue": fr.state == "due" and fr.attempts == 0 and days < -5,
        "informed_before_apply_by": fr.state == "informed",
        "unreachable": fr.state == "unreachable",
        "needs_repair": open_ and repair,
        "lapsed": fr.state == "lapsed",
        "renewed_before_expiry": fr.state == "renewed",
    }[fig]


def _figures(name: str, rows: list[tuple[str, FigureRow, bool]], today: date) -> SectionFigures:
    counts = {f: sum(1 for _, fr, rep in rows if _figure(f, fr, rep, today)) for f in FIGURES}
    den = counts["renewed_before_expiry"] + counts["lapsed"]
    rate = counts["renewed_before_expiry"] / den if den else None
    return SectionFigures(section=name, renewal_rate=rate, **counts)


def build_report(*, session: Session, today: date, calendar: WorkCalendar,
                 sections: Sequence[str] | None = None) -> Report:
    rows = _all(session, today, sections)
    names = _names(session, sections)
    per = [_figures(n, [x for x in rows if x[0] == n], today) for n in names]
    return Report(today, per, _figures("合计", [x for x in rows if x[0] in names], today))


def figure_rows(*, session: Session, today: date, calendar: WorkCalendar, figure: str,
                sections: Sequence[str] | None = None, limit: int = 200, offset: int = 0
                ) -> list[FigureRow]:
    if figure not in FIGURES:
        raise KeyError(figure)
    rows = [fr for _, fr, rep in _all(session, today, sections) if _figure(figure, fr, rep, today)]
    return rows[offset: offset + limit]


def weekly_workload(*, session: Session, today: date, weeks: int = 26,
                    sections: Sequence[str] | None = None) -> list[WeekLoad]:
    start = today - timedelta(days=today.weekday())
    names = _names(session, sections)
    rows = _all(session, today, sections)
    out = []
    for i in range(weeks):
        ws = start + timedelta(weeks=i)
        counts = {n: 0 for n in names}
        for name, fr, _ in rows:
            if fr.state in OPEN_STATES and ws <= fr.remind_on < ws + timedelta(days=7) and name in counts:
                counts[name] += 1
        out.append(WeekLoad(ws, counts))
    return out
