"""`callqueue staff add/pin/deactivate/activate/list` and `tui --sign-in` (who may do what)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from callqueue import cli, cli_staff, db
from callqueue.db import table
from callqueue.models import Attempt, AuditEvent, Reminder
from callqueue.queue import signin, staff

from .ledger_files import write_annex2
from .queue_world import NOW, SECTION, due_row

Run = Callable[..., Result]


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The CLI on a database holding two due holders and no staff yet."""
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(
            cli.main, ["--db", db_url, "--today", "2026-11-24", *args], input=stdin
        )

    path = write_annex2(tmp_path / "q.xlsx", [due_row(n) for n in (1, 2)], section=SECTION)
    assert invoke("import", str(path)).exit_code == 0
    return invoke


def listed(run: Run) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in json.loads(run("staff", "list", "--json").stdout)}


def signs_in(db_url: str, name: str, pin: str) -> bool:
    engine = db.make_engine(db_url)
    try:
        with db.session_scope(engine, write=False) as session:
            sid = staff.staff_id(session, name)
        assert sid is not None
        return signin.sign_in(engine, staff_id=sid, pin=pin, now=NOW).ok
    finally:
        engine.dispose()


def test_an_empty_list_says_how_to_add_the_first_admin(run: Run) -> None:
    empty = run("staff", "list")
    assert empty.exit_code == 0 and empty.stdout == ""
    assert "还没有工作人员" in empty.stderr
    assert "callqueue staff add 姓名 --section 政务服务科 --role admin --pin" in empty.stderr
    assert json.loads(run("staff", "list", "--json").stdout) == []


def test_first_admin_from_the_shell_then_only_admins_change_staff(run: Run, db_url: str) -> None:
    first = run(
        "staff",
        "add",
        "管理",
        "--section",
        "政务服务科",
        "--role",
        "admin",
        "--pin-stdin",
        stdin="8642\n",
    )
    assert first.exit_code == 0, first.output
    assert "已添加 管理（政务服务科，管理员，已设置 PIN）" in first.stdout
    assert "8642" not in first.output
    assert listed(run)["管理"]["has_pin"] is True
    shell = run("staff", "add", "甲", "--section", SECTION)
    assert shell.exit_code == 1
    assert "已有管理员，添加工作人员须用 --staff 指定管理员（管理）" in shell.stderr
    ok = run("--staff", "管理", "staff", "add", "甲", "--section", SECTION)
    assert ok.exit_code == 0 and "已添加 甲" in ok.stdout
    caller = run("--staff", "甲", "staff", "add", "乙", "--section", SECTION)
    assert caller.exit_code == 1 and "只有管理员可以添加工作人员；甲是提醒人" in caller.stderr
    refused = run("--staff", "甲", "staff", "pin", "甲", "--pin-stdin", stdin="1111\n")
    assert refused.exit_code == 1 and "只有管理员可以设置 PIN" in refused.stderr
    for args in (("deactivate", "管理"), ("activate", "甲")):
        denied = run("--staff", "甲", "staff", *args)
        assert denied.exit_code == 1 and "只有管理员可以" in denied.stderr
    assert set(listed(run)) == {"管理", "甲"} and listed(run)["甲"]["has_pin"] is False
    text = run("staff", "list").stdout
    assert "甲  涉农事务和经贸商务科  提醒人  在用  未设置 PIN" in text
    assert "管理  政务服务科  管理员  在用  已设置 PIN" in text


def test_reset_pin_and_bad_pins_write_nothing(run: Run, db_url: str) -> None:
    assert run("staff", "add", "管理", "--section", "政务服务科", "--role", "admin").exit_code == 0
    admin = ("--staff", "管理", "staff")
    bad = run(*admin, "add", "甲", "--section", SECTION, "--pin-stdin", stdin="12ab\n")
    assert bad.exit_code == 1 and "PIN 须为 4–8 位数字，未作任何修改" in bad.stderr
    assert "甲" not in listed(run)
    assert run(*admin, "add", "甲", "--section", SECTION).exit_code == 0
    reset = run(*admin, "pin", "甲", "--pin-stdin", stdin="20261124\n")
    assert reset.exit_code == 0 and "已为 甲 设置新的 PIN" in reset.stdout
    assert signs_in(db_url, "甲", "20261124") and not signs_in(db_url, "甲", "2026")
    nobody = run(*admin, "pin", "谁", "--pin-stdin", stdin="1234\n")
    assert nobody.exit_code == 1 and "没有名为“谁”的工作人员" in nobody.stderr
    # Not at a terminal and no --pin-stdin: refuse rather than hang.
    blind = run(*admin, "pin", "甲")
    assert blind.exit_code == 1 and "--pin-stdin" in blind.stderr
    engine = db.make_engine(db_url)
    with db.session_scope(engine, write=False) as session:
        trail = session.execute(select(table(AuditEvent).c.after, table(AuditEvent).c.note)).all()
    engine.dispose()
    assert "20261124" not in json.dumps([list(t) for t in trail], ensure_ascii=False)


