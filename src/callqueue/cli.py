"""The command line: a click group whose default is the call-queue TUI."""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from callqueue import __version__, bootstrap, catalog, cli_words, clock, db, logs
from callqueue.config import Settings, SettingsError, load_settings, log_path
from callqueue.queue import signin
from callqueue.queue import staff as staff_service
from callqueue.roles import NotAllowed

EXIT_UNUSABLE = 2
log = logging.getLogger("callqueue.cli")
cli_words.install()  # click's usage lines and errors in Chinese, before commands are declared


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


def fail_writing(path: object, exc: OSError, exit_code: int = 1) -> NoReturn:
    """Stop the command because `path` could not be written, saying why in Chinese."""
    from callqueue.files import write_error

    fail(f"无法写入 {path}：{write_error(exc)}", exit_code)


_EXTENSION = re.compile(r"\.(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,5}")


def _xlsx_path(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """An export's `-o`: a name without an extension gets `.xlsx`; another extension is refused
    (a workbook named `.xls` or `.csv` makes Excel and WPS warn that the file is damaged)."""
    if value is None or value.suffix.lower() == ".xlsx":
        return value
    if _EXTENSION.fullmatch(value.suffix):
        raise click.BadParameter(
            f"导出的是 Excel 工作簿，文件名须以 .xlsx 结尾（如 {value.with_suffix('.xlsx').name}）"
        )
    return value.with_name(value.name + ".xlsx")  # 台账 → 台账.xlsx; 台账2026.11 → 台账2026.11.xlsx


def xlsx_output(function: Any) -> Any:
    """The `-o/--output FILE.xlsx` option of the commands that export a workbook."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        required=True,
        callback=_xlsx_path,
        help="输出文件（.xlsx；不写扩展名时自动加上）。",
    )(function)


def exported_to(output: Path, existed: bool) -> str:
    """`output` as the closing line of an export names it; says so when a file was replaced."""
    return f"{output}（已替换原有文件）" if existed else str(output)


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
    "appointments": "cli_appointments",
    "assisted": "cli_assisted",
    "backup": "cli_db",
    "calendar": "cli_calendar",
    "call": "cli_call",
    "catalog": "cli_catalog",
    "db": "cli_db",
    "demo": "cli_demo",
    "email": "cli_email",
    "export": "cli_export",
    "holder": "cli_holder",
    "import": "cli_ledger",
    "inspect": "cli_inspect",
    "ledger": "cli_ledger",
    "queue": "cli_queue",
    "refresh": "cli_queue",
    "report": "cli_report",
    "restore": "cli_db",
    "serve": "cli_serve",
    "staff": "cli_staff",
}
"""Every command but `tui` lives in a module of its own, which registers it on `main` when
imported: loaded when named (or listed by --help), so that opening the desk does not load the
mail, report and server code (about 0.3 s)."""


class LazyGroup(click.Group):
    """A group some of whose subcommands live in command modules of their own (`lazy`: name
    → module), loaded when named or listed: `main` (with `LAZY_COMMANDS`) and `export`."""

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


# --- shared by the command modules ------------------------------------------------------


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


def _now(obj: AppContext) -> datetime:
    """The time in force: the real time, or 09:00 on a `--today` that is not today."""
    real = clock.now()
    if obj.today == real.date():
        return real
    return datetime.combine(obj.today, time(9, 0), clock.SHANGHAI)


def _staff(obj: AppContext, session: Any, name: str | None) -> staff_service.StaffRow:
    who = name or obj.staff
    if not who:
        fail("请用 --staff 指定工作人员")
    try:
        return staff_service.get_staff(session, who)
    except staff_service.StaffError as exc:
        fail(str(exc))


def _parse_day(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return clock.parse_day(value)
    except ValueError:
        fail(f"{what}“{value}”无效，应为 YYYY-MM-DD 格式的真实日期")


if __name__ == "__main__":  # pragma: no cover
    # Run as `python -m callqueue.cli`, this file is `__main__`, while the command modules
    # register on `callqueue.cli.main`: run that one, which knows them all.
    from callqueue.cli import main as entry

    sys.exit(entry())
