"""Holder records: search, the record view, contact fixes and certificates added by hand."""

from __future__ import annotations

from dataclasses import dataclass

from callqueue.models import Role
from callqueue.queue.staff import StaffRow


class RecordRefused(ValueError):
    """A record change or view that cannot be made; nothing changed. The message is for staff."""


@dataclass(frozen=True)
class Viewer:
    """Who looks at records: callers see their own section, supervisors and admins all."""

    staff_id: int
    name: str
    section_id: int
    sees_all: bool

    @classmethod
    def of(cls, staff: StaffRow) -> Viewer:
        """The viewer for a staff member, by role."""
        sees_all = staff.role in (Role.SUPERVISOR.value, Role.ADMIN.value)
        return cls(staff.id, staff.name, staff.section_id, sees_all)
