"""Callers change their own section's data only; supervisors and admins change any section's.

Every write path a caller can reach (command line and the TUI's desks, both through the same
services) is tried on the other section's data: refused with a Chinese message, exit code 1 on
the command line, and the database exactly as before. A supervisor then does the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select, update

from callqueue import cli, db
from callqueue.config import Settings
from callqueue.db import table
from callqueue.models import (
    Appointment,
    AppointmentStatus,
    AssistStage,
    Attempt,
    AuditEvent,
    Certificate,
    Contact,
    ContactEmail,
    ContactPhone,
    Holder,
    ImportBatch,
    OutboxEmail,
    Outcome,
    Reminder,
)
from callqueue.notify.outbox import MailRefused
from callqueue.queue import outcomes, staff
from callqueue.queue.appointments import AppointmentRefused
from callqueue.queue.assisted import AssistRefused
from callqueue.queue.order import QueueEntry
from callqueue.queue.outcomes import OutcomeInput, OutcomeRefused
from callqueue.records import RecordRefused
from callqueue.records.manual import CertificateRefused, ManualCertificate
from callqueue.roles import NotAllowed
from callqueue.tui.assisted_desk import AssistedDesk
from callqueue.tui.desk import Desk, failure_text
from callqueue.tui.office_desk import OfficeDesk
from callqueue.tui.records_desk import RecordsDesk

from .ledger_files import write_annex2
from .queue_world import NOW, SECTION, TODAY, due_row, policy
from .scope_world import OTHER, build_world, other_row

Run = Callable[..., Result]
WATCHED = (
    Reminder,
    Attempt,
    Appointment,
    OutboxEmail,
    AuditEvent,
    Certificate,
    Holder,
    Contact,
    ContactPhone,
    ContactEmail,
    ImportBatch,
)


@pytest.fixture
def run(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The CLI on the two-section world (scope_world): 甲 calls for SECTION, 丁 for OTHER."""
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("CALLQUEUE_STAFF", raising=False)
    build_world(engine, tmp_path)

    def invoke(*args: str, who: str | None = None) -> Result:
        head = ["--db", db_url, "--today", TODAY.isoformat()]
        if who:
            head += ["--staff", who]
        return CliRunner().invoke(cli.main, [*head, *args])

    return invoke


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a write could touch, in id order."""
    with db.session_scope(engine, write=False) as session:
        return {
            model.__name__: [
                tuple(row)
                for row in session.execute(select(table(model)).order_by(table(model).c.id))
            ]
            for model in WATCHED
        }


def ids_in(engine: Engine, model: type[Any], section: str) -> list[int]:
    """The ids of a section's reminders or appointments, in id order."""
    t = table(model)
    with db.session_scope(engine, write=False) as session:
        sid = staff.section_id(session, section)
        return sorted(session.execute(select(t.c.id).where(t.c.section_id == sid)).scalars())


def value(engine: Engine, model: type[Any], column: str, row_id: int) -> Any:
    t = table(model)
    with db.session_scope(engine, write=False) as session:
        return session.execute(select(t.c[column]).where(t.c.id == row_id)).scalar_one()


def refused_by_section(result: Result, what: str, kind: str) -> None:
    """Exit code 1, the Chinese refusal naming the data, its section and the caller's own."""
    assert result.exit_code == 1, result.output
    assert f"{what} 属于{OTHER}" in result.stderr, result.stderr
    assert f"甲是{SECTION}的提醒人，只能处理本科室（{SECTION}）的{kind}" in result.stderr
    assert result.stdout == ""


# --- command line -------------------------------------------------------------------------


