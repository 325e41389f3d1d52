"""Serve the TUI to browsers: one `callqueue tui --sign-in` process per browser tab.

textual-serve does the work (an aiohttp server, xterm.js in the page, one process per
websocket). This module adds what the office needs: the page loads nothing from outside the
server (it must work without internet), every tab signs in for itself, and a server is only
offered beyond this machine when asked for.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shlex
import socket
import sys
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from aiohttp import web
from textual_serve.server import Server

TEMPLATES = Path(__file__).with_name("templates")
TITLE = "许可证书到期前提醒 · 呼叫队列"

# How long stopping the server waits for the open tabs' TUIs to quit.
SHUTDOWN_SECONDS = 10

# Hosts that listen on every interface of this machine.
EVERY_INTERFACE = ("", "0.0.0.0", "::")

# Settings the tabs must not inherit from whoever started the server: each tab signs in itself.
PERSONAL_ENV = ("CALLQUEUE_STAFF",)


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1, localhost).

    A name that does not resolve, or resolves to any other address, counts as not loopback.
    """
    name = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return True
    try:
        found = socket.getaddrinfo(name, None)
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in found)


def tab_command(*, today: date | None, python: str = sys.executable) -> list[str]:
    """The command each browser tab runs: the TUI, asking who is working and their PIN.

    The database is not on this line: it travels in CALLQUEUE_DB (see `tab_environment`), so a
    password in its URL never shows in the process list.
    """
    command = [python, "-m", "callqueue"]
    if today is not None:
        command += ["--today", today.isoformat()]
    return [*command, "tui", "--sign-in"]


def tab_environment(environ: Mapping[str, str], *, db_url: str) -> dict[str, str]:
    """The environment every tab starts with: the server's database, nobody signed in."""
    env = {k: v for k, v in environ.items() if k not in PERSONAL_ENV}
    env["CALLQUEUE_DB"] = db_url
    return env


def local_url(host: str, port: int) -> str:
    """The address to open in a browser for a server on `host`:`port`."""
    shown = host
    if host in EVERY_INTERFACE:  # this machine's own loopback address works too
        shown = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        shown = f"[{host}]"
    return f"http://{shown}:{port}/"


class OfficeServer(Server):
    """textual-serve's server with the office's own page and startup message."""

    def __init__(
        self, command: str, *, host: str, port: int, announce: Callable[[str], None]
    ) -> None:
        super().__init__(command, host=host, port=port, title=TITLE, templates_path=TEMPLATES)
        self.announce = announce
        self.sessions: set[asyncio.Task[object]] = set()

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """Run one tab's session, remembered so that stopping the server can end it."""
        task = asyncio.current_task()
        assert task is not None
        self.sessions.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            self.sessions.discard(task)

    async def on_shutdown(self, app: web.Application) -> None:
        """End every open tab's session (its TUI quits) instead of waiting for browsers to leave."""
        open_now = set(self.sessions)
        for task in open_now:
            task.cancel()
        if open_now:
            await asyncio.wait(open_now, timeout=SHUTDOWN_SECONDS)

    def initialize_logging(self) -> None:
        """Leave logging as the CLI set it up (textual-serve would print every request)."""

    async def on_startup(self, app: web.Application) -> None:
        """Say where to open the page instead of textual-serve's banner (it shows the command)."""
        self.announce(local_url(self.host, self.port))


def serve(
    *,
    db_url: str,
    today: date | None,
    host: str,
    port: int,
    announce: Callable[[str], None],
) -> None:
    """Serve the TUI until Ctrl+C; every browser tab gets its own process and sign-in.

    Args:
        db_url: The database every tab uses.
        today: A fixed date for every tab (demos and tests), or None for the real date.
        host: The address to listen on.
        port: The port to listen on.
        announce: Called with the page's address once the server starts.
    """
    # textual-serve starts each tab with a copy of this process's environment.
    env = tab_environment(os.environ, db_url=db_url)
    os.environ.clear()
    os.environ.update(env)
    command = shlex.join(tab_command(today=today))
    OfficeServer(command, host=host, port=port, announce=announce).serve()
