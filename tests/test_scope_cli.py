"""Who sees which sections on the command line: callers their own, supervisors and the operator all."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import Engine

from callqueue import cli

from .queue_world import SECTION, TODAY
from .scope_world import OTHER, build_world

Run = Callable[..., Result]


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
    # Each section's queue counts from 1: its first holder is the first to call there.
    blocks = text.stdout.split("【")[1:]
    assert len(blocks) == 2
    assert all(block.splitlines()[1].lstrip().startswith("1. ") for block in blocks)
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
    everyone = {SECTION: 4, OTHER: 4, "环保城管和建设交通科": 0}  # every section's ledger
    for who, expected in (
        (None, everyone),
        ("主任", everyone),
        ("甲", {SECTION: 4}),
        ("丁", {OTHER: 4}),
    ):
        out = tmp_path / f"{who}.xlsx"
        result = run("export", "ledger", "-o", str(out), who=who)
        assert result.exit_code == 0, result.output
        assert sheets(out) == expected
    out = tmp_path / "refused.xlsx"
    refused = run("export", "ledger", "--section", SECTION, "-o", str(out), who="丁")
    assert refused.exit_code == 1 and "只能查看本科室" in refused.stderr
    assert not out.exists()
