"""Supervision figures (issue 7): every figure, its list and the weekly workload on a known ledger."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from callqueue import db, workdays
from callqueue.models import OPEN_STATES
from callqueue.reports.figures import (
    FIGURE_LABELS,
    FIGURES,
    TOTAL,
    Report,
    build_report,
    figure_rows,
    weekly_workload,
)

from .queue_world import TODAY
from .report_world import CASES, EXPECTED, FIGURE_CASES, A, B, C, build, holder

TOTAL_EXPECTED = {
    "tracked": 26,
    "due_30": 4,
    "due_60": 10,
    "due_90": 12,
    "due_unworked": 5,
    "overdue": 3,
    "informed_before_apply_by": 5,
    "unreachable": 1,
    "needs_repair": 10,
    "lapsed": 8,
    "renewed_before_expiry": 9,
    "renewal_rate": 0.4737,  # 9 / (11 renewed + 8 lapsed), not the mean of 0.5 and 0.3333
}


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> dict[str, int]:
    return build(engine, tmp_path)


def _report(engine: Engine, sections: list[str] | None = None) -> Report:
    with db.session_scope(engine, write=False) as session:
        return build_report(
            session=session,
            today=TODAY,
            calendar=workdays.load_calendar(session),
            sections=sections,
        )


def _listed(engine: Engine, figure: str, **kwargs: object) -> list[int]:
    with db.session_scope(engine, write=False) as session:
        rows = figure_rows(
            session=session,
            today=TODAY,
            calendar=workdays.load_calendar(session),
            figure=figure,
            **kwargs,  # type: ignore[arg-type]
        )
    return [r.reminder_id for r in rows]


def test_every_figure_per_section_and_in_total(engine: Engine, world: dict[str, int]) -> None:
    report = _report(engine)
    assert report.date == TODAY
    assert [s.section for s in report.sections] == [C, B, A]  # approval sections by id
    for figures in report.sections:
        assert figures.as_dict() == {"section": figures.section, **EXPECTED[figures.section]}
    assert report.total.as_dict() == {"section": TOTAL, **TOTAL_EXPECTED}


def test_figures_of_chosen_sections(engine: Engine, world: dict[str, int]) -> None:
    report = _report(engine, [A])
    assert [s.section for s in report.sections] == [A]
    assert report.total.as_dict() == {"section": TOTAL, **EXPECTED[A]}
    with pytest.raises(ValueError, match="不存在"):
        _report(engine, ["没有这个科"])


def test_the_overdue_rule_counts_working_days(engine: Engine, world: dict[str, int]) -> None:
    """With Monday 23 November closed, U3 (18 November) is only 3 working days back."""
    from callqueue.workdays import set_override

    with db.session_scope(engine, write=True) as session:
        set_override(session, day=date(2026, 11, 23), is_workday=False, reason="停电", actor="t")
    a = next(s for s in _report(engine).sections if s.section == A)
    assert (a.due_unworked, a.overdue) == (4, 1)
    assert _listed(engine, "overdue", sections=[A]) == [world["U4"]]


@pytest.mark.parametrize("figure", FIGURES)
def test_each_list_is_what_its_figure_counts(
    engine: Engine, world: dict[str, int], figure: str
) -> None:
    listed = _listed(engine, figure, sections=None, limit=1000)
    assert sorted(listed) == sorted(world[c] for c in FIGURE_CASES[figure])
    total = getattr(_report(engine).total, figure)
    assert len(listed) == total


def test_list_rows_carry_the_ledger_facts_in_order(engine: Engine, world: dict[str, int]) -> None:
    with db.session_scope(engine, write=False) as session:
        rows = figure_rows(
            session=session,
            today=TODAY,
            calendar=workdays.load_calendar(session),
            figure="overdue",
        )
    assert [r.reminder_id for r in rows] == [world["U3"], world["U4"], world["bU"]]  # ties: id
    first = rows[0]
    assert (first.section, first.holder) == (A, holder("U3"))
    assert first.certificate.startswith("农药经营许可证")
    assert (first.expires_on, first.apply_by, first.remind_on) == (
        date(2027, 3, 1),
        date(2027, 1, 31),
        date(2026, 11, 18),
    )
    assert (first.state, first.attempts, first.last_reminded_on) == ("due", 0, None)
    assert rows[2].section == B and rows[2].certificate.startswith("卫生许可证")
    informed = _listed(engine, "informed_before_apply_by")
    assert informed[0] == world["I1"]  # apply_by today comes before 2027-01-10


def test_lists_page_and_refuse_unknown_figures(engine: Engine, world: dict[str, int]) -> None:
    every = _listed(engine, "tracked", sections=[A], limit=1000)
    assert len(every) == 24
    pages = [_listed(engine, "tracked", sections=[A], limit=10, offset=n) for n in (0, 10, 20)]
    assert [len(p) for p in pages] == [10, 10, 4]
    assert sum(pages, []) == every
    assert _listed(engine, "lapsed", sections=[B]) == sorted([world["bL1"], world["bL2"]])
    assert _listed(engine, "lapsed", sections=[C]) == []
    with pytest.raises(KeyError):
        _listed(engine, "no_such_figure")


def test_weekly_workload_counts_open_reminders_by_week(
    engine: Engine, world: dict[str, int]
) -> None:
    with db.session_scope(engine, write=False) as session:
        weeks = weekly_workload(session=session, today=TODAY)
        short = weekly_workload(session=session, today=TODAY, weeks=2, sections=[B])
    monday = date(2026, 11, 23)
    assert [w.week_start for w in weeks] == [monday + timedelta(weeks=n) for n in range(26)]
    expected = [dict.fromkeys((C, B, A), 0) for _ in range(26)]
    for section, values in CASES.values():
        day = values.get("remind_on")
        if values["state"] in OPEN_STATES and day and monday <= day < monday + timedelta(weeks=26):
            expected[(day - monday).days // 7][section] += 1
    assert [w.counts for w in weeks] == expected
    # Spelled out: this week S1 (25th) and U1 (today) in A, bS (29th) in B; B1…B6 are closed.
    assert weeks[0].counts == {C: 0, B: 1, A: 2}
    assert weeks[13].counts[A] == 2  # S11 (22 Feb) and S12 (23 Feb)
    assert [w.counts for w in short] == [{B: 1}, {B: 0}]


def test_labels_are_chinese_for_every_figure() -> None:
    assert set(FIGURE_LABELS) == set(FIGURES)
    assert len(set(FIGURE_LABELS.values())) == len(FIGURES)
