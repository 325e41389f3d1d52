"""What each staff role may do beyond working its queue."""

from __future__ import annotations

from callqueue.models import Role

ROLE_LABELS = {Role.CALLER: "提醒人", Role.SUPERVISOR: "主管", Role.ADMIN: "管理员"}
CATALOG_EDITORS = frozenset({Role.SUPERVISOR, Role.ADMIN})


class NotAllowed(PermissionError):
    """The staff member's role does not allow this; the message is for staff."""


def role_label(role: str) -> str:
    """The role in words, e.g. 主管."""
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role


def require_catalog_editor(name: str | None, role: str | None) -> None:
    """Refuse unless a supervisor or admin is named: the catalog is theirs to keep current.

    Raises:
        NotAllowed: no staff member, or one whose role may not edit the catalog.
    """
    if not name or role is None:
        raise NotAllowed("未指定工作人员，不能修改目录（用 --staff 指定主管）")
    if role not in CATALOG_EDITORS:
        raise NotAllowed(f"只有主管或管理员可以修改目录；{name}是{role_label(role)}")
