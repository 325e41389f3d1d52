"""Outcome rules across a holder's reminders: a wrong number, the no-answer run, a renewal's
dates, and appointments (one place per visit, rebooking, cancel and no-show back to the queue,
no overbooking when two desks book the last place at once)."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select, update
from sqlmodel import Session

from callqueue import cli, db, workdays
from callqueue.clock import SHANGHAI
from callqueue.config import Settings
from callqueue.db import table
from callqueue.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    ContactPhone,
    Reminder,
    Section,
)
from callqueue.queue import appointments, claims, staff
from callqueue.queue.outcomes import OutcomeInput, OutcomeRefused
from callqueue.tui.desk import Desk

from .queue_world import (
    HOURS,
    NOW,
    TODAY,
    build,
    due_row,
    log,
    reminder,
    section_id,
    staff_id,
)

SLOT = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)  # Wednesday, the first slot
SECOND_PERMIT = "生鲜乳收购许可证"  # also 涉农事务和经贸商务科's


def two_certificates(n: int, contact: str) -> list[dict[str, Any]]:
    """One holder with two certificates of the section, reached through one contact."""
    holder = f"东丽区第{n:03d}号公司"
    return [
        due_row(n, contact=contact),
        due_row(n + 1, holder=holder, certificate=SECOND_PERMIT, contact=contact),
    ]


def reminder_ids(engine: Engine) -> list[int]:
    with db.session_scope(engine, write=False) as session:
        return list(session.execute(select(table(Reminder).c.id).order_by("id")).scalars())


def desk(engine: Engine, who: str = "甲") -> Desk:
    with db.session_scope(engine, write=False) as session:
        me = staff.get_staff(session, who)
    return Desk(engine=engine, settings=Settings(), staff=me, today=TODAY, now=lambda: NOW)


def invalid_numbers(engine: Engine) -> list[str]:
    p = table(ContactPhone)
    with db.session_scope(engine, write=False) as session:
        return list(
            session.execute(select(p.c.e164).where(p.c.invalid.is_(True)).order_by(p.c.id))
            .scalars()
            .all()
        )


def set_status(
    engine: Engine, appointment_id: int, status: AppointmentStatus, now: datetime = NOW
) -> Any:
    with db.session_scope(engine, write=True) as session:
        return appointments.set_status(
            session, appointment_id=appointment_id, status=status, staff_id=None, now=now
        )


def booked(engine: Engine) -> list[tuple[int | None, datetime]]:
    a = table(Appointment)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(a.c.reminder_id, a.c.starts_at)
            .where(a.c.status == AppointmentStatus.BOOKED.value)
            .order_by(a.c.id)
        ).all()
    return [(rid, at.astimezone(SHANGHAI)) for rid, at in rows]


# --- wrong number -------------------------------------------------------------------------


def test_one_wrong_number_on_a_call_about_two_certificates_marks_one_number(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine, tmp_path, two_certificates(1, "13800000001/13900000001"))
    d = desk(engine)
    entry = d.claim_next()
    assert entry is not None and len(entry.reminders) == 2
    results = d.record(entry, "wrong_number", OutcomeInput())
    assert invalid_numbers(engine) == ["+8613800000001"]  # not the second number too
    assert [r.state for r in results] == ["retry", "retry"]
    assert all("下一个号码" in r.message for r in results)


def test_a_wrong_last_number_takes_the_contacts_other_reminders_off_the_phone(
    engine: Engine, tmp_path: Path
) -> None:
    build(
        engine,
        tmp_path,
        two_certificates(1, "13800000001") + two_certificates(3, "13800000003 li@example.cn"),
    )
    first, second, third, fourth = reminder_ids(engine)
    result = log(engine, first, "wrong_number")
    assert "另 1 条提醒" in result.message
    for rid in (first, second):
        r = reminder(engine, rid)
        assert (r.state, r.needs_repair) == ("due", True)
    log(engine, third, "wrong_number")
    for rid in (third, fourth):
        r = reminder(engine, rid)
        assert (r.state, r.channel, r.needs_repair) == ("due", "email", False)
    # Nobody is left to phone: the queue is empty for every desk.
    with db.session_scope(engine, write=True) as session:
        entry = claims.next_for(
            session, staff_id=staff_id(engine, "乙"), section_id=section_id(engine), now=NOW
        )
    assert entry is None


def test_marking_the_last_number_invalid_by_hand_sends_waiting_reminders_to_email(
    engine: Engine, tmp_path: Path
) -> None:
    """The records screen's fix follows the same rule: a retry waiting for a call is due by
    email (the send run only sends due reminders), not left as a retry on the email channel."""
    from callqueue.records import contacts

    build(engine, tmp_path, two_certificates(1, "13800000001 li@example.cn"))
    first, second = reminder_ids(engine)
    log(engine, first, "no_answer")
    assert reminder(engine, first).state == "retry"
    p = table(ContactPhone)
    with db.session_scope(engine, write=True) as session:
        (phone_id,) = session.execute(select(p.c.id)).scalars().all()
        viewer = staff.Viewer.of(staff.get_staff(session, "甲"))
        fix = contacts.mark_phone_invalid(session, phone_id=phone_id, viewer=viewer, now=NOW)
    assert sorted(fix.to_email) == [first, second]
    for rid in (first, second):
        r = reminder(engine, rid)
        assert (r.state, r.channel, r.next_action_at) == ("due", "email", None)


# --- no answer ----------------------------------------------------------------------------


def test_the_no_answer_limit_counts_unanswered_calls_in_a_row(
    engine: Engine, tmp_path: Path
) -> None:
    (rid,) = build(engine, tmp_path, [due_row(1)]).values()
    log(engine, rid, "no_answer")  # 09:00
    at = NOW.replace(hour=11)
    log(engine, rid, "callback", now=at, callback_at=at.replace(hour=14))
    # Two calls nobody answered, but not in a row: the holder answered in between.
    second = log(engine, rid, "no_answer", now=at.replace(hour=14))
    assert reminder(engine, rid).state == "retry" and "重拨" in second.message
    third = log(engine, rid, "no_answer", now=at.replace(hour=16))
    assert reminder(engine, rid).state == "retry", third.message
    fourth = log(engine, rid, "no_answer", now=at + timedelta(days=1))
    r = reminder(engine, rid)
    assert (r.state, r.attempts) == ("unreachable", 5)
    assert "已连续3次无人接听" in fourth.message


# --- renewal ------------------------------------------------------------------------------


def test_a_renewal_whose_new_expiry_is_already_past_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    (rid,) = build(engine, tmp_path, [due_row(1, expires_on=date(2026, 11, 30))]).values()
    # After the old one, but before today: not a certificate anyone was just given.
    later = datetime(2026, 12, 10, 9, 0, tzinfo=SHANGHAI)
    with pytest.raises(OutcomeRefused, match="已过"):
        log(engine, rid, "renewed", now=later, new_expires_on=date(2026, 12, 5))
    r = reminder(engine, rid)
    assert (r.state, r.attempts) != ("renewed", 1) and r.attempts == 0
    assert log(engine, rid, "renewed", now=later, new_expires_on=date(2031, 12, 5)).state == (
        "renewed"
    )


@pytest.mark.parametrize(
    ("issued", "expires", "why"),
    [
        (date(2026, 11, 25), date(2031, 11, 24), "晚于今天"),  # issued tomorrow
        # 农药: 5 years from the day after the old expiry (2027-02-16) at the latest
        (date(2026, 11, 20), date(2032, 6, 30), "超出法定有效期（5年，自 2027-02-17 起）"),
        (None, date(2032, 6, 30), "超出法定有效期（5年，自 2027-02-17 起）"),
    ],
)
def test_a_renewal_with_impossible_new_dates_is_refused(
    engine: Engine, tmp_path: Path, issued: date | None, expires: date, why: str
) -> None:
    (rid,) = build(engine, tmp_path, [due_row(1)]).values()
    with pytest.raises(OutcomeRefused, match=re.escape(why)):
        log(engine, rid, "renewed", new_issued_on=issued, new_expires_on=expires)
    assert reminder(engine, rid).attempts == 0
    renewed = log(engine, rid, "renewed", new_issued_on=TODAY, new_expires_on=date(2031, 11, 23))
    assert renewed.state == "renewed" and renewed.new_certificate_id is not None


@pytest.mark.parametrize("issued", [date(2026, 11, 20), None])
def test_a_renewal_whose_period_runs_on_from_the_old_expiry_is_taken(
    engine: Engine, tmp_path: Path, issued: date | None
) -> None:
    """A 延续 continuing the old period: five years from the day after the old expiry."""
    (rid,) = build(engine, tmp_path, [due_row(1)]).values()  # expires 2027-02-16
    renewed = log(engine, rid, "renewed", new_issued_on=issued, new_expires_on=date(2032, 2, 16))
    assert renewed.state == "renewed"


# --- appointments -------------------------------------------------------------------------


def test_a_visit_about_two_certificates_takes_one_place(engine: Engine, tmp_path: Path) -> None:
    build(engine, tmp_path, two_certificates(1, "13800000001") + [due_row(3), due_row(4)])
    first, second, third, fourth = reminder_ids(engine)
    d = desk(engine)
    entry = d.claim_next()
    assert entry is not None and entry.reminders == [first, second]
    d.record(entry, "appointment", OutcomeInput(slot_at=SLOT))
    assert len(booked(engine)) == 2  # one per certificate, for the staff's list
    log(engine, third, "appointment", slot_at=SLOT)  # capacity 2: the second visit fits
    with pytest.raises(OutcomeRefused, match="已约满"):
        log(engine, fourth, "appointment", slot_at=SLOT)
    with db.session_scope(engine, write=False) as session:
        (slot,) = appointments.free_slots(
            session,
            section_id=section_id(engine),
            after=SLOT - timedelta(minutes=1),
            days=1,
            calendar=workdays.load_calendar(session),
            hours=HOURS,
            limit=1,
        )
    assert slot.starts_at != SLOT  # full: two visits


def test_rebooking_gives_the_old_slot_back(engine: Engine, tmp_path: Path) -> None:
    (rid,) = build(engine, tmp_path, [due_row(1)]).values()
    log(engine, rid, "appointment", slot_at=SLOT)
    with pytest.raises(OutcomeRefused, match="无需重复预约"):
        log(engine, rid, "appointment", slot_at=SLOT)
    later = SLOT + timedelta(hours=1)
    result = log(engine, rid, "appointment", slot_at=later)
    assert booked(engine) == [(rid, later)]
    assert reminder(engine, rid).state == "appointment" and result.appointment_id
    a = table(Appointment)
    with db.session_scope(engine, write=False) as session:
        old = session.execute(select(a.c.status, a.c.note).where(a.c.starts_at < later)).one()
    assert old.status == "cancelled" and "改约至 11月25日 10:00" in old.note


@pytest.mark.parametrize("status", [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW])
def test_a_cancelled_or_missed_visit_puts_the_reminder_back_in_the_queue(
    engine: Engine, tmp_path: Path, status: AppointmentStatus
) -> None:
    (rid,) = build(engine, tmp_path, [due_row(1)]).values()
    appointment_id = log(engine, rid, "appointment", slot_at=SLOT).appointment_id
    assert appointment_id is not None
    with db.session_scope(engine, write=True) as session:
        assert (
            claims.next_for(
                session, staff_id=staff_id(engine, "乙"), section_id=section_id(engine), now=NOW
            )
            is None
        )  # waiting for the visit: nobody calls
    change = set_status(engine, appointment_id, status, now=SLOT + timedelta(minutes=40))
    assert change.requeued == rid
    r = reminder(engine, rid)
    assert (r.state, r.next_action_at) == ("due", None)
    with db.session_scope(engine, write=True) as session:
        entry = claims.next_for(
            session, staff_id=staff_id(engine, "乙"), section_id=section_id(engine), now=NOW
        )
    assert entry is not None and entry.reminders == [rid]


def test_cancelling_one_of_two_bookings_keeps_the_reminder_waiting(
    engine: Engine, tmp_path: Path
) -> None:
    """A booking made by hand (no reminder) or another booking of the reminder still standing
    keeps the reminder where it is."""
    (rid,) = build(engine, tmp_path, [due_row(1)]).values()
    first = log(engine, rid, "appointment", slot_at=SLOT).appointment_id
    assert first is not None
    with db.session_scope(engine, write=True) as session:
        holder = reminder(engine, rid).holder_id
        extra = appointments.book(
            session,
            section_id=section_id(engine),
            holder_id=holder,
            reminder_id=None,
            starts_at=SLOT + timedelta(hours=2),
            staff_id=None,
            now=NOW,
            calendar=workdays.load_calendar(session),
            hours=HOURS,
        )
        extra_id = extra.id
    assert extra_id is not None
    assert set_status(engine, extra_id, AppointmentStatus.CANCELLED).requeued is None
    assert reminder(engine, rid).state == "appointment"
    with pytest.raises(appointments.AppointmentRefused, match="已是“已取消”"):
        set_status(engine, extra_id, AppointmentStatus.NO_SHOW)


def test_two_desks_booking_the_last_place_at_once_do_not_overbook(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both desks count the slot's places, then both insert: without a lock on the slot both
    see a free place. The count waits (briefly) for the other desk to count too, so the race
    is forced rather than hoped for."""
    build(engine, tmp_path, [due_row(1), due_row(2)])
    first, second = reminder_ids(engine)
    with db.session_scope(engine, write=True) as session:
        s = table(Section)
        session.execute(update(s).where(s.c.id == section_id(engine)).values(slot_capacity=1))
    counted = threading.Barrier(2)
    original = appointments._booked

    def booked_then_wait(session: Session, sid: int, start: datetime, end: datetime) -> Any:
        found = original(session, sid, start, end)
        if end - start == timedelta(seconds=1):  # the count of the one slot being booked
            # Broken when the other desk waits for this one's lock instead: as it should.
            with contextlib.suppress(threading.BrokenBarrierError):
                counted.wait(timeout=2)
        return found

    monkeypatch.setattr(appointments, "_booked", booked_then_wait)
    outcomes_seen: list[str] = []

    def book(rid: int) -> None:
        try:
            log(engine, rid, "appointment", who="甲" if rid == first else "乙", slot_at=SLOT)
            outcomes_seen.append("booked")
        except OutcomeRefused as exc:
            outcomes_seen.append(str(exc))

    desks = [threading.Thread(target=book, args=(rid,)) for rid in (first, second)]
    for t in desks:
        t.start()
    for t in desks:
        t.join(timeout=30)
    assert len(outcomes_seen) == 2 and outcomes_seen.count("booked") == 1
    assert any("已约满" in seen for seen in outcomes_seen), outcomes_seen
    with db.session_scope(engine, write=False) as session:
        count = session.execute(
            select(func.count())
            .select_from(table(Appointment))
            .where(table(Appointment).c.status == AppointmentStatus.BOOKED.value)
        ).scalar()
    assert count == 1


