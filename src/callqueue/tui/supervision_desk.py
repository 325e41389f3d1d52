"""The supervision work of a desk — the figures, the lists behind them, the coming workload.

Plain calls (no widgets) that the dashboard screens run in thread workers; each call is one unit
of work (one read-only session). What a staff member sees is scoped by role: callers their own
section, supervisors and admins every section.
"""

from __future__ import annotations

from dataclasses import dataclass

from callqueue import db, roles, workdays
from callqueue.records import Viewer
from callqueue.records.search import search
from callqueue.reports.figures import (
    FigureRow,
    Report,
    WeekLoad,
    build_report,
    figure_rows,
    weekly_workload,
)
from callqueue.tui.desk import Desk

FIGURE_PAGE = 100  # rows a person pages through in the list behind a number
WEEKS = 26


@dataclass(frozen=True)
class Overview:
    """The figures per section and in total, and the due reminders per week ahead."""

    report: Report
    weeks: list[WeekLoad]


@dataclass(frozen=True)
class FigurePage:
    """One page of the list behind a number, and whether another page follows."""

    figure: str
    section: str | None
    offset: int
    rows: list[FigureRow]
    has_more: bool


@dataclass(frozen=True)
class SupervisionDesk:
    """One staff member's supervision view, on the same engine, clock and settings as their desk."""

    desk: Desk

    @property
    def sections(self) -> list[str] | None:
        """The sections this staff member may see; None for every section."""
        me = self.desk.staff
        return roles.scoped_sections(
            name=me.name, role=me.role, own_section=me.section, requested=None
        )

    @property
    def sees_all(self) -> bool:
        """Whether this staff member oversees every section."""
        return roles.sees_all_sections(self.desk.staff.role)

    def overview(self) -> Overview:
        """The report and the weekly workload for the sections in scope, read together."""
        with db.session_scope(self.desk.engine, write=False) as session:
            calendar = workdays.load_calendar(session)
            report = build_report(
                session=session, today=self.desk.today, calendar=calendar, sections=self.sections
            )
            weeks = weekly_workload(
                session=session, today=self.desk.today, weeks=WEEKS, sections=self.sections
            )
        return Overview(report, weeks)

    def rows(self, figure: str, section: str | None, offset: int = 0) -> FigurePage:
        """A page of the rows counted by `figure` in `section` (None: every section in scope)."""
        me = self.desk.staff  # a section out of scope is refused (NotAllowed), not shown
        scope = roles.scoped_sections(
            name=me.name, role=me.role, own_section=me.section, requested=section
        )
        with db.session_scope(self.desk.engine, write=False) as session:
            calendar = workdays.load_calendar(session)
            found = figure_rows(
                session=session,
                today=self.desk.today,
                calendar=calendar,
                figure=figure,
                sections=scope,
                limit=FIGURE_PAGE + 1,  # one more than shown: is there a next page?
                offset=offset,
            )
        return FigurePage(figure, section, offset, found[:FIGURE_PAGE], len(found) > FIGURE_PAGE)

    def holder_of(self, certificate_id: int) -> int | None:
        """The holder of a certificate, as the record search finds it for this staff member."""
        with db.session_scope(self.desk.engine, write=False) as session:
            page = search(
                session, query=f"#{certificate_id}", viewer=Viewer.of(self.desk.staff), limit=1
            )
        return page.hits[0].holder_id if page.hits else None
