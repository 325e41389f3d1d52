"""Inspection (督促检查) work for one supervisor, as plain calls the screens run in thread workers.

Each call is one unit of work (one session); refusals come back as NotAllowed or InspectionRefused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from callqueue import db, roles
from callqueue.queue import inspection
from callqueue.queue.staff import StaffRow

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass(frozen=True)
class InspectionDesk:
    """Draw samples, review them and finish inspections as one staff member."""

    engine: Engine
    staff: StaffRow | None
    now: Callable[[], datetime]

    @property
    def name(self) -> str | None:
        """The staff member's name, if one is working."""
        return self.staff.name if self.staff else None

    def refusal(self) -> str | None:
        """None when this staff member may inspect, else why not (for staff)."""
        try:
            roles.require_inspector(self.name, self.staff.role if self.staff else None)
        except roles.NotAllowed as exc:
            return str(exc)
        return None

    def sections(self) -> list[str]:
        """The sections whose ledgers can be inspected."""
        with db.session_scope(self.engine, write=False) as session:
            return inspection.inspectable_sections(session=session)

    def inspections(self) -> list[inspection.InspectionSummary]:
        """Every inspection, newest first."""
        with db.session_scope(self.engine, write=False) as session:
            return inspection.list_inspections(session=session, viewer=self.name)

    def detail(self, inspection_id: int) -> inspection.InspectionDetail:
        """One inspection with its sampled reminders and their attempts."""
        with db.session_scope(self.engine, write=False) as session:
            return inspection.get_inspection(
                session=session, inspection_id=inspection_id, viewer=self.name
            )

    def draw(self, section: str, size: int) -> inspection.InspectionDetail:
        """Draw a new sample of `size` worked reminders of `section`, audited."""
        with db.session_scope(self.engine, write=True) as session:
            return inspection.draw_sample(
                session=session, section=section, size=size, supervisor=self.name, now=self.now()
            )

    def review(self, item_id: int, verdict: str, comment: str) -> inspection.ItemView:
        """Mark one item pass or problem, audited."""
        with db.session_scope(self.engine, write=True) as session:
            return inspection.review(
                session=session,
                item_id=item_id,
                verdict=verdict,
                comment=comment,
                staff=self.name,
                now=self.now(),
            )

    def finish(self, inspection_id: int, note: str) -> inspection.InspectionSummary:
        """Finish an inspection whose items all have a verdict, audited."""
        with db.session_scope(self.engine, write=True) as session:
            return inspection.finish(
                session=session,
                inspection_id=inspection_id,
                staff=self.name,
                note=note,
                now=self.now(),
            )
