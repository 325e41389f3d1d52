"""Who sees which sections on the command line: callers their own, supervisors and the operator all."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from callqueue import cli, db
from callqueue.clock import SHANGHAI
from callqueue.db import table
from callqueue.ledger import service
from callqueue.models import Reminder
from callqueue.notify import outbox
from callqueue.queue import outcomes, staff
from callqueue.queue.outcomes import OutcomeInput
from callqueue.queue.refresh import refresh

from .ledger_files import licence_row, write_annex2
from .queue_world import NOW, SECTION, TODAY, due_row, policy

OTHER = "社会事务科"
SLOT = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)  # a Thursday morning
Run = Callable[..., Result]


def other_row(n: int) -> dict[str, object]:
    """A 卫生许可证 of 社会事务科 whose reminder is due on TODAY."""
    return licence_row(
        n,
        holder=f"社会事务科第{n}号单位",
        certificate="卫生许可证",
        issued_on=date(2023, 1, 10),
        expires_on=date(2027, 1, 10 + n),
        contact=f"1370000{n:04d} s{n}@example.cn",
    )


def log(engine: Engine, rid: int, outcome: str, who: str, **data: object) -> None:
    with db.session_scope(engine, write=True) as session:
        me = staff.get_staff(session, who)
        outcomes.record_outcome(
            session,
            reminder_id=rid,
            outcome=outcome,
            staff_id=me.id,
            policy=policy(engine),
            data=OutcomeInput(**data),  # type: ignore[arg-type]
        )


def build_world(engine: Engine, tmp_path: Path) -> None:
    """Four due holders in each of SECTION and OTHER: one booked, one emailed, one assisted.

    Staff: 甲 (caller, SECTION), 丁 (caller, OTHER), 主任 (supervisor), 管理 (admin).
    """
    mine = [due_row(n, contact=f"1380000{n:04d} m{n}@example.cn") for n in (1, 2, 3, 4)]
    theirs = [other_row(n) for n in (1, 2, 3, 4)]
    with db.session_scope(engine, write=True) as session:
        for rows, section, name in ((mine, SECTION, "mine"), (theirs, OTHER, "theirs")):
            path = write_annex2(tmp_path / f"{name}.xlsx", rows, section=section)
            report = service.import_ledger(session, path=path, today=TODAY, margin_workdays=10)
            assert report.rejected == 0, report.problems
        for name, section, role in (
            ("甲", SECTION, "caller"),
            ("丁", OTHER, "caller"),
            ("主任", "政务服务科", "supervisor"),
            ("管理", "政务服务科", "admin"),
        ):
            staff.add_staff(session, name=name, section=section, role=role, actor="t")
        refresh(session, today=TODAY, now=NOW)
    for section, who in ((SECTION, "甲"), (OTHER, "丁")):
        with db.session_scope(engine, write=False) as session:
            sid = staff.section_id(session, section)
            rids = sorted(
                session.execute(
                    select(table(Reminder).c.id).where(table(Reminder).c.section_id == sid)
                ).scalars()
            )
        log(engine, rids[0], "appointment", who, slot_at=SLOT)
        with db.session_scope(engine, write=True) as session:
            me = staff.get_staff(session, who)
            outbox.queue_reminder(session, reminder_id=rids[1], staff_id=me.id, now=NOW)
        log(engine, rids[2], "assisted", who, assisted_notes="代办", helper_staff_id=None)


@pytest.fixture
def run(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The CLI on the two-section world."""
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("CALLQUEUE_STAFF", raising=False)
    build_world(engine, tmp_path)

    def invoke(*args: str, who: str | None = None) -> Result:
        head = ["--db", db_url, "--today", TODAY.isoformat()]
        if who:
            head += ["--staff", who]
        return CliRunner().invoke(cli.main, [*head, *args])

    return invoke


def listed(run: Run, args: list[str], who: str | None, key: str) -> set[str]:
    """The distinct values of `key` in the command's JSON list."""
    result = run(*args, "--json", who=who)
    assert result.exit_code == 0, result.output
    return {str(row[key]) for row in json.loads(result.stdout)}


def section_of_holder(run: Run) -> dict[str, str]:
    rows = json.loads(run("ledger", "--json").stdout)
    return {r["holder"]: r["section"] for r in rows}


def section_ids(run: Run) -> dict[str, str]:
    """Section name by id (as text), from the staff list."""
    rows = json.loads(run("staff", "list", "--json").stdout)
    return {str(r["section_id"]): r["section"] for r in rows}


BOTH = {SECTION, OTHER}


