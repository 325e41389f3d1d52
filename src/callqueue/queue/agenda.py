"""A day's appointments as the hall desk reads them: time, holder, certificate, who booked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlmodel import Session

from callqueue.clock import SHANGHAI, local
from callqueue.db import table
from callqueue.models import Appointment, CatalogItem, Certificate, Holder, Reminder, Section, Staff

LIMIT = 500  # one hall's day is far below this; a page never holds more


@dataclass(frozen=True)
class AgendaRow:
    """One appointment with the names staff need to see."""

    id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    holder_id: int
    holder: str
    reminder_id: int | None
    section_id: int
    certificate: str
    certificate_number: str
    section: str
    booked_by: str
    note: str


def day_agenda(
    session: Session, *, day: date, section_ids: Sequence[int] | None, limit: int | None = LIMIT
) -> list[AgendaRow]:
    """The appointments of `day` in time order, all sections when `section_ids` is None.

    Args:
        session: a read session.
        day: the day, in office (Shanghai) time.
        section_ids: whose hall desks, or None for every section.
        limit: at most this many rows (None: all).

    Returns:
        One row per appointment, cancelled and no-show ones included.
    """
    a, h, r, c = table(Appointment), table(Holder), table(Reminder), table(Certificate)
    item, sec, st = table(CatalogItem), table(Section), table(Staff)
    start = datetime.combine(day, time(0), SHANGHAI)
    query = (
        select(
            a.c.id,
            a.c.starts_at,
            a.c.ends_at,
            a.c.status,
            h.c.name,
            item.c.certificate_name,
            c.c.number,
            sec.c.name,
            st.c.name,
            a.c.note,
            a.c.holder_id,
            a.c.reminder_id,
            a.c.section_id,
        )
        .join(h, h.c.id == a.c.holder_id)
        .join(sec, sec.c.id == a.c.section_id)
        .outerjoin(r, r.c.id == a.c.reminder_id)
        .outerjoin(c, c.c.id == r.c.certificate_id)
        .outerjoin(item, item.c.id == c.c.catalog_item_id)
        .outerjoin(st, st.c.id == a.c.staff_id)
        .where(a.c.starts_at >= start, a.c.starts_at < start + timedelta(days=1))
        .order_by(a.c.starts_at, a.c.id)
        .limit(limit)
    )
    if section_ids is not None:
        query = query.where(a.c.section_id.in_(list(section_ids)))
    return [
        AgendaRow(
            id=row[0],
            starts_at=local(row[1]),
            ends_at=local(row[2]),
            status=row[3],
            holder_id=row[10],
            holder=row[4],
            reminder_id=row[11],
            section_id=row[12],
            certificate=row[5] or "",
            certificate_number=row[6] or "",
            section=row[7],
            booked_by=row[8] or "",
            note=row[9] or "",
        )
        for row in session.execute(query).all()
    ]