def test_call_log_on_another_sections_reminder(run: Run, engine: Engine) -> None:
    theirs = ids_in(engine, Reminder, OTHER)[3]  # due, not worked yet
    before = snapshot(engine)
    for outcome in ("informed", "no_answer", "not_renewing"):
        refused = run("call", "log", str(theirs), outcome, "--reason", "停业", who="甲")
        refused_by_section(refused, f"提醒 {theirs}", "提醒")
    assert snapshot(engine) == before
    # The section is checked first: a closed reminder of another section says whose it is.
    allowed = run("call", "log", str(theirs), "informed", who="主任")
    assert allowed.exit_code == 0, allowed.output
    assert value(engine, Reminder, "state", theirs) == "informed"
    again = run("call", "log", str(theirs), "not_renewing", "--reason", "停业", who="管理")
    assert again.exit_code == 0, again.output
    closed = run("call", "log", str(theirs), "renewed", who="甲")
    refused_by_section(closed, f"提醒 {theirs}", "提醒")
    mine = ids_in(engine, Reminder, SECTION)[3]
    assert run("call", "log", str(mine), "informed", who="甲").exit_code == 0


def test_email_queue_for_another_sections_reminder(run: Run, engine: Engine) -> None:
    theirs = ids_in(engine, Reminder, OTHER)[3]
    before = snapshot(engine)
    refused = run("email", "queue", str(theirs), "--no-send", who="甲")
    refused_by_section(refused, f"提醒 {theirs}", "提醒")
    assert snapshot(engine) == before
    allowed = run("email", "queue", str(theirs), "--no-send", "--json", who="主任")
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["queued"]["outbox_id"] > max(
        row[0] for row in before["OutboxEmail"]
    )


def test_email_retry_of_another_sections_email(run: Run, engine: Engine) -> None:
    o = table(OutboxEmail)
    theirs_reminders = ids_in(engine, Reminder, OTHER)
    theirs_bookings = ids_in(engine, Appointment, OTHER)
    with db.session_scope(engine, write=True) as session:
        rows = session.execute(
            select(o.c.kind, o.c.id)
            .where(o.c.reminder_id.in_(theirs_reminders) | o.c.appointment_id.in_(theirs_bookings))
            .order_by(o.c.id)
        ).all()
        failed = list({kind: outbox_id for kind, outbox_id in reversed(rows)}.values())
        session.execute(
            update(o).where(o.c.id.in_(failed)).values(status="failed", dedupe_key=None)
        )
    kinds = {value(engine, OutboxEmail, "kind", i) for i in failed}
    assert kinds == {"reminder", "appointment"}  # both ways of finding the section
    before = snapshot(engine)
    for outbox_id in failed:
        refused = run("email", "retry", str(outbox_id), who="甲")
        refused_by_section(refused, f"邮件 {outbox_id}", "邮件")
    assert snapshot(engine) == before
    for outbox_id in failed:
        allowed = run("email", "retry", str(outbox_id), who="主任")
        assert allowed.exit_code == 0, allowed.output
        assert value(engine, OutboxEmail, "status", outbox_id) == "queued"


def test_appointment_cancel_and_no_show_of_another_section(run: Run, engine: Engine) -> None:
    (theirs,) = ids_in(engine, Appointment, OTHER)
    before = snapshot(engine)
    for action in ("cancel", "no-show"):
        refused = run("appointments", action, str(theirs), "--note", "误操作", who="甲")
        refused_by_section(refused, f"预约 {theirs}", "预约")
    assert snapshot(engine) == before
    assert run("appointments", "cancel", str(theirs), who="主任").exit_code == 0
    assert value(engine, Appointment, "status", theirs) == "cancelled"
    (mine,) = ids_in(engine, Appointment, SECTION)
    later = ("--today", "2026-11-26")  # the visit's time has come: it can be missed
    assert run(*later, "appointments", "no-show", str(mine), who="甲").exit_code == 0


def test_assisted_advance_of_another_sections_case(run: Run, engine: Engine) -> None:
    theirs = ids_in(engine, Reminder, OTHER)[2]  # build_world's assisted case
    before = snapshot(engine)
    refused = run("assisted", "advance", str(theirs), "preparing", who="甲")
    refused_by_section(refused, f"提醒 {theirs}", "帮办代办案件")
    assert snapshot(engine) == before
    assert run("assisted", "advance", str(theirs), "preparing", who="主任").exit_code == 0
    assert value(engine, Reminder, "assist_stage", theirs) == "preparing"


