"""`callqueue export ledger|catalog`: the ledger (附件2) and the catalog (附件1) as workbooks."""

from __future__ import annotations

from pathlib import Path

import click

from callqueue import catalog, db
from callqueue.cli import (
    EXIT_UNUSABLE,
    AppContext,
    LazyGroup,
    _scope,
    exported_to,
    fail_writing,
    main,
    xlsx_output,
)
from callqueue.ledger.listing import ledger_rows, ledger_sections


@main.group(
    name="export", cls=LazyGroup, lazy={"inspection": "cli_inspect", "report": "cli_report"}
)
def export_group() -> None:
    """导出 Excel 工作簿。"""


@export_group.command(name="ledger")
@click.option("--section", help="只导出此科室。")
@xlsx_output
@click.pass_obj
def export_ledger_cmd(obj: AppContext, section: str | None, output: Path) -> None:
    """按附件2格式导出台账，每个科室一张工作表（提醒人只导出本科室）。"""
    with db.session_scope(obj.engine(), write=False) as session:
        scope = _scope(obj, session, section).names
        rows = ledger_rows(session, today=obj.today, sections=scope)
        sheets = ledger_sections(session, sections=scope, rows=rows)
        office = catalog.office(session)
    existed = output.exists()
    try:
        from callqueue.ledger.export import (
            export_ledger,
        )  # openpyxl loads only when a workbook is written

        export_ledger(rows, output, office_name=office["name"], sections=sheets)
    except OSError as exc:
        fail_writing(output, exc, EXIT_UNUSABLE)
    click.echo(f"已导出 {len(rows)} 张证书到 {exported_to(output, existed)}")


@export_group.command(name="catalog")
@xlsx_output
@click.pass_obj
def export_catalog_cmd(obj: AppContext, output: Path) -> None:
    """按附件1格式导出提醒目录。"""
    with db.session_scope(obj.engine(), write=False) as session:
        entries = catalog.list_items(session)
        office = catalog.office(session)
    existed = output.exists()
    try:
        from callqueue.catalog_export import (
            export_catalog,
        )  # openpyxl loads only when a workbook is written

        export_catalog(entries, output, office_name=office["name"])
    except OSError as exc:
        fail_writing(output, exc, EXIT_UNUSABLE)
    click.echo(f"已导出 {len(entries)} 项到 {exported_to(output, existed)}")
