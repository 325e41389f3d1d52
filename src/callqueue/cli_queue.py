"""`callqueue refresh` and `callqueue queue`: bring reminders up to date, list the call order."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import click

from callqueue import db
from callqueue.cli import AppContext, _now, _scope, emit_json, main
from callqueue.queue import claims
from callqueue.queue import staff as staff_service
from callqueue.queue.refresh import refresh
from callqueue.queue.reminders import BADGE_LABELS


@main.command(name="refresh")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def refresh_cmd(obj: AppContext, as_json: bool) -> None:
    """把所有提醒的状态更新到今天（到期、过期、跟进、释放超时的认领）。"""
    with db.session_scope(obj.engine(), write=True) as session:
        result = refresh(session, today=obj.today, now=_now(obj))
    if as_json:
        emit_json(asdict(result))
        return
    click.echo(
        f"转为待联系 {result.due}，需跟进 {result.follow_ups}，已过期 {result.lapsed}，"
        f"释放超时认领 {result.claims_released}"
        + (f"，目录修改生效 {result.catalog_changes} 项" if result.catalog_changes else "")
    )


@main.command(name="queue")
@click.option("--section", help="科室（默认为可查看的全部科室；提醒人只能看本科室）。")
@click.option("--limit", default=200, show_default=True, help="最多列出多少户。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def queue_cmd(obj: AppContext, section: str | None, limit: int, as_json: bool) -> None:
    """按呼叫顺序列出今天的队列（不认领），每个科室一段。"""
    now = _now(obj)
    with db.session_scope(obj.engine(), write=True) as session:
        refresh(session, today=obj.today, now=now)
    with db.session_scope(obj.engine(), write=False) as session:
        scope = _scope(obj, session, section)
        me = staff_service.staff_id(session, obj.staff) or 0
        entries = claims.section_queues(
            session,
            section_ids=list(scope.sections),
            staff_id=me,
            now=now,
            grace=timedelta(minutes=obj.settings.callback_grace_minutes),
            limit=limit,
        )
    if as_json:
        emit_json([e.to_json() for e in entries])
        return
    shown: int | None = None
    n = 0
    for e in entries:
        if e.section_id != shown:  # each section's queue counts from 1
            shown, n = e.section_id, 0
            if len(scope.sections) > 1:
                click.echo(f"【{scope.sections[shown]}】")
        n += 1
        words = "、".join(BADGE_LABELS.get(b, b) for b in e.badges)
        badges = f"（{words}）" if words else ""
        click.echo(
            f"{n:>4}. {e.holder} — {'、'.join(e.certificates)}；申请截止 {e.apply_by}，"
            f"期满 {e.expires_on}，已拨 {e.attempts} 次{badges}"
        )
    click.echo(f"共 {len(entries)} 户", err=True)
