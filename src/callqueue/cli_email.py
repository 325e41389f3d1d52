"""`callqueue email …`: send what is due, queue one reminder, list, retry, templates, a test mail."""

from __future__ import annotations

from dataclasses import asdict
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import click

from callqueue import clock, db, files
from callqueue.cli import EXIT_UNUSABLE, AppContext, _now, _scope, _staff, emit_json, fail, main
from callqueue.models import MailStatus
from callqueue.notify import delivery, outbox
from callqueue.notify.mailer import (
    Connection,
    MailServer,
    MailSettingsError,
    SendFailure,
    ServerUnusable,
)
from callqueue.notify.masking import mask_email
from callqueue.notify.render import PARTS, default_templates, templates_dir
from callqueue.queue.staff import Viewer


@main.group(name="email")
def email_group() -> None:
    """电子邮件告知：发送到期的提醒邮件和预约确认，查看发件记录。"""


def _print_report(report: delivery.SendReport) -> None:
    head = "（试运行，未发送、未保存）" if report.dry_run else ""
    verb = "将发送" if report.dry_run else "已发送"
    for item in report.sent:
        click.echo(f"{verb} #{item.id} → {item.to}：{item.subject}")
    for item in report.retrying:
        click.echo(f"稍后重试 #{item.id} → {item.to}：{item.error}")
    for item in report.failed:
        click.echo(f"发送失败 #{item.id} → {item.to}：{item.error}")
    for outbox_id in report.uncertain:
        click.echo(f"发送中断 #{outbox_id}：可能已发出，请核实后用 callqueue email retry 重发")
    click.echo(
        f"{head}新排队 {report.queued}，{verb} {len(report.sent)}，稍后重试 {len(report.retrying)}，"
        f"失败 {len(report.failed)}，发送中断 {len(report.uncertain)}，撤回 {report.withdrawn}，无邮箱改电话 {report.back_to_phone}",
        err=True,
    )


