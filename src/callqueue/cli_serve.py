"""`callqueue serve`: the call-queue TUI in a browser, one sign-in per tab."""

from __future__ import annotations

import errno

import click

from callqueue import db
from callqueue.cli import AppContext, fail, main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="监听的地址。")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    help="监听的端口。",
)
@click.option(
    "--public",
    is_flag=True,
    help="允许在本机以外可以访问的地址上提供服务（如 0.0.0.0）。",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, public: bool) -> None:
    """在浏览器中使用呼叫队列：每个标签页各自登录，页面不需要连接互联网。"""
    # Imported here: the web server (aiohttp) would add a fifth of a second to every start of
    # the desk, which never needs it.
    from callqueue.web import server

    obj: AppContext = ctx.obj
    if not server.is_loopback(host):
        if not public:
            fail(
                f"地址 {host} 不只是本机，其他电脑也能打开界面；确需如此请加上 --public"
                "（默认 127.0.0.1 只允许本机访问）"
            )
        click.echo(
            f"警告：在 {host} 上提供服务，同一网络中的任何人都能打开界面（每个标签页仍须登录）；"
            "连接没有加密（HTTP），只应在办公室内网中使用。",
            err=True,
        )
    obj.engine()  # a database that cannot be opened fails here, not in every tab
    explicit_today = ctx.find_root().get_parameter_source("today") not in (
        click.core.ParameterSource.DEFAULT,
        None,
    )

    def announce(url: str) -> None:
        click.echo(f"数据库：{db.safe_url(obj.db_url)}")
        click.echo(f"请在浏览器中打开 {url}（每个标签页各自登录；按 Ctrl+C 停止服务）")
        if host in server.EVERY_INTERFACE:
            click.echo(f"其他电脑请打开 http://本机的IP地址:{port}/")

    try:
        server.serve(
            db_url=obj.db_url,
            today=obj.today if explicit_today else None,
            host=host,
            port=port,
            announce=announce,
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(f"端口 {port} 已被占用，请用 --port 换一个端口")
        fail(f"无法在 {host}:{port} 上提供服务：{exc.strerror or exc}")
    click.echo("服务已停止。")