def ledger_sections(run: Run) -> dict[str, str]:
    """Holder → section of every certificate in the ledger."""
    return {r["holder"]: r["section"] for r in json.loads(run("ledger", "--json").stdout)}


def test_import_naming_another_section(run: Run, engine: Engine, tmp_path: Path) -> None:
    new = [{**other_row(n), "holder": f"新单位{n}"} for n in (7, 8)]
    named = write_annex2(tmp_path / "named.xlsx", new, section=OTHER)
    plain = write_annex2(tmp_path / "plain.xlsx", new, section=None, sheet="台账")
    before = snapshot(engine)
    attempts = (
        (["import", str(plain), "--section", OTHER], f"不能导入到{OTHER}："),
        (["import", str(named)], f"工作表“Sheet1”中的证书属于{OTHER}；"),
        (["import", str(named), "--dry-run"], f"工作表“Sheet1”中的证书属于{OTHER}；"),
        (["import", str(named), "--section", SECTION], f"工作表“Sheet1”中的证书属于{OTHER}；"),
    )
    for args, head in attempts:
        refused = run(*args, who="甲")
        assert refused.exit_code == 1, refused.output
        assert head in refused.stderr, refused.stderr
        assert f"甲是{SECTION}的提醒人，只能导入本科室（{SECTION}）的台账" in refused.stderr
    assert snapshot(engine) == before
    assert not (tmp_path / "named-未导入.xlsx").exists()
    allowed = run("import", str(named), "--json", who="主任")
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["imported"] == 2
    assert {ledger_sections(run)[f"新单位{n}"] for n in (7, 8)} == {OTHER}


def test_import_updating_another_sections_certificate(
    run: Run, engine: Engine, tmp_path: Path
) -> None:
    # 社会事务科's own certificate, with a new phone: to a caller of SECTION it is not theirs.
    changed = {**other_row(4), "contact": "13911112222"}
    path = write_annex2(tmp_path / "theirs.xlsx", [changed], section=None, sheet="台账")
    before = snapshot(engine)
    refused = run("import", str(path), who="甲")
    assert refused.exit_code == 1, refused.output
    assert "工作表“台账”第" in refused.stderr and f"已在台账中，属于{OTHER}；" in refused.stderr
    assert snapshot(engine) == before
    allowed = run("import", str(path), "--json", who="丁")
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["updated"] == 1


def test_import_sections_for_a_caller_and_for_nobody_named(
    run: Run, engine: Engine, tmp_path: Path
) -> None:
    # A sheet naming no section: a caller's goes to their own section (with the catalog's
    # disagreement as a warning); with nobody named the catalog decides, as before.
    rows = [due_row(7, holder="甲的新单位"), {**other_row(12), "holder": "甲的卫生单位"}]
    mine = write_annex2(tmp_path / "mine.xlsx", rows, section=None, sheet="台账")
    result = run("import", str(mine), "--json", who="甲")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["imported"] == 2
    assert any(f"本表科室为“{SECTION}”" in p["message"] for p in report["problems"])
    sections = ledger_sections(run)
    assert (sections["甲的新单位"], sections["甲的卫生单位"]) == (SECTION, SECTION)
    rows = [due_row(8, holder="操作员单位"), {**other_row(13), "holder": "操作员卫生单位"}]
    plain = write_annex2(tmp_path / "plain.xlsx", rows, section=None, sheet="台账")
    assert run("import", str(plain)).exit_code == 0
    sections = ledger_sections(run)
    assert (sections["操作员单位"], sections["操作员卫生单位"]) == (SECTION, OTHER)
    unknown = run("import", str(plain), who="无名氏")
    assert unknown.exit_code == 1 and "无名氏" in unknown.stderr