@email_group.command(name="send")
@click.option("--dry-run", is_flag=True, help="只显示将要发送的邮件，不发送、不保存。")
@click.option("--limit", type=int, help="本次最多发送多少封。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def email_send(obj: AppContext, dry_run: bool, limit: int | None, as_json: bool) -> None:
    """发送到期的邮件：邮件提醒、工作人员选择的邮件、无人接听转邮件、预约确认。"""
    report = delivery.send_due(
        obj.engine(),
        settings=obj.settings,
        now=_now(obj),
        today=obj.today,
        dry_run=dry_run,
        limit=limit,
    )
    if as_json:
        emit_json(report.to_json())
    else:
        _print_report(report)
    if report.error:
        fail(report.error, EXIT_UNUSABLE)


@email_group.command(name="queue")
@click.argument("reminder", type=int)
@click.option("--staff", "staff_name", help="工作人员（默认为全局 --staff）。")
@click.option("--no-send", is_flag=True, help="只排队，等下次 email send 再发。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def email_queue(
    obj: AppContext, reminder: int, staff_name: str | None, no_send: bool, as_json: bool
) -> None:
    """给这条提醒的单位发送提醒邮件（与界面中的 e 键相同）。"""
    now = _now(obj)
    try:
        with db.session_scope(obj.engine(), write=True) as session:
            me = _staff(obj, session, staff_name)
            queued = outbox.queue_reminder(
                session, reminder_id=reminder, staff_id=me.id, now=now, viewer=Viewer.of(me)
            )
    except outbox.MailRefused as exc:
        fail(str(exc))
    report = None
    if not no_send:
        report = delivery.send_due(
            obj.engine(),
            settings=obj.settings,
            now=now,
            today=obj.today,
            only=[queued.outbox_id],
        )
    if as_json:
        emit_json({"queued": asdict(queued), "send": report.to_json() if report else None})
        return
    click.echo(f"提醒 {reminder}：邮件已排队（#{queued.outbox_id} → {queued.to}）")
    if report is not None:
        _print_report(report)
        if report.unrecorded:
            fail(report.error or "", EXIT_UNUSABLE)
        if report.error:
            click.echo(
                f"暂未发出：{report.error}；邮件留在队列中，下次 email send 时再发", err=True
            )


@email_group.command(name="list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in MailStatus]),
    help="只列出这种状态的邮件。",
)
@click.option("--section", help="科室（默认为可查看的全部科室；提醒人只能看本科室）。")
@click.option("--limit", default=50, show_default=True, help="最多列出多少封（新的在前）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def email_list(
    obj: AppContext, status: str | None, section: str | None, limit: int, as_json: bool
) -> None:
    """发件记录：每封邮件的状态、尝试次数和最后的错误（地址已部分隐去）。"""
    with db.session_scope(obj.engine(), write=False) as session:
        scope = _scope(obj, session, section)
        lines = outbox.listing(session, status=status, limit=limit, section_ids=scope.ids)
    if as_json:
        emit_json([asdict(line) for line in lines])
        return
    for line in lines:
        label = outbox.STATUS_LABELS.get(MailStatus(line.status), line.status)
        when = line.sent_at or line.queued_at
        error = f"；{line.last_error}" if line.last_error else ""
        click.echo(
            f"#{line.id} {label} {clock.local(when):%Y-%m-%d %H:%M} {line.holder} → {line.to}"
            f"（{line.tries} 次）{line.subject}{error}"
        )
    click.echo(f"共 {len(lines)} 封", err=True)


@email_group.command(name="retry")
@click.argument("outbox_id", type=int)
@click.option("--staff", "staff_name", help="工作人员（默认为全局 --staff）。")
@click.pass_obj
def email_retry(obj: AppContext, outbox_id: int, staff_name: str | None) -> None:
    """重发一封失败或中断的邮件（请先核实对方没有收到）。"""
    try:
        with db.session_scope(obj.engine(), write=True) as session:
            me = _staff(obj, session, staff_name)
            to = outbox.retry(
                session, outbox_id=outbox_id, staff_id=me.id, now=_now(obj), viewer=Viewer.of(me)
            )
    except outbox.MailRefused as exc:
        fail(str(exc))
    click.echo(f"邮件 #{outbox_id} 已重新排队（→ {to}），下次 email send 时发出")


@email_group.command(name="templates")
@click.option("--init", "init", is_flag=True, help="把默认模板复制到模板目录（已有的文件不覆盖）。")
@click.pass_obj
def email_templates(obj: AppContext, init: bool) -> None:
    """显示邮件模板目录；--init 复制默认模板以便修改。"""
    folder = templates_dir(obj.settings)
    if init:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            copied = []
            for source in sorted(default_templates().iterdir()):
                if source.is_file() and files.copy_new(source, folder / source.name):
                    copied.append(source.name)
        except OSError as exc:
            fail(f"无法写入模板目录 {folder}：{files.write_error(exc)}", EXIT_UNUSABLE)
        click.echo(f"已复制 {len(copied)} 个模板到 {folder}")
    click.echo(f"模板目录：{folder}")
    click.echo(
        "每类邮件三个文件：" + "、".join(f"<类>.{p}" for p in PARTS) + "；类为 reminder、"
        "appointment、cancellation；某一目录项专用的提醒模板命名为 reminder-<序号>.txt 等"
    )


@email_group.command(name="test")
@click.option("--to", "to", required=True, metavar="ADDRESS", help="收件地址。")
@click.pass_obj
def email_test(obj: AppContext, to: str) -> None:
    """发一封测试邮件，检查邮件服务器设置。"""
    from callqueue.records.contacts import valid_email

    to = to.strip()
    if not valid_email(to):
        fail(f"邮箱地址无效：“{mask_email(to)}”，应如 name@example.com")
    try:
        server = MailServer.from_settings(obj.settings)
    except MailSettingsError as exc:
        fail(str(exc), EXIT_UNUSABLE)
    if server is None:
        fail("未配置邮件服务器：请设置 CALLQUEUE_SMTP_HOST 等", EXIT_UNUSABLE)
    message = EmailMessage()
    message["Subject"] = "许可证书到期提醒系统：测试邮件"
    message["From"] = server.sender
    message["To"] = to
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid("callqueue-test", domain=server.sender.domain)
    message.set_content(
        f"这是一封测试邮件。邮件服务器 {server.label()} 设置正确。\n", charset="utf-8"
    )
    try:
        with Connection(server) as conn:
            conn.send(message, to)
    except (ServerUnusable, SendFailure) as exc:
        fail(str(exc), EXIT_UNUSABLE)
    click.echo(f"测试邮件已发往 {mask_email(to)}（{server.label()}）")
