"""`callqueue catalog`, `catalog check|load|office`: the reminder catalog (附件1) and the office."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from callqueue import catalog, catalog_edit, db, roles
from callqueue.catalog_change.redate import redate_for_calendar
from callqueue.cli import AppContext, _now, emit_json, fail, main
from callqueue.cli_calendar import _moved_text
from callqueue.queue import staff_admin
from callqueue.queue.staff import StaffError


@main.group(name="catalog", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_context
def catalog_group(ctx: click.Context, as_json: bool) -> None:
    """许可证书到期前提醒目录（附件1）。"""
    if ctx.invoked_subcommand is not None:
        return
    obj: AppContext = ctx.obj
    with db.session_scope(obj.engine(), write=False) as session:
        entries = catalog.list_items(session)
    if as_json:
        emit_json([e.to_json() for e in entries])
        return
    for e in entries:
        click.echo(f"{e.seq:>2}  {e.certificate_name}（{e.permit_item}）")
        click.echo(
            f"    {e.section} · 有效期 {e.validity_label} · {e.method_label} · "
            f"{e.lead_label} · 申请时限 {e.deadline_label}"
        )


@catalog_group.command()
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def check(obj: AppContext, as_json: bool) -> None:
    """列出提醒时限晚于法定申请时限的事项（以及未填写的办公室信息）。"""
    with db.session_scope(obj.engine(), write=False) as session:
        entries = catalog.list_items(session)
        office = catalog.office(session)
    late = catalog.late_items(entries, margin_workdays=obj.settings.margin_workdays)
    missing = [
        label
        for key, label in (("place", "办理地点"), ("service_phone", "服务电话"))
        if not office[key]
    ]
    if as_json:
        emit_json(
            {
                "margin_workdays": obj.settings.margin_workdays,
                "late": [vars(item) for item in late],
                "office_missing": missing,
            }
        )
        return
    if not late:
        click.echo("所有事项的提醒时限都早于法定申请时限。")
    for item in late:
        click.echo(f"⚠ {item.seq:>2} {item.message}")
    for label in missing:
        click.echo(f"⚠ 办公室{label}尚未填写，一次性告知内容不完整（callqueue catalog office）。")


def _keeper(obj: AppContext, session: Any, task: str) -> tuple[str, int | None]:
    """Who changes the catalog or the office details (a supervisor or admin), or exit 1."""
    try:
        me = staff_admin.authorize_keeper(session, name=obj.staff, task=task)
    except (roles.NotAllowed, StaffError) as exc:
        fail(str(exc))
    return (me.name, me.id) if me else ("cli", None)


@catalog_group.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def load(obj: AppContext, file: Path) -> None:
    """按目录文件（TOML）更新目录；尚未处理的提醒按新的时限重新计算，每处修改都记入审计。需主管。"""
    with db.session_scope(obj.engine(), write=True) as session:
        actor, staff_id = _keeper(obj, session, "载入目录文件")
        result = catalog_edit.load_catalog(session, path=file, actor=actor, staff_id=staff_id)
        # A changed lead time or deadline moves the unworked reminders, as `catalog edit` does.
        moved = redate_for_calendar(
            session=session,
            today=obj.today,
            now=_now(obj),
            margin_workdays=obj.settings.margin_workdays,
        )
    click.echo(
        f"新增 {result.created} 项，修改 {result.updated} 项，未变 {result.unchanged} 项。"
        + _moved_text(moved)
    )


@catalog_group.command(name="office")
@click.option("--name", help="办公室名称。")
@click.option("--place", help="办理地点。")
@click.option("--phone", "service_phone", help="服务电话。")
@click.pass_obj
def office_cmd(
    obj: AppContext, name: str | None, place: str | None, service_phone: str | None
) -> None:
    """查看或修改办公室名称、办理地点、服务电话。"""
    changes = {"name": name, "place": place, "service_phone": service_phone}
    with db.session_scope(obj.engine(), write=True) as session:
        if any(value is not None for value in changes.values()):
            actor, staff_id = _keeper(obj, session, "修改办公室信息")
        for key, value in changes.items():
            if value is not None:
                catalog_edit.set_office(
                    session, key=key, value=value, actor=actor, staff_id=staff_id
                )
        current = catalog.office(session)
    for key, label in (("name", "名称"), ("place", "办理地点"), ("service_phone", "服务电话")):
        click.echo(f"{label}：{current[key] or '（未填写）'}")


# The catalog's admin commands join the `catalog` group defined above when imported.
from callqueue import cli_catalog_admin  # noqa: E402, F401
