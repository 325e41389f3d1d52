"""One staff member's desk: the queue work the call screen does, as plain calls (no widgets).

The screen runs these in thread workers; each call is one unit of work (one session).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from callqueue import clock, db, logs, workdays
from callqueue.catalog import CatalogEntry, list_items
from callqueue.config import Settings
from callqueue.hours import HoursError, OfficeHours
from callqueue.models import Outcome
from callqueue.notify import outbox
from callqueue.queue import appointments, claims, outcomes, reach
from callqueue.queue import staff as staff_service
from callqueue.queue.briefing import Briefing, briefing
from callqueue.queue.refresh import RefreshResult, refresh
from callqueue.queue.script import Script, inform_script
from callqueue.queue.staff import StaffError, StaffRow, Viewer, list_staff
from callqueue.queue.tally import Tally, tally
from callqueue.records.view import contacts_of
from callqueue.roles import NotAllowed

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

PAGE_SIZE = 50  # rows a person pages through; the engine reads no more than it shows
CALLBACK_AT = time(10, 0)
SLOT_DAYS, SLOT_LIMIT = 5, 12
log = logging.getLogger("callqueue.tui")


def default_clock(today: date) -> Callable[[], datetime]:
    """The time in force: the real time, or 09:00 on a `today` that is not today (as the CLI)."""

    def now() -> datetime:
        real = clock.now()
        if real.date() == today:
            return real
        return datetime.combine(today, time(9, 0), clock.SHANGHAI)

    return now


def failure_text(what: str, exc: BaseException) -> str:
    """A one-line message for staff; the details (phones masked) go to the log."""
    if isinstance(exc, outcomes.OutcomeRefused | HoursError | StaffError | NotAllowed):
        return str(exc)
    log.error("desk action failed in %s", logs.caller(), exc_info=exc)
    return f"{what}：{db.failure_kind(exc) or type(exc).__name__}。未作任何更改"


class _DryRun(Exception):
    """Raised inside a check so that its unit of work rolls back."""


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue, and what a refresh before it changed."""

    entries: list[claims.QueueEntry]
    tally: Tally | None
    """None when not asked for (`page(counts=False)`)."""
    refreshed: RefreshResult | None = None


@dataclass(frozen=True)
class Number:
    """A valid number of the holder, as the card shows it, to say which one was dialled."""

    phone_id: int
    display: str
    contact: str


