"""`callqueue staff …`: add, list, PINs, deactivate and reactivate staff.

Who may change staff: an admin (`--staff 管理员`); while the database has no active admin yet
(a fresh install) the operator's shell may, so the first staff and the first admin can be added.
The command line trusts whoever runs it with the database's address: the role check keeps
staff from changing what is not theirs by mistake; the PIN guards the shared screens.
"""

from __future__ import annotations

import sys
from dataclasses import asdict

import click
from sqlmodel import Session

from callqueue import db, roles
from callqueue.cli import AppContext, _now, emit_json, fail, main
from callqueue.queue import pins, staff_admin
from callqueue.queue import staff as staff_service

PIN_TRIES = 3


def can_ask() -> bool:
    """Tell whether a person at a terminal can type a PIN."""
    return sys.stdin.isatty()


def _read_pin(pin_stdin: bool) -> str:
    """A PIN from the first line of standard input, or typed twice, hidden, at a terminal."""
    if pin_stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
        try:
            return pins.check_pin(pin)
        except pins.PinRefused as exc:
            fail(f"{exc}，未作任何修改")
    if not can_ask():
        fail("不在终端上，无法输入 PIN；脚本请加 --pin-stdin，从标准输入第一行读取")
    for _ in range(PIN_TRIES):
        pin = click.prompt(f"新 PIN（{pins.PIN_FORMAT}）", hide_input=True, err=True)
        try:
            pins.check_pin(pin)
        except pins.PinRefused as exc:
            click.echo(f"错误：{exc}", err=True)
            continue
        if click.prompt("再输入一次", hide_input=True, err=True) == pin:
            return pin
        click.echo("错误：两次输入的 PIN 不一致", err=True)
    fail("PIN 未设置，未作任何修改")


def _authorize(obj: AppContext, session: Session, task: str) -> int | None:
    """Refuse unless the caller may change staff; returns their id (None for the shell)."""
    try:
        staff_admin.authorize(session, name=obj.staff, task=task)
    except (roles.NotAllowed, staff_service.StaffError) as exc:
        fail(str(exc))
    return staff_service.staff_id(session, obj.staff)


def _precheck(obj: AppContext, task: str, name: str | None = None) -> None:
    """Refuse before anyone types a PIN: not allowed, or (when given) no such staff member."""
    with db.session_scope(obj.engine(), write=False) as session:
        _authorize(obj, session, task)
        if name is not None and staff_service.staff_id(session, name) is None:
            fail(f"没有名为“{name}”的工作人员")


@main.group(name="staff")
def staff_group() -> None:
    """工作人员：添加、列出、设置 PIN、停用（数据库中已有管理员时须 --staff 指定管理员）。"""


@staff_group.command(name="add")
@click.argument("name")
@click.option("--section", required=True, help="所在科室。")
@click.option(
    "--role",
    type=click.Choice(["caller", "supervisor", "admin"]),
    default="caller",
    show_default=True,
    help="角色。",
)
@click.option("--pin", "with_pin", is_flag=True, help="同时设置 PIN（在终端上输入两次，不显示）。")
@click.option("--pin-stdin", is_flag=True, help="从标准输入第一行读取 PIN（脚本用）。")
@click.pass_obj
def staff_add(
    obj: AppContext, name: str, section: str, role: str, with_pin: bool, pin_stdin: bool
) -> None:
    """添加工作人员。"""
    pin = None
    if with_pin or pin_stdin:
        _precheck(obj, "添加工作人员")
        pin = _read_pin(pin_stdin)
    try:
        with db.session_scope(obj.engine(), write=True) as session:
            me = _authorize(obj, session, "添加工作人员")
            row = staff_service.add_staff(
                session,
                name=name,
                section=section,
                role=role,
                actor=obj.staff or "cli",
                pin=pin,
                actor_id=me,
            )
    except staff_service.StaffError as exc:
        fail(str(exc))
    with_pin_text = "，已设置 PIN" if row.has_pin else ""
    click.echo(f"已添加 {row.name}（{row.section}，{roles.role_label(row.role)}{with_pin_text}）")


@staff_group.command(name="pin")
@click.argument("name")
@click.option("--pin-stdin", is_flag=True, help="从标准输入第一行读取 PIN（脚本用）。")
@click.pass_obj
def staff_pin(obj: AppContext, name: str, pin_stdin: bool) -> None:
    """设置或重设工作人员的 PIN（同时解除锁定）。"""
    _precheck(obj, "设置 PIN", name)
    pin = _read_pin(pin_stdin)
    try:
        with db.session_scope(obj.engine(), write=True) as session:
            me = _authorize(obj, session, "设置 PIN")
            staff_admin.set_pin(session, name=name, pin=pin, actor=obj.staff or "cli", actor_id=me)
    except staff_service.StaffError as exc:
        fail(str(exc))
    click.echo(f"已为 {name} 设置新的 PIN")


def _set_active(obj: AppContext, name: str, *, active: bool) -> int:
    task = "启用工作人员" if active else "停用工作人员"
    try:
        with db.session_scope(obj.engine(), write=True) as session:
            me = _authorize(obj, session, task)
            return staff_admin.set_active(
                session,
                name=name,
                active=active,
                actor=obj.staff or "cli",
                actor_id=me,
                now=_now(obj),
            )
    except staff_service.StaffError as exc:
        fail(str(exc))


@staff_group.command(name="deactivate")
@click.argument("name")
@click.pass_obj
def staff_deactivate(obj: AppContext, name: str) -> None:
    """停用工作人员：不能再登录和认领，其认领立即释放；提醒记录和审计保留。"""
    released = _set_active(obj, name, active=False)
    click.echo(f"已停用 {name}；释放认领的提醒 {released} 条，提醒记录保留")


@staff_group.command(name="activate")
@click.argument("name")
@click.pass_obj
def staff_activate(obj: AppContext, name: str) -> None:
    """重新启用已停用的工作人员。"""
    _set_active(obj, name, active=True)
    click.echo(f"已重新启用 {name}")


@staff_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def staff_list(obj: AppContext, as_json: bool) -> None:
    """列出工作人员：科室、角色、是否在用、是否已设置 PIN。"""
    with db.session_scope(obj.engine(), write=False) as session:
        rows = staff_service.list_staff(session)
    if as_json:
        emit_json([asdict(r) for r in rows])
        return
    if not rows:
        click.echo(
            "还没有工作人员。新安装先添加第一位管理员："
            "callqueue staff add 姓名 --section 政务服务科 --role admin --pin",
            err=True,
        )
    for r in rows:
        state = "在用" if r.active else "已停用"
        pin = "已设置 PIN" if r.has_pin else "未设置 PIN"
        click.echo(f"{r.name}  {r.section}  {roles.role_label(r.role)}  {state}  {pin}")
