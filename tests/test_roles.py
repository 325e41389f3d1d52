"""Who sees which sections."""

from __future__ import annotations

import pytest

from callqueue.roles import NotAllowed, scoped_sections


def test_operator_without_staff_sees_everything_or_what_is_asked() -> None:
    assert scoped_sections(name=None, role=None, own_section=None, requested=None) is None
    assert scoped_sections(name=None, role=None, own_section=None, requested="社会事务科") == [
        "社会事务科"
    ]


def test_supervisor_sees_any_section() -> None:
    assert (
        scoped_sections(name="李", role="supervisor", own_section="政务服务科", requested=None)
        is None
    )
    assert scoped_sections(
        name="李", role="admin", own_section="政务服务科", requested="社会事务科"
    ) == ["社会事务科"]


def test_caller_is_kept_to_own_section() -> None:
    assert scoped_sections(name="张", role="caller", own_section="社会事务科", requested=None) == [
        "社会事务科"
    ]
    assert scoped_sections(
        name="张", role="caller", own_section="社会事务科", requested="社会事务科"
    ) == ["社会事务科"]
    with pytest.raises(NotAllowed, match="只能查看本科室"):
        scoped_sections(name="张", role="caller", own_section="社会事务科", requested="政务服务科")
