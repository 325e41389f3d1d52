"""帮办代办: stages of an assisted case, refusals, audit, and what refresh does at expiry."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from callqueue import db
from callqueue.clock import SHANGHAI
from callqueue.db import table
from callqueue.models import AuditEvent, Certificate
from callqueue.queue import assisted, claims, outcomes
from callqueue.queue.assisted import AssistRefused
from callqueue.queue.refresh import refresh

from .queue_world import NOW, TODAY, build, due_row, log, reminder, section_id, staff_id


def advance(
    engine: Engine, rid: int, stage: str, today: date = TODAY, **kwargs: object
) -> assisted.AssistedCase:
    now = datetime.combine(today, NOW.timetz())
    with db.session_scope(engine, write=True) as session:
        return assisted.advance(
            session,
            reminder_id=rid,
            stage=stage,
            staff_id=staff_id(engine, "甲"),
            today=today,
            now=now,
            **kwargs,  # type: ignore[arg-type]
        )


def cases(engine: Engine, **kwargs: object) -> list[assisted.AssistedCase]:
    with db.session_scope(engine, write=False) as session:
        return assisted.list_cases(session, **kwargs)  # type: ignore[arg-type]


def advance_events(engine: Engine) -> list[AuditEvent]:
    with db.session_scope(engine, write=False) as session:
        return list(
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.action == "assisted.advance")  # type: ignore[arg-type]
                .order_by(AuditEvent.id)  # type: ignore[arg-type]
            ).scalars()
        )


def register(engine: Engine, rid: int, notes: str = "代为准备申请表") -> None:
    log(engine, rid, "assisted", assisted_notes=notes, helper_staff_id=staff_id(engine, "乙"))


def test_a_case_moves_through_its_stages_with_audit(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1), due_row(2)])
    a, b = sorted(ids.values())
    register(engine, a)
    listed = cases(engine)
    assert [(c.reminder_id, c.stage, c.stage_label, c.helper) for c in listed] == [
        (a, "registered", "已登记", "乙")
    ]
    assert listed[0].registered_on == TODAY and listed[0].notes == "代为准备申请表"
    assert listed[0].holder == "东丽区第001号公司" and listed[0].certificate == "农药经营许可证"

    prepared = advance(engine, a, "材料准备中", note="营业执照复印件已收")
    assert prepared.stage == "preparing" and prepared.filed_on is None
    filed = advance(engine, a, "filed", today=date(2026, 12, 1), filed_on=date(2026, 11, 30))
    assert (filed.stage, filed.filed_on) == ("filed", date(2026, 11, 30))
    assert filed.notes.splitlines() == [
        "代为准备申请表",
        "11-24 材料准备中：营业执照复印件已收",
        "12-01 已提交申请",
    ]
    r = reminder(engine, a)
    assert (r.state, r.assist_stage, r.assist_filed_on) == ("assisted", "filed", date(2026, 11, 30))

    events = advance_events(engine)
    assert [(e.before["assist_stage"], e.after["assist_stage"]) for e in events] == [  # type: ignore[index]
        ("registered", "preparing"),
        ("preparing", "filed"),
    ]
    assert events[1].after["assist_filed_on"] == "2026-11-30"  # type: ignore[index]
    assert events[0].note == "营业执照复印件已收" and events[0].staff_id == staff_id(engine, "甲")

    # 材料准备中 is optional: straight to filed, dated today by default.
    register(engine, b)
    assert advance(engine, b, "filed").filed_on == TODAY
    assert [c.reminder_id for c in cases(engine)] == [a, b]
    assert cases(engine, section_ids=[section_id(engine) + 100]) == []
    assert [c.reminder_id for c in cases(engine, section_ids=[section_id(engine)])] == [a, b]


def test_refused_moves_change_nothing(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1), due_row(2), due_row(3)])
    a, b, c = sorted(ids.values())  # a expires 2027-02-16
    register(engine, a)
    advance(engine, a, "preparing")
    log(engine, c, "informed")
    version = reminder(engine, a).version
    refusals = [
        (a, "registered", {}, "不能从“材料准备中”退回“已登记”"),
        (a, "preparing", {}, "已是“材料准备中”"),
        (a, "posted", {}, "未知的帮办状态"),
        (a, "filed", {"filed_on": date(2026, 11, 25)}, "晚于今天"),
        (a, "filed", {"filed_on": date(2026, 11, 23)}, "早于帮办登记日期"),
        (a, "filed", {"filed_on": date(2027, 2, 20), "today": date(2027, 3, 1)}, "晚于证书期满"),
        (b, "filed", {}, "不是帮办代办案件"),
        (c, "filed", {}, "不是帮办代办案件"),
        (999_999, "filed", {}, "不存在"),
    ]
    for rid, stage, kwargs, message in refusals:
        with pytest.raises(AssistRefused, match=message):
            advance(engine, rid, stage, **kwargs)  # type: ignore[arg-type]
    register(engine, b)
    with pytest.raises(AssistRefused, match="只有“已提交申请”需要填写提交日期"):
        advance(engine, b, "preparing", filed_on=TODAY)
    r = reminder(engine, a)
    assert (r.version, r.assist_stage, r.assist_filed_on) == (version, "preparing", None)
    assert len(advance_events(engine)) == 1  # only the one good move

    log(engine, a, "renewed")
    with pytest.raises(AssistRefused, match="已结束（已换证）"):
        advance(engine, a, "filed")
    assert reminder(engine, a).assist_stage == "preparing"  # history kept after closing
    assert [x.reminder_id for x in cases(engine)] == [b]
    assert {x.reminder_id for x in cases(engine, include_closed=True)} == {a, b}


def _certificate_status(engine: Engine, rid: int) -> str:
    cid = reminder(engine, rid).certificate_id
    with db.session_scope(engine, write=False) as session:
        cert = session.get(Certificate, cid)
    assert cert is not None
    return cert.status


def test_refresh_keeps_a_case_filed_before_expiry_open(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1), due_row(2), due_row(3)])
    filed, unfiled, plain = sorted(ids.values())  # expire 2027-02-16, -17, -18
    register(engine, filed)
    register(engine, unfiled)
    advance(engine, unfiled, "preparing")
    advance(engine, filed, "filed", today=date(2027, 2, 1))
    later = datetime(2027, 3, 1, 9, tzinfo=SHANGHAI)  # every certificate has expired
    with db.session_scope(engine, write=True) as session:
        result = refresh(session, today=later.date(), now=later)
    assert result.lapsed == 2
    assert reminder(engine, filed).state == "assisted" and _certificate_status(engine, filed) == (
        "active"
    )
    assert (reminder(engine, unfiled).state, reminder(engine, unfiled).assist_stage) == (
        "lapsed",
        "preparing",
    )
    assert _certificate_status(engine, unfiled) == "lapsed"
    assert reminder(engine, plain).state == "lapsed"
    assert [c.reminder_id for c in cases(engine)] == [filed]

    # The approval comes through: `renewed` closes the case as for any reminder.
    done = log(engine, filed, "renewed", now=later, new_expires_on=date(2032, 2, 15))
    assert reminder(engine, filed).state == "renewed" and done.new_certificate_id
    assert _certificate_status(engine, filed) == "renewed"
    assert cases(engine) == []


def test_assisted_cases_are_never_requeued(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1, expires_on=date(2027, 4, 30))])
    rid = next(iter(ids.values()))
    log(engine, rid, "informed")
    follow_up_on = reminder(engine, rid).follow_up_on
    assert follow_up_on is not None  # informed alone would be called again then
    register(engine, rid)
    assert reminder(engine, rid).follow_up_on is None
    then = datetime.combine(follow_up_on, NOW.timetz())
    with db.session_scope(engine, write=True) as session:
        assert refresh(session, today=then.date(), now=then).follow_ups == 0
    with db.session_scope(engine, write=False) as session:
        entries = claims.queue_entries(
            session, section_id=section_id(engine), staff_id=staff_id(engine, "甲"), now=then
        )
    assert entries == [] and reminder(engine, rid).state == "assisted"
    with db.session_scope(engine, write=True) as session:
        got = claims.next_for(
            session, staff_id=staff_id(engine, "甲"), section_id=section_id(engine), now=then
        )
    assert got is None


def test_a_second_assisted_outcome_keeps_the_stage(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1)])
    rid = next(iter(ids.values()))
    register(engine, rid)
    advance(engine, rid, "preparing")
    log(engine, rid, "assisted", assisted_notes="")
    r = reminder(engine, rid)
    assert r.assist_stage == "preparing" and r.assisted_notes.startswith("代为准备申请表")
    with db.session_scope(engine, write=False) as session:
        outcomes_logged = session.execute(
            select(func.count())
            .select_from(table(AuditEvent))
            .where(table(AuditEvent).c.action == "outcome.assisted")
        ).scalar()
    assert outcomes_logged == 2


@pytest.mark.parametrize(
    ("outcome", "data"),
    [
        ("no_answer", {}),
        ("informed", {}),
        ("wrong_number", {}),
        ("callback", {"callback_at": datetime(2026, 11, 25, 10, tzinfo=SHANGHAI)}),
    ],
)
def test_a_filed_case_takes_only_its_result(
    engine: Engine, tmp_path: Path, outcome: str, data: dict[str, object]
) -> None:
    """Once the application is filed, only the result (renewed, not renewing) is recorded: a
    stray call outcome (a script, a stale screen) would move the case back to the phone
    queue, and at expiry it would lapse instead of waiting for the approval."""
    ids = build(engine, tmp_path, [due_row(1), due_row(2)])
    rid, other = sorted(ids.values())
    register(engine, rid)
    advance(engine, rid, "filed")
    version = reminder(engine, rid).version
    with pytest.raises(outcomes.OutcomeRefused, match="已提交申请.*只能记录已换证或不再延续"):
        log(engine, rid, outcome, **data)
    r = reminder(engine, rid)
    assert (r.state, r.assist_stage, r.version) == ("assisted", "filed", version)
    # Before it is filed, calls about the case are recorded as before.
    register(engine, other)
    log(engine, other, "no_answer")
    assert reminder(engine, other).attempts == 2
    log(engine, rid, "not_renewing", reason="企业注销")
    assert reminder(engine, rid).state == "not_renewing"
