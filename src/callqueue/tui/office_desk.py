"""The office work beside the call queue — appointments, import, catalog — as plain calls.

Screens run these in thread workers; each call is one unit of work (one session).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callqueue import catalog, catalog_change, catalog_edit, db, logs, roles, workdays
from callqueue.catalog import CatalogEntry, LateItem
from callqueue.catalog_change import ChangePlan, ChangeResult
from callqueue.config import Settings
from callqueue.ledger import service as ledger_service
from callqueue.models import AppointmentStatus
from callqueue.queue import agenda, appointments
from callqueue.queue import staff as staff_service
from callqueue.queue.staff import StaffRow, Viewer, section_names

if TYPE_CHECKING:
    from sqlalchemy import Engine

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total); a total of 0 means a stage of unknown length."""
SAVING, WRITING_REJECTS = "保存", "写出未导入行"
log = logging.getLogger("callqueue.tui")


def read_failure(what: str, exc: BaseException) -> str:
    """A one-line message for a failed read (nothing was being changed); details go to the log."""
    log.error("read failed in %s", logs.caller(), exc_info=exc)
    return f"{what}：{db.failure_kind(exc) or type(exc).__name__}"


@dataclass(frozen=True)
class CatalogView:
    """The catalog with its too-late items and any calendar warning."""

    entries: list[CatalogEntry]
    late: list[LateItem]
    calendar_warning: str | None