def test_ledger_is_scoped(run: Run) -> None:
    assert listed(run, ["ledger"], None, "section") == BOTH
    assert listed(run, ["ledger"], "主任", "section") == BOTH
    assert listed(run, ["ledger"], "管理", "section") == BOTH
    assert listed(run, ["ledger"], "甲", "section") == {SECTION}
    assert listed(run, ["ledger"], "丁", "section") == {OTHER}
    assert listed(run, ["ledger", "--section", OTHER], "主任", "section") == {OTHER}
    assert listed(run, ["ledger", "--section", SECTION], "甲", "section") == {SECTION}
    refused = run("ledger", "--section", OTHER, who="甲")
    assert refused.exit_code == 1 and "只能查看本科室" in refused.stderr
    assert refused.stdout == ""
    unknown = run("ledger", "--section", "没有这个科", who="甲")
    assert unknown.exit_code == 2 and "不存在" in unknown.stderr
    nobody = run("ledger", who="无名氏")
    assert nobody.exit_code == 1 and "无名氏" in nobody.stderr


def test_queue_is_scoped(run: Run) -> None:
    names = section_ids(run)
    everyone = {names[s] for s in listed(run, ["queue"], None, "section_id")}
    assert everyone == BOTH
    assert {names[s] for s in listed(run, ["queue"], "主任", "section_id")} == BOTH
    assert {names[s] for s in listed(run, ["queue"], "甲", "section_id")} == {SECTION}
    assert {names[s] for s in listed(run, ["queue"], "丁", "section_id")} == {OTHER}
    holders = section_of_holder(run)
    mine = listed(run, ["queue"], "甲", "holder")
    assert mine and {holders[h] for h in mine} == {SECTION}
    refused = run("queue", "--section", SECTION, who="丁")
    assert refused.exit_code == 1 and "只能查看本科室" in refused.stderr
    text = run("queue", who="主任")
    assert f"【{OTHER}】" in text.stdout and f"【{SECTION}】" in text.stdout
    assert "【" not in run("queue", who="甲").stdout  # one section: no headings


def test_appointments_are_scoped(run: Run) -> None:
    names = section_ids(run)
    day = ["appointments", "--day", "2026-11-26"]
    assert {names[s] for s in listed(run, day, None, "section_id")} == BOTH
    assert {names[s] for s in listed(run, day, "主任", "section_id")} == BOTH
    assert {names[s] for s in listed(run, day, "甲", "section_id")} == {SECTION}
    assert {names[s] for s in listed(run, day, "丁", "section_id")} == {OTHER}
    refused = run(*day, "--section", OTHER, who="甲")
    assert refused.exit_code == 1 and "只能查看本科室" in refused.stderr


def test_assisted_cases_are_scoped(run: Run) -> None:
    assert listed(run, ["assisted"], None, "section") == BOTH
    assert listed(run, ["assisted"], "管理", "section") == BOTH
    assert listed(run, ["assisted"], "甲", "section") == {SECTION}
    assert listed(run, ["assisted", "--section", OTHER], "主任", "section") == {OTHER}
    refused = run("assisted", "--section", SECTION, who="丁")
    assert refused.exit_code == 1 and "只能查看本科室" in refused.stderr


def test_email_list_is_scoped(run: Run) -> None:
    holders = section_of_holder(run)
    every = listed(run, ["email", "list"], None, "holder")
    assert {holders[h] for h in every} == BOTH
    assert listed(run, ["email", "list"], "主任", "holder") == every
    mine = listed(run, ["email", "list"], "甲", "holder")
    assert mine and {holders[h] for h in mine} == {SECTION}
    theirs = listed(run, ["email", "list", "--section", OTHER], None, "holder")
    assert theirs and {holders[h] for h in theirs} == {OTHER}
    refused = run("email", "list", "--section", OTHER, who="甲")
    assert refused.exit_code == 1 and "只能查看本科室" in refused.stderr


def sheets(path: Path) -> dict[str, int]:
    """Sheet name → data rows (below the 附件2 header rows) in an exported ledger."""
    wb = load_workbook(path)
    counts = {}
    for ws in wb.worksheets:
        counts[ws.title] = sum(
            1 for row in ws.iter_rows(min_row=5, values_only=True) if row[1] not in (None, "")
        )
    return counts


def test_ledger_export_is_scoped(run: Run, tmp_path: Path) -> None:
    for who, expected in ((None, BOTH), ("主任", BOTH), ("甲", {SECTION}), ("丁", {OTHER})):
        out = tmp_path / f"{who}.xlsx"
        result = run("export", "ledger", "-o", str(out), who=who)
        assert result.exit_code == 0, result.output
        found = sheets(out)
        assert set(found) == expected
        assert all(n == 4 for n in found.values()), found
    out = tmp_path / "refused.xlsx"
    refused = run("export", "ledger", "--section", SECTION, "-o", str(out), who="丁")
    assert refused.exit_code == 1 and "只能查看本科室" in refused.stderr
    assert not out.exists()
