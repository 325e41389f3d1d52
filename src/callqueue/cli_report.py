"""`callqueue report` and `callqueue export report`: the supervision figures for 政务服务科."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import click

from callqueue import db, workdays
from callqueue.cli import (
    EXIT_UNUSABLE,
    AppContext,
    _scope,
    emit_json,
    exported_to,
    fail_writing,
    main,
    xlsx_output,
)
from callqueue.cli_export import export_group
from callqueue.reports.figures import FIGURE_LABELS, FIGURES, RATE_LABEL, Report, build_report


def _sections(obj: AppContext, section: str | None) -> list[str] | None:
    """The sections the named staff member may see for this request (None: every one)."""
    with db.session_scope(obj.engine(), write=False) as session:
        return _scope(obj, session, section).names


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _print_table(report: Report) -> None:
    """Figures down, sections across (the total last): fits a terminal with three sections."""
    columns = [*report.sections, report.total]
    labels = [*(FIGURE_LABELS[f] for f in FIGURES), RATE_LABEL]
    # openpyxl loads only when a workbook is written
    from callqueue.reports import workbook

    cells = [
        [*(str(getattr(c, f)) for f in FIGURES), workbook.rate_text(c.renewal_rate)]
        for c in columns
    ]
    first = max(_width(label) for label in labels) + 2
    widths = [
        max(_width(c.section), *(_width(v) for v in col)) + 2
        for c, col in zip(columns, cells, strict=True)
    ]
    click.echo(f"督查统计（截至 {report.date:%Y-%m-%d}）")
    click.echo(
        _pad("指标", first)
        + "".join(_pad(c.section, w, right=True) for c, w in zip(columns, widths, strict=True))
    )
    for n, label in enumerate(labels):
        click.echo(
            _pad(label, first)
            + "".join(_pad(col[n], w, right=True) for col, w in zip(cells, widths, strict=True))
        )


@main.command(name="report")
@click.option("--section", help="只统计此科室（提醒人只能查看本科室）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def report_cmd(obj: AppContext, section: str | None, as_json: bool) -> None:
    """督查统计：各科室在管证书、即将到提醒日、逾期未联系、按期换证率等。"""
    sections = _sections(obj, section)
    with db.session_scope(obj.engine(), write=False) as session:
        report = build_report(
            session=session,
            today=obj.today,
            calendar=workdays.load_calendar(session),
            sections=sections,
        )
    if as_json:
        emit_json(
            {
                "date": report.date.isoformat(),
                "sections": [s.as_dict() for s in report.sections],
                "total": report.total.as_dict(),
            }
        )
        return
    _print_table(report)


@export_group.command(name="report")
@click.option("--section", help="只导出此科室（提醒人只能导出本科室）。")
@click.option(
    "--rows",
    "limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="每项明细最多列出多少条。",
)
@xlsx_output
@click.pass_obj
def export_report_cmd(obj: AppContext, section: str | None, limit: int, output: Path) -> None:
    """导出督查统计工作簿：汇总表、每个科室的明细、今后26周工作量图。"""
    # openpyxl loads only when a workbook is written
    from callqueue.reports import workbook

    sections = _sections(obj, section)
    with db.session_scope(obj.engine(), write=False) as session:
        book = workbook.gather(
            session=session,
            today=obj.today,
            calendar=workdays.load_calendar(session),
            sections=sections,
            limit=limit,
        )
    existed = output.exists()
    try:
        workbook.write_workbook(book, output)
    except OSError as exc:
        fail_writing(output, exc, EXIT_UNUSABLE)
    click.echo(
        f"已导出 {len(book.report.sections)} 个科室的督查统计到 {exported_to(output, existed)}"
    )
