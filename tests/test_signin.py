"""Sign-in with a PIN: lockout after wrong PINs in a row, refusals, audit; admin staff changes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, update

from callqueue import db, roles
from callqueue.db import table
from callqueue.models import Attempt, AuditEvent, Staff
from callqueue.queue import claims, outcomes, pins, signin, staff, staff_admin
from callqueue.queue.signin import Verdict

from .queue_world import NOW, SECTION, build, due_row, policy, staff_id

PIN = "246810"


def add(engine: Engine, name: str, *, role: str = "caller", pin: str | None = PIN) -> int:
    with db.session_scope(engine, write=True) as session:
        return staff.add_staff(
            session, name=name, section="政务服务科", role=role, actor="t", pin=pin
        ).id


def events(engine: Engine, *actions: str) -> list[AuditEvent]:
    with db.session_scope(engine, write=False) as session:
        query = select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id)  # type: ignore[attr-defined]
        return list(session.execute(query).scalars())


def staff_row(engine: Engine, sid: int) -> Any:
    with db.session_scope(engine, write=False) as session:
        return session.execute(select(table(Staff)).where(table(Staff).c.id == sid)).one()


def test_the_right_pin_signs_in_and_is_audited_without_the_pin(engine: Engine) -> None:
    sid = add(engine, "甲")
    result = signin.sign_in(engine, staff_id=sid, pin=PIN, now=NOW)
    assert result.ok and result.staff is not None and result.staff.name == "甲"
    assert result.staff.has_pin and result.message == ""
    (event,) = events(engine, "staff.sign_in")
    assert event.entity_id == str(sid) and event.staff_id == sid and event.actor == "甲"


def test_five_wrong_pins_in_a_row_lock_for_fifteen_minutes(engine: Engine) -> None:
    sid = add(engine, "甲")
    remaining = []
    for n in range(4):
        result = signin.sign_in(engine, staff_id=sid, pin=f"99990{n}", now=NOW)
        assert result.verdict is Verdict.WRONG
        remaining.append(result.remaining)
        assert result.message == f"PIN 不正确，还可再试 {4 - n} 次"
    assert remaining == [4, 3, 2, 1]
    locked = signin.sign_in(engine, staff_id=sid, pin="0000", now=NOW)
    assert locked.verdict is Verdict.LOCKED and locked.locked_until == NOW + timedelta(minutes=15)
    assert locked.message == "PIN 不正确，连续输错 5 次，已锁定至 09:15"
    # While locked even the right PIN is refused, and nothing more is counted.
    later = NOW + timedelta(minutes=14)
    still = signin.sign_in(engine, staff_id=sid, pin=PIN, now=later)
    assert still.verdict is Verdict.LOCKED and "已锁定至 09:15" in still.message
    assert staff_row(engine, sid).failed_pins == 0
    assert signin.sign_in(engine, staff_id=sid, pin=PIN, now=NOW + timedelta(minutes=15)).ok
    failed = events(engine, "staff.sign_in_failed", "staff.locked")
    assert [e.action for e in failed] == ["staff.sign_in_failed"] * 4 + ["staff.locked"]
    assert [e.after["failures"] for e in failed if e.after] == [1, 2, 3, 4, 5]
    trail = json.dumps([[e.before, e.after, e.note] for e in events(engine, *ACTIONS)])
    assert PIN not in trail and "99990" not in trail and "argon2" not in trail


ACTIONS = ("staff.add", "staff.pin", "staff.sign_in", "staff.sign_in_failed", "staff.locked")


def test_a_good_pin_resets_the_count(engine: Engine) -> None:
    sid = add(engine, "甲")
    for _ in range(4):
        assert signin.sign_in(engine, staff_id=sid, pin="1111", now=NOW).verdict is Verdict.WRONG
    assert signin.sign_in(engine, staff_id=sid, pin=PIN, now=NOW).ok
    assert staff_row(engine, sid).failed_pins == 0
    assert signin.sign_in(engine, staff_id=sid, pin="1111", now=NOW).remaining == 4


def test_malformed_input_is_refused_and_not_counted(engine: Engine) -> None:
    sid = add(engine, "甲")
    for typed in ("12", "abcd", "123456789"):
        result = signin.sign_in(engine, staff_id=sid, pin=typed, now=NOW)
        assert result.verdict is Verdict.MALFORMED and result.message == "PIN 须为 4–8 位数字"
    assert staff_row(engine, sid).failed_pins == 0
    assert events(engine, "staff.sign_in_failed") == []


def test_inactive_unknown_and_pinless_staff_cannot_sign_in(engine: Engine) -> None:
    sid = add(engine, "甲")
    add(engine, "管理", role="admin")
    pinless = add(engine, "乙", pin=None)
    with db.session_scope(engine, write=True) as session:
        staff_admin.set_active(session, name="甲", active=False, actor="管理", now=NOW)
    gone = signin.sign_in(engine, staff_id=sid, pin=PIN, now=NOW)
    assert gone.verdict is Verdict.INACTIVE and gone.message == "工作人员“甲”已停用，不能登录"
    nopin = signin.sign_in(engine, staff_id=pinless, pin="1234", now=NOW)
    assert nopin.verdict is Verdict.NO_PIN and "请管理员设置" in nopin.message
    assert "staff pin 乙" in nopin.message
    assert signin.sign_in(engine, staff_id=99999, pin="1234", now=NOW).verdict is Verdict.UNKNOWN


def test_a_pin_reset_ends_a_lockout(engine: Engine) -> None:
    sid = add(engine, "甲")
    for _ in range(5):
        signin.sign_in(engine, staff_id=sid, pin="1111", now=NOW)
    assert signin.sign_in(engine, staff_id=sid, pin=PIN, now=NOW).verdict is Verdict.LOCKED
    with db.session_scope(engine, write=True) as session:
        staff_admin.set_pin(session, name="甲", pin="13579", actor="管理")
    assert not signin.sign_in(engine, staff_id=sid, pin=PIN, now=NOW).ok
    assert signin.sign_in(engine, staff_id=sid, pin="13579", now=NOW).ok
    (event,) = events(engine, "staff.pin")
    assert event.after == {"pin_set": True}


def test_a_weaker_hash_is_upgraded_at_the_next_good_sign_in(engine: Engine) -> None:
    sid = add(engine, "甲", pin=None)
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PIN)
    with db.session_scope(engine, write=True) as session:
        s = table(Staff)
        session.execute(update(s).where(s.c.id == sid).values(pin_hash=weak))
    assert signin.sign_in(engine, staff_id=sid, pin=PIN, now=NOW).ok
    stored = staff_row(engine, sid).pin_hash
    assert stored != weak and not pins.needs_rehash(stored) and pins.verify_pin(stored, PIN)


def test_bad_pins_for_new_staff_write_nothing(engine: Engine) -> None:
    with pytest.raises(pins.PinRefused), db.session_scope(engine, write=True) as session:
        staff.add_staff(
            session, name="丁", section="政务服务科", role="caller", actor="t", pin="12"
        )
    with db.session_scope(engine, write=False) as session:
        assert staff.staff_id(session, "丁") is None


def test_deactivation_releases_claims_keeps_history_and_stops_claiming(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine, tmp_path, [due_row(1), due_row(2)])
    add(engine, "管理", role="admin")
    me = staff_id(engine, "甲")
    with db.session_scope(engine, write=True) as session:
        sec = staff.section_id(session, SECTION)
        first = claims.next_for(session, staff_id=me, section_id=sec, now=NOW)
    assert first is not None
    with db.session_scope(engine, write=True) as session:
        outcomes.record_outcome(
            session,
            reminder_id=first.reminders[0],
            outcome="no_answer",
            staff_id=me,
            policy=policy(engine),
        )
        held = claims.next_for(session, staff_id=me, section_id=sec, now=NOW)
    assert held is not None
    with db.session_scope(engine, write=True) as session:
        released = staff_admin.set_active(session, name="甲", active=False, actor="管理", now=NOW)
    assert released == len(held.reminders) >= 1
    r = table(claims.Reminder)
    with db.session_scope(engine, write=False) as session:
        assert session.execute(select(r.c.id).where(r.c.claimed_by_id == me)).all() == []
        kept = session.execute(select(table(Attempt)).where(table(Attempt).c.staff_id == me))
        assert len(kept.all()) == 1
    (event,) = events(engine, "staff.deactivate")
    assert event.after == {"active": False, "claims_released": released}
    with (
        pytest.raises(staff.StaffError, match="已停用"),
        db.session_scope(engine, write=True) as session,
    ):
        claims.next_for(session, staff_id=me, section_id=sec, now=NOW)
    with db.session_scope(engine, write=True) as session:
        assert staff_admin.set_active(session, name="甲", active=True, actor="管理", now=NOW) == 0
        assert claims.next_for(session, staff_id=me, section_id=sec, now=NOW) is not None


def test_the_last_active_admin_stays(engine: Engine) -> None:
    add(engine, "管理", role="admin")
    with (
        pytest.raises(staff.StaffError, match="唯一的在用管理员"),
        db.session_scope(engine, write=True) as session,
    ):
        staff_admin.set_active(session, name="管理", active=False, actor="管理", now=NOW)
    add(engine, "副管理", role="admin")
    with db.session_scope(engine, write=True) as session:
        staff_admin.set_active(session, name="管理", active=False, actor="副管理", now=NOW)
    with (
        pytest.raises(staff.StaffError, match="已经停用"),
        db.session_scope(engine, write=True) as session,
    ):
        staff_admin.set_active(session, name="管理", active=False, actor="副管理", now=NOW)


def test_who_may_change_staff(engine: Engine) -> None:
    add(engine, "甲")
    with db.session_scope(engine, write=False) as session:
        staff_admin.authorize(session, name=None, task="添加工作人员")  # no admin yet
        staff_admin.authorize(session, name="甲", task="添加工作人员")
    add(engine, "管理", role="admin")
    with db.session_scope(engine, write=False) as session:
        staff_admin.authorize(session, name="管理", task="添加工作人员")
        with pytest.raises(
            roles.NotAllowed, match="已有管理员，添加工作人员须用 --staff 指定管理员"
        ):
            staff_admin.authorize(session, name=None, task="添加工作人员")
        with pytest.raises(roles.NotAllowed, match="只有管理员可以设置 PIN；甲是提醒人"):
            staff_admin.authorize(session, name="甲", task="设置 PIN")
        with pytest.raises(staff.StaffError, match="没有名为"):
            staff_admin.authorize(session, name="谁", task="设置 PIN")


def test_sign_in_is_required_for_shared_databases_or_when_asked() -> None:
    assert not signin.sign_in_required("sqlite:////tmp/x.sqlite", False)
    assert signin.sign_in_required("sqlite:////tmp/x.sqlite", True)
    assert signin.sign_in_required("postgresql+psycopg://u@h/db", False)
