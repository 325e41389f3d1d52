"""The append-only audit trail: who changed what, when, with before and after."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from callqueue import clock
from callqueue.direct import Direct
from callqueue.models import AuditEvent

_INSERT = Direct(insert(AuditEvent.__table__))  # type: ignore[attr-defined]


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """`value` with dates, enums and containers made JSON-safe."""
    if type(value) in _PLAIN:  # most values: nothing to convert, no isinstance chain
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def record(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: object = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    staff_id: int | None = None,
    actor: str = "system",
    note: str = "",
    at: datetime | None = None,
) -> None:
    """Write one audit event in `session`'s transaction (committed with the change it describes).

    Args:
        session: the unit of work that makes the change.
        action: what happened, e.g. `catalog.update`.
        entity: the table name of what changed.
        entity_id: its key.
        before: the changed fields' old values.
        after: the changed fields' new values.
        staff_id: who did it, when a staff member did.
        actor: a name for who did it (staff name, `system`, `seed`).
        note: why, in the user's words.
        at: when; now by default.

    """
    # A Core insert on the driver's cursor, now, in the caller's transaction: no ORM object, no
    # unit of work (every outcome writes one of these, so it is on the desk's hot path).
    _INSERT.execute(
        session.connection(),
        {
            "at": at or clock.now(),
            "staff_id": staff_id,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id),
            "before": jsonable(before) if before is not None else None,
            "after": jsonable(after) if after is not None else None,
            "note": note,
        },
    )
