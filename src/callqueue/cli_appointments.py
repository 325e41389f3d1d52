"""`callqueue appointments` and `appointments cancel|no-show`: a day's bookings at the office."""

from __future__ import annotations

import click

from callqueue import db
from callqueue.cli import AppContext, _now, _parse_day, _scope, _viewer, emit_json, fail, main
from callqueue.models import AppointmentStatus
from callqueue.queue import agenda, appointments


@main.group(name="appointments", invoke_without_command=True)
@click.option("--day", "day_text", metavar="YYYY-MM-DD", help="日期（默认今天）。")
@click.option("--section", help="科室（默认为可查看的全部科室）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_context
def appointments_group(
    ctx: click.Context, day_text: str | None, section: str | None, as_json: bool
) -> None:
    """某天的预约，按时间排列。"""
    if ctx.invoked_subcommand is not None:
        return
    obj: AppContext = ctx.obj
    day = _parse_day(day_text, "日期") or obj.today
    with db.session_scope(obj.engine(), write=False) as session:
        booked = agenda.day_agenda(
            session, day=day, section_ids=_scope(obj, session, section).ids, limit=None
        )
    rows = [
        {
            "id": a.id,
            "starts_at": a.starts_at.isoformat(),
            "ends_at": a.ends_at.isoformat(),
            "holder_id": a.holder_id,
            "holder": a.holder,
            "reminder_id": a.reminder_id,
            "section_id": a.section_id,
            "status": a.status,
        }
        for a in booked
    ]
    if as_json:
        emit_json(rows)
        return
    for a in booked:
        click.echo(
            f"{a.id:>5} {a.starts_at:%H:%M}–{a.ends_at:%H:%M} "
            f"{a.holder}（单位 {a.holder_id}，提醒 {a.reminder_id}） "
            f"{appointments.STATUS_LABELS.get(a.status, a.status)}"
        )
    click.echo(f"{day:%Y-%m-%d} 共 {len(rows)} 个预约", err=True)


def _set_appointment(
    obj: AppContext, appointment_id: int, status: AppointmentStatus, note: str
) -> None:
    try:
        with db.session_scope(obj.engine(), write=True) as session:
            who = _viewer(obj, session)
            change = appointments.set_status(
                session,
                appointment_id=appointment_id,
                status=status,
                staff_id=who.staff_id if who else None,
                now=_now(obj),
                note=note,
                viewer=who,
            )
    except appointments.AppointmentRefused as exc:
        fail(str(exc))
    done = "已取消" if status == AppointmentStatus.CANCELLED else "已记为未到"
    again = f"；提醒 {change.requeued} 回到待联系队列" if change.requeued else ""
    click.echo(f"预约 {appointment_id}：{done}{again}")


@appointments_group.command(name="cancel")
@click.argument("appointment_id", type=int)
@click.option("--note", default="", help="原因。")
@click.pass_obj
def appointment_cancel(obj: AppContext, appointment_id: int, note: str) -> None:
    """取消预约（名额随即空出）。"""
    _set_appointment(obj, appointment_id, AppointmentStatus.CANCELLED, note)


@appointments_group.command(name="no-show")
@click.argument("appointment_id", type=int)
@click.option("--note", default="", help="备注。")
@click.pass_obj
def appointment_no_show(obj: AppContext, appointment_id: int, note: str) -> None:
    """记为预约未到。"""
    _set_appointment(obj, appointment_id, AppointmentStatus.NO_SHOW, note)
