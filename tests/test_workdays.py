"""Office calendar overrides stored in the database, and the coverage warning."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import select

from callqueue import cli, db, workdays
from callqueue.models import AuditEvent, CalendarYear


def test_overrides_change_the_calendar_and_are_audited(engine: Engine) -> None:
    monday, saturday = date(2026, 12, 7), date(2026, 12, 12)
    with db.session_scope(engine, write=True) as session:
        workdays.set_override(session, day=monday, is_workday=False, reason="临时闭馆", actor="a")
        workdays.set_override(session, day=saturday, is_workday=True, reason="集中办理", actor="a")
    with db.session_scope(engine, write=False) as session:
        cal = workdays.load_calendar(session)
        assert not cal.is_workday(monday) and cal.is_workday(saturday)
        assert cal.prev_workday(monday) == date(2026, 12, 4)
        assert [o.day for o in workdays.list_overrides(session, year=2026)] == [monday, saturday]
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "calendar.override"))
        assert [e.after["reason"] for e in events.all() if e.after] == ["临时闭馆", "集中办理"]
    with db.session_scope(engine, write=True) as session:
        workdays.set_override(session, day=monday, is_workday=None, reason="恢复", actor="a")
    with db.session_scope(engine, write=False) as session:
        assert workdays.load_calendar(session).is_workday(monday)


def test_loaded_year_counts_as_covered(engine: Engine) -> None:
    with db.session_scope(engine, write=False) as session:
        assert not workdays.load_calendar(session).is_covered(2027)
    with db.session_scope(engine, write=True) as session:
        from callqueue import clock

        session.add(CalendarYear(year=2027, source="国办发明电", loaded_at=clock.now()))
    with db.session_scope(engine, write=False) as session:
        assert workdays.load_calendar(session).coverage_warning([2026, 2027]) is None


def test_cli_calendar_warns_about_next_year(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    runner = CliRunner()
    base = ["--db", db_url, "--today", "2026-11-24"]
    result = runner.invoke(cli.main, [*base, "calendar"])
    assert result.exit_code == 0
    assert "2026年：已载入" in result.output and "2027年的法定节假日" in result.output
    result = runner.invoke(
        cli.main, [*base, "calendar", "set", "2026-12-07", "closed", "--reason", "停电"]
    )
    assert result.exit_code == 0 and "休息日" in result.output
    data = json.loads(runner.invoke(cli.main, [*base, "calendar", "--json"]).stdout)
    assert data["overrides"] == [{"day": "2026-12-07", "is_workday": False, "reason": "停电"}]
    assert [y["covered"] for y in data["years"]] == [True, False]
    bad = runner.invoke(cli.main, [*base, "calendar", "set", "2026-13-01", "open"])
    assert bad.exit_code == 1 and "日期" in bad.stderr