def test_no_outcome_on_a_holder_another_desk_is_calling(engine: Engine, tmp_path: Path) -> None:
    """A call logged without a claim (a script) is refused while a colleague holds the holder
    through another of its reminders; the colleague's own outcome goes through."""
    build(engine, tmp_path, two_certificates(1, "13800000001"))
    first, second = reminder_ids(engine)
    with db.session_scope(engine, write=True) as session:
        entry = claims.next_for(
            session, staff_id=staff_id(engine, "甲"), section_id=section_id(engine), now=NOW
        )
        assert entry is not None
        claims.release(session, staff_id=staff_id(engine, "甲"), reminder_ids=[second])
    with pytest.raises(OutcomeRefused, match="该单位正由其他工作人员处理"):
        log(engine, second, "informed", who="乙")
    assert reminder(engine, second).attempts == 0
    log(engine, first, "informed", who="甲")
    log(engine, second, "informed", who="乙")  # 甲's claim ended with the outcome
    assert reminder(engine, second).state == "informed"


def test_a_wrong_only_number_on_a_call_about_two_certificates(
    engine: Engine, tmp_path: Path
) -> None:
    """The first certificate's outcome moves the second off the phone; the second's own
    outcome then records the same wrong number, not a refusal."""
    build(engine, tmp_path, two_certificates(1, "13800000001"))
    d = desk(engine)
    entry = d.claim_next()
    assert entry is not None and len(entry.reminders) == 2
    results = d.record(entry, "wrong_number", OutcomeInput())
    assert invalid_numbers(engine) == ["+8613800000001"]
    for rid in entry.reminders:
        r = reminder(engine, rid)
        assert (r.state, r.needs_repair, r.attempts, r.claimed_by_id) == ("due", True, 1, None)
    assert all("需补充联系方式" in r.message for r in results)


