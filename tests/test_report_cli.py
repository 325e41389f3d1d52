"""`callqueue report` and `callqueue export report` (issue 7): JSON, table, scope, workbook."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import Engine, update

from callqueue import cli, db
from callqueue.db import table
from callqueue.models import Holder, Section
from callqueue.reports.figures import FIGURE_LABELS, FIGURES

from .report_world import CALLER, EXPECTED, SUPERVISOR, A, B, C, build, holder
from .test_reports import TOTAL_EXPECTED

KEYS = ["section", *FIGURES, "renewal_rate"]


@pytest.fixture
def run(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The CLI on the report world."""
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    ids = build(engine, tmp_path)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli.main, ["--db", db_url, "--today", "2026-11-24", *args])

    invoke.ids = ids  # type: ignore[attr-defined]
    return invoke


def test_json_is_exactly_the_issue_shape(run) -> None:  # type: ignore[no-untyped-def]
    result = run("report", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["date", "sections", "total"]
    assert data["date"] == "2026-11-24"
    assert [list(s) for s in data["sections"]] == [KEYS] * 3
    assert data["sections"] == [{"section": s, **EXPECTED[s]} for s in (C, B, A)]
    assert data["total"] == {"section": "合计", **TOTAL_EXPECTED}


def test_one_section(run) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(run("report", "--section", B, "--json").stdout)
    assert data["sections"] == [{"section": B, **EXPECTED[B]}]
    assert data["total"] == {"section": "合计", **EXPECTED[B]}
    unknown = run("report", "--section", "没有这个科")
    assert unknown.exit_code == 2 and "不存在" in unknown.stderr


def test_scope_callers_see_their_own_section_only(run) -> None:  # type: ignore[no-untyped-def]
    mine = json.loads(run("--staff", CALLER, "report", "--json").stdout)
    assert [s["section"] for s in mine["sections"]] == [A]
    assert mine["total"]["tracked"] == EXPECTED[A]["tracked"]
    own = json.loads(run("--staff", CALLER, "report", "--section", A, "--json").stdout)
    assert own == mine
    refused = run("--staff", CALLER, "report", "--section", B, "--json")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert f"只能查看本科室（{A}）" in refused.stderr
    everything = json.loads(run("--staff", SUPERVISOR, "report", "--json").stdout)
    assert [s["section"] for s in everything["sections"]] == [C, B, A]
    nobody = run("--staff", "无此人", "report")
    assert nobody.exit_code == 1 and "无此人" in nobody.stderr


def test_plain_table_in_chinese(run) -> None:  # type: ignore[no-untyped-def]
    result = run("report")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "督查统计（截至 2026-11-24）"
    assert lines[1].split() == ["指标", C, B, A, "合计"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    for figure in FIGURES:
        assert rows[FIGURE_LABELS[figure]] == [
            str(EXPECTED[C][figure]),
            str(EXPECTED[B][figure]),
            str(EXPECTED[A][figure]),
            str(TOTAL_EXPECTED[figure]),
        ]
    assert rows["按期换证率"] == ["—", "33.3%", "50.0%", "47.4%"]
    assert len(lines) == 2 + len(FIGURES) + 1


def test_export_workbook_cell_by_cell(run, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = run.ids
    with db.session_scope(engine, write=True) as session:  # ledger text that looks like a formula
        h = table(Holder)
        session.execute(update(h).where(h.c.name == holder("U3")).values(name="=1+1 商行"))
    out = tmp_path / "督查.xlsx"
    result = run("--staff", SUPERVISOR, "export", "report", "-o", str(out), "--rows", "3")
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", C, B, A, "工作量"]

    summary = wb["汇总"]
    assert summary["A1"].value == "督查统计（截至 2026-11-24）"
    header = [c.value for c in summary[3]]
    assert header == ["科室", *(FIGURE_LABELS[f] for f in FIGURES), "按期换证率"]
    body = [[c.value for c in row] for row in summary.iter_rows(min_row=4, max_row=7)]
    expected_rows = [
        [name, *(values[f] for f in FIGURES), rate]
        for name, values, rate in (
            (C, EXPECTED[C], "—"),
            (B, EXPECTED[B], 0.3333),
            (A, EXPECTED[A], 0.5),
            ("合计", TOTAL_EXPECTED, 0.4737),
        )
    ]
    assert body == expected_rows
    assert summary.cell(row=7, column=len(header)).number_format == "0.0%"
    assert summary.max_row == 7

    sheet = wb[A]
    assert sheet["A1"].value == f"{A} 督查明细"
    blocks = {
        str(row[0].value): row[0].row
        for row in sheet.iter_rows(min_col=1, max_col=1)
        if isinstance(row[0].value, str) and "：共" in row[0].value
    }
    assert list(blocks) == [
        f"{FIGURE_LABELS[f]}：共 {EXPECTED[A][f]} 条"
        + ("（仅列出前 3 条）" if EXPECTED[A][f] > 3 else "")
        for f in FIGURES
    ]
    start = blocks[f"{FIGURE_LABELS['overdue']}：共 2 条"]
    assert [c.value for c in sheet[start + 1]] == [
        "提醒编号",
        "单位（个人）名称",
        "许可证书",
        "期满日期",
        "申请换证时限",
        "提醒日期",
        "状态",
        "联系次数",
        "最近提醒日期",
    ]
    first = sheet[start + 2]
    assert [c.value for c in first] == [
        ids["U3"],
        "=1+1 商行",
        "农药经营许可证",
        datetime(2027, 3, 1),
        datetime(2027, 1, 31),
        datetime(2026, 11, 18),
        "待联系",
        0,
        None,
    ]
    assert first[1].data_type == "s"  # stayed text, never a formula
    assert all(first[n].is_date and first[n].number_format == "yyyy-mm-dd" for n in (3, 4, 5))
    assert sheet.cell(row=start + 3, column=1).value == ids["U4"]
    assert sheet.cell(row=start + 4, column=1).value is None  # blank line before the next block
    tracked = blocks[f"{FIGURE_LABELS['tracked']}：共 24 条（仅列出前 3 条）"]
    shown = [sheet.cell(row=tracked + n, column=1).value for n in (2, 3, 4, 5)]
    assert all(isinstance(v, int) for v in shown[:3]) and shown[3] is None
    assert not any(
        c.data_type == "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row
    )

    workload = wb["工作量"]
    assert [c.value for c in workload[3]] == ["周（自周一起）", C, B, A]
    assert [c.value for c in workload[4]] == [datetime(2026, 11, 23), 0, 1, 2]
    assert workload["A29"].value == datetime(2027, 5, 17) and workload["A30"].value is None
    assert workload["A4"].is_date
    assert len(workload._charts) == 1
    chart = workload._charts[0]
    assert chart.tagname == "barChart" and len(chart.series) == 3
    with zipfile.ZipFile(out) as parts:
        assert any(name.startswith("xl/charts/chart") for name in parts.namelist())


def test_export_scope_and_unwritable_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mine = tmp_path / "mine.xlsx"
    assert run("--staff", CALLER, "export", "report", "-o", str(mine)).exit_code == 0
    assert load_workbook(mine).sheetnames == ["汇总", A, "工作量"]
    other = tmp_path / "other.xlsx"
    refused = run("--staff", CALLER, "export", "report", "--section", B, "-o", str(other))
    assert refused.exit_code == 1 and "只能查看本科室" in refused.stderr
    assert not other.exists()
    (tmp_path / "a-file").write_text("not a folder")
    blocked = run("export", "report", "-o", str(tmp_path / "a-file" / "x.xlsx"))
    assert blocked.exit_code == 2 and "无法写入" in blocked.stderr


def test_section_names_a_sheet_cannot_take(run, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    long = "东丽区政务服务办公室许可证书到期前提醒服务行政审批业务第一科室"
    renamed = {A: f"{long}[甲]", B: f"{long}/乙:*?", C: "工作量"}
    with engine.begin() as conn:
        for old, new in renamed.items():
            conn.execute(
                update(table(Section)).where(table(Section).c.name == old).values(name=new)
            )
    out = tmp_path / "督查统计.xlsx"
    result = run("export", "report", "-o", str(out))
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    names = wb.sheetnames
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names), names
    assert len({n.casefold() for n in names}) == len(names)
    assert (names[0], names[-1]) == ("汇总", "工作量")
    titles = {wb[n]["A1"].value for n in names[1:-1]}
    assert titles == {f"{name} 督查明细" for name in renamed.values()}


def test_an_exported_workbook_is_readable_as_any_new_file_is(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A workbook for the shared folder gets the usual permissions (umask), not owner-only."""
    old = os.umask(0o022)
    try:
        out = tmp_path / "共享" / "督查统计.xlsx"
        assert run("export", "report", "-o", str(out)).exit_code == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
        out.chmod(0o664)  # written again, it keeps the mode the office gave it
        assert run("export", "report", "-o", str(out)).exit_code == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o664
    finally:
        os.umask(old)
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left
