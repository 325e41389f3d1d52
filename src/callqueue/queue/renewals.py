"""Closing a reminder's cycle: the certificate's new status, and the next certificate on renewal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlmodel import Session

from callqueue.calendar import WorkCalendar
from callqueue.models import CatalogItem, Certificate, CertificateStatus, Reminder, ReminderState
from callqueue.queue.reminder_rows import ReminderRow
from callqueue.queue.reminders import plan


class RenewalRefused(ValueError):
    """New certificate dates that cannot be right; nothing was changed. The message is for staff."""


@dataclass(frozen=True)
class NextCycle:
    """The renewed certificate and when its own reminder falls due."""

    certificate_id: int
    expires_on: date
    remind_on: date


def close(
    session: Session,
    r: ReminderRow,
    *,
    state: ReminderState,
    status: CertificateStatus,
    reason: str,
    now: datetime,
) -> None:
    """End the reminder's cycle in `state` and give its certificate `status`."""
    r.state, r.closed_at, r.close_reason, r.next_action_at = state, now, reason, None
    cert = session.get(Certificate, r.certificate_id)
    assert cert is not None
    cert.status = status
    session.add(cert)


def check_dates(
    session: Session,
    r: ReminderRow,
    *,
    issued_on: date | None,
    expires_on: date | None,
    today: date,
) -> None:
    """Refuse new-certificate dates that contradict the old certificate, each other or today.

    Raises:
        RenewalRefused: the new expiry is not after the old one, already past or beyond the
            permit's legal validity; issue is not before expiry or after today; or an issue
            date came without an expiry.
    """
    old = session.get(Certificate, r.certificate_id)
    assert old is not None
    if expires_on is not None:
        if expires_on <= old.expires_on:
            raise RenewalRefused(f"新证期满日期 {expires_on} 应晚于原证 {old.expires_on}")
        if expires_on < today:
            raise RenewalRefused(
                f"新证期满日期 {expires_on} 已过（今天 {today}），新证不会已经过期，请核对"
            )
        if issued_on is not None and issued_on >= expires_on:
            raise RenewalRefused("新证颁发日期应早于期满日期")
        # The new period runs from its issue (by today at the latest) or, for a 延续 that
        # continues the old one, from the day after the old expiry: the later of the two.
        start = max(issued_on or today, old.expires_on + timedelta(days=1))
        _check_validity(session, old, start, expires_on)
    elif issued_on is not None:
        raise RenewalRefused("填写了新证颁发日期，也请填写期满日期")
    if issued_on is not None and issued_on > today:
        raise RenewalRefused(f"新证颁发日期 {issued_on} 晚于今天（{today}），请核对")


def _check_validity(session: Session, old: Certificate, start: date, expires_on: date) -> None:
    """Refuse an expiry later than the permit's legal validity allows from `start`.

    A month's leeway, as the import's check (ledger/check.py) allows before it warns.
    """
    item = session.get(CatalogItem, old.catalog_item_id)
    years = max(item.validity_years) if item is not None and item.validity_years else None
    if years is None:
        return
    if expires_on > start + relativedelta(years=years) + timedelta(days=31):
        raise RenewalRefused(
            f"新证期满日期 {expires_on} 超出法定有效期（{years}年，自 {start} 起），请核对"
        )


def next_cycle(
    session: Session,
    r: ReminderRow,
    *,
    issued_on: date | None,
    expires_on: date,
    calendar: WorkCalendar,
    today: date,
    margin_workdays: int,
    now: datetime,
) -> NextCycle:
    """Create the renewed certificate and its reminder, dated from the catalog (DESIGN.md §4)."""
    old = session.get(Certificate, r.certificate_id)
    assert old is not None
    item = session.get(CatalogItem, old.catalog_item_id)
    assert item is not None
    new = Certificate(
        holder_id=old.holder_id,
        catalog_item_id=old.catalog_item_id,
        section_id=old.section_id,
        contact_id=old.contact_id,
        issued_on=issued_on,
        expires_on=expires_on,
        previous_id=old.id,
        created_at=now,
    )
    session.add(new)
    session.flush()
    assert new.id is not None
    p = plan(
        expires_on=expires_on,
        lead_months=item.lead_months,
        filing_days=item.filing_deadline_days,
        deadline_kind=item.deadline_kind,
        calendar=calendar,
        today=today,
        margin_workdays=margin_workdays,
    )
    session.add(
        Reminder(
            certificate_id=new.id,
            holder_id=old.holder_id,
            section_id=old.section_id,
            state=p.state,
            channel=item.method,
            expires_on=expires_on,
            remind_on=p.dates.remind_on,
            planned_remind_on=p.dates.planned_remind_on,
            apply_by=p.dates.apply_by,
            window_opens_on=p.dates.window_opens_on,
            pulled_earlier=p.dates.pulled_earlier,
            late=p.late,  # its remind_on already past: due at once, and said so
            updated_at=now,
        )
    )
    return NextCycle(certificate_id=new.id, expires_on=expires_on, remind_on=p.dates.remind_on)
