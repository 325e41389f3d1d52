"""`callqueue serve`: the TUI in a browser, each tab its own process and sign-in, no internet."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from playwright.sync_api import Request, Route, sync_playwright

from callqueue import bootstrap, cli, db
from callqueue.queue import staff_admin
from callqueue.web import server

from . import browser
from . import queue_world as world
from .browser import (
    CATCH_TERMINAL,
    LOCAL_HOSTS,
    OFFLINE_ARGS,
    require_chromium,
    sign_in,
    wait_for_text,
)

# --- the rules of serving, without a browser ------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("no-such-host.invalid", False),
    ],
)
def test_only_this_machine_counts_as_loopback(host: str, loopback: bool) -> None:
    assert server.is_loopback(host) is loopback


def test_each_tab_runs_the_tui_with_sign_in_and_the_servers_database() -> None:
    command = server.tab_command(today=date(2026, 11, 24), python="/py")
    assert command == ["/py", "-m", "callqueue", "--today", "2026-11-24", "tui", "--sign-in"]
    assert "--today" not in server.tab_command(today=None)
    env = server.tab_environment(
        {"PATH": "/bin", "CALLQUEUE_STAFF": "张敏", "CALLQUEUE_DB": "sqlite:///other.sqlite"},
        db_url="postgresql+psycopg://u:secret@db/callqueue",
    )
    assert env == {"PATH": "/bin", "CALLQUEUE_DB": "postgresql+psycopg://u:secret@db/callqueue"}


def test_the_address_to_open_names_a_reachable_host() -> None:
    assert server.local_url("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    assert server.local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000/"
    assert server.local_url("::1", 9000) == "http://[::1]:9000/"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, object]]:
    """Calls to the server, recorded instead of serving."""
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(server, "serve", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("CALLQUEUE_TODAY", raising=False)
    return calls


def test_serve_refuses_a_public_address_without_public(
    served: list[dict[str, object]], db_url: str
) -> None:
    result = CliRunner().invoke(cli.main, ["--db", db_url, "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "--public" in result.stderr and "其他电脑也能打开" in result.stderr
    assert served == []


def test_serve_on_a_public_address_warns_in_chinese(
    served: list[dict[str, object]], db_url: str
) -> None:
    args = ["--db", db_url, "serve", "--host", "0.0.0.0", "--port", "8123", "--public"]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    assert "警告" in result.stderr and "任何人都能打开" in result.stderr
    assert served == [
        {"db_url": db_url, "today": None, "host": "0.0.0.0", "port": 8123, "announce": mock.ANY}
    ]


def test_serve_passes_a_given_date_and_the_database_on(
    served: list[dict[str, object]], db_url: str
) -> None:
    result = CliRunner().invoke(cli.main, ["--db", db_url, "--today", "2026-11-24", "serve"])
    assert result.exit_code == 0, result.output
    (call,) = served
    assert (call["db_url"], call["today"], call["host"], call["port"]) == (
        db_url,
        date(2026, 11, 24),
        "127.0.0.1",
        8000,
    )


def test_tui_accepts_sign_in(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    """The flag each tab's command line carries turns the PIN step on, on any database."""
    started: list[bool] = []
    monkeypatch.setattr(cli, "_run_tui", lambda _obj, *, sign_in: started.append(sign_in))
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("CALLQUEUE_SIGN_IN", raising=False)
    result = CliRunner().invoke(cli.main, ["--db", db_url, "tui", "--sign-in"])
    assert result.exit_code == 0, result.output
    assert started == [True]


def test_serve_on_a_port_in_use_says_so(db_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLQUEUE_")}
    env["CALLQUEUE_CONFIG"] = str(tmp_path / "none.toml")
    env["CALLQUEUE_LOG"] = str(tmp_path / "callqueue.log")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "callqueue", "--db", db_url, "serve", "--port", str(port)]
        result = subprocess.run(command, env=env, capture_output=True, timeout=60)
    assert result.returncode == 1
    assert f"错误：端口 {port} 已被占用" in result.stderr.decode("utf-8")


