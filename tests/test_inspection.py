"""Inspection (督促检查): random samples of worked reminders, verdicts, finishing, refusals, audit."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from callqueue import db
from callqueue.db import table
from callqueue.models import AuditEvent, Inspection, InspectionItem
from callqueue.queue import inspection
from callqueue.roles import NotAllowed

from .inspection_world import ADMIN, NOTE, OTHER, SUPERVISOR, World, world
from .queue_world import NOW, SECTION


@pytest.fixture
def known(engine: Engine, tmp_path: Path) -> World:
    return world(engine, tmp_path)


def draw(
    engine: Engine, size: int, seed: int | None = 7, **kwargs: object
) -> inspection.InspectionDetail:
    with db.session_scope(engine, write=True) as session:
        return inspection.draw_sample(
            session=session,
            section=str(kwargs.get("section", SECTION)),
            size=size,
            supervisor=str(kwargs.get("supervisor", SUPERVISOR)),
            seed=seed,
            now=NOW,
        )


def mark(
    engine: Engine, item_id: int, verdict: str, comment: str = "", who: str = SUPERVISOR
) -> inspection.ItemView:
    with db.session_scope(engine, write=True) as session:
        return inspection.review(
            session=session,
            item_id=item_id,
            verdict=verdict,
            comment=comment,
            staff=who,
            now=NOW + timedelta(hours=1),
        )


def audit_rows(engine: Engine) -> list[tuple[str, str, str, object, object, str]]:
    a = table(AuditEvent)
    with db.session_scope(engine, write=False) as session:
        rows = session.execute(
            select(a.c.action, a.c.entity, a.c.entity_id, a.c.before, a.c.after, a.c.actor)
            .where(a.c.action.like("inspection.%"))
            .order_by(a.c.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def counts(engine: Engine) -> tuple[int, int]:
    with db.session_scope(engine, write=False) as session:
        return (
            session.execute(select(func.count()).select_from(table(Inspection))).scalar_one(),
            session.execute(select(func.count()).select_from(table(InspectionItem))).scalar_one(),
        )


def test_sample_is_drawn_from_the_sections_worked_reminders_by_seed(
    engine: Engine, known: World
) -> None:
    detail = draw(engine, 3, seed=7)
    chosen = [item.reminder_id for item in detail.items]
    assert chosen == random.Random(7).sample(sorted(known.worked), 3)
    assert [item.position for item in detail.items] == [1, 2, 3]
    assert len(set(chosen)) == 3 and set(chosen) <= set(known.worked)
    h = detail.header
    assert (h.section, h.supervisor, h.sample_size, h.seed, h.status) == (
        SECTION,
        SUPERVISOR,
        3,
        7,
        "open",
    )
    assert (h.items, h.passed, h.problems, h.unreviewed) == (3, 0, 0, 3)
    # Every worked reminder, and only those, can be drawn: a sample of all five is all five.
    everything = draw(engine, 5, seed=1)
    assert sorted(i.reminder_id for i in everything.items) == sorted(known.worked)
    assert known.other not in [i.reminder_id for i in everything.items]
    assert counts(engine) == (2, 8)
    assert audit_rows(engine)[0] == (
        "inspection.draw",
        "inspection",
        str(h.id),
        None,
        {"section": SECTION, "size": 3, "seed": 7, "reminders": chosen},
        SUPERVISOR,
    )


def test_the_same_seed_draws_the_same_sample_and_a_missing_seed_is_stored(
    engine: Engine, known: World
) -> None:
    first = draw(engine, 3, seed=12345)
    again = draw(engine, 3, seed=12345)
    assert [i.reminder_id for i in first.items] == [i.reminder_id for i in again.items]
    fresh = draw(engine, 4, seed=None)
    assert 0 <= fresh.header.seed <= inspection.MAX_SEED
    replay = draw(engine, 4, seed=fresh.header.seed)
    assert [i.reminder_id for i in replay.items] == [i.reminder_id for i in fresh.items]


def test_other_sections_sample_only_their_own(engine: Engine, known: World) -> None:
    detail = draw(engine, 1, section=OTHER)
    assert [i.reminder_id for i in detail.items] == [known.other]
    assert detail.items[0].holder == "社会事务科的单位"


def test_bad_sizes_and_seeds_are_refused_and_change_nothing(engine: Engine, known: World) -> None:
    with pytest.raises(inspection.InspectionRefused, match="至少为 1"):
        draw(engine, 0)
    with pytest.raises(inspection.InspectionRefused, match="只有 5 条已处理.*少于抽样数量 6"):
        draw(engine, 6)
    with pytest.raises(inspection.InspectionRefused, match="只有 0 条"):
        draw(engine, 1, section="政务服务科")
    with pytest.raises(inspection.InspectionRefused, match="不存在"):
        draw(engine, 1, section="没有这个科")
    with pytest.raises(inspection.InspectionRefused, match="随机种子"):
        draw(engine, 1, seed=-1)
    assert counts(engine) == (0, 0)
    assert audit_rows(engine) == []


def test_callers_may_not_inspect(engine: Engine, known: World) -> None:
    with pytest.raises(NotAllowed, match="只有主管或管理员可以进行督促检查；甲是提醒人"):
        draw(engine, 1, supervisor="甲")
    with pytest.raises(NotAllowed, match="未指定工作人员"):
        draw(engine, 1, supervisor="")
    detail = draw(engine, 2, supervisor=ADMIN)  # an admin may
    with pytest.raises(NotAllowed, match="甲是提醒人"):
        mark(engine, detail.items[0].id, "pass", who="甲")
    with db.session_scope(engine, write=False) as session:
        with pytest.raises(NotAllowed):
            inspection.list_inspections(session=session, viewer="甲")
        with pytest.raises(NotAllowed):
            inspection.get_inspection(session=session, inspection_id=detail.header.id, viewer="甲")
    assert counts(engine) == (1, 2)
    assert [row[0] for row in audit_rows(engine)] == ["inspection.draw"]


def test_items_show_the_holder_certificate_dates_and_every_attempt(
    engine: Engine, known: World
) -> None:
    detail = draw(engine, 5, seed=3)
    by_reminder = {i.reminder_id: i for i in detail.items}
    told = by_reminder[known.worked[1]]
    assert told.holder == "东丽区第002号公司" and told.certificate == "农药经营许可证"
    assert told.expires_on.isoformat() == "2027-02-17" and told.state == "informed"
    assert told.remind_on <= told.apply_by < told.expires_on
    (attempt,) = told.attempts
    assert (attempt.staff, attempt.channel_label, attempt.outcome_label) == ("甲", "电话", "已告知")
    assert attempt.conveyed == ("expiry", "apply_by")
    assert attempt.conveyed_labels == ("期满日期", "申请换证时限")
    assert attempt.note == NOTE and attempt.at == NOW + timedelta(minutes=1)
    assert "告知：期满日期、申请换证时限" in attempt.summary() and NOTE in attempt.summary()
    twice = by_reminder[known.worked[4]]
    assert [(a.outcome, a.note) for a in twice.attempts] == [
        ("no_answer", "第一次"),
        ("informed", "第二次"),
    ]
    assert twice.attempts[0].conveyed == ()


def test_review_finish_and_audit(engine: Engine, known: World) -> None:
    detail = draw(engine, 3)
    first, second, third = (i.id for i in detail.items)
    with pytest.raises(inspection.InspectionRefused, match="写明检查意见"):
        mark(engine, second, "problem", "  ")
    with pytest.raises(inspection.InspectionRefused, match="无法识别"):
        mark(engine, second, "maybe")
    with pytest.raises(inspection.InspectionRefused, match="不存在"):
        mark(engine, 9999, "pass")
    done = mark(engine, first, "pass")
    assert (done.verdict, done.verdict_label, done.reviewer) == ("pass", "合格", SUPERVISOR)
    assert done.reviewed_at == NOW + timedelta(hours=1)
    mark(engine, second, "pass")
    changed = mark(engine, second, "problem", "未告知材料清单", who=ADMIN)
    assert (changed.verdict, changed.comment, changed.reviewer) == (
        "problem",
        "未告知材料清单",
        ADMIN,
    )
    with (
        db.session_scope(engine, write=True) as session,
        pytest.raises(inspection.InspectionRefused, match="还有 1 条未检查"),
    ):
        inspection.finish(
            session=session, inspection_id=detail.header.id, staff=SUPERVISOR, now=NOW
        )
    mark(engine, third, "pass", "讲得完整")
    with db.session_scope(engine, write=True) as session:
        header = inspection.finish(
            session=session,
            inspection_id=detail.header.id,
            staff=SUPERVISOR,
            note="一条漏讲材料",
            now=NOW + timedelta(hours=2),
        )
    assert (header.status, header.passed, header.problems, header.unreviewed) == (
        "finished",
        2,
        1,
        0,
    )
    assert header.note == "一条漏讲材料" and header.finished_at == NOW + timedelta(hours=2)
    with pytest.raises(inspection.InspectionRefused, match="已结束"):
        mark(engine, first, "problem", "改主意")
    with db.session_scope(engine, write=False) as session:
        stored = session.get(InspectionItem, second)
        assert stored is not None and (stored.verdict, stored.comment) == (
            "problem",
            "未告知材料清单",
        )
        (listed,) = inspection.list_inspections(session=session, viewer=SUPERVISOR)
        assert listed == header
        assert inspection.list_inspections(session=session, section=OTHER) == []
    rows = audit_rows(engine)
    assert [(r[0], r[2]) for r in rows] == [
        ("inspection.draw", str(detail.header.id)),
        ("inspection.review", str(first)),
        ("inspection.review", str(second)),
        ("inspection.review", str(second)),
        ("inspection.review", str(third)),
        ("inspection.finish", str(detail.header.id)),
    ]
    assert rows[3][3] == {"verdict": "pass", "comment": ""}
    assert rows[3][4]["verdict"] == "problem" and rows[3][5] == ADMIN  # type: ignore[index]
    assert rows[5][4] == {"status": "finished", "passed": 2, "problems": 1}
