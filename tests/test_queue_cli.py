"""`callqueue staff`, `refresh`, `queue`, `call next` and `call log` (DESIGN.md §7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from callqueue import cli, roles

from .ledger_files import write_annex2
from .queue_world import SECTION, due_row

ENTRY_KEYS = {"holder", "reminders", "certificates", "apply_by", "expires_on", "attempts", "state"}


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The CLI on a database holding three due holders and two callers."""
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli.main, ["--db", db_url, "--today", "2026-11-24", *args])

    path = write_annex2(tmp_path / "q.xlsx", [due_row(n) for n in (1, 2, 3)], section=SECTION)
    assert invoke("import", str(path)).exit_code == 0
    for name in ("甲", "乙"):
        assert invoke("staff", "add", name, "--section", SECTION).exit_code == 0
    return invoke


def test_staff_add_and_list(run) -> None:  # type: ignore[no-untyped-def]
    assert (
        run("staff", "add", "丙", "--section", "社会事务科", "--role", "supervisor").exit_code == 0
    )
    added = run("staff", "add", "戊", "--section", SECTION).stdout
    assert f"（{SECTION}，{roles.role_label('caller')}）" in added and "caller" not in added
    again = run("staff", "add", "丙", "--section", "社会事务科")
    assert again.exit_code == 1 and "已有" in again.stderr
    bad = run("staff", "add", "丁", "--section", "没有这个科")
    assert bad.exit_code == 1 and "不存在" in bad.stderr
    rows = json.loads(run("staff", "list", "--json").stdout)
    assert sorted((r["name"], r["section"], r["role"]) for r in rows) == sorted(
        [
            ("丙", "社会事务科", "supervisor"),
            ("戊", SECTION, "caller"),
            ("乙", SECTION, "caller"),
            ("甲", SECTION, "caller"),
        ]
    )


