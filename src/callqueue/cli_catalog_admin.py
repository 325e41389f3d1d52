"""`callqueue catalog edit|add|retire|history|cancel`: keep the catalog current, audited.

Without `--yes` a change is shown first (with the count of reminders it changes) and confirmed on
a terminal; with no terminal it is only shown, and nothing changes.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import click

from callqueue import catalog_change as changes_service
from callqueue import clock, db
from callqueue.catalog import CatalogError
from callqueue.catalog_change import ChangePlan, ChangeResult
from callqueue.cli import AppContext, _now, emit_json, fail
from callqueue.cli_catalog import catalog_group
from callqueue.queue import staff as staff_service
from callqueue.roles import NotAllowed, require_catalog_editor

REFUSALS = (CatalogError, NotAllowed, staff_service.StaffError)


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return clock.parse_day(value)
    except ValueError as exc:
        raise click.BadParameter(f"日期应为 YYYY-MM-DD，现在是“{value}”") from exc


def _who(obj: AppContext, reason: str) -> staff_service.StaffRow | None:
    """The staff member named by --staff, refused early unless a supervisor, and the reason."""
    with db.session_scope(obj.engine(), write=False) as session:
        me = staff_service.get_staff(session, obj.staff) if obj.staff else None
    require_catalog_editor(me.name if me else None, me.role if me else None)
    if not reason.strip():
        raise CatalogError("请填写修改原因（--reason，记入审计）")
    return me


def can_ask() -> bool:
    """Tell whether a person at a terminal can answer a confirmation."""
    return sys.stdin.isatty()


def _confirm(plan: ChangePlan, *, yes: bool, as_json: bool) -> bool:
    """Show the plan; True when the change should be made."""
    if not as_json:
        for line in plan.lines():
            click.echo(line)
    if yes:
        return True
    if not can_ask():
        click.echo("未确认，未作任何修改（确认无误后加 --yes 执行）。", err=True)
        return False
    if as_json:
        for line in plan.lines():
            click.echo(line, err=True)
    if click.confirm("确认执行以上修改？", default=False, err=True):
        return True
    click.echo("已取消，未作任何修改。", err=True)
    return False


def _report(plan: ChangePlan, result: ChangeResult | None, *, as_json: bool) -> None:
    if as_json:
        emit_json(
            result.to_json()
            if result is not None
            else {"plan": plan.to_json(), "applied": False, "change_id": None}
        )
        return
    if result is None:
        return
    if result.applied:
        click.echo(f"已保存并记入审计；改动提醒 {result.reminders_changed} 条。")
    else:
        click.echo(
            f"已登记为待生效修改 #{result.change_id}，将于 {plan.effective_on:%Y-%m-%d} 由 "
            "callqueue refresh 执行（可用 callqueue catalog cancel 撤销）。"
        )


def _parse_sets(sets: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for text in sets:
        name, sep, value = text.partition("=")
        if not sep:
            raise CatalogError(f"--set 应写成 字段=值，现在是“{text}”")
        values[name.strip()] = changes_service.parse_value(name.strip(), value)
    return values


@catalog_group.command(name="edit")
@click.argument("seq", type=int)
@click.option("--set", "sets", multiple=True, metavar="字段=值", help="要修改的字段，可多次给出。")
@click.option("--effective", callback=_day, metavar="YYYY-MM-DD", help="生效日期，默认今天。")
@click.option("--reason", default="", help="修改原因（必填，记入审计）。")
@click.option("--yes", is_flag=True, help="不再询问，直接执行。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def edit_cmd(
    obj: AppContext,
    seq: int,
    sets: tuple[str, ...],
    effective: date | None,
    reason: str,
    yes: bool,
    as_json: bool,
) -> None:
    """修改目录事项（提醒时限、申请时限、材料、提醒方式…），先显示将改动的提醒数量。"""
    on = effective or obj.today
    try:
        if not sets:
            raise CatalogError("请用 --set 字段=值 指定要修改的内容")
        values = _parse_sets(sets)
        me = _who(obj, reason)
        margin = obj.settings.margin_workdays
        with db.session_scope(obj.engine(), write=False) as session:
            plan = changes_service.preview_change(
                session=session,
                seq=seq,
                changes=values,
                effective_on=on,
                today=obj.today,
                now=_now(obj),
                margin_workdays=margin,
            )
        result = None
        if _confirm(plan, yes=yes, as_json=as_json):
            with db.session_scope(obj.engine(), write=True) as session:
                result = changes_service.apply_change(
                    session=session,
                    seq=seq,
                    changes=values,
                    effective_on=on,
                    reason=reason,
                    staff=me,
                    today=obj.today,
                    now=_now(obj),
                    margin_workdays=margin,
                )
    except REFUSALS as exc:
        fail(str(exc))
    _report(plan, result, as_json=as_json)


@catalog_group.command(name="retire")
@click.argument("seq", type=int)
@click.option("--on", "retire_on", callback=_day, metavar="YYYY-MM-DD", help="停用日期，默认今天。")
@click.option("--reason", default="", help="停用原因（必填，记入审计）。")
@click.option("--yes", is_flag=True, help="不再询问，直接执行。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def retire_cmd(
    obj: AppContext, seq: int, retire_on: date | None, reason: str, yes: bool, as_json: bool
) -> None:
    """停用目录事项：尚未处理的提醒关闭（目录事项已取消），处理中的保持不变。"""
    on = retire_on or obj.today
    try:
        me = _who(obj, reason)
        with db.session_scope(obj.engine(), write=False) as session:
            plan = changes_service.preview_retire(
                session=session, seq=seq, retire_on=on, today=obj.today, now=_now(obj)
            )
        result = None
        if _confirm(plan, yes=yes, as_json=as_json):
            with db.session_scope(obj.engine(), write=True) as session:
                result = changes_service.retire_item(
                    session=session,
                    seq=seq,
                    retire_on=on,
                    reason=reason,
                    staff=me,
                    today=obj.today,
                    now=_now(obj),
                )
    except REFUSALS as exc:
        fail(str(exc))
    _report(plan, result, as_json=as_json)


@catalog_group.command(name="add")
@click.option("--section", required=True, help="承办科室。")
@click.option("--permit-item", required=True, help="许可事项名称。")
@click.option("--certificate", "certificate_name", required=True, help="许可证书名称。")
@click.option("--lead-months", required=True, type=int, help="提醒时限：到期前几个月提醒。")
@click.option("--filing-days", type=int, help="申请换证时限：到期前几日须提出申请。")
@click.option(
    "--validity", default="", metavar="年[；年]", help="法定有效期限（年），如 5 或 2；3；4。"
)
@click.option("--method", default="人工电话通知", show_default=True, help="提醒方式。")
@click.option("--materials", default="", help="提交材料，用“；”分隔。")
@click.option("--set", "sets", multiple=True, metavar="字段=值", help="其他字段，可多次给出。")
@click.option("--effective", callback=_day, metavar="YYYY-MM-DD", help="生效日期，默认今天。")
@click.option("--reason", default="", help="新增原因（必填，记入审计）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def add_cmd(
    obj: AppContext,
    section: str,
    permit_item: str,
    certificate_name: str,
    lead_months: int,
    filing_days: int | None,
    validity: str,
    method: str,
    materials: str,
    sets: tuple[str, ...],
    effective: date | None,
    reason: str,
    as_json: bool,
) -> None:
    """新增目录事项（序号自动取下一个）。"""
    on = effective or obj.today
    try:
        values: dict[str, Any] = {
            "permit_item": permit_item.strip(),
            "certificate_name": certificate_name.strip(),
            "lead_months": lead_months,
            "filing_deadline_days": filing_days,
            "method": changes_service.parse_value("method", method),
            "validity_years": changes_service.parse_value("validity_years", validity),
            "materials": changes_service.parse_value("materials", materials),
        } | _parse_sets(sets)
        me = _who(obj, reason)
        with db.session_scope(obj.engine(), write=True) as session:
            entry = changes_service.add_item(
                session=session,
                section=section,
                values=values,
                effective_on=on,
                reason=reason,
                staff=me,
                today=obj.today,
                now=_now(obj),
            )
    except REFUSALS as exc:
        fail(str(exc))
    if as_json:
        emit_json(entry.to_json())
        return
    when = "已启用" if entry.active else f"将于 {on:%Y-%m-%d} 启用"
    click.echo(f"已新增第{entry.seq}项“{entry.certificate_name}”（{entry.section}），{when}。")


@catalog_group.command(name="history")
@click.argument("seq", type=int, required=False)
@click.option("--limit", default=100, show_default=True, help="最多列出多少条审计记录。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def history_cmd(obj: AppContext, seq: int | None, limit: int, as_json: bool) -> None:
    """目录的修改记录：待生效的修改，以及审计记录（最新在前）。"""
    with db.session_scope(obj.engine(), write=False) as session:
        rows = changes_service.history(session=session, seq=seq, limit=limit)
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    if not rows:
        click.echo("没有修改记录。")
    for r in rows:
        click.echo(r.line())


@catalog_group.command(name="cancel")
@click.argument("change_id", type=int)
@click.option("--reason", default="", help="撤销原因（必填，记入审计）。")
@click.pass_obj
def cancel_cmd(obj: AppContext, change_id: int, reason: str) -> None:
    """撤销一项尚未生效的目录修改。"""
    try:
        me = _who(obj, reason)
        with db.session_scope(obj.engine(), write=True) as session:
            changes_service.cancel_change(
                session=session, change_id=change_id, reason=reason, staff=me, now=_now(obj)
            )
    except REFUSALS as exc:
        fail(str(exc))
    click.echo(f"已撤销待生效修改 #{change_id}，已记入审计。")
