"""`callqueue db upgrade|status|copy`, `backup` and `restore`: the database's structure and data."""

from __future__ import annotations

import sys
from pathlib import Path
from unicodedata import east_asian_width

import click

from callqueue import backup as backup_service
from callqueue import bootstrap, clock, db, dbcopy, files
from callqueue.cli import AppContext, emit_json, fail, fail_writing, main


@main.group(name="db")
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


class _Progress:
    """One status line on stderr while a table is copied (a terminal only)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.width = 0
        """Terminal columns of the longest line shown so far (CJK characters take two)."""

    def __call__(self, table: str, rows: int) -> None:
        if self.enabled:
            line = f"复制 {table}：{rows} 行"
            self.width = max(self.width, sum(2 if east_asian_width(c) in "WF" else 1 for c in line))
            click.echo("\r" + line, nl=False, err=True)

    def done(self) -> None:
        if self.enabled and self.width:
            click.echo("\r" + " " * self.width + "\r", nl=False, err=True)
            self.width = 0


@db_group.command(name="copy")
@click.option("--to", "to_url", required=True, metavar="URL", help="目标数据库地址（须为空库）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出各表行数。")
@click.pass_obj
def copy_cmd(obj: AppContext, to_url: str, as_json: bool) -> None:
    """把当前数据库（--db）的全部数据复制到另一个空数据库，并核对各表行数。"""
    source = db.make_engine(obj.db_url, busy_timeout_ms=obj.settings.busy_timeout_ms)
    target = db.make_engine(to_url, busy_timeout_ms=obj.settings.busy_timeout_ms)
    progress = _Progress(enabled=not as_json and sys.stderr.isatty())
    try:
        report = dbcopy.copy_database(source=source, target=target, progress=progress)
    except dbcopy.CopyError as exc:
        fail(str(exc))
    finally:
        # Whatever ends the copy, the status line goes first: an error said after it would
        # otherwise run on from it.
        progress.done()
        source.dispose()
        target.dispose()
    if as_json:
        emit_json(
            {
                "source": report.source,
                "target": report.target,
                "revision": report.revision,
                "rows": report.rows,
                "seconds": round(report.seconds, 2),
                "tables": [
                    {"table": t.table, "source": t.source, "target": t.target}
                    for t in report.tables
                ],
            }
        )
        return
    width = max(len(t.table) for t in report.tables)
    # CJK characters take two columns: pad by display width, not by len()
    click.echo("表" + " " * (width - 2) + "  " + " " * 5 + "源库" + " " + " " * 3 + "目标库")
    for t in report.tables:
        click.echo(f"{t.table.ljust(width)}  {t.source:>9} {t.target:>9}")
    click.echo(
        f"已复制 {report.rows} 行到 {report.target}（结构版本 {report.revision}），"
        f"各表行数一致，用时 {report.seconds:.1f} 秒"
    )


@main.command(name="backup")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="备份文件。",
)
@click.option("--force", is_flag=True, help="覆盖已有的备份文件。")
@click.pass_obj
def backup_cmd(obj: AppContext, output: Path, force: bool) -> None:
    """在线备份 SQLite 数据库（其他工作台可以继续工作）。"""
    engine = db.make_engine(obj.db_url)
    try:
        info = backup_service.backup(engine=engine, dest=output, force=force)
    except backup_service.BackupError as exc:
        fail(str(exc))
    except OSError as exc:
        fail_writing(output, exc)
    finally:
        engine.dispose()
    click.echo(
        f"已备份到 {info.path}（{info.size // 1024} KB，{info.certificates} 张证书，"
        f"结构版本 {info.revision}，完整性检查通过）"
    )


@main.command(name="restore")
@click.argument("backup_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="不再询问，直接恢复。")
@click.pass_obj
def restore_cmd(obj: AppContext, backup_file: Path, yes: bool) -> None:
    """用备份文件替换当前的 SQLite 数据库（原数据库另存一份）。"""
    try:
        target = backup_service.sqlite_path(obj.db_url)
        info = backup_service.check_backup(backup_file)
    except backup_service.BackupError as exc:
        fail(str(exc))
    keep = "（原文件另存为 .before-restore-时间）" if target.exists() else ""
    click.echo(
        f"备份 {backup_file}：{info.certificates} 张证书，结构版本 {info.revision}，"
        f"完整性检查通过。将写入数据库 {target}{keep}。",
        err=True,
    )
    if not yes:
        if not sys.stdin.isatty():
            fail("未确认，数据库未改动（确认无误后加 --yes 执行；恢复前请关闭所有工作台）")
        if not click.confirm("确认恢复？请先关闭所有工作台", default=False, err=True):
            fail("已取消，数据库未改动")
    try:
        _, kept = backup_service.restore(url=obj.db_url, backup_file=backup_file, now=clock.now())
    except backup_service.BackupError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"恢复失败，数据库未改动：{files.write_error(exc)}")
    if kept is not None:
        click.echo(f"原数据库已另存为 {kept}")
    click.echo(f"已恢复 {target}（{info.certificates} 张证书）")
