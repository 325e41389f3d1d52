"""The record work of a desk — search, one holder's record, contact fixes, certificates by hand.

Plain calls (no widgets) that the search and record screens run in thread workers; each call is
one unit of work, so a refused fix writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from callqueue import db
from callqueue.records import RecordRefused, Viewer
from callqueue.records.contacts import (
    ContactFix,
    add_email,
    add_phone,
    mark_phone_invalid,
    set_do_not_call,
)
from callqueue.records.manual import (
    CertificateRefused,
    ManualCertificate,
    ManualResult,
    add_certificate,
)
from callqueue.records.search import SearchPage, search
from callqueue.records.view import HolderRecord, holder_record
from callqueue.tui.desk import Desk, failure_text

SEARCH_PAGE = 50


def refusal_text(what: str, exc: BaseException) -> str:
    """The service's own words for a refusal; otherwise the desk's one-line failure."""
    if isinstance(exc, RecordRefused | CertificateRefused):
        return str(exc)
    return failure_text(what, exc)


@dataclass(frozen=True)
class RecordsDesk:
    """One staff member's record work, on the same engine, clock and settings as their desk."""

    desk: Desk

    @property
    def viewer(self) -> Viewer:
        """Who looks: callers their section, supervisors and admins all."""
        return Viewer.of(self.desk.staff)

    def search(self, query: str, offset: int = 0) -> SearchPage:
        """A page of holders matching `query`."""
        with db.session_scope(self.desk.engine, write=False) as session:
            return search(
                session, query=query, viewer=self.viewer, limit=SEARCH_PAGE, offset=offset
            )

    def record(self, holder_id: int) -> HolderRecord:
        """One holder's record as this staff member may see it."""
        with db.session_scope(self.desk.engine, write=False) as session:
            return holder_record(session, holder_id=holder_id, viewer=self.viewer)

    def mark_invalid(self, phone_id: int, reason: str = "") -> ContactFix:
        """Mark a number invalid (audited)."""
        with db.session_scope(self.desk.engine, write=True) as session:
            return mark_phone_invalid(
                session, phone_id=phone_id, viewer=self.viewer, now=self.desk.now(), reason=reason
            )

    def add_phone(self, contact_id: int, text: str) -> ContactFix:
        """Add a number to a contact (audited)."""
        with db.session_scope(self.desk.engine, write=True) as session:
            return add_phone(
                session, contact_id=contact_id, text=text, viewer=self.viewer, now=self.desk.now()
            )

    def add_email(self, contact_id: int, text: str) -> ContactFix:
        """Add an email address to a contact (audited)."""
        with db.session_scope(self.desk.engine, write=True) as session:
            return add_email(
                session, contact_id=contact_id, text=text, viewer=self.viewer, now=self.desk.now()
            )

    def set_do_not_call(self, holder_id: int, value: bool, reason: str = "") -> ContactFix:
        """Mark a holder 勿电话联系, or lift the mark (audited)."""
        with db.session_scope(self.desk.engine, write=True) as session:
            return set_do_not_call(
                session,
                holder_id=holder_id,
                value=value,
                viewer=self.viewer,
                now=self.desk.now(),
                reason=reason,
            )

    def add_certificate(self, entry: ManualCertificate) -> ManualResult:
        """Add a certificate by hand, checked and written as an imported row (audited)."""
        with db.session_scope(self.desk.engine, write=True) as session:
            return add_certificate(
                session,
                entry=entry,
                viewer=self.viewer,
                today=self.desk.today,
                now=self.desk.now(),
                margin_workdays=self.desk.settings.margin_workdays,
            )
