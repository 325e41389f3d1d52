"""Supervision figures (督查统计): counts per section, the lists behind them, the coming workload.

Every figure is one condition on the reminder table (`condition`); the counts group those
conditions by section in a handful of aggregate statements, and `figure_rows` pages the same
conditions, so a number and its list can never disagree. The README's 督查统计 section defines
each figure for staff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlmodel import Session

from callqueue.calendar import WorkCalendar
from callqueue.db import table
from callqueue.models import (
    OPEN_STATES,
    Attempt,
    CatalogItem,
    Certificate,
    Holder,
    Outcome,
    Reminder,
    ReminderState,
    Section,
    SectionKind,
)
from callqueue.reports.sql import local_date

FIGURES: tuple[str, ...] = (
    "tracked",
    "due_30",
    "due_60",
    "due_90",
    "due_unworked",
    "overdue",
    "informed_before_apply_by",
    "unreachable",
    "needs_repair",
    "lapsed",
    "renewed_before_expiry",
)
FIGURE_LABELS: dict[str, str] = {
    "tracked": "在管证书",
    "due_30": "30天内到提醒日",
    "due_60": "60天内到提醒日",
    "due_90": "90天内到提醒日",
    "due_unworked": "已到提醒日未联系",
    "overdue": "逾期未联系",
    "informed_before_apply_by": "申请截止前已告知",
    "unreachable": "无法联系",
    "needs_repair": "需补充联系方式",
    "lapsed": "过期未换证",
    "renewed_before_expiry": "到期前已换证",
}
RATE_LABEL = "按期换证率"
TOTAL = "合计"
OVERDUE_WORKDAYS = 3
"""A due reminder nobody has tried for more than this many working days is overdue."""
DUE_WINDOWS = {"due_30": 30, "due_60": 60, "due_90": 90}
INFORMING = (Outcome.INFORMED.value, Outcome.APPOINTMENT.value, Outcome.ASSISTED.value)
"""Outcomes that told the holder everything (一次性告知), by phone or email."""
_OPEN = tuple(s.value for s in OPEN_STATES)


@dataclass(frozen=True)
class SectionFigures:
    """The figures of one section, or of all shown sections together (section 合计)."""

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
    """renewed_before_expiry / (all renewed + lapsed); None when nothing was decided yet."""

    def as_dict(self) -> dict[str, Any]:
        """The object of `callqueue report --json`."""
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """The figures of every section shown, and their total, on one day."""

    date: date
    sections: list[SectionFigures]
    total: SectionFigures


@dataclass(frozen=True)
class FigureRow:
    """One line of the list behind a figure."""

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
    """Reminders coming due in one week (Monday to Sunday), per section."""

    week_start: date
    counts: dict[str, int]


# --- the figures as conditions ---------------------------------------------------------------


def _unworked(today: date) -> ColumnElement[bool]:
    r, a = table(Reminder), table(Attempt)
    return and_(
        r.c.state == ReminderState.DUE.value,
        r.c.remind_on <= today,
        r.c.attempts == 0,
        # A failed or bounced email is an attempt too, though it leaves the counter alone.
        ~exists().where(a.c.reminder_id == r.c.id),
    )


def _informed_in_time() -> ColumnElement[bool]:
    """Reminders with an informing attempt on or before their apply_by (Shanghai dates)."""
    r, a = table(Reminder), table(Attempt)
    told = table(Reminder).alias("told")
    # Read from the attempts' side (informing attempts are far fewer than reminders); `+ 0`
    # keeps SQLite from probing the attempts of every reminder instead.
    return r.c.id.in_(
        select(a.c.reminder_id)
        .join(told, told.c.id == a.c.reminder_id + 0)
        .where(a.c.outcome.in_(INFORMING), local_date(a.c.at) <= told.c.apply_by)
    )


def _renewed_in_time() -> ColumnElement[bool]:
    r = table(Reminder)
    return and_(
        r.c.state == ReminderState.RENEWED.value, local_date(r.c.closed_at) <= r.c.expires_on
    )


def overdue_before(today: date, calendar: WorkCalendar) -> date:
    """The first remind_on that is not yet overdue on `today` (3 working days back)."""
    return calendar.add_workdays(today, -OVERDUE_WORKDAYS)


def condition(figure: str, *, today: date, calendar: WorkCalendar) -> ColumnElement[bool]:
    """The reminders a figure counts, as a WHERE condition on the reminder table.

    Raises:
        KeyError: `figure` is not one of FIGURES.
    """
    r = table(Reminder)
    if figure not in FIGURES:
        raise KeyError(f"unknown figure {figure!r}; one of {', '.join(FIGURES)}")
    if figure == "tracked":
        return r.c.state.in_(_OPEN)
    if figure in DUE_WINDOWS:
        return and_(
            r.c.state == ReminderState.SCHEDULED.value,
            r.c.remind_on > today,
            r.c.remind_on <= today + timedelta(days=DUE_WINDOWS[figure]),
        )
    if figure == "due_unworked":
        return _unworked(today)
    if figure == "overdue":
        return and_(_unworked(today), r.c.remind_on < overdue_before(today, calendar))
    if figure == "informed_before_apply_by":
        return _informed_in_time()
    if figure == "needs_repair":
        # The flag has no index: `|| ''` makes SQLite read the table straight through rather
        # than look up every open reminder from ix_reminder_queue (10x slower).
        return and_(r.c.state.concat("").in_(_OPEN), r.c.needs_repair.is_(True))
    if figure == "renewed_before_expiry":
        return _renewed_in_time()
    return r.c.state == figure  # unreachable, lapsed: the state of the same name


_SCANNED = frozenset({"needs_repair", "informed_before_apply_by"})
"""Figures whose statements must not start from the section index (see `in_sections`)."""


def in_sections(ids: Sequence[int], *, by_index: bool = True) -> ColumnElement[bool]:
    """Reminders of these sections.

    Args:
        ids: section ids.
        by_index: let the database start from the section index. False (`+ 0` hides it) where
            that would make SQLite walk every reminder of the section, a million lookups,
            instead of a table scan or a range of another index.
    """
    r = table(Reminder)
    column = r.c.section_id if by_index else r.c.section_id + 0
    return column.in_(list(ids))


# --- counting --------------------------------------------------------------------------------


def _scope(session: Session, sections: Sequence[str] | None) -> list[tuple[int, str]]:
    """(id, name) of the sections asked for, or of every approval section, in a stable order.

    Raises:
        ValueError: a section name that does not exist.
    """
    s = table(Section)
    if sections is None:
        rows = session.execute(
            select(s.c.id, s.c.name).where(s.c.kind == SectionKind.APPROVAL.value).order_by(s.c.id)
        ).all()
        return [(int(i), str(n)) for i, n in rows]
    found = dict(
        (str(n), int(i))
        for i, n in session.execute(select(s.c.id, s.c.name).where(s.c.name.in_(list(sections))))
    )
    missing = [n for n in sections if n not in found]
    if missing:
        raise ValueError(f"科室“{'、'.join(missing)}”不存在")
    return [(found[n], n) for n in dict.fromkeys(sections)]


def _add(counts: dict[int, dict[str, int]], rows: Any, *keys: str) -> None:
    """Add grouped rows `(section_id, n1, n2, …)` to the counts under `keys`."""
    for section_id, *values in rows:
        into = counts.get(int(section_id))
        if into is not None:
            for key, value in zip(keys, values, strict=True):
                into[key] += int(value or 0)


def _count(
    session: Session, *, ids: list[int], today: date, calendar: WorkCalendar
) -> dict[int, dict[str, int]]:
    """Every figure (and `renewed`, all renewals) per section id, in six grouped statements."""
    r = table(Reminder)
    counts = {i: dict.fromkeys((*FIGURES, "renewed"), 0) for i in ids}
    if not ids:
        return counts
    mine = r.c.section_id.in_(ids)
    # States per section: read from ix_reminder_queue alone (section_id, state lead it).
    for section_id, state, n in session.execute(
        select(r.c.section_id, r.c.state, func.count())
        .where(mine)
        .group_by(r.c.section_id, r.c.state)
    ):
        into = counts[int(section_id)]
        if state in _OPEN:
            into["tracked"] += int(n)
        if state in ("unreachable", "lapsed", "renewed"):
            into[state] += int(n)
    # The scheduled reminders of the next 90 days: a range of ix_reminder_state_remind_on.
    windows = [r.c.remind_on <= today + timedelta(days=d) for d in DUE_WINDOWS.values()]
    _add(
        counts,
        session.execute(
            select(r.c.section_id, *(func.count().filter(w) for w in windows))
            .where(mine, condition("due_90", today=today, calendar=calendar))
            .group_by(r.c.section_id)
        ),
        *DUE_WINDOWS,
    )
    _add(
        counts,
        session.execute(
            select(
                r.c.section_id,
                func.count(),
                func.count().filter(r.c.remind_on < overdue_before(today, calendar)),
            )
            .where(mine, _unworked(today))
            .group_by(r.c.section_id)
        ),
        "due_unworked",
        "overdue",
    )
    for figure in ("needs_repair", "renewed_before_expiry", "informed_before_apply_by"):
        by_index = figure not in _SCANNED
        section = r.c.section_id if by_index else (r.c.section_id + 0).label("section")
        _add(
            counts,
            session.execute(
                select(section, func.count())
                .where(
                    in_sections(ids, by_index=by_index),
                    condition(figure, today=today, calendar=calendar),
                )
                .group_by(section)
            ),
            figure,
        )
    return counts


def _figures(name: str, counts: dict[str, int]) -> SectionFigures:
    decided = counts["renewed"] + counts["lapsed"]
    rate = round(counts["renewed_before_expiry"] / decided, 4) if decided else None
    return SectionFigures(section=name, renewal_rate=rate, **{f: counts[f] for f in FIGURES})


def build_report(
    *,
    session: Session,
    today: date,
    calendar: WorkCalendar,
    sections: Sequence[str] | None = None,
) -> Report:
    """The supervision figures of each section and in total on `today`.

    Args:
        session: a read session.
        today: the date in force.
        calendar: the office's working days (the overdue rule counts them).
        sections: section names; None for every approval section.

    Returns:
        One SectionFigures per section (in section order) and their total; the total's rate
        divides the summed counts, it is not an average of the sections' rates.

    Raises:
        ValueError: an unknown section name.
    """
    scope = _scope(session, sections)
    counts = _count(session, ids=[i for i, _ in scope], today=today, calendar=calendar)
    total = dict.fromkeys((*FIGURES, "renewed"), 0)
    for per in counts.values():
        for key, value in per.items():
            total[key] += value
    return Report(
        date=today,
        sections=[_figures(name, counts[i]) for i, name in scope],
        total=_figures(TOTAL, total),
    )


# --- the lists behind the numbers ------------------------------------------------------------


def figure_rows(
    *,
    session: Session,
    today: date,
    calendar: WorkCalendar,
    figure: str,
    sections: Sequence[str] | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[FigureRow]:
    """A page of the reminders a figure counts, by apply_by, expires_on, id.

    Args:
        session: a read session.
        today: the date in force.
        calendar: the office's working days.
        figure: one of FIGURES.
        sections: section names; None for every approval section.
        limit: rows per page.
        offset: rows to skip.

    Returns:
        Up to `limit` rows.

    Raises:
        KeyError: an unknown figure.
        ValueError: an unknown section name.
    """
    where = condition(figure, today=today, calendar=calendar)
    ids = [i for i, _ in _scope(session, sections)]
    r, s, h = table(Reminder), table(Section), table(Holder)
    c, i = table(Certificate), table(CatalogItem)
    order = (r.c.apply_by, r.c.expires_on, r.c.id)
    # The page's ids first, from the reminder table alone (ix_reminder_queue covers the order's
    # columns); names are joined for those rows only, not for every row the sort reads.
    page = (
        select(r.c.id)
        .where(in_sections(ids, by_index=figure not in _SCANNED), where)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    rows = session.execute(
        select(
            r.c.id,
            r.c.certificate_id,
            s.c.name,
            h.c.name,
            i.c.certificate_name,
            c.c.number,
            r.c.expires_on,
            r.c.apply_by,
            r.c.remind_on,
            r.c.state,
            r.c.attempts,
            r.c.last_reminded_on,
        )
        .select_from(page)
        .join(r, r.c.id == page.c.id)
        .join(s, s.c.id == r.c.section_id)
        .join(h, h.c.id == r.c.holder_id)
        .join(c, c.c.id == r.c.certificate_id)
        .join(i, i.c.id == c.c.catalog_item_id)
        .order_by(*order)
    ).all()
    return [
        FigureRow(
            reminder_id=row[0],
            certificate_id=row[1],
            section=row[2],
            holder=row[3],
            certificate=f"{row[4]}（{row[5]}）" if row[5] else row[4],
            expires_on=row[6],
            apply_by=row[7],
            remind_on=row[8],
            state=row[9],
            attempts=row[10],
            last_reminded_on=row[11],
        )
        for row in rows
    ]


# --- the coming workload ---------------------------------------------------------------------


def weekly_workload(
    *,
    session: Session,
    today: date,
    weeks: int = 26,
    sections: Sequence[str] | None = None,
) -> list[WeekLoad]:
    """Open reminders whose remind_on falls in each of the next `weeks` weeks, per section.

    Args:
        session: a read session.
        today: the date in force; its week (from Monday) comes first.
        weeks: how many weeks.
        sections: section names; None for every approval section.

    Returns:
        One WeekLoad per week, every section in scope named in each (0 when none).

    Raises:
        ValueError: an unknown section name.
    """
    scope = _scope(session, sections)
    first = today - timedelta(days=today.weekday())
    loads = [
        WeekLoad(first + timedelta(weeks=n), {name: 0 for _, name in scope}) for n in range(weeks)
    ]
    names = dict(scope)
    r = table(Reminder)
    rows = session.execute(
        select(r.c.section_id, r.c.remind_on, func.count())
        .where(
            r.c.state.in_(_OPEN),
            r.c.remind_on >= first,
            r.c.remind_on < first + timedelta(weeks=weeks),
            # A range of ix_reminder_state_remind_on, not every reminder of the section.
            in_sections(list(names), by_index=False),
        )
        .group_by(r.c.section_id, r.c.remind_on)
    )
    for section_id, remind_on, n in rows:
        loads[(remind_on - first).days // 7].counts[names[int(section_id)]] += int(n)
    return loads