def test_one_wrong_number_when_the_certificates_have_different_contacts(
    engine: Engine, tmp_path: Path
) -> None:
    """The briefing shows every contact of the holder and one number was dialled: one is
    marked; the other contact's number is the next to dial, for both certificates."""
    holder = "东丽区第001号公司"
    build(
        engine,
        tmp_path,
        [
            due_row(1, contact_name="王经理", contact="13800000001"),
            due_row(
                2,
                holder=holder,
                certificate=SECOND_PERMIT,
                contact_name="李会计",
                contact="13900000002",
            ),
        ],
    )
    d = desk(engine)
    entry = d.claim_next()
    assert entry is not None and len(entry.reminders) == 2
    results = d.record(entry, "wrong_number", OutcomeInput())
    assert len(invalid_numbers(engine)) == 1
    assert [r.state for r in results] == ["retry", "retry"]


def test_a_wrong_number_two_contacts_share_is_wrong_for_both(
    engine: Engine, tmp_path: Path
) -> None:
    """The ledger names 王经理 for one certificate and 王总 for another, with one number: a
    wrong number marks it under both names, so it is not the "next number" to dial."""
    holder = "东丽区第001号公司"
    build(
        engine,
        tmp_path,
        [
            due_row(1, contact_name="王经理", contact="13800000001"),
            due_row(
                2,
                holder=holder,
                certificate=SECOND_PERMIT,
                contact_name="王总",
                contact="13800000001",
            ),
        ],
    )
    d = desk(engine)
    entry = d.claim_next()
    assert entry is not None and len(entry.reminders) == 2
    results = d.record(entry, "wrong_number", OutcomeInput())
    assert invalid_numbers(engine) == ["+8613800000001", "+8613800000001"]
    assert [reminder(engine, rid).needs_repair for rid in entry.reminders] == [True, True]
    assert all("需补充联系方式" in r.message for r in results)


