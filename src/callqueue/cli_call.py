"""`callqueue call next|skip|log`: claim the next holder and record what a call achieved."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

import click

from callqueue import clock, db
from callqueue.cli import EXIT_UNUSABLE, AppContext, _now, _parse_day, _staff, emit_json, fail, main
from callqueue.hours import HoursError
from callqueue.models import Outcome
from callqueue.queue import claims, outcomes
from callqueue.queue import staff as staff_service
from callqueue.queue.refresh import refresh


def _policy(obj: AppContext, session: Any, now: datetime) -> outcomes.Policy:
    try:
        return outcomes.policy_for(session, settings=obj.settings, today=obj.today, now=now)
    except HoursError as exc:
        fail(str(exc), EXIT_UNUSABLE)


@main.group(name="call")
def call_group() -> None:
    """认领下一户、记录结果（供脚本和测试使用；日常请用界面）。"""


@call_group.command(name="next")
@click.option("--staff", "staff_name", help="工作人员（默认为全局 --staff）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def call_next(obj: AppContext, staff_name: str | None, as_json: bool) -> None:
    """认领并显示下一户；没有待联系的返回 null。"""
    now = _now(obj)
    with db.write_unit(obj.engine()) as session:
        refresh(session, today=obj.today, now=now)
        me = _staff(obj, session, staff_name)
        entry = claims.next_for(
            session,
            staff_id=me.id,
            section_id=me.section_id,
            now=now,
            lease=timedelta(minutes=obj.settings.claim_lease_minutes),
            grace=timedelta(minutes=obj.settings.callback_grace_minutes),
        )
    if as_json:
        emit_json(entry.to_json() if entry else None)
    elif entry is None:
        click.echo("队列中没有待联系的单位。")
    else:
        click.echo(
            f"{entry.holder} — {'、'.join(entry.certificates)}（提醒 "
            f"{'、'.join(map(str, entry.reminders))}），申请截止 {entry.apply_by}"
        )


@call_group.command(name="skip")
@click.argument("reminders", type=int, nargs=-1, required=True)
@click.option("--staff", "staff_name", help="工作人员（默认为全局 --staff）。")
@click.pass_obj
def call_skip(obj: AppContext, reminders: tuple[int, ...], staff_name: str | None) -> None:
    """跳过：释放自己认领的提醒，留给其他人或稍后再打。"""
    with db.write_unit(obj.engine()) as session:
        me = _staff(obj, session, staff_name)
        released = claims.release(session, staff_id=me.id, reminder_ids=list(reminders))
    if not released:
        fail("这些提醒不在你的认领中")
    click.echo(f"已释放 {released} 条提醒")


FUTURE_SLACK = timedelta(minutes=5)  # clocks of two machines may differ a little


def _parse_at(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        fail(f"{what}“{value}”无效，应为 YYYY-MM-DD HH:MM")
    return clock.local(moment)


@call_group.command(name="log")
@click.argument("reminders", type=int, nargs=-1, required=True, metavar="REMINDER...")
@click.argument("outcome", type=click.Choice([o.value for o in Outcome]))
@click.option("--staff", "staff_name", help="工作人员（默认为全局 --staff）。")
@click.option("--note", default="", help="备注（assisted 时也记为帮办备注）。")
@click.option("--at", "at_text", metavar="DATETIME", help="通话时间（默认现在）。")
@click.option(
    "--conveyed",
    default=",".join(outcomes.CONVEYABLE),
    show_default=True,
    help="已告知事项，逗号分隔。",
)
@click.option("--callback-at", metavar="DATETIME", help="约定回电时间（callback）。")
@click.option("--slot", metavar="DATETIME", help="预约时段开始时间（appointment）。")
@click.option("--helper", help="帮办人员姓名（assisted）。")
@click.option("--issued-on", metavar="YYYY-MM-DD", help="新证颁发日期（renewed）。")
@click.option("--expires-on", metavar="YYYY-MM-DD", help="新证期满日期（renewed）。")
@click.option("--reason", default="", help="原因（not_renewing 必填）。")
@click.option("--phone-id", type=int, help="有误的号码编号（wrong_number）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def call_log(
    obj: AppContext,
    reminders: tuple[int, ...],
    outcome: str,
    staff_name: str | None,
    note: str,
    at_text: str | None,
    conveyed: str,
    callback_at: str | None,
    slot: str | None,
    helper: str | None,
    issued_on: str | None,
    expires_on: str | None,
    reason: str,
    phone_id: int | None,
    as_json: bool,
) -> None:
    """记录一次通话的结果：一个或同一单位的几个提醒。

    几张证书在一次通话中一起记录时，号码有误只标记拨打的那一个号码。

    被拒绝时什么都不记录，退出码为 1 并说明原因。
    """
    now = _now(obj)
    at = _parse_at(at_text, "通话时间")
    if at is not None and at > now + FUTURE_SLACK:
        # A call not yet made: recorded, it would also pass over a colleague's live claim.
        fail(f"通话时间 {at:%Y-%m-%d %H:%M} 晚于现在，不能记录尚未发生的通话")
    data = outcomes.OutcomeInput(
        note=note,
        conveyed=tuple(c for c in conveyed.split(",") if c.strip()),
        callback_at=_parse_at(callback_at, "回电时间"),
        slot_at=_parse_at(slot, "预约时段"),
        new_issued_on=_parse_day(issued_on, "颁发日期"),
        new_expires_on=_parse_day(expires_on, "期满日期"),
        reason=reason,
        phone_id=phone_id,
        assisted_notes=note if outcome == Outcome.ASSISTED else "",  # the case's first note
    )
    try:
        with db.write_unit(obj.engine()) as session:
            me = _staff(obj, session, staff_name)
            if helper:
                data = replace(data, helper_staff_id=_staff(obj, session, helper).id)
            results = outcomes.record_call(
                session,
                reminder_ids=reminders,
                outcome=outcome,
                staff_id=me.id,
                policy=_policy(obj, session, now),
                data=data,
                at=at,
                viewer=staff_service.Viewer.of(me),
            )
    except outcomes.OutcomeRefused as exc:
        fail(str(exc))
    if as_json:  # one reminder: its object; several: a list of them
        emit_json(asdict(results[0]) if len(results) == 1 else [asdict(r) for r in results])
    else:
        for result in results:
            click.echo(f"提醒 {result.reminder_id}：{result.message}")