# --- the TUI's desks ----------------------------------------------------------------------


def member(engine: Engine, name: str) -> staff.StaffRow:
    with db.session_scope(engine, write=False) as session:
        return staff.get_staff(session, name)


def desk_of(engine: Engine, name: str) -> Desk:
    return Desk(
        engine=engine, settings=Settings(), staff=member(engine, name), today=TODAY, now=lambda: NOW
    )


def office_of(engine: Engine, name: str) -> OfficeDesk:
    return OfficeDesk(
        engine=engine, settings=Settings(), staff=member(engine, name), today=TODAY, now=lambda: NOW
    )


def entry_of(engine: Engine, reminder_id: int) -> QueueEntry:
    r = table(Reminder)
    with db.session_scope(engine, write=False) as session:
        holder, section = session.execute(
            select(r.c.holder_id, r.c.section_id).where(r.c.id == reminder_id)
        ).one()
    return QueueEntry(holder_id=holder, holder="单位", section_id=section, reminders=[reminder_id])


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Engine:
    build_world(engine, tmp_path)
    return engine


def test_desk_outcomes_and_emails_on_another_section(world: Engine) -> None:
    entry = entry_of(world, ids_in(world, Reminder, OTHER)[3])
    caller, supervisor = desk_of(world, "甲"), desk_of(world, "主任")
    before = snapshot(world)
    with pytest.raises(OutcomeRefused, match=f" 属于{OTHER}；甲是{SECTION}的提醒人"):
        caller.record(entry, Outcome.INFORMED, OutcomeInput())
    assert caller.refusal(entry, Outcome.INFORMED, OutcomeInput()) is not None
    with pytest.raises(MailRefused, match=f" 属于{OTHER}；甲是{SECTION}的提醒人"):
        caller.email(entry)
    assert snapshot(world) == before
    assert supervisor.refusal(entry, Outcome.INFORMED, OutcomeInput()) is None
    assert "邮件已排队" in supervisor.email(entry)
    (done,) = supervisor.record(entry, Outcome.INFORMED, OutcomeInput())
    assert done.state == "informed"


def test_office_desk_appointments_and_import_of_another_section(
    world: Engine, tmp_path: Path
) -> None:
    (theirs,) = ids_in(world, Appointment, OTHER)
    named = write_annex2(
        tmp_path / "named.xlsx", [{**other_row(9), "holder": "新单位"}], section=OTHER
    )
    caller, supervisor = office_of(world, "甲"), office_of(world, "主任")
    before = snapshot(world)
    for status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        with pytest.raises(AppointmentRefused, match=f"预约 {theirs} 属于{OTHER}"):
            caller.set_appointment(theirs, status, "")
    for section in (None, OTHER):
        with pytest.raises(NotAllowed, match=f"只能导入本科室（{SECTION}）的台账") as caught:
            caller.import_ledger(named, section=section, dry_run=False, progress=lambda *_: None)
        assert failure_text("导入失败", caught.value) == str(caught.value)
    assert snapshot(world) == before
    supervisor.set_appointment(theirs, AppointmentStatus.CANCELLED, "")
    assert value(world, Appointment, "status", theirs) == "cancelled"
    report = supervisor.import_ledger(named, section=None, dry_run=False, progress=lambda *_: None)
    assert report.imported == 1


def test_assisted_desk_on_another_sections_case(world: Engine) -> None:
    theirs = ids_in(world, Reminder, OTHER)[2]
    before = snapshot(world)
    caller = AssistedDesk(world, member(world, "甲"), TODAY, lambda: NOW)
    with pytest.raises(AssistRefused, match=f"提醒 {theirs} 属于{OTHER}"):
        caller.advance(theirs, AssistStage.PREPARING, filed_on=None, note="")
    assert snapshot(world) == before
    supervisor = AssistedDesk(world, member(world, "管理"), TODAY, lambda: NOW)
    case = supervisor.advance(theirs, AssistStage.PREPARING, filed_on=None, note="")
    assert case.stage == AssistStage.PREPARING


