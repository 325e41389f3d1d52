"""帮办代办 cases as the TUI sees them: list a section's open cases and move them forward.

Screens run these in thread workers; each call is one unit of work (one session).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from callqueue import db, roles
from callqueue.models import AssistStage
from callqueue.queue import assisted
from callqueue.queue import staff as staff_service
from callqueue.queue.assisted import AssistedCase
from callqueue.queue.staff import StaffRow, Viewer

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass(frozen=True)
class AssistedDesk:
    """One staff member's view of the 帮办代办 cases: their section, or all for supervisors."""

    engine: Engine
    staff: StaffRow
    today: date
    now: Callable[[], datetime]

    @property
    def sees_all(self) -> bool:
        """Supervisors and admins see every section's cases."""
        return roles.sees_all_sections(self.staff.role)

    def cases(self) -> list[AssistedCase]:
        """The open cases, in stage order then by expiry."""
        with db.session_scope(self.engine, write=False) as session:
            scope = staff_service.scope(session, viewer=Viewer.of(self.staff), requested=None)
            return assisted.list_cases(session, section_ids=scope.ids)

    def advance(
        self, reminder_id: int, stage: AssistStage, *, filed_on: date | None, note: str
    ) -> AssistedCase:
        """Move a case forward, audited; AssistRefused says why not (nothing changed)."""
        with db.session_scope(self.engine, write=True) as session:
            return assisted.advance(
                session,
                reminder_id=reminder_id,
                stage=stage,
                staff_id=self.staff.id,
                today=self.today,
                now=self.now(),
                filed_on=filed_on,
                note=note,
                viewer=Viewer.of(self.staff),
            )
