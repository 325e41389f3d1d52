"""The command line contract (DESIGN.md §7) for what exists so far."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from callqueue import cli, cli_demo, clock, db


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Invoke the CLI against the test database, isolated from the user's settings."""
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("CALLQUEUE_TODAY", raising=False)

    def invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli.main, ["--db", db_url, *args], env=env)

    return invoke


def test_catalog_json_is_utf8_and_nothing_else(run) -> None:  # type: ignore[no-untyped-def]
    result = run("catalog", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout_bytes.decode("utf-8"))
    assert len(data) == 14
    assert data[13]["certificate_name"] == "兽药经营许可证"
    assert "\\u" not in result.stdout  # no ASCII escaping
    assert data[4]["validity_label"] == "2年/3年/4年"


def test_catalog_check_prints_the_late_items(run) -> None:  # type: ignore[no-untyped-def]
    result = run("catalog", "check")
    assert result.exit_code == 0
    assert "兽药经营许可证" in result.output and "180日" in result.output
    assert "卫生许可证" in result.output
    data = json.loads(run("catalog", "check", "--json").stdout)
    late = {item["certificate_name"]: item for item in data["late"]}
    assert late["兽药经营许可证"]["shortfall_days"] > 90
    assert data["office_missing"] == ["服务电话"]


def test_export_catalog(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "目录.xlsx"
    result = run("export", "catalog", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert load_workbook(out)["附件1"]["C4"].value == "排污许可证"


def test_office_settings_round_trip(run) -> None:  # type: ignore[no-untyped-def]
    assert run("catalog", "office", "--phone", "022-84391234").exit_code == 0
    result = run("catalog", "office")
    assert "服务电话：022-84391234" in result.output
    assert run("catalog", "check", "--json").stdout.count("服务电话") == 0


def test_catalog_load_reports_counts(run) -> None:  # type: ignore[no-untyped-def]
    from callqueue.bootstrap import catalog_seed_path

    result = run("catalog", "load", str(catalog_seed_path()))
    assert result.exit_code == 0
    assert "新增 0 项，修改 0 项，未变 14 项" in result.output


def test_db_upgrade_and_status(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    runner = CliRunner()
    result = runner.invoke(cli.main, ["--db", empty_db_url, "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"空 → {db.head_revision()}" in result.output
    result = runner.invoke(cli.main, ["--db", empty_db_url, "db", "status"])
    assert "需要升级" not in result.output and db.head_revision() in result.output
    result = runner.invoke(cli.main, ["--db", empty_db_url, "catalog", "--json"])
    assert len(json.loads(result.stdout)) == 14


def test_env_database_url(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    result = CliRunner().invoke(cli.main, ["catalog", "--json"], env={"CALLQUEUE_DB": db_url})
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 14


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres:hunter2@127.0.0.1:1/none", "mysql+nodriver://x/y", "bogus"],
)
def test_unreachable_database_is_one_chinese_line_and_exit_2(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    result = CliRunner().invoke(cli.main, ["--db", url, "catalog"])
    assert result.exit_code == 2
    assert result.stderr.startswith("错误：") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output and "hunter2" not in result.stderr


def test_today_option_and_env(run) -> None:  # type: ignore[no-untyped-def]
    bad = run("--today", "2026-02-30", "catalog")
    assert bad.exit_code == 2 and "日期" in bad.output
    captured: list[object] = []

    @cli.main.command(name="_show_today")
    @cli.click.pass_obj
    def _show(obj: cli.AppContext) -> None:
        captured.append(obj.today)

    try:
        assert run("--today", "2026-10-08", "_show_today").exit_code == 0
        assert run("_show_today", env={"CALLQUEUE_TODAY": "2027-01-04"}).exit_code == 0
    finally:
        cli.main.commands.pop("_show_today")
    assert [str(d) for d in captured] == ["2026-10-08", "2027-01-04"]


def test_bad_settings_file_is_a_message(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("margin_workdays = 'many'\n", encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["catalog"], env={"CALLQUEUE_CONFIG": str(cfg)})
    assert result.exit_code == 2 and "margin_workdays" in result.stderr


def test_demo_without_tui_builds_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setattr(cli_demo, "data_dir", lambda: tmp_path / "data")
    result = CliRunner().invoke(
        cli.main, ["demo", "--no-tui", "--certificates", "400"], env={"CALLQUEUE_DB": ""}
    )
    assert result.exit_code == 0, result.output
    url = f"sqlite:///{tmp_path / 'data' / 'demo.sqlite'}"
    ledger = CliRunner().invoke(cli.main, ["--db", url, "ledger", "--all", "--json"])
    rows = json.loads(ledger.stdout)
    assert len(rows) == 400
    assert {"due", "scheduled"} <= {r["state"] for r in rows}
    today = clock.today().isoformat()
    assert all(r["issued_on"] <= today for r in rows)  # none issued in the future
    assert len({r["section"] for r in rows}) == 3
    queue = CliRunner().invoke(cli.main, ["--db", url, "--staff", "张敏", "queue", "--json"])
    assert json.loads(queue.stdout), queue.output
    # Demo data never goes into a database that already holds certificates.
    again = CliRunner().invoke(cli.main, ["--db", url, "demo", "--no-tui"])
    assert again.exit_code == 2 and "已有" in again.stderr


def test_unexpected_errors_are_one_line_and_logged_masked(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    log_file = tmp_path / "cq.log"
    monkeypatch.setenv("CALLQUEUE_LOG", str(log_file))

    @cli.main.command(name="_boom")
    def _boom() -> None:
        raise RuntimeError("dialling 13800138000 failed for 022-23456789 (王小明)")

    try:
        result = run("_boom")
    finally:
        cli.main.commands.pop("_boom")
    assert result.exit_code == 1
    assert (
        result.stderr.startswith("错误：程序内部错误（RuntimeError）")
        and "Traceback" not in result.output
    )
    assert "13800138000" not in result.output
    logged = log_file.read_text(encoding="utf-8")
    assert "Traceback" in logged and "RuntimeError" in logged
    assert "13800138000" not in logged and "23456789" not in logged
    assert "138****8000" in logged
    assert "王小明" not in logged and "王＊＊" in logged  # names in a message are data too


@pytest.mark.parametrize("command", [["catalog"], ["catalog", "--json"], ["report"]])
def test_a_closed_stdout_pipe_ends_quietly(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`callqueue report | head`: the reader went away; no error message, exit 1 (as click)."""
    import subprocess
    import sys

    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("CALLQUEUE_LOG", str(tmp_path / "cq.log"))
    url = f"sqlite:///{tmp_path / 'pipe.sqlite'}"
    assert CliRunner().invoke(cli.main, ["--db", url, "catalog"]).exit_code == 0  # migrated
    args = [sys.executable, "-m", "callqueue", "--db", url, "--today", "2026-11-24", *command]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before anything is written
    _, err = proc.communicate(timeout=60)
    assert err.decode("utf-8") == ""
    assert proc.returncode == 1
