"""What each staff role may do beyond working its queue."""

from __future__ import annotations

from callqueue.models import Role

ROLE_LABELS = {Role.CALLER: "提醒人", Role.SUPERVISOR: "主管", Role.ADMIN: "管理员"}
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
"""The roles that oversee every section, keep the catalog and calendar, and inspect ledgers."""


class NotAllowed(PermissionError):
    """The staff member's role does not allow this; the message is for staff."""


def role_label(role: str) -> str:
    """The role in words, e.g. 主管."""
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role


def require_supervisor(name: str | None, role: str | None, *, task: str, who: str = "主管") -> None:
    """Refuse unless a supervisor or admin is named for a task that is theirs.

    Args:
        name: The staff member, or None when nobody is named.
        role: Their role.
        task: What they want to do, in Chinese (e.g. 载入节假日安排).
        who: Whom the message tells staff to name with --staff.

    Raises:
        NotAllowed: no staff member, or one who is neither supervisor nor admin.
    """
    if not name or role is None:
        raise NotAllowed(f"未指定工作人员，不能{task}（用 --staff 指定{who}）")
    if role not in SUPERVISORS:
        raise NotAllowed(f"只有主管或管理员可以{task}；{name}是{role_label(role)}")


def require_admin(name: str | None, role: str | None, *, task: str) -> None:
    """Refuse unless an admin is named for a task that is theirs (staff and their PINs).

    Args:
        name: The staff member, or None when nobody is named.
        role: Their role.
        task: What they want to do, in Chinese (e.g. 重设 PIN).

    Raises:
        NotAllowed: no staff member, or one who is not an admin.
    """
    if not name or role is None:
        raise NotAllowed(f"未指定工作人员，不能{task}（用 --staff 指定管理员）")
    if role != Role.ADMIN:
        raise NotAllowed(f"只有管理员可以{task}；{name}是{role_label(role)}")


def require_catalog_editor(name: str | None, role: str | None) -> None:
    """Refuse unless a supervisor or admin is named: the catalog is theirs to keep current.

    Raises:
        NotAllowed: no staff member, or one whose role may not edit the catalog.
    """
    require_supervisor(name, role, task="修改目录")


def sees_all_sections(role: str | None) -> bool:
    """Tell whether a role oversees every section (supervisors and admins do)."""
    return role in SUPERVISORS


def scoped_sections(
    *, name: str | None, role: str | None, own_section: str | None, requested: str | None
) -> list[str] | None:
    """The sections a viewer may see for a request, None meaning every section.

    Callers see only their own section; supervisors and admins see every one. With no staff
    member named (the operator's own command line), nothing is restricted.

    Args:
        name: The staff member, or None when nobody is named.
        role: Their role.
        own_section: The section they belong to.
        requested: The section asked for (`--section`), or None for "all I may see".

    Returns:
        A list of section names, or None for every section.

    Raises:
        NotAllowed: a caller asked for a section not their own.
    """
    if not name or sees_all_sections(role):
        return [requested] if requested else None
    if requested and requested != own_section:
        raise NotAllowed(
            f"{name}是{own_section}的{role_label(role or '')}，只能查看本科室（{own_section}）"
        )
    return [own_section] if own_section else []


def other_section_message(
    name: str,
    role: str | None,
    *,
    own_section: str,
    task: str,
    kind: str,
    what: str | None = None,
    section: str | None = None,
) -> str:
    """Why a caller may not change another section's data, in the words staff read.

    Args:
        name: The staff member.
        role: Their role.
        own_section: The section they belong to.
        task: What they may do in their own section only, in Chinese (e.g. 处理).
        kind: What data, in Chinese (e.g. 提醒).
        what: The data asked for (e.g. 提醒 12), when there is one.
        section: The section that data belongs to.

    Returns:
        E.g. 提醒 12 属于社会事务科；张敏是环保城管和建设交通科的提醒人，只能处理本科室（环保城管和建设交通科）的提醒
    """
    gap = " " if what and what[-1].isascii() and what[-1].isalnum() else ""  # 提醒 12 属于…
    head = f"{what}{gap}属于{section}；" if what and section else ""
    label = role_label(role or "")
    return f"{head}{name}是{own_section}的{label}，只能{task}本科室（{own_section}）的{kind}"


def may_inspect(role: str | None) -> bool:
    """Tell whether a role may inspect the sections' ledgers (督促检查)."""
    return role in SUPERVISORS


def require_inspector(name: str | None, role: str | None) -> None:
    """Refuse unless a supervisor or admin is named: inspecting the ledgers is 政务服务科's duty.

    Raises:
        NotAllowed: no staff member, or one whose role may not inspect.
    """
    require_supervisor(name, role, task="进行督促检查", who="主管或管理员")