def test_queue_json_then_claim_and_log(run) -> None:  # type: ignore[no-untyped-def]
    entries = json.loads(run("queue", "--section", SECTION, "--json").stdout)
    assert len(entries) == 3 and set(entries[0]) >= ENTRY_KEYS
    assert entries[0]["certificates"] == ["农药经营许可证"]
    first = json.loads(run("--staff", "甲", "call", "next", "--json").stdout)
    assert first["holder"] == entries[0]["holder"]
    assert first["claim_expires_at"].endswith("+08:00")  # office time, as appointments
    second = json.loads(run("call", "next", "--staff", "乙", "--json").stdout)
    assert second["holder"] != first["holder"]
    rid = first["reminders"][0]

    refused = run("call", "log", str(rid), "informed", "--staff", "乙")
    assert refused.exit_code == 1 and "其他工作人员" in refused.stderr
    # A call "made" later today is not one yet (it also passed over 甲's live claim).
    future = run("call", "log", str(rid), "informed", "--staff", "乙", "--at", "2026-11-24 11:00")
    assert future.exit_code == 1 and "晚于现在" in future.stderr

    done = run(
        "call", "log", str(rid), "callback", "--staff", "甲", "--callback-at", "2026-11-28 10:00"
    )
    assert done.exit_code == 1 and "不是工作日" in done.stderr
    ok = run(
        "call",
        "log",
        str(rid),
        "callback",
        "--staff",
        "甲",
        "--callback-at",
        "2026-11-25 10:00",
        "--json",
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["state"] == "callback"
    ledger = {r["reminder_id"]: r for r in json.loads(run("ledger", "--json").stdout)}
    assert ledger[rid]["reminded_on"] == "2026-11-24" and ledger[rid]["reminded_by"] == "甲"

    closed = run(
        "call",
        "log",
        str(second["reminders"][0]),
        "not_renewing",
        "--staff",
        "乙",
        "--reason",
        "已注销",
    )
    assert closed.exit_code == 0
    again = run("call", "log", str(second["reminders"][0]), "informed", "--staff", "乙")
    assert again.exit_code == 1 and "已结束" in again.stderr

    third = json.loads(run("call", "next", "--staff", "甲", "--json").stdout)
    assert third is not None
    assert json.loads(run("call", "next", "--staff", "乙", "--json").stdout) is None


def test_call_needs_a_known_staff_member(run) -> None:  # type: ignore[no-untyped-def]
    result = run("call", "next", "--staff", "无名氏")
    assert result.exit_code == 1 and "callqueue staff add" in result.stderr
    assert run("call", "next").exit_code == 1


def test_refresh_reports_counts(run) -> None:  # type: ignore[no-untyped-def]
    result = run("--today", "2027-06-01", "refresh", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["lapsed"] == 3


def test_appointments_list_cancel_and_no_show(run) -> None:  # type: ignore[no-untyped-def]
    entry = json.loads(run("call", "next", "--staff", "甲", "--json").stdout)
    booked = run(
        "call",
        "log",
        str(entry["reminders"][0]),
        "appointment",
        "--staff",
        "甲",
        "--slot",
        "2026-11-25 09:00",
    )
    assert booked.exit_code == 0, booked.output
    listed = json.loads(run("appointments", "--day", "2026-11-25", "--json").stdout)
    assert [(a["starts_at"], a["status"]) for a in listed] == [
        ("2026-11-25T09:00:00+08:00", "booked")
    ]
    text = run("appointments", "--day", "2026-11-25").stdout
    assert "已预约" in text and "booked" not in text
    assert entry["holder"] in text and listed[0]["holder"] == entry["holder"]  # names, not ids
    early = run("appointments", "no-show", str(listed[0]["id"]))  # today is the 24th
    assert early.exit_code == 1 and "时间未到，不能记为未到" in early.stderr
    missed = run("--today", "2026-11-25", "appointments", "no-show", str(listed[0]["id"]))
    assert missed.exit_code == 0, missed.output
    assert f"提醒 {entry['reminders'][0]} 回到待联系队列" in missed.stdout
    again = run("appointments", "cancel", str(listed[0]["id"]))
    assert again.exit_code == 1 and "已是“未到”，不能再改" in again.stderr
    assert run("appointments", "cancel", "999").exit_code == 1
    impossible = run("appointments", "--day", "2026-02-30")
    assert impossible.exit_code == 1
    assert "日期“2026-02-30”无效，应为 YYYY-MM-DD 格式的真实日期" in impossible.stderr
    assert "日期：日期" not in impossible.stderr  # the label once


def test_skip_releases_only_your_own_claim(run) -> None:  # type: ignore[no-untyped-def]
    entry = json.loads(run("call", "next", "--staff", "甲", "--json").stdout)
    ids = [str(i) for i in entry["reminders"]]
    assert run("call", "skip", *ids, "--staff", "乙").exit_code == 1
    assert run("call", "skip", *ids, "--staff", "甲").exit_code == 0
    again = json.loads(run("call", "next", "--staff", "乙", "--json").stdout)
    assert again["holder"] == entry["holder"]  # free again, and still first in line


def test_assisted_list_and_advance(run) -> None:  # type: ignore[no-untyped-def]
    entries = json.loads(run("queue", "--section", SECTION, "--json").stdout)
    rid, other = entries[0]["reminders"][0], entries[1]["reminders"][0]
    logged = run(
        "call", "log", str(rid), "assisted", "--staff", "甲", "--helper", "乙", "--note", "代办"
    )
    assert logged.exit_code == 0, logged.output
    listed = json.loads(run("assisted", "--section", SECTION, "--json").stdout)
    assert [(c["reminder_id"], c["stage"], c["helper"], c["notes"]) for c in listed] == [
        (rid, "registered", "乙", "代办")
    ]
    assert listed[0]["registered_on"] == "2026-11-24"

    ok = run("assisted", "advance", str(rid), "preparing", "--staff", "甲", "--note", "材料齐")
    assert ok.exit_code == 0 and "材料准备中" in ok.stdout
    back = run("assisted", "advance", str(rid), "registered", "--staff", "甲")
    assert back.exit_code == 1 and "不能从“材料准备中”退回“已登记”" in back.stderr
    future = run("assisted", "advance", str(rid), "filed", "--on", "2026-11-25", "--staff", "甲")
    assert future.exit_code == 1 and "晚于今天" in future.stderr
    other_case = run("assisted", "advance", str(other), "filed", "--staff", "甲")
    assert other_case.exit_code == 1 and "不是帮办代办案件" in other_case.stderr
    filed = run(
        "assisted", "advance", str(rid), "已提交申请", "--on", "2026-11-24", "--staff", "甲",
        "--json",
    )  # fmt: skip
    assert filed.exit_code == 0, filed.output
    assert json.loads(filed.stdout)["filed_on"] == "2026-11-24"

    text = run("assisted")
    assert "已提交申请" in text.stdout and "帮办人 乙" in text.stdout and "共 1 件" in text.stderr
    assert run("assisted", "--section", "没有这个科").exit_code == 2
    assert run("call", "log", str(rid), "renewed", "--staff", "甲").exit_code == 0
    assert json.loads(run("assisted", "--json").stdout) == []
    closed = json.loads(run("assisted", "--all", "--json").stdout)
    assert [(c["reminder_id"], c["state"], c["stage"]) for c in closed] == [
        (rid, "renewed", "filed")
    ]


def test_queue_badges_in_the_words_of_the_call_screen(run) -> None:  # type: ignore[no-untyped-def]
    out = run("queue", "--section", SECTION).stdout
    assert "（补录）" in out and "[late]" not in out  # imported after the reminder date
