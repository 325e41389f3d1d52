"""Staff and sections: look-ups the faces need."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from callqueue.db import table
from callqueue.models import Section, Staff


def section_names(session: Session) -> list[str]:
    """All section names, sorted."""
    return sorted(name for (name,) in session.execute(select(table(Section).c.name)))


def staff_id(session: Session, name: str | None) -> int | None:
    """The id of the staff member called `name`, if there is one."""
    if not name:
        return None
    return session.execute(select(table(Staff).c.id).where(table(Staff).c.name == name)).scalar()
