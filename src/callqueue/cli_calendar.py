"""`callqueue calendar …`: coverage, the office's closures, and loading a year's holiday schedule."""

from __future__ import annotations

from pathlib import Path

import click

from callqueue import clock, db, files, roles, workdays
from callqueue.catalog_change.redate import Redated, redate_for_calendar
from callqueue.cli import AppContext, _now, _staff, emit_json, fail, fail_writing, main
from callqueue.holiday_file import HolidayFileError, write_schedule


@main.group(name="calendar", invoke_without_command=True)
@click.option(
    "--year", "years", type=int, multiple=True, help="年份（可多次给出），默认今年和明年。"
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_context
def calendar_group(ctx: click.Context, years: tuple[int, ...], as_json: bool) -> None:
    """工作日日历：节假日数据覆盖情况、载入的节假日安排和办公室调整。"""
    if ctx.invoked_subcommand is not None:
        return
    obj: AppContext = ctx.obj
    years = years or (obj.today.year, obj.today.year + 1)
    with db.session_scope(obj.engine(), write=False) as session:
        cal = workdays.load_calendar(session)
        loaded = {y.year: y for y in workdays.loaded_years(session)}
        overrides = [o for y in years for o in workdays.list_overrides(session, year=y)]
    warning = cal.coverage_warning(years)
    if as_json:
        emit_json(
            {
                "years": [
                    {
                        "year": y,
                        "covered": cal.is_covered(y),
                        "loaded": (
                            {"source": loaded[y].source, "loaded_at": loaded[y].loaded_at}
                            if y in loaded
                            else None
                        ),
                    }
                    for y in years
                ],
                "warning": warning,
                "overrides": [
                    {"day": o.day.isoformat(), "is_workday": o.is_workday, "reason": o.reason}
                    for o in overrides
                ],
            }
        )
        return
    for y in years:
        if y in loaded:
            state = f"已载入办公室提供的节假日安排（{loaded[y].source}，{loaded[y].loaded_at:%Y-%m-%d}）"
        elif cal.is_covered(y):
            state = "已载入法定节假日和调休"
        else:
            state = "未载入，按周末推算"
        click.echo(f"{y}年：{state}")
    if warning:
        click.echo(f"⚠ {warning} 请主管用 callqueue calendar load 载入国务院办公厅的通知。")
    for o in overrides:
        click.echo(f"{o.day:%Y-%m-%d} {'上班' if o.is_workday else '休息'} {o.reason}")


def _require_keeper(obj: AppContext, session: object, task: str) -> tuple[str, int]:
    """The named supervisor or admin doing a calendar task, or exit 1 saying why not."""
    who = _staff(obj, session, None) if obj.staff else None
    try:
        roles.require_supervisor(who.name if who else None, who.role if who else None, task=task)
    except roles.NotAllowed as exc:
        fail(str(exc))
    assert who is not None
    return who.name, who.id


@calendar_group.command(name="set")
@click.argument("day")
@click.argument("kind", type=click.Choice(["open", "closed", "official"]))
@click.option("--reason", default="", help="原因，记入审计。")
@click.pass_obj
def calendar_set(obj: AppContext, day: str, kind: str, reason: str) -> None:
    """把某天设为上班（open）、休息（closed）或恢复法定安排（official）。需主管。"""
    try:
        when = clock.parse_day(day)
    except ValueError as exc:
        fail(str(exc))
    is_workday = {"open": True, "closed": False, "official": None}[kind]
    with db.session_scope(obj.engine(), write=True) as session:
        name, staff_id = _require_keeper(obj, session, "调整工作日")
        workdays.set_override(
            session, day=when, is_workday=is_workday, reason=reason, actor=name, staff_id=staff_id
        )
        now_open = workdays.load_calendar(session).is_workday(when)
        moved = _redate(obj, session)
    click.echo(f"{when:%Y-%m-%d} 现在是{'工作日' if now_open else '休息日'}。{_moved_text(moved)}")


def _redate(obj: AppContext, session: object) -> Redated:
    """Move the unworked reminders' dates to the calendar as it now stands."""
    return redate_for_calendar(
        session=session,  # type: ignore[arg-type]
        today=obj.today,
        now=_now(obj),
        margin_workdays=obj.settings.margin_workdays,
    )


def _moved_text(moved: Redated) -> str:
    if not moved.reminders:
        return ""
    return (
        f"尚未处理的提醒中有 {moved.reminders} 条随之调整（提醒日期 {moved.remind_on_changed} 条，"
        f"申请截止 {moved.apply_by_changed} 条，立即转为待联系 {moved.becoming_due} 条）。"
    )


@calendar_group.command(name="load")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--source", default="", help="来源，如通知文号；默认用文件名。")
@click.option("--dry-run", is_flag=True, help="只检查并显示将有哪些变化，不保存。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def calendar_load(obj: AppContext, file: Path, source: str, dry_run: bool, as_json: bool) -> None:
    """载入某一年的法定节假日和调休安排（格式见 README“节假日安排文件”）。需主管。"""
    try:
        schedule = workdays.read_schedule_file(file)
    except HolidayFileError as exc:
        fail("节假日安排文件有误，未载入：\n" + "\n".join(exc.problems))
    engine = obj.engine()
    with db.session_scope(engine, write=True) as session:
        name, staff_id = _require_keeper(obj, session, "载入节假日安排")
        result = workdays.load_schedule(
            session,
            schedule=schedule,
            source=source or file.name,
            actor=name,
            staff_id=staff_id,
            now=_now(obj),
        )
        moved = _redate(obj, session)
        if dry_run:
            session.rollback()
    if as_json:
        emit_json(
            {
                "year": result.year,
                "holidays": result.holidays,
                "workdays": result.workdays,
                "replaced": result.replaced,
                "dry_run": dry_run,
                "changed_days": [
                    {"day": d.isoformat(), "is_workday": w} for d, w in result.changed_days
                ],
                "warnings": result.warnings,
                "reminders_redated": moved.reminders,
            }
        )
        return
    head = "（试运行，未保存）" if dry_run else ""
    # the first load and a replacement, said as done once saved, as to come in a dry run
    verb = ("将" if dry_run else "已") + ("替换" if result.replaced else "载入")
    click.echo(
        f"{head}{verb}{result.year}年节假日安排：放假 {result.holidays} 天，调休上班 "
        f"{result.workdays} 天；与原来相比，{len(result.changed_days)} 天有变化。{_moved_text(moved)}"
    )
    for day, now_open in result.changed_days:
        click.echo(
            f"  {day:%Y-%m-%d} 星期{'一二三四五六日'[day.weekday()]} → {'上班' if now_open else '休息'}"
        )
    for warning in result.warnings:
        click.echo(f"⚠ {warning}")


@calendar_group.command(name="export")
@click.option("--year", type=int, help="年份，默认明年。")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="写入文件；默认输出到屏幕。",
)
@click.pass_obj
def calendar_export(obj: AppContext, year: int | None, output: Path | None) -> None:
    """按节假日安排文件的格式写出某年的安排（可作载入新一年时的样板）。"""
    year = year or obj.today.year + 1
    with db.session_scope(obj.engine(), write=False) as session:
        schedule = workdays.official_schedule(session, year=year)
    if schedule is None:
        fail(f"{year}年的节假日安排尚未载入，没有可写出的内容")
    text = write_schedule(schedule, title=f"{year}年部分节假日安排")
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        files.write_text(output, text)
    except OSError as exc:
        fail_writing(output, exc)
    click.echo(f"已写出 {output}")
