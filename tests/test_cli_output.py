"""What commands print on a terminal: a progress line always ends before anything said after it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click._termui_impl
import pytest
from click.testing import CliRunner, Result

from callqueue import bootstrap, cli, cli_db, cli_ledger, dbcopy
from callqueue.ledger import service as ledger_service


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("CALLQUEUE_LOG_DIR", str(tmp_path / "logs"))
    url = f"sqlite:///{tmp_path / 'office.sqlite'}"
    bootstrap.open_database(url).dispose()
    return url


def invoke(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli.main, ["--db", url, "--today", "2026-11-25", *args])


def errors_start_their_lines(stderr: str) -> None:
    """Every `错误：` begins a line of its own (after a newline, or a carriage return that
    comes after the status line was blanked)."""
    assert "错误：" in stderr, stderr
    for found in re.finditer("错误：", stderr):
        before = stderr[: found.start()]
        assert before == "" or before.endswith(("\n", " \r")), repr(stderr)


def test_an_import_that_fails_midway_ends_its_progress_bar_first(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(click._termui_impl, "isatty", lambda _stream: True)  # a terminal
    monkeypatch.setattr(cli_ledger, "_Progress", lambda enabled: cli._Progress(True))

    def breaks_midway(_session: Any, **kwargs: Any) -> None:
        kwargs["progress"]("读取", 3, 10)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ledger_service, "import_ledger", breaks_midway)
    (tmp_path / "台账.xlsx").write_bytes(b"")
    result = invoke(url, "import", str(tmp_path / "台账.xlsx"))
    assert result.exit_code != 0
    assert "读取" in result.stderr  # the bar was drawn
    errors_start_their_lines(result.stderr)


def test_a_db_copy_that_fails_midway_clears_its_status_line_first(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_a_terminal = cli_db._Progress
    monkeypatch.setattr(cli_db, "_Progress", lambda enabled: on_a_terminal(True))

    def breaks_midway(**kwargs: Any) -> None:
        kwargs["progress"]("reminder_attempt_history", 123456)
        raise RuntimeError("the target went away")

    monkeypatch.setattr(dbcopy, "copy_database", breaks_midway)
    result = invoke(url, "db", "copy", "--to", f"sqlite:///{tmp_path / 'new.sqlite'}")
    assert result.exit_code != 0
    status = "\r复制 reminder_attempt_history：123456 行"
    assert result.stderr.startswith(status)
    # Blanked as wide as it was drawn (each CJK character takes two columns).
    blank = "\r" + " " * (len(status) - 1 + 4) + "\r"
    assert result.stderr[len(status) :].startswith(blank), repr(result.stderr)
    errors_start_their_lines(result.stderr)