@dataclass(frozen=True)
class Desk:
    """Who works, in which section, under which settings and clock."""

    engine: Engine
    settings: Settings
    staff: StaffRow
    today: date
    now: Callable[[], datetime]
    viewing: tuple[int, str] | None = None
    """The section whose queue this desk works when not the staff member's own (supervisors)."""

    @property
    def section_id(self) -> int:
        """The section whose queue this desk works."""
        return self.viewing[0] if self.viewing else self.staff.section_id

    @property
    def section(self) -> str:
        """That section's name."""
        return self.viewing[1] if self.viewing else self.staff.section

    @property
    def viewer(self) -> Viewer:
        """This staff member as a viewer: callers see their own section, supervisors all."""
        return Viewer.of(self.staff)

    def next_section(self) -> Desk:
        """The same desk on the next section with a queue this staff member may work (callers:
        their own; see staff.queue_sections)."""
        with db.session_scope(self.engine, write=False) as session:
            sections = staff_service.queue_sections(session, viewer=self.viewer)
        ids = list(sections)
        following = (
            ids[(ids.index(self.section_id) + 1) % len(ids)] if self.section_id in ids else ids[0]
        )
        return self._on(following, sections[following])

    def opening(self) -> Desk:
        """The desk to open with: this one, unless its section has no queue (a supervisor of
        政务服务科), then the same desk on the first section that has one."""
        with db.session_scope(self.engine, write=False) as session:
            sections = staff_service.queue_sections(session, viewer=self.viewer)
        if self.section_id in sections or not sections:
            return self
        first = next(iter(sections))
        return self._on(first, sections[first])

    def _on(self, section_id: int, name: str) -> Desk:
        if section_id == self.staff.section_id:
            return dataclasses.replace(self, viewing=None)
        return dataclasses.replace(self, viewing=(section_id, name))

    def page(
        self,
        *,
        number: int = 0,
        only: claims.QueueFilter = claims.NO_FILTER,
        refresh_first: bool = False,
        counts: bool = True,
    ) -> QueuePage:
        """Page `number` (from 0) of the section's queue and its counts, optionally refreshed.

        The counts take longer than the page on a big ledger (they count every due reminder of
        the section: 8 ms on a million certificates); `counts=False` leaves them out.
        """
        now = self.now()
        refreshed = None
        if refresh_first:
            with db.session_scope(self.engine, write=True) as session:
                refreshed = refresh(session, today=self.today, now=now)
        with db.session_scope(self.engine, write=False) as session:
            entries = claims.queue_entries(
                session,
                section_id=self.section_id,
                staff_id=self.staff.id,
                now=now,
                grace=timedelta(minutes=self.settings.callback_grace_minutes),
                limit=PAGE_SIZE,
                offset=number * PAGE_SIZE,
                only=only,
                complete=False,  # each card's read completes its entry (`brief`)
            )
            counted = self._tally(session, now) if counts else None
        return QueuePage(entries, counted, refreshed)

    def counts(self) -> Tally:
        """The counts above the queue, now."""
        with db.session_scope(self.engine, write=False) as session:
            return self._tally(session, self.now())

    def _tally(self, session: Session, now: datetime) -> Tally:
        return tally(
            session, section_id=self.section_id, staff_id=self.staff.id, today=self.today, now=now
        )

    def brief(self, entry: claims.QueueEntry) -> tuple[Briefing, Script]:
        """The entry's contacts, certificates and attempts, and the words of 一次性告知.

        The certificates are every callable one of the holder in the section, as a claim takes
        them: the page lists a holder with the rows it read, and a certificate to be filed
        months later comes after other holders' rows.
        """
        # A copy with lists of its own: the screen's entry is not changed from this thread.
        whole = dataclasses.replace(
            entry,
            reminders=list(entry.reminders),
            certificates=list(entry.certificates),
            certificates_items=list(entry.certificates_items),
            badges=list(entry.badges),
        )
        with db.session_scope(self.engine, write=False) as session:
            claims.complete_entries(
                session,
                [whole],
                staff_id=self.staff.id,
                now=self.now(),
                grace=timedelta(minutes=self.settings.callback_grace_minutes),
            )
            found = briefing(session, holder_id=entry.holder_id, reminder_ids=whole.reminders)
        return found, inform_script(found, today=self.today)

    def helpers(self) -> list[StaffRow]:
        """Active staff of the section worked, this desk's staff member first."""
        with db.session_scope(self.engine, write=False) as session:
            everyone = list_staff(session)
        same = [
            s
            for s in everyone
            if s.active and (s.section_id == self.section_id or s.id == self.staff.id)
        ]
        return sorted(same, key=lambda s: s.id != self.staff.id)

    def catalog(self) -> list[CatalogEntry]:
        """The catalog items of the section worked (for the filter)."""
        with db.session_scope(self.engine, write=False) as session:
            items = list_items(session)
        return [i for i in items if i.section == self.section] or items

    def claim_next(self) -> claims.QueueEntry | None:
        """Claim the next entry of the queue (or the one this desk already holds)."""
        with db.write_unit(self.engine) as session:
            return claims.next_for(
                session,
                staff_id=self.staff.id,
                section_id=self.section_id,
                now=self.now(),
                lease=timedelta(minutes=self.settings.claim_lease_minutes),
                grace=timedelta(minutes=self.settings.callback_grace_minutes),
            )

    def record(
        self,
        entry: claims.QueueEntry,
        outcome: Outcome,
        data: outcomes.OutcomeInput,
        *,
        ticked: dict[int, tuple[str, ...]] | None = None,
    ) -> list[outcomes.OutcomeResult]:
        """Record one outcome for every reminder of the entry: all of them, or none.

        `ticked` gives, per reminder, the materials ticked on the card for its certificate.
        """
        return self._record(entry, outcome, data, dry_run=False, ticked=ticked)

    def refusal(
        self, entry: claims.QueueEntry, outcome: Outcome, data: outcomes.OutcomeInput
    ) -> str | None:
        """Why the service would refuse this outcome now, or None: a dry run, rolled back."""
        try:
            self._record(entry, outcome, data, dry_run=True)
        except (outcomes.OutcomeRefused, HoursError) as exc:
            return str(exc)
        except _DryRun:
            return None
        raise AssertionError("a dry run always rolls back")  # pragma: no cover

    def _record(
        self,
        entry: claims.QueueEntry,
        outcome: Outcome,
        data: outcomes.OutcomeInput,
        *,
        dry_run: bool,
        ticked: dict[int, tuple[str, ...]] | None = None,
    ) -> list[outcomes.OutcomeResult]:
        with db.write_unit(self.engine) as session:
            policy = outcomes.policy_for(
                session, settings=self.settings, today=self.today, now=self.now()
            )
            results = outcomes.record_call(
                session,
                reminder_ids=entry.reminders,
                outcome=outcome,
                staff_id=self.staff.id,
                policy=policy,
                data=data,
                viewer=self.viewer,
                ticked=ticked,
            )
            if dry_run:  # the service's own rules decided; nothing is kept
                raise _DryRun
            return results

    def numbers(self, entry: claims.QueueEntry) -> list[Number]:
        """The holder's valid numbers now; first the one a wrong number marks by default."""
        with db.session_scope(self.engine, write=False) as session:
            valid = reach.valid_phones(session, entry.holder_id)
            first = outcomes.first_number(session, entry.reminders[0])
            cards = contacts_of(session, entry.holder_id)
        shown = {p.id: Number(p.id, p.display, c.name) for c in cards for p in c.phones}
        return [shown[i] for i in sorted(valid, key=lambda i: i != first) if i in shown]

    def callback_proposal(self) -> datetime:
        """The usual callback time: 10:00 on the next working day after today."""
        with db.session_scope(self.engine, write=False) as session:
            calendar = workdays.load_calendar(session)
        day = calendar.next_workday(self.today + timedelta(days=1))
        return datetime.combine(day, CALLBACK_AT, clock.SHANGHAI)

    def free_slots(self) -> list[appointments.Slot]:
        """The section's next free appointment slots."""
        with db.session_scope(self.engine, write=False) as session:
            return appointments.free_slots(
                session,
                section_id=self.section_id,
                after=self.now(),
                days=SLOT_DAYS,
                calendar=workdays.load_calendar(session),
                hours=OfficeHours.parse(self.settings.office_hours),
                limit=SLOT_LIMIT,
            )

    @property
    def mails_directly(self) -> bool:
        """Whether this desk has a mail server to send with (else the send run sends)."""
        return bool(self.settings.smtp_host.strip())

    def email(self, entry: claims.QueueEntry) -> str:
        """Email the holder about every reminder of the entry (`e`): all queued, or none.

        The reminders leave the phone queue and the claim is released. With a mail server the
        emails go at once; without one, or when the server fails, they wait in the outbox for
        `callqueue email send`.

        Returns:
            What happened, in words for the status line.

        Raises:
            MailRefused: no valid address, or this stage was already emailed (nothing queued).
        """
        now = self.now()
        with db.session_scope(self.engine, write=True) as session:
            queued = [
                outbox.queue_reminder(
                    session, reminder_id=rid, staff_id=self.staff.id, now=now, viewer=self.viewer
                )
                for rid in entry.reminders
            ]
        count = f"（{len(queued)} 封）" if len(queued) > 1 else ""
        if not self.mails_directly:
            return f"{entry.holder}：邮件已排队{count}，发往 {queued[0].to}，由邮件发送任务发出"
        from callqueue.notify import delivery  # the mail code loads when mail is sent

        report = delivery.send_due(
            self.engine,
            settings=self.settings,
            now=now,
            today=self.today,
            only=[q.outbox_id for q in queued],
        )
        if report.unrecorded:
            return f"{entry.holder}：{report.error}"
        if report.error:
            return f"{entry.holder}：邮件已排队{count}，暂未发出（{report.error}）"
        if report.failed:
            return f"{entry.holder}：{report.failed[0].error}；已转回电话队列或改用其他邮箱"
        if report.retrying:
            return f"{entry.holder}：邮件服务器暂时拒收，稍后自动重试（{report.retrying[0].error}）"
        if report.uncertain:
            return (
                f"{entry.holder}：邮件发送中断，可能已发出，不会自动重发；"
                "已转回电话队列，请电话核实"
            )
        return f"{entry.holder}：邮件已发送至 {queued[0].to}{count}"

    def renew(self, entry: claims.QueueEntry) -> bool:
        """Lengthen the claim on the entry by a lease from now; False when it is no longer
        all this desk's (the lease ran out and another desk took the holder)."""
        until = self.now() + timedelta(minutes=self.settings.claim_lease_minutes)
        with db.write_unit(self.engine) as session:
            kept = claims.renew(
                session, staff_id=self.staff.id, reminder_ids=entry.reminders, until=until
            )
        return kept == len(entry.reminders)

    def release(self, entry: claims.QueueEntry) -> int:
        """Give the entry back to the queue (skip); returns reminders released."""
        with db.write_unit(self.engine) as session:
            return claims.release(session, staff_id=self.staff.id, reminder_ids=entry.reminders)
