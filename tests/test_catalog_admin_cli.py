"""`callqueue catalog edit|retire|add|history|cancel`: plans, confirmation, refusals, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from callqueue import cli, cli_catalog_admin

from .catalog_world import SEQ, audits, build_world, item, reminders


def call(db_url: str, *args: str, staff: str | None = "张敏", stdin: str | None = None) -> Result:
    who = ["--staff", staff] if staff else []
    return CliRunner().invoke(
        cli.main, ["--db", db_url, "--today", "2026-11-24", *who, *args], input=stdin
    )


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> dict[str, int]:
    return build_world(engine, tmp_path)


def test_without_yes_and_no_terminal_only_the_plan_is_printed(
    world: dict[str, int], engine: Engine, db_url: str
) -> None:
    before = reminders(engine)
    result = call(db_url, "catalog", "edit", str(SEQ), "--set", "lead_months=6", "--reason", "新规")
    assert result.exit_code == 0, result.output
    assert "提醒时限（月）：3 → 6" in result.stdout
    assert "将改动尚未处理的提醒 5 条" in result.stdout
    assert "已在处理中的提醒 2 条保持不变" in result.stdout
    assert "未确认，未作任何修改" in result.stderr
    assert reminders(engine) == before and item(engine).lead_months == 3
    assert audits(engine) == []


def test_json_plan_without_yes_changes_nothing(
    world: dict[str, int], engine: Engine, db_url: str
) -> None:
    result = call(
        db_url, "catalog", "edit", str(SEQ), "--set", "lead_months=6", "--reason", "x", "--json"
    )
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["applied"] is False and doc["plan"]["reminders_changed"] == 5
    assert doc["plan"]["fields"] == [
        {"field": "lead_months", "label": "提醒时限（月）", "before": 3, "after": 6}
    ]
    assert item(engine).lead_months == 3


def test_a_terminal_answer_decides(
    world: dict[str, int], engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_catalog_admin, "can_ask", lambda: True)
    args = ("catalog", "edit", str(SEQ), "--set", "lead_months=6", "--reason", "新规")
    result = call(db_url, *args, stdin="n\n")
    assert result.exit_code == 0 and "已取消，未作任何修改" in result.stderr
    assert item(engine).lead_months == 3
    result = call(db_url, *args, stdin="y\n")
    assert result.exit_code == 0, result.output
    assert "已保存并记入审计；改动提醒 5 条" in result.stdout
    assert item(engine).lead_months == 6
    assert [a["action"] for a in audits(engine)] == ["catalog.edit"]


def test_yes_applies_with_json(world: dict[str, int], engine: Engine, db_url: str) -> None:
    result = call(
        db_url,
        "catalog",
        "edit",
        str(SEQ),
        "--set",
        "method=电子邮件告知",
        "--set",
        "materials=申请书；营业执照",
        "--reason",
        "改为邮件",
        "--yes",
        "--json",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["applied"], doc["reminders_changed"]) == (True, 5)
    saved = item(engine)
    assert (saved.method, saved.materials) == ("email", ["申请书", "营业执照"])


def test_refusals(world: dict[str, int], engine: Engine, db_url: str) -> None:
    edit = ("catalog", "edit", str(SEQ), "--set", "lead_months=6", "--yes")
    caller = call(db_url, *edit, "--reason", "x", staff="甲")
    assert caller.exit_code == 1 and "只有主管或管理员可以修改目录；甲是提醒人" in caller.stderr
    nobody = call(db_url, *edit, "--reason", "x", staff=None)
    assert nobody.exit_code == 1 and "未指定工作人员" in nobody.stderr
    no_reason = call(db_url, *edit)
    assert no_reason.exit_code == 1 and "请填写修改原因" in no_reason.stderr
    bad = call(db_url, "catalog", "edit", str(SEQ), "--set", "lead_months=六", "--reason", "x")
    assert bad.exit_code == 1 and "提醒时限（月）应为整数" in bad.stderr
    unknown = call(db_url, "catalog", "edit", "99", "--set", "lead_months=6", "--reason", "x")
    assert unknown.exit_code == 1 and "没有序号为 99 的事项" in unknown.stderr
    bad_day = call(db_url, *edit, "--reason", "x", "--effective", "2026-13-01")
    assert bad_day.exit_code == 2 and "日期应为 YYYY-MM-DD" in bad_day.stderr
    assert item(engine).lead_months == 3 and audits(engine) == []


def test_a_future_change_then_refresh_and_history(
    world: dict[str, int], engine: Engine, db_url: str
) -> None:
    args = ("catalog", "edit", str(SEQ), "--set", "lead_months=6", "--reason", "新规")
    result = call(db_url, *args, "--effective", "2026-12-01", "--yes")
    assert result.exit_code == 0 and "已登记为待生效修改 #1" in result.stdout
    shown = call(db_url, "catalog", "history", str(SEQ))
    assert "待生效#1" in shown.stdout and "原因：新规" in shown.stdout
    assert item(engine).lead_months == 3
    done = CliRunner().invoke(cli.main, ["--db", db_url, "--today", "2026-12-01", "refresh"])
    assert done.exit_code == 0 and "目录修改生效 1 项" in done.stdout
    assert item(engine).lead_months == 6
    doc = json.loads(call(db_url, "catalog", "history", str(SEQ), "--json").stdout)
    assert doc[0]["action"] == "catalog.edit" and doc[0]["after"]["reminders_changed"] == 5


def test_cancel_a_pending_change(world: dict[str, int], engine: Engine, db_url: str) -> None:
    call(db_url, "catalog", "retire", str(SEQ), "--on", "2026-12-31", "--reason", "停", "--yes")
    result = call(db_url, "catalog", "cancel", "1", "--reason", "不停了")
    assert result.exit_code == 0 and "已撤销待生效修改 #1" in result.stdout
    again = call(db_url, "catalog", "cancel", "1", "--reason", "不停了")
    assert again.exit_code == 1 and "没有待生效的目录修改 #1" in again.stderr
    CliRunner().invoke(cli.main, ["--db", db_url, "--today", "2027-01-04", "refresh"])
    assert item(engine).active


def test_retire_shows_the_count_and_closes(
    world: dict[str, int], engine: Engine, db_url: str
) -> None:
    plan = call(db_url, "catalog", "retire", str(SEQ), "--reason", "取消许可")
    assert plan.exit_code == 0 and "将关闭尚未处理的提醒 5 条" in plan.stdout
    assert item(engine).active
    done = call(db_url, "catalog", "retire", str(SEQ), "--reason", "取消许可", "--yes")
    assert done.exit_code == 0 and "改动提醒 5 条" in done.stdout
    assert not item(engine).active
    states = [r["state"] for r in reminders(engine).values()]
    assert states.count("withdrawn") == 5
    listed = json.loads(call(db_url, "catalog", "--json").stdout)
    assert SEQ not in {e["seq"] for e in listed}


def test_add(world: dict[str, int], engine: Engine, db_url: str) -> None:
    args = (
        "catalog",
        "add",
        "--section",
        "社会事务科",
        "--permit-item",
        "养犬登记",
        "--certificate",
        "养犬登记证",
        "--lead-months",
        "2",
        "--filing-days",
        "30",
        "--validity",
        "1",
        "--materials",
        "申请表；免疫证明",
        "--reason",
        "新增事项",
    )
    result = call(db_url, *args, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["certificate_name"], doc["materials"], doc["validity_years"]) == (
        "养犬登记证",
        ["申请表", "免疫证明"],
        [1],
    )
    assert item(engine, doc["seq"]).lead_months == 2
    again = call(db_url, *args)
    assert again.exit_code == 1 and "已在目录第" in again.stderr


def _catalog_file(tmp_path: Path, seq: int, old: str, new: str) -> Path:
    """The seed catalog with one line of item `seq` changed."""
    from callqueue.bootstrap import catalog_seed_path

    head, *items = catalog_seed_path().read_text(encoding="utf-8").split("[[item]]")
    changed = [
        block.replace(old, new, 1) if f"\nseq = {seq}\n" in block else block for block in items
    ]
    assert changed != items
    path = tmp_path / "目录.toml"
    path.write_text("[[item]]".join([head, *changed]), encoding="utf-8")
    return path


def test_loading_a_catalog_file_is_for_supervisors(
    world: dict[str, int], engine: Engine, db_url: str, tmp_path: Path
) -> None:
    path = _catalog_file(tmp_path, SEQ, "lead_months = 3", "lead_months = 6")
    caller = call(db_url, "catalog", "load", str(path), staff="甲")
    assert caller.exit_code == 1 and "只有主管或管理员可以载入目录文件；甲是提醒人" in caller.stderr
    stranger = call(db_url, "catalog", "load", str(path), staff="不存在的人")
    assert stranger.exit_code == 1 and "不存在的人" in stranger.stderr
    nobody = call(db_url, "catalog", "load", str(path), staff=None)
    assert nobody.exit_code == 1 and "须用 --staff 指定主管或管理员（张敏）" in nobody.stderr
    assert item(engine).lead_months == 3 and audits(engine) == []


def test_loading_a_catalog_file_moves_unworked_reminders_like_an_edit(
    world: dict[str, int], engine: Engine, db_url: str, tmp_path: Path
) -> None:
    before = reminders(engine)
    path = _catalog_file(tmp_path, SEQ, "lead_months = 3", "lead_months = 6")
    result = call(db_url, "catalog", "load", str(path))
    assert result.exit_code == 0, result.output
    assert "修改 1 项" in result.stdout
    assert "尚未处理的提醒中有 5 条随之调整" in result.stdout
    after = reminders(engine)
    moved = {rid for rid in before if before[rid]["remind_on"] != after[rid]["remind_on"]}
    worked = {world["己公司"], world["庚公司"], world["辛公司"], world["壬公司"]}
    assert len(moved) == 5 and not moved & worked
    assert after[world["丁公司"]]["state"] == "due"  # six months before 2027-05-10 has passed
    assert [(a["action"], a["actor"]) for a in audits(engine)] == [("catalog.update", "张敏")]


def test_a_catalog_file_with_an_empty_or_repeated_certificate_name_is_refused(
    world: dict[str, int], engine: Engine, db_url: str, tmp_path: Path
) -> None:
    old = 'certificate_name = "农药经营许可证"'
    for new, why in (
        ('certificate_name = " "', "第7项：许可证书名称不能为空"),
        (
            'certificate_name = "兽药经营许可证"',
            "许可证书名称“兽药经营许可证”在第7项和第14项中重复",
        ),
    ):
        path = _catalog_file(tmp_path, SEQ, old, new)
        result = call(db_url, "catalog", "load", str(path))
        assert result.exit_code == 2 and why in result.stderr, result.output  # a bad file
    assert item(engine).certificate_name == "农药经营许可证" and audits(engine) == []


def test_an_edit_may_not_empty_a_name(world: dict[str, int], engine: Engine, db_url: str) -> None:
    for field in ("certificate_name", "permit_item"):
        result = call(
            db_url, "catalog", "edit", str(SEQ), "--set", f"{field}= ", "--reason", "x", "--yes"
        )
        assert result.exit_code == 1 and "不能为空" in result.stderr, result.output
    assert item(engine).certificate_name == "农药经营许可证" and audits(engine) == []


def test_office_details_are_changed_by_supervisors(
    world: dict[str, int], engine: Engine, db_url: str
) -> None:
    caller = call(db_url, "catalog", "office", "--phone", "110", staff="甲")
    assert caller.exit_code == 1
    assert "只有主管或管理员可以修改办公室信息；甲是提醒人" in caller.stderr
    shown = call(db_url, "catalog", "office", staff="甲")
    assert shown.exit_code == 0 and "服务电话：（未填写）" in shown.stdout
    done = call(db_url, "catalog", "office", "--phone", "022-84391234")
    assert done.exit_code == 0 and "服务电话：022-84391234" in done.stdout
    assert [(a["entity_id"], a["actor"]) for a in audits(engine, "setting.")] == [
        ("office.phone", "张敏")
    ]


def test_the_plan_says_what_changes_for_reminders_whose_dates_stay(
    world: dict[str, int], engine: Engine, db_url: str
) -> None:
    # 农药经营许可证's reminders are pulled earlier for its 90-day filing deadline: a shorter
    # lead time changes only the date the catalog alone gives, not the day staff call.
    shorter = call(db_url, "catalog", "edit", str(SEQ), "--set", "lead_months=1", "--reason", "x")
    assert shorter.exit_code == 0, shorter.output
    assert "将改动尚未处理的提醒 5 条：提醒日期变化 0 条" in shorter.stdout
    assert "5 条只改动按提醒时限推算的原定提醒日期，实际提醒日期不变" in shorter.stdout
    assert "例：" not in shorter.stdout  # no example whose dates read the same before and after
    email = call(
        db_url, "catalog", "edit", str(SEQ), "--set", "method=电子邮件告知", "--reason", "x"
    )
    assert email.exit_code == 0, email.output
    assert "提醒方式改为电子邮件告知 5 条" in email.stdout
    assert "只改动" not in email.stdout


def test_a_negative_number_is_told_its_range(
    world: dict[str, int], engine: Engine, db_url: str
) -> None:
    for value, why in (
        ("lead_months=-1", "提醒时限应为 1–24 个月"),
        ("filing_deadline_days=-5", "申请换证时限应为 0–730 日"),
        ("validity_years=-3", "有效期限应为 1–30 年的整数"),
    ):
        result = call(db_url, "catalog", "edit", str(SEQ), "--set", value, "--reason", "x")
        assert result.exit_code == 1 and why in result.stderr, result.output
    assert item(engine).lead_months == 3


def test_a_new_item_belongs_to_an_approval_section(
    world: dict[str, int], engine: Engine, db_url: str
) -> None:
    # 政务服务科 supervises; nobody there calls holders, so its reminders would never be worked.
    args = ("catalog", "add", "--permit-item", "养犬登记", "--certificate", "养犬登记证")
    result = call(db_url, *args, "--section", "政务服务科", "--lead-months", "2", "--reason", "x")
    assert result.exit_code == 1, result.output
    assert "承办科室应为审批科室（环保城管和建设交通科、社会事务科、涉农事务和经贸商务科）" in (
        result.stderr
    )
    assert audits(engine) == []
