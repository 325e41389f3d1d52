"""`callqueue demo`: build a demonstration database and open the desk on it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from callqueue import db
from callqueue.cli import AppContext, _Progress, _run_tui, fail, main
from callqueue.config import data_dir
from callqueue.ledger.listing import certificate_count as ledger_rows_count


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