def test_pins_typed_at_a_terminal_are_asked_twice(
    run: Run, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_staff, "can_ask", lambda: True)
    # A too-short PIN, then two that differ, then a good one typed twice.
    typed = "12\n5555\n6666\n7531\n7531\n"
    added = run("staff", "add", "甲", "--section", SECTION, "--pin", stdin=typed)
    assert added.exit_code == 0, added.output
    assert "PIN 须为 4–8 位数字" in added.stderr and "两次输入的 PIN 不一致" in added.stderr
    assert "7531" not in added.output
    assert signs_in(db_url, "甲", "7531")
    gave_up = run("staff", "pin", "甲", stdin="1\n2\n3\n")
    assert gave_up.exit_code == 1 and "PIN 未设置，未作任何修改" in gave_up.stderr
    assert signs_in(db_url, "甲", "7531")


def test_deactivate_releases_claims_and_keeps_history(run: Run, db_url: str) -> None:
    assert run("staff", "add", "管理", "--section", "政务服务科", "--role", "admin").exit_code == 0
    admin = ("--staff", "管理", "staff")
    assert (
        run(*admin, "add", "甲", "--section", SECTION, "--pin-stdin", stdin="1234\n").exit_code == 0
    )
    first = json.loads(run("call", "next", "--staff", "甲", "--json").stdout)
    assert (
        run("call", "log", str(first["reminders"][0]), "no_answer", "--staff", "甲").exit_code == 0
    )
    held = json.loads(run("call", "next", "--staff", "甲", "--json").stdout)
    assert held["holder"] != first["holder"]
    gone = run(*admin, "deactivate", "甲")
    assert gone.exit_code == 0, gone.output
    assert f"已停用 甲；释放认领的提醒 {len(held['reminders'])} 条，提醒记录保留" in gone.stdout
    engine = db.make_engine(db_url)
    with db.session_scope(engine, write=False) as session:
        r, a = table(Reminder), table(Attempt)
        claimed = session.execute(select(r.c.id).where(r.c.claimed_by_id.is_not(None))).all()
        kept = session.execute(select(a.c.outcome)).scalars().all()
        actions = session.execute(select(table(AuditEvent).c.action)).scalars().all()
    engine.dispose()
    assert claimed == [] and kept == ["no_answer"]
    assert "staff.deactivate" in actions
    assert listed(run)["甲"]["active"] is False
    again = run("call", "next", "--staff", "甲")
    assert again.exit_code == 1 and "已停用" in again.stderr
    assert not signs_in(db_url, "甲", "1234")
    twice = run(*admin, "deactivate", "甲")
    assert twice.exit_code == 1 and "已经停用" in twice.stderr
    last = run(*admin, "deactivate", "管理")
    assert last.exit_code == 1 and "唯一的在用管理员" in last.stderr
    back = run(*admin, "activate", "甲")
    assert back.exit_code == 0 and "已重新启用 甲" in back.stdout
    assert signs_in(db_url, "甲", "1234")
    assert "已停用" not in run("staff", "list").stdout


def test_tui_asks_for_pins_when_asked_or_the_database_is_shared(
    run: Run, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []

    class Fake:
        def run(self) -> None:
            pass

    def fake_create_app(**kwargs: Any) -> Fake:
        seen.append(kwargs["sign_in"])
        return Fake()

    monkeypatch.setattr("callqueue.tui.app.create_app", fake_create_app)
    monkeypatch.delenv("CALLQUEUE_SIGN_IN", raising=False)
    assert run("tui").exit_code == 0
    assert run("tui", "--sign-in").exit_code == 0
    monkeypatch.setenv("CALLQUEUE_SIGN_IN", "1")
    assert run().exit_code == 0
    shared = db_url.startswith("postgresql")
    assert seen == [shared, True, True]


def test_two_admins_stopping_each_other_at_once_leave_one(
    engine: Any, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: the two cannot overlap")
    import threading

    from callqueue.queue import staff_admin

    with db.session_scope(engine, write=True) as session:
        for name in ("管理员甲", "管理员乙"):
            staff.add_staff(session, name=name, section=SECTION, role="admin", actor="t")
    both_read = threading.Barrier(2, timeout=3)
    counted = staff_admin._active_admins

    def count_then_wait(session: Any) -> int:
        n = counted(session)
        # Both desks count before either deactivates; with the fix the other desk waits on
        # our lock instead, and counts after we commit (the barrier then times out).
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return n

    monkeypatch.setattr(staff_admin, "_active_admins", count_then_wait)
    outcome: dict[str, str] = {}

    def stop(me: str, other: str) -> None:
        try:
            with db.session_scope(engine, write=True) as session:
                staff_admin.set_active(session, name=other, active=False, actor=me, now=NOW)
            outcome[me] = "stopped"
        except staff.StaffError as exc:
            outcome[me] = str(exc)

    desks = [
        threading.Thread(target=stop, args=("管理员甲", "管理员乙")),
        threading.Thread(target=stop, args=("管理员乙", "管理员甲")),
    ]
    for desk in desks:
        desk.start()
    for desk in desks:
        desk.join()
    assert sorted(outcome.values())[0] == "stopped"
    assert "唯一的在用管理员" in sorted(outcome.values())[1]
    with db.session_scope(engine, write=False) as session:
        assert staff_admin.has_admin(session)