# --- the hot path --------------------------------------------------------------------------


def statements(engine: Engine, reminder_id: int, viewer: staff.Viewer | None) -> list[str]:
    """The SQL an informed outcome runs on SQLite's connection (Direct statements included)."""
    seen: list[str] = []
    rules = policy(engine)
    with db.session_scope(engine, write=True) as session:
        raw = session.connection().connection.dbapi_connection
        raw.set_trace_callback(seen.append)  # type: ignore[union-attr]
        try:
            outcomes.record_outcome(
                session,
                reminder_id=reminder_id,
                outcome=Outcome.INFORMED,
                staff_id=viewer.staff_id if viewer else None,
                policy=rules,
                viewer=viewer,
            )
        finally:
            raw.set_trace_callback(None)  # type: ignore[union-attr]
    return seen


def test_the_section_check_adds_no_statement_to_an_outcome(world: Engine, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("counts statements on SQLite's own connection")
    mine = ids_in(world, Reminder, SECTION)
    caller = staff.Viewer.of(member(world, "甲"))
    unchecked = statements(world, mine[3], None)
    checked = statements(
        world, ids_in(world, Reminder, OTHER)[3], staff.Viewer.of(member(world, "丁"))
    )
    assert len(checked) == len(unchecked) and len(unchecked) > 0
    # A refusal reads the other section's name, and writes nothing.
    before = snapshot(world)
    with pytest.raises(OutcomeRefused):
        statements(world, ids_in(world, Reminder, OTHER)[3], caller)
    assert snapshot(world) == before


def test_records_desk_on_another_sections_holder(world: Engine) -> None:
    c, cert = table(Contact), table(Certificate)
    with db.session_scope(world, write=False) as session:
        other = staff.section_id(session, OTHER)
        contact_id, phone_id = session.execute(
            select(c.c.id, table(ContactPhone).c.id)
            .join(cert, cert.c.contact_id == c.c.id)
            .join(table(ContactPhone), table(ContactPhone).c.contact_id == c.c.id)
            .where(cert.c.section_id == other)
            .order_by(c.c.id)
            .limit(1)
        ).one()
    caller = RecordsDesk(desk_of(world, "甲"))
    before = snapshot(world)
    for fix in (
        lambda: caller.mark_invalid(phone_id, "空号"),
        lambda: caller.add_phone(contact_id, "13912345678"),
        lambda: caller.add_email(contact_id, "new@example.cn"),
    ):
        with pytest.raises(RecordRefused, match="没有本科室的证书，无权查看或修改"):
            fix()
    # By hand: the form's section is not the caller's to choose, and the other section's
    # certificate (with a new phone) is neither added again nor updated.
    theirs = other_row(4)
    with pytest.raises(CertificateRefused):
        caller.add_certificate(
            ManualCertificate(
                holder=str(theirs["holder"]),
                certificate="卫生许可证",
                expires_on="2027-01-14",
                contact="13912345678",
                section=OTHER,
            )
        )
    assert snapshot(world) == before
    added = caller.add_certificate(
        ManualCertificate(
            holder="甲手工单位", certificate="卫生许可证", expires_on="2028-05-01", section=OTHER
        )
    )
    assert ledger_section_of(world, added.certificate_id) == SECTION
    supervisor = RecordsDesk(desk_of(world, "主任"))
    assert supervisor.add_phone(contact_id, "13912345678").message
    supervisor.mark_invalid(phone_id, "空号")


def ledger_section_of(engine: Engine, certificate_id: int) -> str:
    cert = table(Certificate)
    with db.session_scope(engine, write=False) as session:
        sid = session.execute(
            select(cert.c.section_id).where(cert.c.id == certificate_id)
        ).scalar_one()
        names = {staff.section_id(session, n): n for n in (SECTION, OTHER)}
    return names[sid]
