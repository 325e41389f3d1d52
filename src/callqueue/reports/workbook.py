"""The supervision workbook: a summary sheet, a sheet of lists per section, the workload chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from openpyxl.chart import BarChart, Reference
from openpyxl.utils import get_column_letter
from sqlmodel import Session

from callqueue.calendar import WorkCalendar
from callqueue.excel import (
    BODY_FONT,
    BORDER,
    HEADER_FONT,
    HEADING_LOOK,
    WRAP,
    Look,
    SheetWriter,
    StreamBook,
    Styled,
    laid_out,
    sheet_title,
)
from callqueue.queue.reminders import STATE_LABELS
from callqueue.reports.figures import (
    FIGURE_LABELS,
    FIGURES,
    RATE_LABEL,
    FigureRow,
    Report,
    SectionFigures,
    WeekLoad,
    build_report,
    figure_rows,
    weekly_workload,
)

SUMMARY_SHEET = "汇总"
WORKLOAD_SHEET = "工作量"
SUMMARY_HEADERS = ("科室", *(FIGURE_LABELS[f] for f in FIGURES), RATE_LABEL)
LIST_HEADERS = (
    "提醒编号",
    "单位（个人）名称",
    "许可证书",
    "期满日期",
    "申请换证时限",
    "提醒日期",
    "状态",
    "联系次数",
    "最近提醒日期",
)
LIST_WIDTHS = (10, 36, 34, 13, 13, 13, 10, 9, 13)
NO_RATE = "—"
RATE_LOOK = Look(BODY_FONT, BORDER, WRAP, "0.0%")
TOTAL_LOOK = Look(HEADER_FONT, BORDER, WRAP)


@dataclass(frozen=True)
class ReportBook:
    """What the workbook shows: the figures, each section's lists, the weekly workload."""

    report: Report
    lists: dict[str, dict[str, list[FigureRow]]]
    """Section name -> figure -> up to `limit` rows behind it."""
    workload: list[WeekLoad]
    limit: int


def gather(
    *,
    session: Session,
    today: date,
    calendar: WorkCalendar,
    sections: Sequence[str] | None = None,
    limit: int = 1000,
    weeks: int = 26,
) -> ReportBook:
    """Read everything the workbook shows, each list cut at `limit` rows.

    Raises:
        ValueError: an unknown section name.
    """
    report = build_report(session=session, today=today, calendar=calendar, sections=sections)
    lists = {
        figures.section: {
            figure: figure_rows(
                session=session,
                today=today,
                calendar=calendar,
                figure=figure,
                sections=[figures.section],
                limit=limit,
            )
            for figure in FIGURES
        }
        for figures in report.sections
    }
    workload = weekly_workload(
        session=session, today=today, weeks=weeks, sections=[f.section for f in report.sections]
    )
    return ReportBook(report=report, lists=lists, workload=workload, limit=limit)


def rate_text(rate: float | None) -> str:
    """A renewal rate as staff read it, e.g. 83.0%."""
    return NO_RATE if rate is None else f"{rate:.1%}"


def _summary_row(figures: SectionFigures, *, total: bool = False) -> list[object]:
    rate = NO_RATE if figures.renewal_rate is None else Styled(figures.renewal_rate, RATE_LOOK)
    name = Styled(figures.section, TOTAL_LOOK) if total else figures.section
    return [name, *(getattr(figures, f) for f in FIGURES), rate]


def _summary(book: StreamBook, report: Report) -> None:
    widths = (22, *(12 for _ in FIGURES), 12)
    ws = book.sheet(SUMMARY_SHEET, widths=widths, freeze="B4", header_rows="3:3")
    ws.title(f"督查统计（截至 {report.date:%Y-%m-%d}）", columns=len(SUMMARY_HEADERS))
    ws.blank()
    rows = [_summary_row(f) for f in report.sections]
    ws.table(SUMMARY_HEADERS, [*rows, _summary_row(report.total, total=True)])


def _section_sheet(
    ws: SheetWriter, figures: SectionFigures, lists: dict[str, list[FigureRow]], limit: int
) -> None:
    ws.title(f"{figures.section} 督查明细", columns=len(LIST_HEADERS))
    for figure in FIGURES:
        count = getattr(figures, figure)
        shown = lists[figure]
        note = f"（仅列出前 {limit} 条）" if count > len(shown) else ""
        ws.blank()
        ws.line(f"{FIGURE_LABELS[figure]}：共 {count} 条{note}", HEADING_LOOK)
        ws.table(
            LIST_HEADERS,
            (
                [
                    r.reminder_id,
                    r.holder,
                    r.certificate,
                    r.expires_on,
                    r.apply_by,
                    r.remind_on,
                    STATE_LABELS.get(r.state, r.state),
                    r.attempts,
                    r.last_reminded_on,
                ]
                for r in shown
            ),
        )


def _workload(book: StreamBook, report_book: ReportBook) -> None:
    names = [f.section for f in report_book.report.sections]
    headers = ("周（自周一起）", *names)
    widths = (16, *(20 for _ in names))
    ws = book.sheet(WORKLOAD_SHEET, widths=widths, freeze="B4", header_rows="3:3")
    weeks = len(report_book.workload)
    ws.title(f"今后 {weeks} 周每周到提醒日的提醒数", columns=len(headers))
    ws.blank()
    rows = [[w.week_start, *(w.counts.get(n, 0) for n in names)] for w in report_book.workload]
    ws.table(headers, rows)
    end = 4 + len(rows)  # the row after the table
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = "每周到提醒日的提醒数（按科室）"
    chart.y_axis.title, chart.x_axis.title = "提醒数", "周（自周一起）"
    chart.x_axis.number_format = "yyyy-mm-dd"
    chart.height, chart.width = 10, 26
    sheet = laid_out(ws.ws)
    data = Reference(sheet, min_col=2, max_col=len(headers), min_row=3, max_row=end - 1)
    categories = Reference(sheet, min_col=1, min_row=4, max_row=end - 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    sheet.add_chart(chart, f"{get_column_letter(len(headers) + 2)}3")


def write_workbook(book: ReportBook, path: Path) -> Path:
    """Write the supervision workbook to `path` (atomically); no cell is ever a formula."""
    with StreamBook() as stream:
        _summary(stream, book.report)
        names = [SUMMARY_SHEET]
        for figures in book.report.sections:
            # The workload sheet's name stays free; the sheet's title keeps the section's full name.
            names.append(sheet_title(figures.section, [*names, WORKLOAD_SHEET]))
            sheet = stream.sheet(names[-1], widths=LIST_WIDTHS)  # a header per table: none repeats
            _section_sheet(sheet, figures, book.lists[figures.section], book.limit)
        _workload(stream, book)
        return stream.save(path)
