"""`callqueue inspect …` and `callqueue export inspection`: JSON, refusals and the workbook."""

from __future__ import annotations

import json
import random
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from callqueue import cli, db
from callqueue.db import table
from callqueue.models import AuditEvent, Inspection

from .inspection_world import NOTE, SUPERVISOR, World, world
from .queue_world import SECTION
from .test_ledger_cli import assert_prints_on_a4


@pytest.fixture
def known(engine: Engine, tmp_path: Path) -> World:
    return world(engine, tmp_path)


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli.main, ["--db", db_url, "--today", "2026-11-24", *args])

    return invoke


def new(run, size: int = 3, seed: int = 7) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = run(
        "--staff",
        SUPERVISOR,
        "inspect",
        "new",
        "--section",
        SECTION,
        "--size",
        str(size),
        "--seed",
        str(seed),
        "--json",
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_new_json_is_the_seeded_sample_with_attempts(run, known: World) -> None:  # type: ignore[no-untyped-def]
    data = new(run, 3, 7)
    assert [i["reminder_id"] for i in data["items"]] == random.Random(7).sample(
        sorted(known.worked), 3
    )
    assert (data["section"], data["supervisor"], data["seed"], data["status"]) == (
        SECTION,
        SUPERVISOR,
        7,
        "open",
    )
    assert data["created_at"].startswith("2026-11-24T") and data["created_at"].endswith("+08:00")
    assert (data["items"][0]["verdict"], data["items"][0]["verdict_label"]) == (None, "未检查")
    every = new(run, 5, 1)
    item = next(i for i in every["items"] if i["reminder_id"] == known.worked[1])
    assert item["holder"] == "东丽区第002号公司" and item["expires_on"] == "2027-02-17"
    (attempt,) = item["attempts"]
    assert attempt["staff"] == "甲" and attempt["channel"] == "phone"
    assert attempt["outcome"] == "informed" and attempt["conveyed"] == ["expiry", "apply_by"]
    assert attempt["note"] == NOTE and attempt["at"] == "2026-11-24T09:01:00+08:00"


def test_refusals_are_one_chinese_line(run, known: World, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    base = ("inspect", "new", "--section", SECTION, "--size")
    nobody = run(*base, "2")
    assert nobody.exit_code == 1 and "未指定工作人员" in nobody.stderr
    caller = run("--staff", "甲", *base, "2")
    assert caller.exit_code == 1
    assert caller.stderr.strip() == "错误：只有主管或管理员可以进行督促检查；甲是提醒人"
    too_many = run("--staff", SUPERVISOR, *base, "9")
    assert too_many.exit_code == 1 and "只有 5 条已处理" in too_many.stderr
    zero = run(*base, "0", "--staff", SUPERVISOR)
    assert zero.exit_code == 1 and "至少为 1" in zero.stderr
    assert run("inspect", "list", "--staff", "甲").exit_code == 1
    with db.session_scope(engine, write=False) as session:
        assert session.execute(select(table(Inspection).c.id)).all() == []


def test_mark_finish_list_show(run, known: World, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    data = new(run, 2)
    first, second = (i["id"] for i in data["items"])
    ok = run("inspect", "mark", str(first), "pass", "--staff", SUPERVISOR)
    assert ok.exit_code == 0 and ok.stdout.strip().endswith("合格")
    no_comment = run("inspect", "mark", str(second), "problem", "--staff", SUPERVISOR)
    assert no_comment.exit_code == 1 and "写明检查意见" in no_comment.stderr
    early = run("inspect", "finish", str(data["id"]), "--staff", SUPERVISOR)
    assert early.exit_code == 1 and "还有 1 条未检查" in early.stderr
    bad = run("--staff", "甲", "inspect", "mark", str(second), "problem", "--comment", "x")
    assert bad.exit_code == 1 and "甲是提醒人" in bad.stderr
    problem = run(
        "--staff", SUPERVISOR, "inspect", "mark", str(second), "problem", "--comment", "漏讲材料"
    )
    assert problem.exit_code == 0 and "有问题：漏讲材料" in problem.stdout
    done = run("--staff", SUPERVISOR, "inspect", "finish", str(data["id"]), "--note", "一般")
    assert done.exit_code == 0 and "合格 1，有问题 1" in done.stdout
    listed = json.loads(run("inspect", "list", "--json").stdout)
    assert [
        (r["id"], r["status"], r["passed"], r["problems"], r["unreviewed"]) for r in listed
    ] == [(data["id"], "finished", 1, 1, 0)]
    assert listed[0]["note"] == "一般"
    shown = json.loads(run("inspect", "show", str(data["id"]), "--json").stdout)
    assert [(i["verdict"], i["comment"], i["reviewer"]) for i in shown["items"]] == [
        ("pass", "", SUPERVISOR),
        ("problem", "漏讲材料", SUPERVISOR),
    ]
    text = run("inspect", "show", str(data["id"])).stdout
    assert "有问题：漏讲材料" in text and "合格 1，有问题 1，未检查 0" in text
    missing = run("inspect", "show", "999")
    assert missing.exit_code == 1 and "检查记录 999 不存在" in missing.stderr
    a = table(AuditEvent)
    with db.session_scope(engine, write=False) as session:
        actions = session.execute(
            select(a.c.action)
            .where(a.c.entity.in_(["inspection", "inspectionitem"]))
            .order_by(a.c.id)
        ).scalars()
        assert list(actions) == [
            "inspection.draw",
            "inspection.review",
            "inspection.review",
            "inspection.finish",
        ]


def test_export_workbook_cell_by_cell(run, known: World, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = new(run, 5, 1)
    items = {i["reminder_id"]: i for i in data["items"]}
    noted = items[known.worked[1]]
    run("--staff", SUPERVISOR, "inspect", "mark", str(noted["id"]), "problem", "--comment", "=1+1")
    wrong = run("export", "inspection", str(data["id"]), "-o", str(tmp_path / "检查.xls"))
    assert wrong.exit_code == 2 and "文件名须以 .xlsx 结尾" in wrong.stderr
    out = tmp_path / "检查.xlsx"
    result = run("export", "inspection", str(data["id"]), "-o", str(tmp_path / "检查"))
    assert result.exit_code == 0 and "5 条" in result.stdout
    assert result.stdout.strip().endswith(f"到 {out}")
    ws = load_workbook(out).active
    assert ws is not None and ws.title == "检查记录"
    assert ws["A1"].value == f"东丽区政务服务办公室督促检查记录（{SECTION}）"
    header = {
        ws.cell(row=r, column=c).value: ws.cell(row=r, column=c + 1)
        for r in range(3, 9)
        for c in (1, 4)
    }
    assert header["检查编号"].value == data["id"] and header["科室"].value == SECTION
    assert header["检查人"].value == SUPERVISOR
    assert header["检查日期"].value == datetime(2026, 11, 24)
    assert header["检查日期"].number_format == "yyyy-mm-dd"
    assert header["抽样数量"].value == 5 and header["随机种子"].value == 1
    assert header["状态"].value == "检查中" and header["结束日期"].value is None
    assert (header["合格"].value, header["有问题"].value, header["未检查"].value) == (0, 1, 4)
    titles = [c.value for c in ws[10]]
    assert titles[:4] == ["序号", "单位（个人）名称", "许可证书名称", "证书编号"]
    assert_prints_on_a4(ws, "$10:$10")
    labels = [ws.cell(row=r, column=c).value for r in range(3, 9) for c in (1, 4)]
    for column, label in zip("AD" * 6, labels, strict=True):  # on one line: 2 units a character
        assert ws.column_dimensions[column].width >= 2 * len(label) + 1, label
    assert titles[10:] == ["提醒记录", "检查结论", "检查意见", "检查人", "检查日期"]
    rows = {ws.cell(row=r, column=1).value: [c for c in ws[r]] for r in range(11, 16)}
    assert sorted(rows) == [1, 2, 3, 4, 5] and ws.cell(row=16, column=1).value is None
    row = rows[noted["position"]]
    assert row[1].value == "东丽区第002号公司" and row[2].value == "农药经营许可证"
    assert row[5].value == datetime(2027, 2, 17) and row[5].number_format == "yyyy-mm-dd"
    assert row[4].is_date and row[6].is_date and row[7].is_date
    assert row[8].value == "已告知" and row[9].value == 1
    assert row[10].value == (
        f"2026-11-24 09:01 甲 电话 已告知；告知：期满日期、申请换证时限；备注：{NOTE}"
    )
    assert (row[11].value, row[12].value, row[13].value) == ("有问题", "=1+1", SUPERVISOR)
    assert row[12].data_type == "s" and row[14].value == datetime(2026, 11, 24)
    twice = rows[items[known.worked[4]]["position"]]
    assert twice[9].value == 2 and twice[10].value.count("\n") == 1
    assert twice[11].value == "未检查" and twice[14].value is None
    assert not any(
        isinstance(c.value, str) and c.data_type == "f" for r in ws.iter_rows() for c in r
    )
    assert date(2026, 11, 24) == header["检查日期"].value.date()
