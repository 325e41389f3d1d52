"""The calendar attachment of an appointment email (iCalendar, Asia/Shanghai times)."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText

from callqueue.clock import SHANGHAI, local


def appointment_ics(
    *,
    uid: str,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    location: str,
    description: str,
    organizer: tuple[str, str],
    attendee: tuple[str, str],
    stamp: datetime,
    sequence: int = 0,
    cancelled: bool = False,
) -> str:
    """One VEVENT in a REQUEST (or, when cancelled, CANCEL) calendar.

    Args:
        uid: the same for every email about one appointment, so calendars update it in place.
        starts_at: start; shown in Asia/Shanghai with its VTIMEZONE.
        ends_at: end.
        summary: the event's title.
        location: the service hall.
        description: what to bring, the phone.
        organizer: (name, address) of the office.
        attendee: (name, address) of the holder.
        stamp: when this version was made.
        sequence: 0 when booked; higher for each later change.
        cancelled: send a CANCEL that removes the event.

    Returns:
        The calendar as text with CRLF line ends, as RFC 5545 wants.
    """
    cal = Calendar()
    cal.add("prodid", "-//callqueue//许可证书到期提醒//ZH")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", local(stamp).astimezone(SHANGHAI))
    event.add("dtstart", local(starts_at).astimezone(SHANGHAI))
    event.add("dtend", local(ends_at).astimezone(SHANGHAI))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    event.add("sequence", sequence)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("organizer", _address(*organizer))
    event.add("attendee", _address(*attendee, attendee=True))
    cal.add_component(event)
    cal.add_missing_timezones()
    return str(cal.to_ical().decode("utf-8"))


def _address(name: str, address: str, *, attendee: bool = False) -> vCalAddress:
    value = vCalAddress(f"mailto:{address}")
    if name:
        value.params["cn"] = vText(name)
    if attendee:
        value.params["role"] = vText("REQ-PARTICIPANT")
        value.params["partstat"] = vText("NEEDS-ACTION")
    return value