def test_email_of_another_contact_of_the_holder_counts(engine: Engine, tmp_path: Path) -> None:
    """Emails go to every contact of the holder, so a wrong last number or three unanswered
    calls send the reminder to email, not to repair or the unreachable list."""
    holder = "东丽区第001号公司"
    build(
        engine,
        tmp_path,
        [
            due_row(1, contact_name="王经理", contact="13800000001"),
            due_row(
                2,
                holder=holder,
                certificate=SECOND_PERMIT,
                contact_name="李会计",
                contact="li@example.cn",
            ),
            due_row(3, contact_name="王经理", contact="13800000003"),
            due_row(
                4,
                holder="东丽区第003号公司",
                certificate=SECOND_PERMIT,
                contact_name="李会计",
                contact="li3@example.cn",
            ),
        ],
    )
    first, _, third, _ = reminder_ids(engine)
    wrong = log(engine, first, "wrong_number")
    r = reminder(engine, first)
    assert (r.state, r.channel, r.needs_repair) == ("due", "email", False), wrong.message
    for hours in (0, 3, 6):
        last = log(engine, third, "no_answer", now=NOW + timedelta(hours=hours))
    r = reminder(engine, third)
    assert (r.state, r.channel) == ("due", "email"), last.message


def test_moves_to_other_reminders_are_audited_each(engine: Engine, tmp_path: Path) -> None:
    build(engine, tmp_path, two_certificates(1, "13800000001"))
    first, second = reminder_ids(engine)
    log(engine, first, "wrong_number")
    e = table(AuditEvent)
    with db.session_scope(engine, write=False) as session:
        (event,) = session.execute(
            select(e.c.action, e.c.note, e.c.after).where(
                e.c.entity == "reminder", e.c.entity_id == str(second)
            )
        ).all()
    assert event.action == "reminder.reach" and "没有有效号码" in event.note
    assert event.after == {"needs_repair": True}


