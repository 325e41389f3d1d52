"""Every file a command writes: a failure is said in Chinese, and nothing is left half-written."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from callqueue import backup, bootstrap, cli, files

ENGLISH = ("Permission denied", "No such file", "Not a directory", "File exists", "disk")


def invoke(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli.main, ["--db", url, "--today", "2026-11-25", *args])


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("CALLQUEUE_TEMPLATES_DIR", str(tmp_path / "模板"))
    url = f"sqlite:///{tmp_path / 'office.sqlite'}"
    bootstrap.open_database(url).dispose()
    return url


def fails_in_chinese(result: Result, reason: str) -> None:
    assert result.exit_code != 0, result.output
    assert reason in result.stderr, result.stderr
    assert not any(word in result.stderr for word in ENGLISH), result.stderr


def no_permission(*_args: object, **_kwargs: object) -> None:
    raise PermissionError(errno.EACCES, "Permission denied")


def test_a_calendar_export_that_cannot_be_written_says_why_and_keeps_the_old_file(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "一个文件").write_text("")
    under_a_file = invoke(
        sqlite_url,
        "calendar",
        "export",
        "--year",
        "2026",
        "-o",
        str(tmp_path / "一个文件" / "a.txt"),
    )
    fails_in_chinese(under_a_file, "路径中有一部分不是文件夹")

    out = tmp_path / "2026.txt"
    out.write_text("上次的安排", encoding="utf-8")
    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", no_permission)
        locked = invoke(sqlite_url, "calendar", "export", "--year", "2026", "-o", str(out))
    fails_in_chinese(locked, "没有写入权限")
    assert out.read_text(encoding="utf-8") == "上次的安排"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".txt") == ["2026.txt"]
    written = invoke(sqlite_url, "calendar", "export", "--year", "2026", "-o", str(out))
    assert written.exit_code == 0, written.output
    assert "2026" in out.read_text(encoding="utf-8")


def test_email_templates_init_says_why_and_never_leaves_half_a_template(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "模板").write_text("")  # a file where the folder should be
    fails_in_chinese(invoke(sqlite_url, "email", "templates", "--init"), "路径中有一部分不是文件夹")
    (tmp_path / "模板").unlink()

    def disk_full(source: Path, target: Path) -> None:
        Path(target).write_bytes(Path(source).read_bytes()[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(shutil, "copyfile", disk_full)
        fails_in_chinese(invoke(sqlite_url, "email", "templates", "--init"), "磁盘空间不足")
    assert list((tmp_path / "模板").iterdir()) == []  # no half template to be taken as edited
    assert invoke(sqlite_url, "email", "templates", "--init").exit_code == 0
    assert len(list((tmp_path / "模板").iterdir())) == 9


def test_a_backup_that_cannot_be_written_says_why_and_leaves_nothing(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "备份"
    folder.mkdir()
    with monkeypatch.context() as patched:
        patched.setattr(os, "open", no_permission)
        result = invoke(sqlite_url, "backup", "-o", str(folder / "b.sqlite"))
    fails_in_chinese(result, "没有写入权限")

    def full(_source: Path, _dest: Path) -> None:
        exc = sqlite3.OperationalError("database or disk is full")
        exc.sqlite_errorcode = 13  # SQLITE_FULL
        raise backup._as_os_error(exc) from exc

    with monkeypatch.context() as patched:
        patched.setattr(backup, "_copy_sqlite", full)
        fails_in_chinese(
            invoke(sqlite_url, "backup", "-o", str(folder / "b.sqlite")), "磁盘空间不足"
        )
    assert list(folder.iterdir()) == []


def test_a_restore_that_cannot_be_written_says_why(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "b.sqlite"
    assert invoke(sqlite_url, "backup", "-o", str(copy)).exit_code == 0
    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", no_permission)
        result = invoke(sqlite_url, "restore", str(copy), "--yes")
    fails_in_chinese(result, "恢复失败，数据库未改动：没有写入权限")


def test_an_error_of_no_known_kind_is_not_said_in_english() -> None:
    assert files.write_error(OSError(errno.EBUSY, "Device or resource busy")) == (
        f"系统错误（错误号 {errno.EBUSY}）"
    )
