"""Staff and sections: who works which queue, with audit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlmodel import Session

from callqueue import audit, clock, roles
from callqueue.db import table
from callqueue.models import CatalogItem, Role, Section, SectionKind, Staff
from callqueue.queue import pins


class StaffError(ValueError):
    """A staff change that cannot be made; the message is for staff."""


@dataclass(frozen=True)
class StaffRow:
    """A staff member as the faces list them."""

    id: int
    name: str
    section_id: int
    section: str
    role: str
    active: bool
    has_pin: bool = False


@dataclass(frozen=True)
class Viewer:
    """Who looks at lists and records: callers see their own section, supervisors and admins all."""

    staff_id: int
    name: str
    section_id: int
    sees_all: bool
    section: str = ""
    role: str = Role.CALLER.value

    @classmethod
    def of(cls, staff: StaffRow) -> Viewer:
        """The viewer for a staff member, by role (roles.sees_all_sections)."""
        sees_all = roles.sees_all_sections(staff.role)
        return cls(staff.id, staff.name, staff.section_id, sees_all, staff.section, staff.role)

    @property
    def bound_section(self) -> str | None:
        """The one section this staff member may change (callers), None for every section."""
        return None if self.sees_all else self.section


@dataclass(frozen=True)
class SectionScope:
    """The sections a request may see, by id in name order; `every` means no restriction."""

    sections: dict[int, str]
    every: bool

    @property
    def ids(self) -> list[int] | None:
        """The section ids to filter on, or None for every section."""
        return None if self.every else list(self.sections)

    @property
    def names(self) -> list[str] | None:
        """The section names to filter on, or None for every section."""
        return None if self.every else list(self.sections.values())


def viewer(session: Session, name: str | None) -> Viewer | None:
    """The active staff member called `name` as a viewer; None when nobody is named.

    Raises:
        StaffError: no such staff member, or one who was deactivated.
    """
    return Viewer.of(get_staff(session, name)) if name else None


def scope(session: Session, *, viewer: Viewer | None, requested: str | None) -> SectionScope:
    """The sections `viewer` may see when asking for `requested` (None: all they may see).

    The rule is roles.scoped_sections; with no viewer (nobody named) nothing is restricted.

    Raises:
        StaffError: `requested` names no section.
        roles.NotAllowed: a caller asked for a section not their own.
    """
    if requested is not None:
        section_id(session, requested)
    allowed = roles.scoped_sections(
        name=viewer.name if viewer else None,
        role=viewer.role if viewer else None,
        own_section=viewer.section if viewer else None,
        requested=requested,
    )
    sec = table(Section)
    # In the catalog's order (the sections were created as 附件1 lists them), as the reports
    # list them: by name would follow the database's collation, not the same on SQLite and PG.
    query = select(sec.c.id, sec.c.name).order_by(sec.c.id)
    if allowed is not None:
        query = query.where(sec.c.name.in_(allowed))
    found = {int(i): n for i, n in session.execute(query)}
    return SectionScope(found, every=allowed is None)


def queue_sections(session: Session, *, viewer: Viewer | None) -> dict[int, str]:
    """The sections whose call queues `viewer` may work, by id in the catalog's order.

    As `scope` without a section asked for, less a supervising section (政务服务科) that
    no catalog item names: it has no queue of its own, so a supervisor's desk does not open
    on it or stop at it when going round the sections. A caller's own section always counts.
    """
    sections = scope(session, viewer=viewer, requested=None).sections
    sec, item = table(Section), table(CatalogItem)
    idle = set(
        session.execute(
            select(sec.c.id).where(
                sec.c.id.in_(list(sections)),
                sec.c.kind == SectionKind.SUPERVISION.value,
                ~exists().where(item.c.section_id == sec.c.id),
            )
        ).scalars()
    )
    if viewer is not None and not viewer.sees_all:
        idle.discard(viewer.section_id)
    working = {i: name for i, name in sections.items() if i not in idle}
    return working or sections


def section_refusal(
    session: Session,
    *,
    viewer: Viewer | None,
    section_id: int,
    what: str,
    task: str = "处理",
    kind: str = "提醒",
) -> str | None:
    """Why `viewer` may not change data of section `section_id`, or None when they may.

    Callers change their own section's data only; supervisors, admins and nobody named (the
    operator's own command line, the send run) change any. Reads nothing unless refusing.

    Args:
        session: the unit of work (the refusal reads the other section's name).
        viewer: who changes the data, or None when nobody is named.
        section_id: the section the data belongs to.
        what: the data, in Chinese (e.g. 提醒 12).
        task: what callers may do in their own section only (e.g. 处理).
        kind: what data (e.g. 提醒).
    """
    if viewer is None or viewer.sees_all or viewer.section_id == section_id:
        return None
    sec = table(Section)
    name = session.execute(select(sec.c.name).where(sec.c.id == section_id)).scalar()
    return roles.other_section_message(
        viewer.name,
        viewer.role,
        own_section=viewer.section,
        task=task,
        kind=kind,
        what=what,
        section=name or f"科室 {section_id}",
    )


def section_names(session: Session) -> list[str]:
    """All section names, in the catalog's order (as `scope` lists them)."""
    sec = table(Section)
    return list(session.execute(select(sec.c.name).order_by(sec.c.id)).scalars())


def section_id(session: Session, name: str) -> int:
    """The id of the section called `name`, or StaffError."""
    found = session.execute(
        select(table(Section).c.id).where(table(Section).c.name == name)
    ).scalar()
    if found is None:
        raise StaffError(f"科室“{name}”不存在（现有：{'、'.join(section_names(session))}）")
    return int(found)


def staff_id(session: Session, name: str | None) -> int | None:
    """The id of the staff member called `name`, if there is one."""
    if not name:
        return None
    return session.execute(select(table(Staff).c.id).where(table(Staff).c.name == name)).scalar()


def get_staff(session: Session, name: str) -> StaffRow:
    """The active staff member called `name`, or StaffError."""
    for row in list_staff(session):
        if row.name == name:
            if not row.active:
                raise StaffError(f"工作人员“{name}”已停用")
            return row
    raise StaffError(f"没有名为“{name}”的工作人员（先用 callqueue staff add 添加）")


def list_staff(session: Session) -> list[StaffRow]:
    """Every staff member, by section and name."""
    s, sec = table(Staff), table(Section)
    rows = session.execute(
        select(
            s.c.id,
            s.c.name,
            s.c.section_id,
            sec.c.name,
            s.c.role,
            s.c.active,
            s.c.pin_hash.is_not(None),
        )
        .join(sec, sec.c.id == s.c.section_id)
        .order_by(sec.c.id, s.c.name)
    ).all()
    return [StaffRow(*row) for row in rows]


def add_staff(
    session: Session,
    *,
    name: str,
    section: str,
    role: str,
    actor: str,
    pin: str | None = None,
    actor_id: int | None = None,
) -> StaffRow:
    """Add a staff member to a section, with a PIN if given, audited (the PIN never is).

    Raises:
        StaffError: empty or taken name, unknown section or role.
        pins.PinRefused: the PIN breaks the rule.
    """
    pin_hash = pins.hash_pin(pin) if pin is not None else None
    name = name.strip()
    if not name:
        raise StaffError("姓名不能为空")
    if role not in set(Role):
        raise StaffError(f"角色“{role}”无法识别，可选：caller、supervisor、admin")
    if staff_id(session, name) is not None:
        raise StaffError(f"已有名为“{name}”的工作人员")
    member = Staff(
        name=name,
        section_id=section_id(session, section),
        role=role,
        pin_hash=pin_hash,
        created_at=clock.now(),
    )
    session.add(member)
    session.flush()
    audit.record(
        session,
        action="staff.add",
        entity="staff",
        entity_id=member.id,
        after={"name": name, "section": section, "role": role, "pin_set": pin_hash is not None},
        staff_id=actor_id,
        actor=actor,
    )
    return StaffRow(
        member.id or 0, name, member.section_id, section, role, True, pin_hash is not None
    )
