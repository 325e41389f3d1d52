"""The command line: a click group whose default is the call-queue TUI."""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from callqueue import __version__, bootstrap, catalog, catalog_edit, clock, db, logs
from callqueue.config import Settings, SettingsError, data_dir, load_settings, log_path
from callqueue.hours import HoursError
from callqueue.ledger.listing import FLAG_LABELS, ledger_rows
from callqueue.ledger.listing import certificate_count as ledger_rows_count
from callqueue.models import AppointmentStatus, Outcome
from callqueue.queue import agenda, appointments, assisted, claims, outcomes, signin
from callqueue.queue import staff as staff_service
from callqueue.queue.refresh import refresh
from callqueue.queue.reminders import BADGE_LABELS, STATE_LABELS
from callqueue.roles import NotAllowed

if TYPE_CHECKING:
    from callqueue.ledger.service import ImportReport

EXIT_UNUSABLE = 2
log = logging.getLogger("callqueue.cli")


class UserError(click.ClickException):
    """An error staff can act on: one Chinese line, no traceback, exit code 1."""

    def show(self, file: Any = None) -> None:
        """Print `错误：<message>` to stderr."""
        click.echo(f"错误：{self.format_message()}", err=True)


class UnusableError(UserError):
    """The database, a file or the settings cannot be used at all: exit code 2."""

    exit_code = EXIT_UNUSABLE


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """Stop the command with a message for staff."""
    raise (UnusableError if exit_code == EXIT_UNUSABLE else UserError)(message)


@dataclass
class AppContext:
    """What every command shares: settings, the date in force, who is working, the database."""

    settings: Settings
    db_url: str
    today: date
    staff: str | None
    _engine: Engine | None = field(default=None, repr=False)

    def engine(self) -> Engine:
        """The database, opened (and migrated and seeded if new) on first use."""
        if self._engine is None:
            self._engine = bootstrap.open_database(
                self.db_url, busy_timeout_ms=self.settings.busy_timeout_ms
            )
        return self._engine


LAZY_COMMANDS = {
    "backup": "cli_db",
    "calendar": "cli_calendar",
    "email": "cli_email",
    "holder": "cli_holder",
    "inspect": "cli_inspect",
    "report": "cli_report",
    "restore": "cli_db",
    "serve": "cli_serve",
    "staff": "cli_staff",
}
"""Commands kept in their own modules, which register them on `main` when imported: loaded
when named (or listed by --help), so that opening the desk does not load the mail, report and
server code (about 0.3 s)."""


class LazyGroup(click.Group):
    """A group some of whose subcommands live in command modules of their own (`lazy`: name
    → module), loaded when named or listed: `main` with `LAZY_COMMANDS`, `db` and `export`."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every subcommand, those not loaded yet included."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand, loading its module first if it lives in one of its own."""
        module = self.lazy.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"callqueue.{module}")
        return super().get_command(ctx, cmd_name)


class CallqueueGroup(LazyGroup):
    """Turns database and settings failures anywhere below into one-line messages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, lazy=LAZY_COMMANDS, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, translating known failures."""
        try:
            done = super().invoke(ctx)
            sys.stdout.flush()  # a reader gone shows here, not in the interpreter's last flush
            return done
        except BrokenPipeError:
            # The reader of stdout went away (`callqueue report | head`): end quietly, exit 1,
            # as click does (its main catches EPIPE); what is left unwritten goes nowhere.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise
        except db.DatabaseError as exc:
            raise UnusableError(str(exc)) from exc
        except (SettingsError, catalog.CatalogError) as exc:
            raise UnusableError(str(exc)) from exc
        except NotAllowed as exc:  # a role or section refusal: nothing was changed
            raise UserError(str(exc)) from exc
        except SQLAlchemyError as exc:
            url = ctx.obj.db_url if isinstance(ctx.obj, AppContext) else ""
            log.exception("database failure")
            raise UnusableError(
                f"数据库操作失败（{db.safe_url(url)}）：{type(exc).__name__}，未保存任何更改"
            ) from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as exc:
            log.exception("unexpected failure")
            raise UserError(
                f"程序内部错误（{type(exc).__name__}），未保存任何更改；详情已记入日志 "
                f"{log_path()}（电话号码已隐去）"
            ) from exc


