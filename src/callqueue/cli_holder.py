"""`callqueue holder …`: a holder's own settings, such as 勿电话联系 (do-not-call)."""

from __future__ import annotations

import click

from callqueue import db
from callqueue.cli import AppContext, _now, _staff, fail, main
from callqueue.queue.staff import Viewer
from callqueue.records import RecordRefused
from callqueue.records.contacts import set_do_not_call


@main.group(name="holder")
def holder_group() -> None:
    """单位（个人）的设置。"""


@holder_group.command(name="do-not-call")
@click.argument("holder_id", type=int)
@click.option("--off", is_flag=True, help="取消勿电话联系。")
@click.option("--note", default="", help="原因（标记时必填）。")
@click.option("--staff", "staff_name", metavar="姓名", help="操作人（默认用全局 --staff）。")
@click.pass_obj
def do_not_call(
    obj: AppContext, holder_id: int, off: bool, note: str, staff_name: str | None
) -> None:
    """标记单位勿电话联系（不再进入电话队列，邮件提醒照常），或用 --off 取消。"""
    try:
        with db.session_scope(obj.engine(), write=True) as session:
            viewer = Viewer.of(_staff(obj, session, staff_name))
            fix = set_do_not_call(
                session,
                holder_id=holder_id,
                value=not off,
                viewer=viewer,
                now=_now(obj),
                reason=note,
            )
    except RecordRefused as exc:
        fail(str(exc))
    click.echo(fix.message)
