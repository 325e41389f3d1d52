"""Office calendar overrides stored in the database, and the coverage warning."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import select

from callqueue import cli, db, workdays
from callqueue.clock import SHANGHAI
from callqueue.holiday_file import read_schedule, write_schedule
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


def test_setting_a_day_again_without_a_reason_keeps_its_reason(engine: Engine) -> None:
    monday = date(2026, 12, 7)

    def stored() -> str:
        with db.session_scope(engine, write=False) as session:
            (found,) = workdays.list_overrides(session, year=2026)
            return found.reason

    with db.session_scope(engine, write=True) as session:
        workdays.set_override(session, day=monday, is_workday=False, reason="停电", actor="a")
    with db.session_scope(engine, write=True) as session:
        workdays.set_override(session, day=monday, is_workday=False, reason="", actor="a")
    assert stored() == "停电"
    with db.session_scope(engine, write=True) as session:
        workdays.set_override(session, day=monday, is_workday=False, reason="检修", actor="a")
    assert stored() == "检修"
    # Opened instead: the closing's reason no longer fits.
    with db.session_scope(engine, write=True) as session:
        workdays.set_override(session, day=monday, is_workday=True, reason="", actor="a")
    assert stored() == ""


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
    refused = runner.invoke(
        cli.main, [*base, "calendar", "set", "2026-12-07", "closed", "--reason", "停电"]
    )
    assert refused.exit_code == 1 and "用 --staff 指定主管" in refused.stderr
    assert (
        runner.invoke(
            cli.main,
            [*base, "staff", "add", "李主管", "--section", "政务服务科", "--role", "supervisor"],
        ).exit_code
        == 0
    )
    result = runner.invoke(
        cli.main,
        [*base, "--staff", "李主管", "calendar", "set", "2026-12-07", "closed", "--reason", "停电"],
    )
    assert result.exit_code == 0 and "休息日" in result.output
    data = json.loads(runner.invoke(cli.main, [*base, "calendar", "--json"]).stdout)
    assert data["overrides"] == [{"day": "2026-12-07", "is_workday": False, "reason": "停电"}]
    assert [y["covered"] for y in data["years"]] == [True, False]
    bad = runner.invoke(
        cli.main, [*base, "--staff", "李主管", "calendar", "set", "2026-13-01", "open"]
    )
    assert bad.exit_code == 1 and "日期" in bad.stderr


SCHEDULE_2027 = """# 测试用的虚构安排，不是国务院办公厅的真实通知
年份,2027
元旦,2027-01-01~2027-01-03,休
春节,2027-02-06~2027-02-12,休
春节,2027-02-13,班
春节,2027-02-14,班
"""


def _load(session: Any, text: str, source: str = "test") -> workdays.ScheduleLoad:
    return workdays.load_schedule(
        session, schedule=read_schedule(text), source=source, actor="李主管"
    )


def test_a_loaded_year_decides_its_working_days_and_overrides_still_win(engine: Engine) -> None:
    with db.session_scope(engine, write=True) as session:
        result = _load(session, SCHEDULE_2027)
    # Before: weekends only. 01-01 (Fri), 02-08..02-12 (Mon-Fri) close; 02-13/14 (Sat/Sun) open.
    assert [d for d, _ in result.changed_days] == [
        date(2027, 1, 1),
        *(date(2027, 2, d) for d in range(8, 15)),
    ]
    assert result.holidays == 10 and result.workdays == 2 and not result.replaced
    with db.session_scope(engine, write=True) as session:
        cal = workdays.load_calendar(session)
        assert cal.is_covered(2027) and cal.coverage_warning([2027]) is None
        assert not cal.is_workday(date(2027, 2, 8)) and cal.is_workday(date(2027, 2, 13))
        assert cal.is_workday(date(2027, 3, 1)) and not cal.is_workday(date(2027, 3, 6))
        assert cal.prev_workday(date(2027, 2, 12)) == date(2027, 2, 5)
        workdays.set_override(
            session, day=date(2027, 2, 13), is_workday=False, reason="停电", actor="李主管"
        )
    with db.session_scope(engine, write=False) as session:
        assert not workdays.load_calendar(session).is_workday(date(2027, 2, 13))
        (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "calendar.load"))
        assert event.entity_id == "2027" and event.after is not None
        assert event.after["holidays"] == 10 and len(event.after["changed_days"]) == 8


def test_the_day_a_year_was_loaded_is_the_office_day(engine: Engine) -> None:
    early = datetime(2026, 11, 25, 7, 30, tzinfo=SHANGHAI)  # still 11-24 in UTC
    with db.session_scope(engine, write=True) as session:
        workdays.load_schedule(
            session, schedule=read_schedule(SCHEDULE_2027), source="t", actor="李主管", now=early
        )
    with db.session_scope(engine, write=False) as session:
        (loaded,) = workdays.loaded_years(session)
    assert loaded.loaded_at == early and loaded.loaded_at.date() == date(2026, 11, 25)


def test_loading_a_year_again_replaces_it(engine: Engine) -> None:
    with db.session_scope(engine, write=True) as session:
        _load(session, SCHEDULE_2027, "第一版")
    with db.session_scope(engine, write=True) as session:
        again = _load(session, "年份,2027\n元旦,2027-01-01,休", "更正")
    assert again.replaced and again.holidays == 1
    # The days only the first version declared go back to plain weekdays/weekends.
    assert date(2027, 2, 8) in [d for d, _ in again.changed_days]
    with db.session_scope(engine, write=False) as session:
        cal = workdays.load_calendar(session)
        assert cal.is_workday(date(2027, 2, 8)) and not cal.is_workday(date(2027, 2, 13))
        (loaded,) = workdays.loaded_years(session)
        assert (loaded.year, loaded.source, loaded.holidays, loaded.workdays) == (
            2027,
            "更正",
            1,
            0,
        )
        stored = workdays.official_schedule(session, year=2027)
        assert stored is not None
        assert stored.days == read_schedule("年份,2027\n元旦,2027-01-01,休").days


def test_a_loaded_year_the_library_knows_replaces_the_library(engine: Engine) -> None:
    with db.session_scope(engine, write=True) as session:
        exported = workdays.official_schedule(session, year=2026)
        assert exported is not None
        same = _load(session, write_schedule(exported))
        assert same.changed_days == []  # the library's own schedule changes nothing
        moved = _load(session, write_schedule(exported).replace("春节,2026-02-28,班\n", ""))
        assert moved.changed_days == [(date(2026, 2, 28), False)]


def test_cli_loads_a_file_for_supervisors_only_and_dry_run_writes_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    runner = CliRunner()
    base = ["--db", db_url, "--today", "2026-11-24"]
    for name, role in (("李主管", "supervisor"), ("张敏", "caller")):
        added = runner.invoke(
            cli.main, [*base, "staff", "add", name, "--section", "政务服务科", "--role", role]
        )
        assert added.exit_code == 0, added.output
    file = tmp_path / "2027.txt"
    file.write_text(SCHEDULE_2027, encoding="utf-8")
    caller = runner.invoke(cli.main, [*base, "--staff", "张敏", "calendar", "load", str(file)])
    assert caller.exit_code == 1 and "只有主管或管理员可以载入节假日安排" in caller.stderr
    dry = runner.invoke(
        cli.main, [*base, "--staff", "李主管", "calendar", "load", str(file), "--dry-run", "--json"]
    )
    assert dry.exit_code == 0, dry.output
    data = json.loads(dry.stdout)
    assert (data["year"], data["holidays"], data["workdays"], data["dry_run"]) == (
        2027,
        10,
        2,
        True,
    )
    assert {"day": "2027-02-13", "is_workday": True} in data["changed_days"]
    status = json.loads(runner.invoke(cli.main, [*base, "calendar", "--json"]).stdout)
    assert [y["covered"] for y in status["years"]] == [True, False]
    done = runner.invoke(
        cli.main,
        [*base, "--staff", "李主管", "calendar", "load", str(file), "--source", "国办发明电"],
    )
    assert done.exit_code == 0, done.output
    assert "载入2027年节假日安排：放假 10 天，调休上班 2 天" in done.output
    assert "2027-02-13 星期六 → 上班" in done.output
    assert done.output.startswith("已载入2027年")
    load = [*base, "--staff", "李主管", "calendar", "load", str(file), "--source", "国办发明电"]
    again_dry = runner.invoke(cli.main, [*load, "--dry-run"])
    assert again_dry.output.startswith("（试运行，未保存）将替换2027年节假日安排")
    again = runner.invoke(cli.main, load)
    assert again.exit_code == 0 and again.output.startswith("已替换2027年节假日安排")
    shown = runner.invoke(cli.main, [*base, "calendar"])
    assert "2027年：已载入办公室提供的节假日安排（国办发明电" in shown.output
    assert "尚未载入" not in shown.output
    exported = runner.invoke(cli.main, [*base, "calendar", "export", "--year", "2027"])
    assert read_schedule(exported.output) == read_schedule(SCHEDULE_2027)


def test_cli_refuses_a_broken_file_and_writes_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    runner = CliRunner()
    base = ["--db", db_url, "--today", "2026-11-24", "--staff", "李主管"]
    runner.invoke(
        cli.main, [*base, "staff", "add", "李主管", "--section", "政务服务科", "--role", "admin"]
    )
    broken = tmp_path / "2027.txt"
    broken.write_text("元旦,2027-01-01,休\n春节,2027-02-30,休\n", encoding="utf-8")
    result = runner.invoke(cli.main, [*base, "calendar", "load", str(broken)])
    assert result.exit_code == 1 and "第2行" in result.stderr and "未载入" in result.stderr
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("元旦,2027-01-01,休".encode("gbk"))
    result = runner.invoke(cli.main, [*base, "calendar", "load", str(gbk)])
    assert result.exit_code == 1 and "UTF-8" in result.stderr
    missing = runner.invoke(cli.main, [*base, "calendar", "load", str(tmp_path / "none.txt")])
    assert missing.exit_code == 1 and "无法读取" in missing.stderr
    status = json.loads(runner.invoke(cli.main, [*base, "calendar", "--json"]).stdout)
    assert [y["covered"] for y in status["years"]] == [True, False]


def test_loading_a_schedule_moves_unworked_reminders_and_keeps_worked_ones(
    engine: Engine, tmp_path: Path
) -> None:
    from callqueue.catalog_change.redate import redate_for_calendar
    from callqueue.dates import reminder_dates
    from callqueue.db import table
    from callqueue.models import Attempt, CatalogItem, Certificate, Reminder

    from .queue_world import NOW, TODAY, build, due_row

    ids = build(
        engine,
        tmp_path,
        [due_row(1, expires_on=date(2027, 5, 10)), due_row(2, expires_on=date(2027, 5, 11))],
    )
    worked, fresh = sorted(ids.values())
    r = table(Reminder)
    with db.session_scope(engine, write=True) as session:
        session.add(Attempt(reminder_id=worked, at=NOW, outcome="informed"))
        session.execute(r.update().where(r.c.id == worked).values(attempts=1, state="informed"))
    with db.session_scope(engine, write=False) as session:
        before = {row.id: row for row in session.execute(r.select()).all()}
    with db.session_scope(engine, write=True) as session:
        _load(session, SCHEDULE_2027)
        moved = redate_for_calendar(session=session, today=TODAY, now=NOW, margin_workdays=10)
    assert moved.reminders == 1
    with db.session_scope(engine, write=False) as session:
        after = {row.id: row for row in session.execute(r.select()).all()}
        cal = workdays.load_calendar(session)
        c, item = table(Certificate), table(CatalogItem)
        rule = session.execute(
            select(item.c.lead_months, item.c.filing_deadline_days, item.c.deadline_kind)
            .join(c, c.c.catalog_item_id == item.c.id)
            .where(c.c.id == after[fresh].certificate_id)
        ).one()
    expected = reminder_dates(
        expires_on=date(2027, 5, 11),
        lead_months=rule.lead_months,
        filing_days=rule.filing_deadline_days,
        deadline_kind=rule.deadline_kind,
        calendar=cal,
        margin_workdays=10,
    )
    assert (after[fresh].remind_on, after[fresh].apply_by) == (
        expected.remind_on,
        expected.apply_by,
    )
    assert (after[fresh].remind_on, after[fresh].apply_by) != (
        before[fresh].remind_on,
        before[fresh].apply_by,
    )
    assert after[worked] == before[worked]  # worked: the holder was told the old dates
