"""Staff sign-in with a PIN: wrong PINs in a row lock the staff member out for a while.

A sign-in is two units of work around the slow hash check (~0.2 s of Argon2id): the first
reads the staff member's hash, the check runs outside any transaction (so SQLite's write lock
is never held while hashing), and the second locks the staff row, re-reads it and records the
result. Two desks trying PINs for one staff member at once therefore count every wrong PIN.
Failures, lockouts and good sign-ins are audited; the PIN itself never is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlmodel import Session

from callqueue import audit, clock, db
from callqueue.db import table
from callqueue.models import Staff
from callqueue.queue import pins
from callqueue.queue.staff import StaffRow, list_staff

if TYPE_CHECKING:
    from sqlalchemy import Engine

MAX_FAILURES = 5
"""Wrong PINs in a row that lock a staff member out."""
LOCKOUT = timedelta(minutes=15)
"""How long the lockout lasts."""
UNKNOWN = "没有这位工作人员，请重新选择"


class Verdict(StrEnum):
    """How a sign-in ended."""

    SIGNED_IN = "signed_in"
    MALFORMED = "malformed"
    WRONG = "wrong"
    LOCKED = "locked"
    INACTIVE = "inactive"
    NO_PIN = "no_pin"
    UNKNOWN = "unknown"
    CHANGED = "changed"


@dataclass(frozen=True)
class SignIn:
    """The result of one PIN entered; `message` is for staff (empty when signed in)."""

    verdict: Verdict
    staff: StaffRow | None = None
    message: str = ""
    remaining: int | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """The staff member is signed in."""
        return self.verdict is Verdict.SIGNED_IN


def sign_in_required(db_url: str, asked: bool) -> bool:
    """Tell whether a desk must ask for a PIN: when asked to, or the database is shared.

    A SQLite file is one desk's own database; any server database (PostgreSQL) is shared.
    """
    return asked or make_url(db_url).get_backend_name() != "sqlite"


def sign_in(engine: Engine, *, staff_id: int, pin: str, now: datetime) -> SignIn:
    """Check `pin` for a staff member and record the result (see the module docstring).

    Takes the engine rather than a session: the hash check must run between two units of work.

    Args:
        engine: the database.
        staff_id: who signs in (chosen from the staff list).
        pin: what they typed.
        now: the time in force.

    Returns:
        The verdict, with the staff member when signed in.
    """
    try:
        pins.check_pin(pin)
    except pins.PinRefused as exc:
        return SignIn(Verdict.MALFORMED, message=str(exc))
    with db.session_scope(engine, write=False) as session:
        row = _row(session, staff_id, lock=False)
        early = _refusal(row, now)
    if early is not None:
        return early
    seen = row.pin_hash
    good = pins.verify_pin(seen, pin)
    fresh = pins.hash_pin(pin) if good and seen and pins.needs_rehash(seen) else None
    with db.session_scope(engine, write=True) as session:
        return _record(session, staff_id=staff_id, seen=seen, good=good, fresh=fresh, now=now)


def _row(session: Session, staff_id: int, *, lock: bool) -> Any:
    s = table(Staff)
    query = select(
        s.c.id, s.c.name, s.c.active, s.c.pin_hash, s.c.failed_pins, s.c.locked_until
    ).where(s.c.id == staff_id)
    return session.execute(query.with_for_update() if lock else query).first()


def _refusal(row: Any, now: datetime) -> SignIn | None:
    """Why this staff member cannot sign in at all right now, or None."""
    if row is None:
        return SignIn(Verdict.UNKNOWN, message=UNKNOWN)
    if not row.active:
        return SignIn(Verdict.INACTIVE, message=f"工作人员“{row.name}”已停用，不能登录")
    if not row.pin_hash:
        return SignIn(
            Verdict.NO_PIN,
            message=(
                f"“{row.name}”还没有设置 PIN，请管理员设置"
                f"（callqueue --staff 管理员 staff pin {row.name}）"
            ),
        )
    if row.locked_until is not None and row.locked_until > now:
        return SignIn(
            Verdict.LOCKED,
            message=f"连续输错 {MAX_FAILURES} 次，已锁定至 {clock.local(row.locked_until):%H:%M}",
            locked_until=row.locked_until,
        )
    return None


def _record(
    session: Session,
    *,
    staff_id: int,
    seen: str | None,
    good: bool,
    fresh: str | None,
    now: datetime,
) -> SignIn:
    """Record one checked PIN against the staff row, locked and read again."""
    row = _row(session, staff_id, lock=True)
    refused = _refusal(row, now)
    if refused is not None:
        return refused
    if row.pin_hash != seen:  # reset by an admin while we were checking
        return SignIn(Verdict.CHANGED, message="PIN 刚刚被重新设置，请输入新的 PIN")
    s = table(Staff)
    where = update(s).where(s.c.id == staff_id)
    event = {"entity": "staff", "entity_id": staff_id, "staff_id": staff_id, "actor": row.name}
    if good:
        values: dict[str, Any] = {"failed_pins": 0, "locked_until": None}
        if fresh:
            values["pin_hash"] = fresh
        session.execute(where.values(**values))
        audit.record(session, action="staff.sign_in", at=now, **event)
        member = next(m for m in list_staff(session) if m.id == staff_id)
        return SignIn(Verdict.SIGNED_IN, staff=member)
    failures = int(row.failed_pins) + 1
    if failures >= MAX_FAILURES:
        until = now + LOCKOUT
        session.execute(where.values(failed_pins=0, locked_until=until))
        audit.record(
            session,
            action="staff.locked",
            after={"failures": failures, "locked_until": until},
            at=now,
            **event,
        )
        return SignIn(
            Verdict.LOCKED,
            message=f"PIN 不正确，连续输错 {failures} 次，已锁定至 {clock.local(until):%H:%M}",
            locked_until=until,
        )
    session.execute(where.values(failed_pins=failures))
    audit.record(
        session, action="staff.sign_in_failed", after={"failures": failures}, at=now, **event
    )
    left = MAX_FAILURES - failures
    return SignIn(Verdict.WRONG, message=f"PIN 不正确，还可再试 {left} 次", remaining=left)