def test_the_cli_logs_one_call_about_two_certificates(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(engine, tmp_path, two_certificates(1, "13800000001/13900000001") + [due_row(3)])
    first, second, other = reminder_ids(engine)
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))

    def run(*args: str) -> Any:
        return CliRunner().invoke(
            cli.main, ["--db", db_url, "--today", "2026-11-24", "--staff", "甲", *args]
        )

    mixed = run("call", "log", str(first), str(other), "informed")
    assert mixed.exit_code == 1 and "同一单位" in mixed.stderr
    assert reminder(engine, first).attempts == 0  # nothing recorded
    done = run("call", "log", str(first), str(second), "wrong_number", "--json")
    assert done.exit_code == 0, done.output
    assert [r["state"] for r in json.loads(done.stdout)] == ["retry", "retry"]
    assert invalid_numbers(engine) == ["+8613800000001"]


def test_a_past_visit_is_not_cancelled_by_rebooking(engine: Engine, tmp_path: Path) -> None:
    (rid,) = build(engine, tmp_path, [due_row(1)]).values()
    log(engine, rid, "appointment", slot_at=SLOT)
    next_day = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)  # the visit was yesterday
    again = SLOT + timedelta(days=2)
    log(engine, rid, "appointment", now=next_day, slot_at=again)
    a = table(Appointment)
    with db.session_scope(engine, write=False) as session:
        statuses = session.execute(select(a.c.status).order_by(a.c.id)).scalars().all()
    assert statuses == ["booked", "booked"]  # the past one is for staff to mark done or missed


def test_a_visit_whose_time_has_not_come_cannot_be_missed(engine: Engine, tmp_path: Path) -> None:
    (rid,) = build(engine, tmp_path, [due_row(1)]).values()
    appointment_id = log(engine, rid, "appointment", slot_at=SLOT).appointment_id
    assert appointment_id is not None
    with pytest.raises(appointments.AppointmentRefused, match="时间未到，不能记为未到"):
        set_status(
            engine, appointment_id, AppointmentStatus.NO_SHOW, now=SLOT - timedelta(minutes=1)
        )
    assert booked(engine) == [(rid, SLOT)] and reminder(engine, rid).state == "appointment"
    done = set_status(engine, appointment_id, AppointmentStatus.DONE, now=SLOT - timedelta(hours=1))
    assert done.requeued is None  # a holder who came early is served
