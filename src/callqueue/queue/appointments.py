"""Pre-appointments (提前预约): slots on working days in office hours, with per-slot capacity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import distinct, exists, func, select, update
from sqlmodel import Session

from callqueue import audit
from callqueue.calendar import WorkCalendar
from callqueue.clock import SHANGHAI, local
from callqueue.db import rowcount, table
from callqueue.hours import OfficeHours
from callqueue.models import Appointment, AppointmentStatus, Reminder, ReminderState, Section
from callqueue.notify import outbox
from callqueue.queue.staff import Viewer, section_refusal

STATUS_LABELS: dict[str, str] = {
    AppointmentStatus.BOOKED: "已预约",
    AppointmentStatus.CANCELLED: "已取消",
    AppointmentStatus.NO_SHOW: "未到",
    AppointmentStatus.DONE: "已办结",
}


class AppointmentRefused(ValueError):
    """A slot that cannot be booked or changed; the message is for staff."""


@dataclass(frozen=True)
class StatusChange:
    """A cancelled or missed appointment, and the reminder that went back to the queue."""

    appointment: Appointment
    requeued: int | None = None


@dataclass(frozen=True)
class Slot:
    """One bookable slot and how full it is."""

    starts_at: datetime
    ends_at: datetime
    booked: int
    capacity: int

    @property
    def free(self) -> int:
        """Places left."""
        return max(0, self.capacity - self.booked)

    def label(self) -> str:
        """As staff say it: 11月25日（周三）09:00–09:30，余2个."""
        weekday = "一二三四五六日"[self.starts_at.weekday()]
        return (
            f"{self.starts_at:%m月%d日}（周{weekday}）{self.starts_at:%H:%M}–"
            f"{self.ends_at:%H:%M}，余{self.free}个"
        )


def _section(session: Session, section_id: int) -> Section:
    section = session.get(Section, section_id)
    if section is None:
        raise AppointmentRefused(f"科室 {section_id} 不存在")
    return section


def day_slots(day_start: datetime, *, minutes: int, hours: OfficeHours) -> list[datetime]:
    """Slot start times of one day: each open span cut into `minutes`-long slots."""
    starts = []
    for opening, closing in hours.spans:
        at = datetime.combine(day_start.date(), opening, SHANGHAI)
        end = datetime.combine(day_start.date(), closing, SHANGHAI)
        while at + timedelta(minutes=minutes) <= end:
            starts.append(at)
            at += timedelta(minutes=minutes)
    return starts


def free_slots(
    session: Session,
    *,
    section_id: int,
    after: datetime,
    days: int,
    calendar: WorkCalendar,
    hours: OfficeHours,
    limit: int | None = None,
) -> list[Slot]:
    """Slots with room from `after` over the next `days` working days.

    Args:
        session: a read session.
        section_id: whose hall desk.
        after: only slots starting after this moment.
        days: working days to look ahead.
        calendar: working days.
        hours: office hours.
        limit: stop after this many slots.

    Returns:
        Slots with at least one free place, in time order.
    """
    section = _section(session, section_id)
    day = calendar.next_workday(local(after).date())
    out: list[Slot] = []
    for _ in range(days):
        start = datetime.combine(day, datetime.min.time(), SHANGHAI)
        booked = _booked(session, section_id, start, start + timedelta(days=1))
        for at in day_slots(start, minutes=section.slot_minutes, hours=hours):
            if at <= after:
                continue
            slot = Slot(
                at,
                at + timedelta(minutes=section.slot_minutes),
                booked.get(at, 0),
                section.slot_capacity,
            )
            if slot.free:
                out.append(slot)
                if limit is not None and len(out) >= limit:
                    return out
        day = calendar.next_workday(day + timedelta(days=1))
    return out


def _booked(
    session: Session, section_id: int, start: datetime, end: datetime
) -> dict[datetime, int]:
    """Places taken per slot start: one per holder (a visit about several certificates is one)."""
    a = table(Appointment)
    rows = session.execute(
        select(a.c.starts_at, func.count(distinct(a.c.holder_id)))
        .where(
            a.c.section_id == section_id,
            a.c.status == AppointmentStatus.BOOKED.value,
            a.c.starts_at >= start,
            a.c.starts_at < end,
        )
        .group_by(a.c.starts_at)
    ).all()
    return {local(at): n for at, n in rows}


def book(
    session: Session,
    *,
    section_id: int,
    holder_id: int,
    reminder_id: int | None,
    starts_at: datetime,
    staff_id: int | None,
    now: datetime,
    calendar: WorkCalendar,
    hours: OfficeHours,
    note: str = "",
) -> Appointment:
    """Book a slot (its confirmation queued for email when an address is known), or refuse
    with the next free slots named.

    Raises:
        AppointmentRefused: not a working day, outside office hours, not a slot start, in the
            past, full, or this reminder is already booked then. Nothing was changed.

    One holder takes one place per slot, however many certificates the visit is about. A
    reminder booked for another slot is rebooked: its earlier appointment still to come is
    cancelled (a past one stays, to be marked done or missed).
    """
    section = _section(session, section_id)
    at = local(starts_at)
    _lock_slot(session, section_id, at)
    nearest = free_slots(
        session,
        section_id=section_id,
        after=max(now, at - timedelta(minutes=1)),
        days=5,
        calendar=calendar,
        hours=hours,
        limit=3,
    )
    offer = "；可约：" + "、".join(s.label() for s in nearest) if nearest else ""
    if at <= now:
        raise AppointmentRefused(f"预约时间 {at:%Y-%m-%d %H:%M} 已过" + offer)
    if not calendar.is_workday(at.date()):
        raise AppointmentRefused(f"{at:%Y-%m-%d} 不是工作日" + offer)
    if at not in day_slots(at, minutes=section.slot_minutes, hours=hours):
        raise AppointmentRefused(
            f"{at:%H:%M} 不是预约时段的开始（办公时间 {hours.label()}，每段{section.slot_minutes}分钟）"
            + offer
        )
    a = table(Appointment)
    booked_then = [  # the holder's places at this slot (a visit about another certificate)
        rid
        for (rid,) in session.execute(
            select(a.c.reminder_id).where(
                a.c.section_id == section_id,
                a.c.holder_id == holder_id,
                a.c.starts_at >= at,
                a.c.starts_at < at + timedelta(seconds=1),
                a.c.status == AppointmentStatus.BOOKED.value,
            )
        )
    ]
    if reminder_id is not None and reminder_id in booked_then:
        raise AppointmentRefused(f"已预约 {at:%m月%d日 %H:%M}，无需重复预约")
    booked = _booked(session, section_id, at, at + timedelta(seconds=1)).get(at, 0)
    if not booked_then and booked >= section.slot_capacity:
        raise AppointmentRefused(f"{at:%m月%d日 %H:%M} 已约满（{section.slot_capacity}个）" + offer)
    earlier = (
        []
        if reminder_id is None
        else session.execute(
            select(a.c.id, a.c.starts_at).where(  # a past visit is done or missed, not moved
                a.c.reminder_id == reminder_id,
                a.c.status == AppointmentStatus.BOOKED.value,
                a.c.starts_at > now,
            )
        ).all()
    )
    appointment = Appointment(
        reminder_id=reminder_id,
        holder_id=holder_id,
        section_id=section_id,
        starts_at=at,
        ends_at=at + timedelta(minutes=section.slot_minutes),
        staff_id=staff_id,
        note=note,
        created_at=now,
    )
    session.add(appointment)
    session.flush()
    audit.record(
        session,
        action="appointment.book",
        entity="appointment",
        entity_id=appointment.id,
        after={"starts_at": at, "reminder_id": reminder_id},
        staff_id=staff_id,
        at=now,
    )
    assert appointment.id is not None
    for old_id, old_at in earlier:  # rebooked: the old slot is given back
        old = session.get(Appointment, old_id)
        assert old is not None
        _change(
            session,
            old,
            AppointmentStatus.CANCELLED,
            staff_id=staff_id,
            now=now,
            note=f"改约至 {at:%m月%d日 %H:%M}（原 {local(old_at):%m月%d日 %H:%M}）",
        )
    # After the old visit's cancellation: emails go out in the order they were queued, and
    # the last one the holder reads must be the visit that stands.
    outbox.queue_appointment(
        session, appointment_id=appointment.id, cancelled=False, staff_id=staff_id, now=now
    )
    return appointment


def _lock_slot(session: Session, section_id: int, at: datetime) -> None:
    """Serialise bookings of one slot until commit, so two desks cannot both take its last place.

    SQLite's write session already holds the database's one write lock (BEGIN IMMEDIATE);
    PostgreSQL takes a transaction-scoped advisory lock on (section, slot minute).
    """
    if session.connection().dialect.name == "postgresql":
        minute = int(at.timestamp()) // 60
        session.execute(select(func.pg_advisory_xact_lock(section_id, minute)))


def set_status(
    session: Session,
    *,
    appointment_id: int,
    status: AppointmentStatus,
    staff_id: int | None,
    now: datetime,
    note: str = "",
    viewer: Viewer | None = None,
) -> StatusChange:
    """Cancel an appointment or mark it done / no-show, audited; a cancellation is emailed.

    A cancelled or missed visit puts its reminder back in the queue (due), so someone calls
    to book again, unless another booked appointment covers it.

    Raises:
        AppointmentRefused: no such appointment, one of another section for a caller
            (`viewer`; None checks nothing), or one no longer booked. Nothing was changed.
    """
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise AppointmentRefused(f"预约 {appointment_id} 不存在")
    refused = section_refusal(
        session,
        viewer=viewer,
        section_id=appointment.section_id,
        what=f"预约 {appointment_id}",
        kind="预约",
    )
    if refused:
        raise AppointmentRefused(refused)
    if appointment.status != AppointmentStatus.BOOKED:
        raise AppointmentRefused(
            f"预约 {appointment_id} 已是“{STATUS_LABELS.get(appointment.status, appointment.status)}”，不能再改"
        )
    starts = local(appointment.starts_at)
    if status == AppointmentStatus.NO_SHOW and starts > local(now):
        # A holder may still come: only a visit whose time has come can be missed. (Done
        # before the time is fine: holders come early.)
        raise AppointmentRefused(
            f"预约 {appointment_id} 在 {starts:%m月%d日 %H:%M}，时间未到，不能记为未到"
        )
    return _change(session, appointment, status, staff_id=staff_id, now=now, note=note)


def _change(
    session: Session,
    appointment: Appointment,
    status: AppointmentStatus,
    *,
    staff_id: int | None,
    now: datetime,
    note: str,
) -> StatusChange:
    """Set a booked appointment's status, audited; cancelled is emailed; a reminder left with
    no booked appointment goes back to the phone queue."""
    assert appointment.id is not None
    before = appointment.status
    appointment.status = status
    if note:
        appointment.note = note
    session.add(appointment)
    session.flush()
    requeued = None
    if status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        requeued = _requeue(session, appointment.reminder_id, now)
    if requeued is not None:
        audit.record(
            session,
            action="reminder.requeue",
            entity="reminder",
            entity_id=requeued,
            before={"state": ReminderState.APPOINTMENT.value},
            after={"state": ReminderState.DUE.value},
            staff_id=staff_id,
            note=f"预约 {appointment.id} {STATUS_LABELS[status]}，回到待联系队列",
            at=now,
        )
    audit.record(
        session,
        action=f"appointment.{status}",
        entity="appointment",
        entity_id=appointment.id,
        before={"status": before},
        after={"status": status, "requeued": requeued},
        staff_id=staff_id,
        note=note,
        at=now,
    )
    if status == AppointmentStatus.CANCELLED:
        outbox.queue_appointment(
            session, appointment_id=appointment.id, cancelled=True, staff_id=staff_id, now=now
        )
    return StatusChange(appointment, requeued)


def _requeue(session: Session, reminder_id: int | None, now: datetime) -> int | None:
    """Put a reminder waiting for this visit back in the queue (due) unless another booked
    appointment still covers it; returns its id when it moved."""
    if reminder_id is None:
        return None
    r, a = table(Reminder), table(Appointment)
    still_booked = exists().where(  # a visit still to come
        a.c.reminder_id == r.c.id,
        a.c.status == AppointmentStatus.BOOKED.value,
        a.c.starts_at > now,
    )
    moved = session.execute(
        update(r)
        .where(r.c.id == reminder_id, r.c.state == ReminderState.APPOINTMENT.value, ~still_booked)
        .values(
            state=ReminderState.DUE.value,
            next_action_at=None,
            version=r.c.version + 1,
            updated_at=now,
        )
    )
    return reminder_id if rowcount(moved) else None