# --- the real thing: a server process and a headless browser --------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    """Every process below `pid` (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _tabs(pid: int) -> set[int]:
    """The `callqueue tui --sign-in` processes the server runs, one per open tab."""
    tabs = set()
    for child in _children(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--sign-in" in argv and b"tui" in argv:
            tabs.add(child)
    return tabs


def _wait_until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


HOLDERS = [f"东丽区第{n:03d}号公司" for n in range(1, 4)]
PINS = {"甲": "2468", "乙": "13579"}


@pytest.fixture
def office(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`callqueue serve` on a free port over a small queue in SECTION; yields its URL."""
    url = f"sqlite:///{tmp_path / 'office.sqlite'}"
    engine = bootstrap.open_database(url)
    world.build(engine, tmp_path, [world.due_row(n) for n in range(1, len(HOLDERS) + 1)])
    with db.session_scope(engine, write=True) as session:
        for name, pin in PINS.items():
            staff_admin.set_pin(session, name=name, pin=pin, actor="测试")
    engine.dispose()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLQUEUE_")}
    env |= {
        "CALLQUEUE_CONFIG": str(tmp_path / "none.toml"),
        "CALLQUEUE_LOG": str(tmp_path / "callqueue.log"),
        "CALLQUEUE_DESK_STATE": str(tmp_path / "desk.json"),
        "CALLQUEUE_STAFF": "甲",  # the server must not hand this to the tabs
    }
    command = [sys.executable, "-m", "callqueue", "--db", url, "--today", "2026-11-24"]
    output = tmp_path / "serve.out"
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, output.read_text("utf-8", "replace")
            try:
                with urllib.request.urlopen(base, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer within 20 s"
                time.sleep(0.2)
        yield base, proc
        assert "请在浏览器中打开 " + base in output.read_text("utf-8")
    finally:
        tabs = _tabs(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        finally:
            for pid in tabs | ({proc.pid} if proc.poll() is None else set()):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def test_the_page_loads_nothing_from_outside(office: tuple[str, subprocess.Popen[bytes]]) -> None:
    base, _proc = office
    with urllib.request.urlopen(base, timeout=5) as response:
        html = response.read().decode("utf-8")
    hosts = set(re.findall(r"(?:https?|wss?)://([^\s\"'<>/)]*)", html))
    assert hosts <= {*LOCAL_HOSTS, ""}, hosts
    assert not re.search(r"[\"'(]//[^/\s]", html), "a protocol-relative address"
    assert "/static/js/textual.js" in html and "/static/fonts/RobotoMono" in html


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts processes in /proc")
def test_two_browser_tabs_sign_in_separately_and_see_the_queue(
    office: tuple[str, subprocess.Popen[bytes]],
) -> None:
    chromium = require_chromium()
    base, proc = office
    outside: list[str] = []

    def only_this_machine(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=chromium, args=OFFLINE_ARGS)
        try:
            context = chrome.new_context(viewport={"width": 1400, "height": 800})
            context.route("**/*", only_this_machine)
            context.add_init_script(CATCH_TERMINAL)

            first = context.new_page()
            first.goto(base)
            sign_in(first, "甲", PINS["甲"])
            # who is working, above the queue; the queue's three holders and their certificate
            queue = wait_for_text(first, f"甲 · {world.SECTION}", *HOLDERS, "农药经营许可证")
            assert "请选择工作人员" not in queue
            assert len(_tabs(proc.pid)) == 1

            second = context.new_page()
            second.goto(base)
            wait_for_text(second, "请选择工作人员")  # its own session: nobody signed in yet
            _wait_until(lambda: len(_tabs(proc.pid)) == 2)
            wait_for_text(first, f"甲 · {world.SECTION}", *HOLDERS, timeout=5)  # untouched
            sign_in(second, "乙", PINS["乙"])
            wait_for_text(second, f"乙 · {world.SECTION}", *HOLDERS)
            wait_for_text(first, f"甲 · {world.SECTION}", timeout=5)  # still 甲 there

            second.close()
            _wait_until(lambda: len(_tabs(proc.pid)) == 1)  # closing a tab ends its process
            first.reload()
            wait_for_text(first, "请选择工作人员")  # a reloaded tab signs in again
            tabs = _tabs(proc.pid)

            proc.send_signal(signal.SIGINT)  # Ctrl+C with a tab still open
            proc.wait(timeout=15)
            _wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in tabs))
            first.wait_for_selector("body.-closed", timeout=5000)
            assert first.inner_text(".closed-dialog .message") == "本标签页的会话已结束。"
        finally:
            chrome.close()
    assert outside == []


def test_a_missing_chromium_skips_here_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        browser.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        browser.require_chromium()
