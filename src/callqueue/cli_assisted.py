"""`callqueue assisted` and `assisted advance`: the cases staff file on a holder's behalf."""

from __future__ import annotations

import click

from callqueue import db
from callqueue.cli import AppContext, _now, _parse_day, _scope, _staff, emit_json, fail, main
from callqueue.queue import assisted
from callqueue.queue import staff as staff_service
from callqueue.queue.reminders import STATE_LABELS


@main.group(name="assisted", invoke_without_command=True)
@click.option("--section", help="科室（默认为可查看的全部科室）。")
@click.option("--all", "include_closed", is_flag=True, help="包括已结束的帮办案件。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_context
def assisted_group(
    ctx: click.Context, section: str | None, include_closed: bool, as_json: bool
) -> None:
    """帮办代办案件：帮办人、备注、办理状态和日期。"""
    if ctx.invoked_subcommand is not None:
        return
    obj: AppContext = ctx.obj
    with db.session_scope(obj.engine(), write=False) as session:
        scope = _scope(obj, session, section)
        cases = assisted.list_cases(session, section_ids=scope.ids, include_closed=include_closed)
    if as_json:
        emit_json([c.to_json() for c in cases])
        return
    for c in cases:
        filed = f" 提交于 {c.filed_on}" if c.filed_on else ""
        closed = "" if c.state == "assisted" else f"（{STATE_LABELS.get(c.state, c.state)}）"
        notes = c.notes.replace("\n", "；")
        click.echo(
            f"{c.reminder_id:>6} {c.holder} {c.certificate} 【{c.stage_label}{filed}】{closed} "
            f"帮办人 {c.helper or '—'}，登记 {c.registered_on}，期满 {c.expires_on}"
            + (f"；{notes}" if notes else "")
        )
    click.echo(f"共 {len(cases)} 件帮办代办", err=True)


@assisted_group.command(name="advance")
@click.argument("reminder", type=int)
@click.argument("stage", metavar="STAGE")
@click.option("--on", "on_text", metavar="YYYY-MM-DD", help="提交申请日期（filed，默认今天）。")
@click.option("--note", default="", help="办理情况，记入案件备注。")
@click.option("--helper", help="改由此人帮办。")
@click.option("--staff", "staff_name", help="工作人员（默认为全局 --staff）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def assisted_advance(
    obj: AppContext,
    reminder: int,
    stage: str,
    on_text: str | None,
    note: str,
    helper: str | None,
    staff_name: str | None,
    as_json: bool,
) -> None:
    """推进帮办状态：preparing（材料准备中）或 filed（已提交申请）；不能后退。"""
    try:
        with db.session_scope(obj.engine(), write=True) as session:
            me = _staff(obj, session, staff_name)
            case = assisted.advance(
                session,
                reminder_id=reminder,
                stage=stage,
                staff_id=me.id,
                today=obj.today,
                now=_now(obj),
                filed_on=_parse_day(on_text, "提交日期"),
                note=note,
                helper_staff_id=_staff(obj, session, helper).id if helper else None,
                viewer=staff_service.Viewer.of(me),
            )
    except assisted.AssistRefused as exc:
        fail(str(exc))
    if as_json:
        emit_json(case.to_json())
    else:
        filed = f"，提交于 {case.filed_on}" if case.filed_on else ""
        click.echo(f"提醒 {reminder}：帮办状态为“{case.stage_label}”{filed}")
