"""Opening the desk loads only what the queue screen needs (start-up time, issue 5)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import callqueue
from callqueue import cli

NOT_AT_START = {
    "aiohttp",  # serve
    "alembic",  # migrations (db.HEAD_REVISION is checked instead)
    "icalendar",  # appointment invitations
    "jinja2",  # email templates
    "openpyxl",  # exports and rejects
    "plotext",  # the dashboard's chart
    "python_calamine",  # the ledger reader
    "smtplib",
    "sqlalchemy.dialects.postgresql",  # on SQLite
    "callqueue.cli_email",
    "callqueue.cli_report",
    "callqueue.cli_serve",
    "callqueue.ledger.service",
    "callqueue.notify.delivery",
    "callqueue.tui.office_desk",
    "callqueue.tui.screens.dashboard",
    "callqueue.tui.screens.import_screen",
}


def test_opening_the_desk_leaves_the_rest_unloaded() -> None:
    code = (
        "import sys, callqueue.cli, callqueue.tui.app\n"
        "from callqueue import db\n"
        "db.make_engine('sqlite://').connect().close()\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "callqueue.tui.screens.queue" in found and "textual.app" in found
    assert sorted(NOT_AT_START.intersection(found)) == []


def test_every_command_module_is_loaded_when_its_command_is_named() -> None:
    modules = {
        m.name for m in pkgutil.iter_modules(callqueue.__path__) if m.name.startswith("cli_")
    }
    # cli_words declares no command: it gives click its Chinese words (loaded by cli itself).
    assert modules == set(cli.LAZY_COMMANDS.values()) | {"cli_catalog_admin", "cli_words"}
    for module in modules:
        importlib.import_module(f"callqueue.{module}")
    for name, command in cli.main.commands.items():
        assert command.callback is not None
        owner = command.callback.__module__.removeprefix("callqueue.")
        assert cli.LAZY_COMMANDS.get(name, "cli") == owner, name
    assert set(cli.LAZY_COMMANDS) <= set(cli.main.list_commands(None))  # type: ignore[arg-type]


_TREE = """
import click, importlib, pkgutil, sys, callqueue
from callqueue import cli
if sys.argv[1] == "all":
    for m in pkgutil.iter_modules(callqueue.__path__):
        if m.name.startswith("cli_"):
            importlib.import_module(f"callqueue.{m.name}")
def walk(group, ctx, prefix):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        print(prefix + name if command is not None else "MISSING " + prefix + name)
        if isinstance(command, click.Group):
            walk(command, click.Context(command, parent=ctx), prefix + name + " ")
walk(cli.main, click.Context(cli.main), "")
"""


def test_every_subcommand_is_found_in_a_fresh_process() -> None:
    # `db copy` lives in cli_db; a fresh `callqueue db copy` once answered "No such command"
    # because only `backup` and `restore` loaded that module (the tests had loaded it already).
    def tree(mode: str) -> list[str]:
        out = subprocess.run(
            [sys.executable, "-c", _TREE, mode], capture_output=True, text=True, check=True
        )
        return out.stdout.splitlines()

    everything, fresh = tree("all"), tree("fresh")
    assert "db copy" in everything and not [c for c in fresh if c.startswith("MISSING")]
    assert fresh == everything
