"""What admins do to staff: set PINs, deactivate and reactivate, with audit.

Who may: an active admin; or anyone while the database has no active admin yet (a fresh
install, where the operator's shell adds the first staff and the first admin).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from callqueue import audit, roles
from callqueue.db import table
from callqueue.models import Role, Staff
from callqueue.queue import claims, pins
from callqueue.queue.staff import StaffError, StaffRow, get_staff


def has_admin(session: Session) -> bool:
    """Tell whether any active admin exists (then staff changes need one)."""
    return _active_admins(session) > 0


def authorize(session: Session, *, name: str | None, task: str) -> None:
    """Refuse unless `name` is an active admin, or no active admin exists yet.

    Args:
        session: the unit of work.
        name: who asks (`--staff`), or None for the operator's shell.
        task: what they want to do, in Chinese (e.g. 添加工作人员).

    Raises:
        roles.NotAllowed: nobody named, or not an admin.
        StaffError: the named staff member is unknown or deactivated.
    """
    if not has_admin(session):
        return
    if not name:
        admins = "、".join(_admin_names(session))
        raise roles.NotAllowed(f"已有管理员，{task}须用 --staff 指定管理员（{admins}）")
    me = get_staff(session, name)
    roles.require_admin(me.name, me.role, task=task)


def _member(session: Session, name: str) -> Any:
    s = table(Staff)
    row = session.execute(
        select(s.c.id, s.c.name, s.c.role, s.c.active).where(s.c.name == name).with_for_update()
    ).first()
    if row is None:
        raise StaffError(f"没有名为“{name}”的工作人员")
    return row


def set_pin(
    session: Session, *, name: str, pin: str, actor: str, actor_id: int | None = None
) -> None:
    """Set or reset a staff member's PIN; a lockout and wrong-PIN count end with it.

    Raises:
        pins.PinRefused: the PIN breaks the rule (nothing written).
        StaffError: no such staff member.
    """
    hashed = pins.hash_pin(pin)
    row = _member(session, name)
    s = table(Staff)
    session.execute(
        update(s).where(s.c.id == row.id).values(pin_hash=hashed, failed_pins=0, locked_until=None)
    )
    audit.record(
        session,
        action="staff.pin",
        entity="staff",
        entity_id=row.id,
        after={"pin_set": True},
        staff_id=actor_id,
        actor=actor,
    )


def set_active(
    session: Session,
    *,
    name: str,
    active: bool,
    actor: str,
    actor_id: int | None = None,
    now: datetime,
) -> int:
    """Deactivate (or reactivate) a staff member; deactivating releases every claim they hold.

    Their attempts, audit events and callbacks stay as they are: history is never rewritten.

    Returns:
        How many reminders' claims were released.

    Raises:
        StaffError: no such staff member, already in that state, or the last active admin.
    """
    if not active:
        # Two admins stopping each other at once on PostgreSQL each counted the other still
        # active and left none: the active admins are locked first (in id order, so desks
        # queue rather than deadlock), and the second desk counts after the first commits.
        _lock_admins(session)
    row = _member(session, name)
    if bool(row.active) == active:
        raise StaffError(f"“{name}”{'已是在用状态' if active else '已经停用'}")
    if not active and row.role == Role.ADMIN and _active_admins(session) <= 1:
        raise StaffError(f"“{name}”是唯一的在用管理员，不能停用（先添加另一位管理员）")
    s = table(Staff)
    session.execute(
        update(s).where(s.c.id == row.id).values(active=active, failed_pins=0, locked_until=None)
    )
    released = 0 if active else claims.release_all(session, staff_id=row.id)
    audit.record(
        session,
        action="staff.activate" if active else "staff.deactivate",
        entity="staff",
        entity_id=row.id,
        before={"active": not active},
        after={"active": active, "claims_released": released},
        staff_id=actor_id,
        actor=actor,
        at=now,
    )
    return released


def _lock_admins(session: Session) -> None:
    s = table(Staff)
    session.execute(
        select(s.c.id)
        .where(s.c.role == Role.ADMIN.value, s.c.active.is_(True))
        .order_by(s.c.id)
        .with_for_update()
    ).all()


def authorize_keeper(session: Session, *, name: str | None, task: str) -> StaffRow | None:
    """The supervisor or admin `name` doing an office-wide task (the catalog, office details).

    The operator's shell may while no active supervisor or admin exists yet (a fresh install).

    Args:
        session: the unit of work.
        name: who asks (`--staff`), or None for the operator's shell.
        task: what they want to do, in Chinese (e.g. 载入目录文件).

    Returns:
        The staff member, or None for the shell of a fresh install.

    Raises:
        roles.NotAllowed: nobody named while there are keepers, or not a supervisor or admin.
        StaffError: the named staff member is unknown or deactivated.
    """
    if name:
        me = get_staff(session, name)
        roles.require_supervisor(me.name, me.role, task=task)
        return me
    s = table(Staff)
    keepers = sorted(
        session.execute(
            select(s.c.name).where(
                s.c.role.in_([r.value for r in roles.SUPERVISORS]), s.c.active.is_(True)
            )
        ).scalars()
    )
    if keepers:
        raise roles.NotAllowed(f"{task}须用 --staff 指定主管或管理员（{'、'.join(keepers)}）")
    return None


def _admin_names(session: Session) -> list[str]:
    """The active admins' names, in name order (to say whom to ask)."""
    s = table(Staff)
    query = select(s.c.name).where(s.c.role == Role.ADMIN.value, s.c.active.is_(True))
    return sorted(session.execute(query).scalars())


def _active_admins(session: Session) -> int:
    return len(_admin_names(session))