@dataclass(frozen=True)
class OfficeDesk:
    """Appointments, ledger import and catalog upkeep for one staff member (or none)."""

    engine: Engine
    settings: Settings
    staff: StaffRow | None
    today: date
    now: Callable[[], datetime]

    # --- appointments ------------------------------------------------------------------------

    @property
    def viewer(self) -> Viewer | None:
        """Who looks: callers see their own section, supervisors (and nobody named) all."""
        return Viewer.of(self.staff) if self.staff else None

    @property
    def sees_all(self) -> bool:
        """Whether this desk may look at every section."""
        return self.viewer is None or self.viewer.sees_all

    def agenda(self, day: date, *, section: str | None = None) -> list[agenda.AgendaRow]:
        """The day's appointments in `section`, or in every section this desk may see, by time.

        Raises:
            NotAllowed: a caller asked for another section.
        """
        with db.session_scope(self.engine, write=False) as session:
            scope = staff_service.scope(session, viewer=self.viewer, requested=section)
            return agenda.day_agenda(session, day=day, section_ids=scope.ids)

    def next_section(self, current: str | None) -> str | None:
        """The section to show after `current`: every section (None), then each in turn."""
        with db.session_scope(self.engine, write=False) as session:
            found = staff_service.scope(session, viewer=self.viewer, requested=None)
        if not found.every:  # a caller: their own section, always
            return None
        cycle: list[str | None] = [None, *found.sections.values()]
        return cycle[(cycle.index(current) + 1) % len(cycle)] if current in cycle else None

    def workday(self, day: date, step: int) -> date:
        """The working day `step` working days from `day` (0: `day` or the next working day)."""
        with db.session_scope(self.engine, write=False) as session:
            calendar = workdays.load_calendar(session)
        if step == 0:
            return calendar.next_workday(day)
        return calendar.add_workdays(day, step)

    def set_appointment(
        self, appointment_id: int, status: AppointmentStatus, note: str
    ) -> appointments.StatusChange:
        """Cancel an appointment or mark it no-show, audited; AppointmentRefused says why not.

        Its reminder goes back to the queue (`requeued`) unless another booking covers it.
        """
        with db.session_scope(self.engine, write=True) as session:
            return appointments.set_status(
                session,
                appointment_id=appointment_id,
                status=status,
                staff_id=self.staff.id if self.staff else None,
                now=self.now(),
                note=note,
                viewer=self.viewer,
            )

    # --- ledger import -----------------------------------------------------------------------

    def sections(self) -> list[str]:
        """Every section's name, for sheets that do not name one."""
        with db.session_scope(self.engine, write=False) as session:
            return section_names(session)

    def import_ledger(
        self, path: Path, *, section: str | None, dry_run: bool, progress: Progress
    ) -> ledger_service.ImportReport:
        """Check (dry run) or import a workbook in one transaction; then write its rejects.

        Raises:
            UnreadableWorkbook: the file cannot be read; nothing was written.
            NotAllowed: a caller's workbook names another section; nothing was written.
        """
        actor = self.staff.name if self.staff else "tui"
        with db.session_scope(self.engine, write=True, bulk=True) as session:
            report = ledger_service.import_ledger(
                session,
                path=path,
                today=self.today,
                margin_workdays=self.settings.margin_workdays,
                section=section,
                dry_run=dry_run,
                actor=actor,
                staff_id=self.staff.id if self.staff else None,
                progress=progress,
                caller_section=self.viewer.bound_section if self.viewer else None,
            )
            progress(SAVING, 0, 0)  # the commit of a large import takes a while
        if report.rejects_file:
            progress(WRITING_REJECTS, 0, 0)
            with db.session_scope(self.engine, write=False) as session:
                ledger_service.save_rejects(session, report)  # a failure becomes a problem
        return report

    # --- catalog -----------------------------------------------------------------------------

    def catalog(self) -> CatalogView:
        """The catalog in 序号 order, the items reminded too late, and the calendar's coverage."""
        with db.session_scope(self.engine, write=False) as session:
            entries = catalog.list_items(session)
            warning = workdays.load_calendar(session).coverage_warning(
                [self.today.year, self.today.year + 1]
            )
        late = catalog.late_items(entries, margin_workdays=self.settings.margin_workdays)
        return CatalogView(entries, late, warning)

    def may_edit_catalog(self) -> str | None:
        """None when this staff member may edit the catalog, else why not (for staff)."""
        try:
            self._require_editor()
        except roles.NotAllowed as exc:
            return str(exc)
        return None

    def edit_catalog(self, seq: int, changes: Mapping[str, Any], reason: str) -> CatalogEntry:
        """Change one catalog item, audited; NotAllowed or CatalogError say why not."""
        staff = self._require_editor()
        with db.session_scope(self.engine, write=True) as session:
            return catalog_edit.update_item(
                session,
                seq=seq,
                changes=changes,
                reason=reason,
                actor=staff.name,
                staff_id=staff.id,
            )

    def preview_catalog_change(
        self, seq: int, changes: Mapping[str, Any], effective_on: date
    ) -> ChangePlan:
        """What an edit would do (the count of reminders it moves); CatalogError says why not."""
        self._require_editor()
        with db.session_scope(self.engine, write=False) as session:
            return catalog_change.preview_change(
                session=session,
                seq=seq,
                changes=changes,
                effective_on=effective_on,
                today=self.today,
                now=self.now(),
                margin_workdays=self.settings.margin_workdays,
            )

    def apply_catalog_change(
        self, seq: int, changes: Mapping[str, Any], effective_on: date, reason: str
    ) -> ChangeResult:
        """Make (or store for its day) an edit with its reminders recomputed, audited."""
        with db.session_scope(self.engine, write=True) as session:
            return catalog_change.apply_change(
                session=session,
                seq=seq,
                changes=changes,
                effective_on=effective_on,
                reason=reason,
                staff=self.staff,
                today=self.today,
                now=self.now(),
                margin_workdays=self.settings.margin_workdays,
            )

    def preview_retire(self, seq: int, retire_on: date) -> ChangePlan:
        """What retiring an item would close; CatalogError says why not."""
        self._require_editor()
        with db.session_scope(self.engine, write=False) as session:
            return catalog_change.preview_retire(
                session=session, seq=seq, retire_on=retire_on, today=self.today, now=self.now()
            )

    def retire_catalog_item(self, seq: int, retire_on: date, reason: str) -> ChangeResult:
        """Retire an item (or store it for its day), closing its unworked reminders, audited."""
        with db.session_scope(self.engine, write=True) as session:
            return catalog_change.retire_item(
                session=session,
                seq=seq,
                retire_on=retire_on,
                reason=reason,
                staff=self.staff,
                today=self.today,
                now=self.now(),
            )

    def add_catalog_item(
        self, section: str, values: Mapping[str, Any], effective_on: date, reason: str
    ) -> CatalogEntry:
        """Add an item under the next free 序号, audited; CatalogError says why not."""
        with db.session_scope(self.engine, write=True) as session:
            return catalog_change.add_item(
                session=session,
                section=section,
                values=values,
                effective_on=effective_on,
                reason=reason,
                staff=self.staff,
                today=self.today,
                now=self.now(),
            )

    def _require_editor(self) -> StaffRow:
        staff = self.staff
        roles.require_catalog_editor(staff.name if staff else None, staff.role if staff else None)
        assert staff is not None
        return staff
