"""The queue engine: refresh, order, claims and leases, the eight outcomes and their refusals."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select
from sqlmodel import Session

from callqueue import db, workdays
from callqueue.clock import SHANGHAI
from callqueue.config import Settings
from callqueue.db import table
from callqueue.models import (
    Appointment,
    Attempt,
    AuditEvent,
    CalendarOverride,
    Certificate,
    ContactPhone,
    Reminder,
)
from callqueue.queue import claims, outcomes, staff
from callqueue.queue.outcomes import OutcomeInput, OutcomeRefused
from callqueue.queue.refresh import refresh
from callqueue.tui.desk import Desk

from .queue_world import (
    NOW,
    TODAY,
    build,
    due_row,
    log,
    policy,
    reminder,
    section_id,
    set_reminder,
    staff_id,
)


def claim(engine: Engine, who: str, now: datetime = NOW) -> claims.QueueEntry | None:
    with db.session_scope(engine, write=True) as session:
        return claims.next_for(
            session, staff_id=staff_id(engine, who), section_id=section_id(engine), now=now
        )


def test_refresh_moves_states_by_date(engine: Engine, tmp_path: Path) -> None:
    ids = build(
        engine,
        tmp_path,
        [
            due_row(1),
            due_row(2, expires_on=date(2027, 9, 1)),  # remind 2027-05: scheduled
            due_row(3, expires_on=date(2026, 11, 20)),  # already expired: lapsed
        ],
    )
    states = {k: reminder(engine, v).state for k, v in ids.items()}
    assert sorted(states.values()) == ["due", "lapsed", "scheduled"]
    later = datetime(2027, 6, 1, 9, tzinfo=SHANGHAI)
    with db.session_scope(engine, write=True) as session:
        result = refresh(session, today=later.date(), now=later)
    assert (result.due, result.lapsed) == (1, 1)  # #2 due; #1 expired 2027-03 unworked: lapsed
    with db.session_scope(engine, write=False) as session:
        events = session.execute(
            select(func.count())
            .select_from(table(AuditEvent))
            .where(table(AuditEvent).c.action == "reminder.refresh")
        ).scalar()
        lapsed_certs = session.execute(
            select(func.count())
            .select_from(table(Certificate))
            .where(table(Certificate).c.status == "lapsed")
        ).scalar()
    assert events == 1 and lapsed_certs == 2  # the build's refresh changed nothing


def test_one_entry_per_holder_in_queue_order(engine: Engine, tmp_path: Path) -> None:
    build(
        engine,
        tmp_path,
        [
            due_row(1, expires_on=date(2027, 2, 20)),
            due_row(2, expires_on=date(2027, 2, 10)),  # earlier apply_by: first
            due_row(
                3,
                holder="东丽区第002号公司",
                certificate="兽药经营许可证",
                expires_on=date(2027, 5, 20),
            ),  # same holder as row 2: same entry
        ],
    )
    with db.session_scope(engine, write=False) as session:
        entries = claims.queue_entries(
            session, section_id=section_id(engine), staff_id=staff_id(engine, "甲"), now=NOW
        )
    assert [e.holder for e in entries] == ["东丽区第002号公司", "东丽区第001号公司"]
    assert sorted(entries[0].certificates) == ["兽药经营许可证", "农药经营许可证"]
    assert len(entries[0].reminders) == 2


def test_claims_are_exclusive_and_leased(engine: Engine, tmp_path: Path) -> None:
    build(engine, tmp_path, [due_row(1), due_row(2)])
    a = claim(engine, "甲")
    b = claim(engine, "乙")
    assert a and b and a.holder_id != b.holder_id
    assert claim(engine, "丙") is None  # nothing left
    again = claim(engine, "甲")  # a desk that restarts resumes its own claim
    assert again is not None and again.holder_id == a.holder_id
    later = NOW + timedelta(minutes=11)  # lease over: anyone may take it
    c = claim(engine, "丙", now=later)
    assert c is not None and c.holder_id in {a.holder_id, b.holder_id}


def test_someone_elses_live_claim_refuses_an_outcome(engine: Engine, tmp_path: Path) -> None:
    build(engine, tmp_path, [due_row(1)])
    entry = claim(engine, "甲")
    assert entry is not None
    with pytest.raises(OutcomeRefused, match="其他工作人员"):
        log(engine, entry.reminders[0], "informed", who="乙")
    assert reminder(engine, entry.reminders[0]).attempts == 0


def test_do_not_call_email_and_repair_stay_out_of_the_phone_queue(
    engine: Engine, tmp_path: Path
) -> None:
    ids = build(engine, tmp_path, [due_row(1), due_row(2), due_row(3, contact=None), due_row(4)])
    first, second, _, fourth = sorted(ids.values())
    set_reminder(engine, second, channel="email")
    with db.session_scope(engine, write=True) as session:
        holder = reminder(engine, fourth).holder_id
        session.execute(table_update_holder(holder))
    with db.session_scope(engine, write=False) as session:
        entries = claims.queue_entries(
            session, section_id=section_id(engine), staff_id=staff_id(engine, "甲"), now=NOW
        )
    assert [e.reminders for e in entries] == [[first]]


def table_update_holder(holder_id: int):  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from callqueue.models import Holder

    h = table(Holder)
    return update(h).where(h.c.id == holder_id).values(do_not_call=True)


def test_informed_records_attempt_ledger_columns_and_follow_up(
    engine: Engine, tmp_path: Path
) -> None:
    ids = build(engine, tmp_path, [due_row(1, expires_on=date(2027, 4, 30))])
    rid = next(iter(ids.values()))
    result = log(
        engine,
        rid,
        "informed",
        conveyed=("expiry", "apply_by", "materials"),
        materials_ticked=("申请书",),
        note="负责人已知悉",
    )
    r = reminder(engine, rid)
    assert (r.state, r.attempts, r.last_reminded_on, r.last_channel) == (
        "informed",
        1,
        TODAY,
        "phone",
    )
    assert r.last_staff_id == staff_id(engine, "甲") and r.claimed_by_id is None
    assert r.follow_up_on is not None and r.follow_up_on < r.apply_by
    with db.session_scope(engine, write=False) as session:
        attempt = session.get(Attempt, result.attempt_id)
    assert attempt is not None and attempt.conveyed == ["expiry", "apply_by", "materials"]
    assert attempt.note == "负责人已知悉"
    follow = datetime.combine(r.follow_up_on, datetime.min.time(), SHANGHAI)
    with db.session_scope(engine, write=True) as session:
        assert refresh(session, today=r.follow_up_on, now=follow).follow_ups == 1
    r = reminder(engine, rid)
    assert (r.state, r.follow_up) == ("due", True)


def test_no_answer_retries_then_unreachable_or_email(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1), due_row(2, contact="13800000002 a@b.cn")])
    plain, with_email = sorted(ids.values())
    first = log(engine, plain, "no_answer")
    r = reminder(engine, plain)
    assert r.state == "retry" and r.next_action_at == datetime(2026, 11, 24, 11, tzinfo=SHANGHAI)
    assert "11月24日 11:00" in first.message
    log(engine, plain, "no_answer", now=NOW + timedelta(hours=3))
    third = log(engine, plain, "no_answer", now=NOW + timedelta(hours=6))
    assert reminder(engine, plain).state == "unreachable" and "无法联系" in third.message
    for hours in (0, 3, 6):
        log(engine, with_email, "no_answer", now=NOW + timedelta(hours=hours))
    r = reminder(engine, with_email)
    assert (r.state, r.channel) == ("due", "email")


def test_callback_rules(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1), due_row(2)])
    rid, other = sorted(ids.values())
    for when, message in [
        (datetime(2026, 11, 24, 8, 0, tzinfo=SHANGHAI), "已过"),
        (datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI), "不是工作日"),  # Saturday
        (datetime(2026, 11, 25, 12, 30, tzinfo=SHANGHAI), "不在办公时间"),
        (None, "回电时间"),
    ]:
        with pytest.raises(OutcomeRefused, match=message):
            log(engine, rid, "callback", callback_at=when)
    assert reminder(engine, rid).attempts == 0
    log(engine, rid, "callback", callback_at=datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI))
    log(engine, other, "informed")
    due_time = datetime(2026, 11, 25, 10, 5, tzinfo=SHANGHAI)
    assert claim(engine, "乙", now=due_time) is None  # 甲's callback, not yet overdue
    mine = claim(engine, "甲", now=due_time)
    assert mine is not None and mine.reminders == [rid] and "callback" in mine.badges


def test_wrong_number_moves_on_then_needs_repair(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1, contact="13800000001/13900000001")])
    rid = next(iter(ids.values()))
    result = log(engine, rid, "wrong_number")
    assert reminder(engine, rid).state == "retry" and "下一个号码" in result.message
    log(engine, rid, "wrong_number")
    r = reminder(engine, rid)
    assert r.needs_repair and r.state == "due"
    with db.session_scope(engine, write=False) as session:
        invalid = session.execute(
            select(func.count())
            .select_from(table(ContactPhone))
            .where(table(ContactPhone).c.invalid.is_(True))
        ).scalar()
    assert invalid == 2
    with pytest.raises(OutcomeRefused, match="没有可标记"):
        log(engine, rid, "wrong_number")


def test_appointment_books_a_slot_and_refuses_a_full_one(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1), due_row(2), due_row(3)])
    a, b, c = sorted(ids.values())
    slot = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
    assert log(engine, a, "appointment", slot_at=slot).appointment_id
    log(engine, b, "appointment", slot_at=slot)
    with pytest.raises(OutcomeRefused, match="已约满.*可约"):
        log(engine, c, "appointment", slot_at=slot)
    with pytest.raises(OutcomeRefused, match="不是预约时段的开始"):
        log(engine, c, "appointment", slot_at=slot + timedelta(minutes=10))
    with pytest.raises(OutcomeRefused, match="不是工作日"):
        log(engine, c, "appointment", slot_at=datetime(2026, 11, 29, 9, tzinfo=SHANGHAI))
    assert reminder(engine, a).state == "appointment"
    with db.session_scope(engine, write=False) as session:
        booked = session.execute(select(func.count()).select_from(table(Appointment))).scalar()
    assert booked == 2


def test_a_renewal_whose_next_reminder_is_already_past_is_due_and_late(
    engine: Engine, tmp_path: Path
) -> None:
    (rid,) = build(engine, tmp_path, [due_row(1)]).values()  # expires 2027-02-16
    result = log(engine, rid, "renewed", new_expires_on=date(2027, 2, 20))
    with db.session_scope(engine, write=False) as session:
        nxt = session.execute(
            select(table(Reminder)).where(
                table(Reminder).c.certificate_id == result.new_certificate_id
            )
        ).one()
    assert nxt.remind_on <= TODAY
    assert (nxt.state, nxt.late) == ("due", True)


def test_nothing_is_conveyed_on_no_answer_or_a_wrong_number(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1), due_row(2, contact="13800000002 022-23456789")])
    first, second = sorted(ids.values())
    everything = ("expiry", "apply_by", "place", "phone", "materials")
    silent = log(engine, first, "no_answer", conveyed=everything)
    wrong = log(engine, second, "wrong_number", conveyed=everything)
    told = log(engine, second, "informed", conveyed=everything)
    with db.session_scope(engine, write=False) as session:
        conveyed = [session.get(Attempt, r.attempt_id).conveyed for r in (silent, wrong, told)]  # type: ignore[union-attr]
    assert conveyed == [[], [], list(everything)]


def test_assisted_renewed_and_not_renewing(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1), due_row(2), due_row(3)])
    a, b, c = sorted(ids.values())
    log(
        engine,
        a,
        "assisted",
        assisted_notes="代为准备申请表",
        helper_staff_id=staff_id(engine, "乙"),
    )
    r = reminder(engine, a)
    assert (r.state, r.assisted, r.helper_staff_id) == ("assisted", True, staff_id(engine, "乙"))

    with pytest.raises(OutcomeRefused, match="晚于原证"):
        log(engine, b, "renewed", new_expires_on=date(2026, 1, 1))
    result = log(
        engine, b, "renewed", new_issued_on=date(2026, 11, 20), new_expires_on=date(2031, 11, 19)
    )
    assert reminder(engine, b).state == "renewed" and result.new_certificate_id
    with db.session_scope(engine, write=False) as session:
        new = session.get(Certificate, result.new_certificate_id)
        nxt = session.execute(
            select(table(Reminder)).where(
                table(Reminder).c.certificate_id == result.new_certificate_id
            )
        ).one()
    assert new is not None and new.previous_id is not None
    assert nxt.state == "scheduled" and nxt.expires_on == date(2031, 11, 19)

    with pytest.raises(OutcomeRefused, match="原因"):
        log(engine, c, "not_renewing")
    log(engine, c, "not_renewing", reason="已停业")
    with pytest.raises(OutcomeRefused, match="已结束"):
        log(engine, c, "informed")
    assert reminder(engine, c).close_reason == "已停业"


def test_every_outcome_is_audited_with_before_and_after(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1)])
    rid = next(iter(ids.values()))
    log(engine, rid, "no_answer")
    with db.session_scope(engine, write=False) as session:
        event = session.execute(
            select(AuditEvent).where(AuditEvent.action == "outcome.no_answer")
        ).scalar_one()  # type: ignore[arg-type]
    assert event.before["state"] == "due" and event.after["state"] == "retry"
    assert event.staff_id == staff_id(engine, "甲")


def test_unknown_outcome_and_reminder(engine: Engine, tmp_path: Path) -> None:
    build(engine, tmp_path, [due_row(1)])
    with pytest.raises(OutcomeRefused, match="未知的结果"):
        log(engine, 1, "shouted")
    with pytest.raises(OutcomeRefused, match="不存在"):
        log(engine, 999_999, "informed")
    Reminder  # noqa: B018  (imported for the type of `reminder`)


def test_the_outcome_paths_row_copy_has_every_reminder_column() -> None:
    from callqueue.queue.reminder_rows import COLUMNS

    assert list(COLUMNS) == list(table(Reminder).c.keys())


def test_a_claimed_reminder_that_stops_being_callable_is_passed_over(
    engine: Engine, tmp_path: Path
) -> None:
    ids = build(engine, tmp_path, [due_row(1), due_row(2)])
    first = claim(engine, "甲")
    assert first is not None
    for rid in first.reminders:  # data repair flagged while the desk held the claim
        set_reminder(engine, rid, needs_repair=True)
    again = claim(engine, "甲")
    assert again is not None and again.holder_id != first.holder_id
    assert set(again.reminders) <= set(ids.values())


def test_an_orm_copy_loaded_before_an_outcome_sees_the_outcome(
    engine: Engine, tmp_path: Path
) -> None:
    rid = next(iter(build(engine, tmp_path, [due_row(1)]).values()))
    with db.session_scope(engine, write=True) as session:
        before = session.get(Reminder, rid)
        assert before is not None and before.state == "due"
        outcomes.record_outcome(
            session,
            reminder_id=rid,
            outcome="no_answer",
            staff_id=staff_id(engine, "甲"),
            policy=policy(engine),
        )
        assert (before.state, before.attempts) == ("retry", 1)  # reloaded, not stale
    assert reminder(engine, rid).state == "retry"


def test_the_desks_claim_outcome_and_skip_begin_no_orm_transaction(
    engine: Engine, tmp_path: Path
) -> None:
    """The desk's three frequent writes stay on the write unit's connection: an ORM query
    among them (the calendar for the outcome's rules, the skip's update) would begin the
    session's own transaction, the cost the unit exists to avoid."""
    build(engine, tmp_path, [due_row(1), due_row(2)])
    with db.session_scope(engine, write=False) as session:
        me = staff.get_staff(session, "甲")
    desk = Desk(engine=engine, settings=Settings(), staff=me, today=TODAY, now=lambda: NOW)
    begun: list[object] = []

    def on_begin(session: object, transaction: object, connection: object) -> None:
        begun.append(transaction)

    event.listen(Session, "after_begin", on_begin)
    try:
        first = desk.claim_next()
        assert first is not None
        [result] = desk.record(first, "informed", OutcomeInput())
        second = desk.claim_next()
        assert second is not None and second.holder_id != first.holder_id
        assert desk.release(second) == 1
    finally:
        event.remove(Session, "after_begin", on_begin)
    assert begun == []
    # And the work was done: informed, the skipped holder back in the queue unclaimed.
    assert reminder(engine, result.reminder_id).state == "informed"
    assert all(reminder(engine, rid).claimed_by_id is None for rid in second.reminders)


def test_the_calendar_read_sees_changes_the_session_has_not_flushed(engine: Engine) -> None:
    """`load_calendar` reads with Core: it flushes pending changes itself, as an ORM query
    would, and as an ORM query it leaves them alone under `no_autoflush`."""
    monday = date(2026, 12, 7)
    with db.session_scope(engine, write=True) as session:
        session.add(CalendarOverride(day=monday, is_workday=False, created_at=NOW))
        assert not workdays.load_calendar(session).is_workday(monday)
        session.rollback()
        assert workdays.load_calendar(session).is_workday(monday)
    with db.session_scope(engine, write=True) as session, session.no_autoflush:
        session.add(CalendarOverride(day=monday, is_workday=False, created_at=NOW))
        assert workdays.load_calendar(session).is_workday(monday)  # as an ORM query would
        session.rollback()