def emit_json(data: Any) -> None:
    """Print one JSON document to stdout as UTF-8, nothing else."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (some test harnesses)
        click.echo(text)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8") + b"\n")
    buffer.flush()


def _parse_today(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date:
    if not value:
        return clock.today()
    try:
        return clock.parse_day(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.group(
    cls=CallqueueGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--db",
    "db_url",
    envvar="CALLQUEUE_DB",
    metavar="URL",
    help="数据库地址（SQLAlchemy URL），默认是用户数据目录中的 SQLite 文件。",
)
@click.option(
    "--today",
    envvar="CALLQUEUE_TODAY",
    callback=_parse_today,
    metavar="YYYY-MM-DD",
    help="按此日期运行（演示和测试用）。",
)
@click.option("--staff", envvar="CALLQUEUE_STAFF", metavar="NAME", help="当前工作人员姓名。")
@click.version_option(__version__, prog_name="callqueue")
@click.pass_context
def main(ctx: click.Context, db_url: str | None, today: date, staff: str | None) -> None:
    """许可证书到期前提醒：呼叫队列。不带子命令时打开界面。"""
    logs.setup(log_path())
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise UnusableError(str(exc)) from exc
    ctx.obj = AppContext(settings=settings, db_url=db_url or settings.db, today=today, staff=staff)
    if ctx.invoked_subcommand is None:
        ctx.invoke(tui)


@main.command()
@click.option(
    "--sign-in",
    is_flag=True,
    help="先输入 PIN 登录（多人共用的数据库；PostgreSQL 总是要求；也可设 CALLQUEUE_SIGN_IN=1）。",
)
@click.pass_obj
def tui(obj: AppContext, sign_in: bool) -> None:
    """打开呼叫队列界面。"""
    asked = sign_in or _env_flag("CALLQUEUE_SIGN_IN")
    _run_tui(obj, sign_in=signin.sign_in_required(obj.db_url, asked))


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _run_tui(obj: AppContext, *, sign_in: bool) -> None:
    from callqueue.tui.app import create_app

    obj.engine()  # fail here, with a one-line message, before the screen takes over
    logs.setup(log_path(), console=False)  # stderr belongs to the screen now
    create_app(
        engine=obj.engine(),
        today=obj.today,
        staff_name=obj.staff,
        settings=obj.settings,
        now=lambda: _now(obj),
        sign_in=sign_in,
    ).run()


@main.command()
@click.option("--no-tui", is_flag=True, help="只生成演示数据库，不打开界面。")
@click.option("--certificates", default=3000, show_default=True, help="演示证书数量。")
@click.pass_context
def demo(ctx: click.Context, no_tui: bool, certificates: int) -> None:
    """生成演示数据库（工作人员和证书）并打开界面。"""
    obj: AppContext = ctx.obj
    explicit = ctx.find_root().params.get("db_url") is not None
    if not explicit:
        path = data_dir() / "demo.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        obj.db_url = f"sqlite:///{path}"
    engine = obj.engine()
    with db.session_scope(engine, write=False) as session:
        existing = ledger_rows_count(session)
    if existing:
        fail(f"数据库 {db.safe_url(engine.url)} 中已有 {existing} 张证书，不能再放入演示数据", 2)
    progress = _Progress(enabled=sys.stderr.isatty())
    with db.session_scope(engine, write=True) as session:
        from callqueue.demo import build_demo  # only this command needs it

        written = build_demo(
            session,
            certificates=certificates,
            today=obj.today,
            margin_workdays=obj.settings.margin_workdays,
            progress=lambda n: progress("生成演示数据", n, certificates),
        )
    progress.close()
    click.echo(
        f"演示数据库：{db.safe_url(engine.url)}（{written} 张证书；工作人员如 张敏、王芳、刘洋）",
        err=True,
    )
    if not no_tui:
        obj.staff = obj.staff or "张敏"
        _run_tui(obj, sign_in=False)  # a new demo database: its staff have no PINs


# --- db -------------------------------------------------------------------------------


@main.group(name="db", cls=LazyGroup, lazy={"copy": "cli_db"})
def db_group() -> None:
    """数据库结构版本与迁移。"""


@db_group.command()
@click.pass_obj
def upgrade(obj: AppContext) -> None:
    """把数据库升级到最新结构（首次使用时同时载入目录）。"""
    engine = db.make_engine(obj.db_url, busy_timeout_ms=obj.settings.busy_timeout_ms)
    db.check_connection(engine)
    before = db.current_revision(engine)
    db.upgrade(engine)
    bootstrap.seed_catalog(engine)
    after = db.current_revision(engine)
    click.echo(f"数据库结构：{before or '空'} → {after}")


@db_group.command()
@click.pass_obj
def status(obj: AppContext) -> None:
    """显示数据库地址和结构版本。"""
    engine = db.make_engine(obj.db_url)
    db.check_connection(engine)
    current, head = db.current_revision(engine), db.head_revision()
    click.echo(f"数据库：{db.safe_url(engine.url)}")
    click.echo(
        f"结构版本：{current or '空'}（最新 {head}）{'' if current == head else '，需要升级'}"
    )


# --- catalog ----------------------------------------------------------------------------


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


@catalog_group.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def load(obj: AppContext, file: Path) -> None:
    """按目录文件（TOML）更新目录；每处修改都记入审计。"""
    with db.session_scope(obj.engine(), write=True) as session:
        result = catalog_edit.load_catalog(session, path=file, actor=obj.staff or "cli")
    click.echo(f"新增 {result.created} 项，修改 {result.updated} 项，未变 {result.unchanged} 项。")


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
        for key, value in changes.items():
            if value is not None:
                catalog_edit.set_office(session, key=key, value=value, actor=obj.staff or "cli")
        current = catalog.office(session)
    for key, label in (("name", "名称"), ("place", "办理地点"), ("service_phone", "服务电话")):
        click.echo(f"{label}：{current[key] or '（未填写）'}")


# --- calendar ---------------------------------------------------------------------------


# --- ledger ---------------------------------------------------------------------------


class _Progress:
    """A progress bar per import stage on a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.stage: str | None = None
        self.bar: Any = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            self.bar = click.progressbar(length=max(total, 1), label=stage, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(max(0, done - self.done))
        self.done = max(self.done, done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _known_section(obj: AppContext, section: str | None) -> None:
    if section is None:
        return
    with db.session_scope(obj.engine(), write=False) as session:
        names = staff_service.section_names(session)
    if section not in names:
        fail(f"科室“{section}”不存在（现有：{'、'.join(names)}）", EXIT_UNUSABLE)


def _viewer(obj: AppContext, session: Any) -> staff_service.Viewer | None:
    """The staff member named with --staff, or None when nobody is named."""
    try:
        return staff_service.viewer(session, obj.staff)
    except staff_service.StaffError as exc:
        fail(str(exc))


def _scope(obj: AppContext, session: Any, section: str | None) -> staff_service.SectionScope:
    """The sections this command may show: --staff's sections, narrowed by --section.

    Callers see their own section only; supervisors, admins and an unnamed operator see all.
    """
    who = _viewer(obj, session)
    try:
        return staff_service.scope(session, viewer=who, requested=section)
    except staff_service.StaffError as exc:
        fail(str(exc), EXIT_UNUSABLE)
    except NotAllowed as exc:
        fail(str(exc))


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--section", help="未注明科室的工作表归入此科室。")
@click.option("--dry-run", is_flag=True, help="只检查，不写入任何内容。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出报告。")
@click.pass_obj
def import_cmd(
    obj: AppContext, file: Path, section: str | None, dry_run: bool, as_json: bool
) -> None:
    """导入台账工作簿（附件2）。退出码：0 全部处理且无拒绝，1 有被拒绝的行，2 文件无法读取。

    提醒人（--staff）只能导入本科室的台账：未注明科室的工作表归入本科室，涉及其他科室时什么都不写，退出码 1。
    """
    from callqueue.ledger import service as ledger_service  # the reader loads when needed
    from callqueue.ledger.read import UnreadableWorkbook

    _known_section(obj, section)
    progress = _Progress(enabled=not as_json and sys.stderr.isatty())
    engine = obj.engine()
    try:
        with db.session_scope(engine, write=True, bulk=True) as session:
            who = _viewer(obj, session)
            report = ledger_service.import_ledger(
                session,
                path=file,
                today=obj.today,
                section=section,
                dry_run=dry_run,
                margin_workdays=obj.settings.margin_workdays,
                actor=obj.staff or "cli",
                staff_id=who.staff_id if who else None,
                progress=progress,
                caller_section=who.bound_section if who else None,
            )
    except UnreadableWorkbook as exc:
        progress.close()
        fail(str(exc), EXIT_UNUSABLE)
    except NotAllowed as exc:
        progress.close()
        fail(str(exc))
    progress.close()
    if report.rejects_file:
        with db.session_scope(engine, write=False) as session:
            ledger_service.save_rejects(session, report)
    if as_json:
        emit_json(report.to_json())
    else:
        _print_report(report)
    sys.exit(1 if report.rejected else 0)


def _print_report(report: ImportReport) -> None:
    verb = "检查" if report.dry_run else "导入"
    click.echo(
        f"{report.file}：{verb}数据行 {report.rows} 行 —— 新增 {report.imported}，"
        f"更新 {report.updated}，重复 {report.duplicates}，拒绝 {report.rejected}，"
        f"提示 {report.warnings}"
    )
    if report.dry_run:
        click.echo("（试运行：没有写入任何内容）")
    for shown, p in enumerate(report.problems):
        if shown == 30:
            click.echo(f"……另有 {len(report.problems) - shown} 条，完整列表请用 --json")
            break
        where = f"{p.sheet} 第{p.row}行" if p.row else p.sheet
        column = f" [{p.column}]" if p.column else ""
        mark = "✗" if p.severity == "error" else "·"
        click.echo(f"  {mark} {where}{column}：{p.message}")
    if report.rejects_file:
        click.echo(f"被拒绝的行已写入：{report.rejects_file}（改正后可直接重新导入）")


@main.command()
@click.option("--section", help="只列出此科室。")
@click.option("--all", "include_closed", is_flag=True, help="包括已换证、不再延续的证书。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def ledger(obj: AppContext, section: str | None, include_closed: bool, as_json: bool) -> None:
    """列出台账：每张证书一条（提醒人只看本科室）。"""
    with db.session_scope(obj.engine(), write=False) as session:
        scope = _scope(obj, session, section)
        rows = ledger_rows(
            session, today=obj.today, sections=scope.names, include_closed=include_closed
        )
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    for r in rows:
        words = [FLAG_LABELS.get(f, f) for f in r.flags]
        flags = f"（{'、'.join(words)}）" if words else ""
        state = STATE_LABELS.get(r.state or "", r.state or "")
        click.echo(
            f"{r.id:>6} {r.section} {r.holder} {r.certificate} 期满 {r.expires_on} "
            f"提醒 {r.remind_on} 申请截止 {r.apply_by} {state}{flags}"
        )
    click.echo(f"共 {len(rows)} 张证书", err=True)


# --- queue ----------------------------------------------------------------------------


def _now(obj: AppContext) -> datetime:
    """The time in force: the real time, or 09:00 on a `--today` that is not today."""
    real = clock.now()
    if obj.today == real.date():
        return real
    return datetime.combine(obj.today, time(9, 0), clock.SHANGHAI)


def _policy(obj: AppContext, session: Any, now: datetime) -> outcomes.Policy:
    try:
        return outcomes.policy_for(session, settings=obj.settings, today=obj.today, now=now)
    except HoursError as exc:
        fail(str(exc), EXIT_UNUSABLE)


def _staff(obj: AppContext, session: Any, name: str | None) -> staff_service.StaffRow:
    who = name or obj.staff
    if not who:
        fail("请用 --staff 指定工作人员")
    try:
        return staff_service.get_staff(session, who)
    except staff_service.StaffError as exc:
        fail(str(exc))


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
    for n, e in enumerate(entries, 1):
        if len(scope.sections) > 1 and e.section_id != shown:
            shown = e.section_id
            click.echo(f"【{scope.sections[shown]}】")
        words = "、".join(BADGE_LABELS.get(b, b) for b in e.badges)
        badges = f"（{words}）" if words else ""
        click.echo(
            f"{n:>4}. {e.holder} — {'、'.join(e.certificates)}；申请截止 {e.apply_by}，"
            f"期满 {e.expires_on}，已拨 {e.attempts} 次{badges}"
        )
    click.echo(f"共 {len(entries)} 户", err=True)


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


def _parse_day(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return clock.parse_day(value)
    except ValueError:
        fail(f"{what}“{value}”无效，应为 YYYY-MM-DD 格式的真实日期")


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


# --- export -----------------------------------------------------------------------------


@main.group(
    name="export", cls=LazyGroup, lazy={"inspection": "cli_inspect", "report": "cli_report"}
)
def export_group() -> None:
    """导出 Excel 工作簿。"""


@export_group.command(name="ledger")
@click.option("--section", help="只导出此科室。")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="输出文件（.xlsx）。",
)
@click.pass_obj
def export_ledger_cmd(obj: AppContext, section: str | None, output: Path) -> None:
    """按附件2格式导出台账，每个科室一张工作表（提醒人只导出本科室）。"""
    with db.session_scope(obj.engine(), write=False) as session:
        rows = ledger_rows(session, today=obj.today, sections=_scope(obj, session, section).names)
        office = catalog.office(session)
    try:
        from callqueue.ledger.export import (
            export_ledger,
        )  # openpyxl loads only when a workbook is written

        export_ledger(rows, output, office_name=office["name"])
    except OSError as exc:
        fail(f"无法写入 {output}：{exc.strerror or exc}", EXIT_UNUSABLE)
    click.echo(f"已导出 {len(rows)} 张证书到 {output}")


@export_group.command(name="catalog")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="输出文件（.xlsx）。",
)
@click.pass_obj
def export_catalog_cmd(obj: AppContext, output: Path) -> None:
    """按附件1格式导出提醒目录。"""
    with db.session_scope(obj.engine(), write=False) as session:
        entries = catalog.list_items(session)
        office = catalog.office(session)
    try:
        from callqueue.catalog_export import (
            export_catalog,
        )  # openpyxl loads only when a workbook is written

        export_catalog(entries, output, office_name=office["name"])
    except OSError as exc:
        fail(f"无法写入 {output}：{exc.strerror or exc}", EXIT_UNUSABLE)
    click.echo(f"已导出 {len(entries)} 项到 {output}")


# The catalog's admin commands join the `catalog` group defined above when imported; the other
# modules' commands load when named (LAZY_COMMANDS).
from callqueue import cli_catalog_admin  # noqa: E402, F401

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
