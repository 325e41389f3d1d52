"""Bring every reminder to the right state for a date: due, follow-up, lapsed; free dead claims."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, update
from sqlmodel import Session

from callqueue import audit
from callqueue.catalog_change import apply_due_changes
from callqueue.db import chunks, rowcount, table
from callqueue.models import (
    OPEN_STATES,
    AssistStage,
    Certificate,
    CertificateStatus,
    Reminder,
    ReminderState,
)


@dataclass(frozen=True)
class RefreshResult:
    """How many reminders each rule moved."""

    due: int
    follow_ups: int
    lapsed: int
    claims_released: int
    catalog_changes: int = 0
    """Catalog changes whose effective day came (each audited on its own)."""

    @property
    def changed(self) -> int:
        """Reminders touched in all."""
        return (
            self.due + self.follow_ups + self.lapsed + self.claims_released + self.catalog_changes
        )


def refresh(session: Session, *, today: date, now: datetime) -> RefreshResult:
    """Apply the date rules of DESIGN.md §5 in a few set-based statements.

    Args:
        session: a write session.
        today: the date in force.
        now: the time in force (claim leases).

    Assisted cases (帮办代办) at expiry: a case whose renewal was filed (已提交申请) on or
    before the expiry date is waiting for the approval, not lapsed without renewal; it stays
    open in `assisted` (and its certificate active) until someone logs `renewed` or
    `not_renewing`. A case still at 已登记 or 材料准备中 when the certificate expires lapses like
    a reminder nobody worked; it keeps its stage, so the ledger shows it was assisted but never
    filed. Assisted cases never become follow-up calls: that rule takes `informed` only.

    Catalog changes dated today or earlier (`callqueue catalog edit --effective`) are applied
    first, so the reminders they move are then brought up to date like any other.

    Returns:
        Counts per rule; one system AuditEvent records them when anything changed.
    """
    # First the catalog as in force today: a change may move reminders the rules below then see.
    catalog_changes = apply_due_changes(session=session, today=today, now=now)
    r = table(Reminder)
    open_states = [s.value for s in OPEN_STATES]
    # Spelled out with IS NULL so a missing stage or date can never hide a lapse (SQL NULLs).
    not_filed_in_time = or_(
        r.c.state != ReminderState.ASSISTED.value,
        r.c.assist_stage.is_(None),
        r.c.assist_stage != AssistStage.FILED.value,
        r.c.assist_filed_on.is_(None),
        r.c.assist_filed_on > r.c.expires_on,
    )
    lapsed_certificates = (
        session.execute(
            update(r)
            .where(r.c.state.in_(open_states), r.c.expires_on < today, not_filed_in_time)
            .values(
                state=ReminderState.LAPSED.value,
                closed_at=now,
                claimed_by_id=None,
                claim_expires_at=None,
                version=r.c.version + 1,
                updated_at=now,
            )
            .returning(r.c.certificate_id)
        )
        .scalars()
        .all()
    )
    lapsed = len(lapsed_certificates)
    c = table(Certificate)
    for part in chunks(lapsed_certificates):  # by key: no scan of every certificate
        session.execute(
            update(c)
            .where(c.c.id.in_(part), c.c.status == CertificateStatus.ACTIVE.value)
            .values(status=CertificateStatus.LAPSED.value)
        )
    due = rowcount(
        session.execute(
            update(r)
            .where(r.c.state == ReminderState.SCHEDULED.value, r.c.remind_on <= today)
            .values(state=ReminderState.DUE.value, version=r.c.version + 1, updated_at=now)
        )
    )
    follow_ups = rowcount(
        session.execute(
            update(r)
            .where(r.c.state == ReminderState.INFORMED.value, r.c.follow_up_on <= today)
            .values(
                state=ReminderState.DUE.value,
                follow_up=True,
                follow_up_on=None,
                version=r.c.version + 1,
                updated_at=now,
            )
        )
    )
    released = rowcount(
        session.execute(
            update(r)
            .where(and_(r.c.claimed_by_id.is_not(None), r.c.claim_expires_at <= now))
            .values(claimed_by_id=None, claim_expires_at=None)
        )
    )
    result = RefreshResult(
        due=due,
        follow_ups=follow_ups,
        lapsed=lapsed,
        claims_released=released,
        catalog_changes=catalog_changes,
    )
    if result.changed:
        audit.record(
            session,
            action="reminder.refresh",
            entity="reminder",
            after={**asdict(result), "today": today},
            actor="system",
            at=now,
        )
    return result
