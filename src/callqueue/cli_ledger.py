"""`callqueue import` and `callqueue ledger`: reading ledger workbooks in, listing certificates."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from callqueue import db
from callqueue.cli import (
    EXIT_UNUSABLE,
    AppContext,
    _Progress,
    _scope,
    _viewer,
    emit_json,
    fail,
    main,
)
from callqueue.ledger.listing import FLAG_LABELS, ledger_rows
from callqueue.queue import staff as staff_service
from callqueue.queue.reminders import STATE_LABELS
from callqueue.roles import NotAllowed

if TYPE_CHECKING:
    from callqueue.ledger.service import ImportReport


def _known_section(obj: AppContext, section: str | None) -> None:
    if section is None:
        return
    with db.session_scope(obj.engine(), write=False) as session:
        names = staff_service.section_names(session)
    if section not in names:
        fail(f"科室“{section}”不存在（现有：{'、'.join(names)}）", EXIT_UNUSABLE)


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--section", help="未注明科室的工作表归入此科室。")
@click.option("--dry-run", is_flag=True, help="只检查，不写入任何内容。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出报告。")
@click.pass_obj
def import_cmd(
    obj: AppContext, file: Path, section: str | None, dry_run: bool, as_json: bool
) -> None:
    """导入台账工作簿（附件2）。退出码：0 全部处理且无拒绝，1 有被拒绝的行，2 文件无法读取。

    提醒人（--staff）只能导入本科室的台账：未注明科室的工作表归入本科室，涉及其他科室时什么都不写，退出码 1。
    """
    from callqueue.ledger import service as ledger_service  # the reader loads when needed
    from callqueue.ledger.read import UnreadableWorkbook

    _known_section(obj, section)
    progress = _Progress(enabled=not as_json and sys.stderr.isatty())
    engine = obj.engine()
    try:
        with db.session_scope(engine, write=True, bulk=True) as session:
            who = _viewer(obj, session)
            report = ledger_service.import_ledger(
                session,
                path=file,
                today=obj.today,
                section=section,
                dry_run=dry_run,
                margin_workdays=obj.settings.margin_workdays,
                actor=obj.staff or "cli",
                staff_id=who.staff_id if who else None,
                progress=progress,
                caller_section=who.bound_section if who else None,
            )
    except UnreadableWorkbook as exc:
        fail(str(exc), EXIT_UNUSABLE)
    except NotAllowed as exc:
        fail(str(exc))
    finally:
        # Whatever ends the import, the bar's line ends first: an error said after it would
        # otherwise run on from the bar.
        progress.close()
    if report.rejects_file:
        with db.session_scope(engine, write=False) as session:
            ledger_service.save_rejects(session, report)
    if as_json:
        emit_json(report.to_json())
    else:
        _print_report(report)
    sys.exit(1 if report.rejected else 0)


def _print_report(report: ImportReport) -> None:
    verb = "检查" if report.dry_run else "导入"
    click.echo(
        f"{report.file}：{verb}数据行 {report.rows} 行 —— 新增 {report.imported}，"
        f"更新 {report.updated}，重复 {report.duplicates}，拒绝 {report.rejected}，"
        f"提示 {report.warnings}"
    )
    if report.dry_run:
        click.echo("（试运行：没有写入任何内容）")
    for shown, p in enumerate(report.problems):
        if shown == 30:
            click.echo(f"……另有 {len(report.problems) - shown} 条，完整列表请用 --json")
            break
        where = f"{p.sheet} 第{p.row}行" if p.row else p.sheet
        column = f" [{p.column}]" if p.column else ""
        mark = "✗" if p.severity == "error" else "·"
        click.echo(f"  {mark} {where}{column}：{p.message}")
    if report.rejects_file:
        click.echo(f"被拒绝的行已写入：{report.rejects_file}（改正后可直接重新导入）")


@main.command()
@click.option("--section", help="只列出此科室。")
@click.option("--all", "include_closed", is_flag=True, help="包括已换证、不再延续的证书。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def ledger(obj: AppContext, section: str | None, include_closed: bool, as_json: bool) -> None:
    """列出台账：每张证书一条（提醒人只看本科室）。"""
    with db.session_scope(obj.engine(), write=False) as session:
        scope = _scope(obj, session, section)
        rows = ledger_rows(
            session, today=obj.today, sections=scope.names, include_closed=include_closed
        )
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    for r in rows:
        words = [FLAG_LABELS.get(f, f) for f in r.flags]
        flags = f"（{'、'.join(words)}）" if words else ""
        state = STATE_LABELS.get(r.state or "", r.state or "")
        click.echo(
            f"{r.id:>6} {r.section} {r.holder} {r.certificate} 期满 {r.expires_on} "
            f"提醒 {r.remind_on} 申请截止 {r.apply_by} {state}{flags}"
        )
    click.echo(f"共 {len(rows)} 张证书", err=True)
