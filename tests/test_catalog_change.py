"""Catalog management: previews count exactly, applying matches, worked reminders stay, audited."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from callqueue import catalog, db
from callqueue.catalog import CatalogError
from callqueue.catalog_change import (
    ChangePlan,
    ChangeResult,
    add_item,
    apply_change,
    cancel_change,
    history,
    preview_change,
    preview_retire,
    retire_item,
)
from callqueue.models import CatalogChange
from callqueue.queue.refresh import refresh
from callqueue.roles import NotAllowed

from .catalog_world import NOW, SEQ, TODAY, audits, build_world, item, reminders, supervisor
from .queue_world import set_reminder, staff_id

UNWORKED = ("甲公司", "乙公司", "丙公司", "丁公司", "戊公司")
UNTOUCHED = ("己公司", "庚公司", "辛公司", "壬公司")


def preview(engine: Engine, **changes: object) -> ChangePlan:
    with db.session_scope(engine, write=False) as session:
        return preview_change(
            session=session, seq=SEQ, changes=changes, effective_on=TODAY, today=TODAY, now=NOW
        )


def apply(
    engine: Engine,
    *,
    on: date = TODAY,
    reason: str = "按新规定",
    who: str = "张敏",
    **changes: object,
) -> ChangeResult:
    me = supervisor(engine, who)
    with db.session_scope(engine, write=True) as session:
        return apply_change(
            session=session,
            seq=SEQ,
            changes=changes,
            effective_on=on,
            reason=reason,
            staff=me,
            today=TODAY,
            now=NOW,
        )


def test_preview_counts_exactly_and_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    world = build_world(engine, tmp_path)
    before = reminders(engine)
    plan = preview(engine, lead_months=6)
    assert (
        plan.reminders_changed,
        plan.remind_on_changed,
        plan.apply_by_changed,
        plan.becoming_due,
        plan.back_to_scheduled,
        plan.kept_in_progress,
    ) == (5, 5, 0, 1, 0, 2)
    examples = {e.holder: e for e in plan.examples}
    assert set(examples) == set(UNWORKED)
    assert (examples["丁公司"].state_before, examples["丁公司"].state_after) == ("scheduled", "due")
    assert examples["乙公司"].remind_on_after == date(2026, 12, 15)
    assert reminders(engine) == before and item(engine).lead_months == 3
    assert audits(engine) == []
    assert world["甲公司"] in {e.reminder_id for e in plan.examples}


def test_apply_does_what_the_preview_said_and_audits_once(engine: Engine, tmp_path: Path) -> None:
    world = build_world(engine, tmp_path)
    before = reminders(engine)
    plan = preview(engine, lead_months=6)
    result = apply(engine, lead_months=6)
    assert result.applied and result.reminders_changed == plan.reminders_changed == 5
    after = reminders(engine)
    for e in plan.examples:
        row = after[e.reminder_id]
        assert (row["remind_on"], row["apply_by"], row["state"]) == (
            e.remind_on_after,
            e.apply_by_after,
            e.state_after,
        )
        assert row["version"] == before[e.reminder_id]["version"] + 1
    assert after[world["丁公司"]]["late"] is True  # due at once, its new date already past
    for name in UNTOUCHED:
        assert after[world[name]] == before[world[name]], name
    saved = item(engine)
    assert (saved.lead_months, saved.effective_from) == (6, TODAY)
    me = supervisor(engine)
    assert audits(engine) == [
        {
            "action": "catalog.edit",
            "entity_id": str(SEQ),
            "actor": "张敏",
            "staff_id": me.id,
            "before": {"lead_months": 3},
            "after": {"lead_months": 6, "effective_on": "2026-11-24", "reminders_changed": 5},
            "note": "按新规定",
        }
    ]


def test_a_shorter_lead_sends_an_unworked_due_reminder_back(engine: Engine, tmp_path: Path) -> None:
    world = build_world(engine, tmp_path)
    plan = preview(engine, lead_months=1, filing_deadline_days=30)
    assert plan.back_to_scheduled == 1 and plan.apply_by_changed == 5
    apply(engine, lead_months=1, filing_deadline_days=30)
    row = reminders(engine)[world["甲公司"]]
    assert (row["state"], row["late"]) == ("scheduled", False)
    assert row["remind_on"] > TODAY


def test_a_method_change_moves_the_channel_of_unworked_reminders_only(
    engine: Engine, tmp_path: Path
) -> None:
    world = build_world(engine, tmp_path)
    plan = preview(engine, method="email")
    assert (plan.reminders_changed, plan.remind_on_changed) == (5, 0)
    apply(engine, method="email")
    after = reminders(engine)
    assert {n for n in world if after[world[n]]["channel"] == "email"} == set(UNWORKED)


def test_materials_change_no_reminder(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    before = reminders(engine)
    result = apply(engine, materials=["申请书", "营业执照副本"])
    assert result.reminders_changed == 0 and result.plan.reminders_changed == 0
    assert reminders(engine) == before
    assert item(engine).materials == ["申请书", "营业执照副本"]


def test_refusals_change_nothing(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    before = reminders(engine)
    with pytest.raises(NotAllowed, match="甲是提醒人"):
        apply(engine, who="甲", lead_months=6)
    with pytest.raises(CatalogError, match="请填写修改原因"):
        apply(engine, reason="  ", lead_months=6)
    with pytest.raises(CatalogError, match="没有修改任何内容"):
        apply(engine, lead_months=3)
    with pytest.raises(CatalogError, match="提醒时限应为 1–24 个月"):
        apply(engine, lead_months=30)
    with pytest.raises(CatalogError, match="retire"):
        apply(engine, active=False)
    with db.session_scope(engine, write=True) as session, pytest.raises(NotAllowed):
        apply_change(
            session=session,
            seq=SEQ,
            changes={"lead_months": 6},
            effective_on=TODAY,
            reason="x",
            staff=None,
            today=TODAY,
            now=NOW,
        )
    assert reminders(engine) == before and item(engine).lead_months == 3
    assert audits(engine) == []


def test_a_future_change_waits_for_refresh_on_its_day(engine: Engine, tmp_path: Path) -> None:
    world = build_world(engine, tmp_path)
    before = reminders(engine)
    day = date(2026, 12, 1)
    result = apply(engine, on=day, lead_months=6)
    assert not result.applied and result.change_id is not None
    assert reminders(engine) == before and item(engine).lead_months == 3
    assert [a["action"] for a in audits(engine)] == ["catalog.schedule"]
    with db.session_scope(engine, write=True) as session:
        assert refresh(session, today=day - timedelta(days=1), now=NOW).catalog_changes == 0
    assert item(engine).lead_months == 3
    with db.session_scope(engine, write=True) as session:
        assert refresh(session, today=day, now=NOW).catalog_changes == 1
    assert (item(engine).lead_months, item(engine).effective_from) == (6, day)
    done = audits(engine)[-1]
    assert done["action"] == "catalog.edit" and done["actor"] == "张敏"
    assert done["after"]["reminders_changed"] == result.plan.reminders_changed == 5
    assert done["after"]["change_id"] == result.change_id
    after = reminders(engine)
    assert after[world["乙公司"]]["remind_on"] == date(2026, 12, 15)
    for name in UNTOUCHED:
        assert after[world[name]]["remind_on"] == before[world[name]]["remind_on"]
    with db.session_scope(engine, write=False) as session:
        stored = session.get(CatalogChange, result.change_id)
        assert stored is not None
        assert (stored.status, stored.reminders_changed) == ("applied", 5)
    with db.session_scope(engine, write=True) as session:  # applied once only
        assert refresh(session, today=day + timedelta(days=1), now=NOW).catalog_changes == 0


def test_a_pending_change_can_be_cancelled(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    result = apply(engine, on=date(2026, 12, 1), lead_months=6)
    with db.session_scope(engine, write=True) as session:
        cancel_change(
            session=session,
            change_id=result.change_id,
            reason="文件推迟",
            staff=supervisor(engine),
            now=NOW,
        )
    with db.session_scope(engine, write=True) as session:
        assert refresh(session, today=date(2026, 12, 2), now=NOW).catalog_changes == 0
    assert item(engine).lead_months == 3
    assert audits(engine)[-1]["action"] == "catalog.cancel"


def test_retire_closes_unworked_reminders_and_keeps_worked_ones(
    engine: Engine, tmp_path: Path
) -> None:
    world = build_world(engine, tmp_path)
    before = reminders(engine)
    with db.session_scope(engine, write=False) as session:
        plan = preview_retire(session=session, seq=SEQ, retire_on=TODAY, today=TODAY, now=NOW)
    assert (plan.reminders_changed, plan.kept_in_progress) == (5, 2)
    with db.session_scope(engine, write=True) as session:
        result = retire_item(
            session=session,
            seq=SEQ,
            retire_on=TODAY,
            reason="上级取消该许可",
            staff=supervisor(engine),
            today=TODAY,
            now=NOW,
        )
    assert result.reminders_changed == 5
    after = reminders(engine)
    for name in UNWORKED:
        assert after[world[name]]["state"] == "withdrawn"
        assert after[world[name]]["close_reason"] == "目录事项已取消：上级取消该许可"
    for name in UNTOUCHED:
        assert after[world[name]] == before[world[name]], name
    saved = item(engine)
    assert (saved.active, saved.retired_on) == (False, TODAY)
    with db.session_scope(engine, write=False) as session:
        assert SEQ not in {e.seq for e in catalog.list_items(session)}
    assert audits(engine)[-1]["action"] == "catalog.retire"
    assert audits(engine)[-1]["after"]["reminders_changed"] == 5
    with db.session_scope(engine, write=True) as session, pytest.raises(CatalogError, match="已于"):
        preview_retire(session=session, seq=SEQ, retire_on=TODAY, today=TODAY, now=NOW)


def test_a_future_retirement_happens_on_its_day(engine: Engine, tmp_path: Path) -> None:
    world = build_world(engine, tmp_path)
    day = date(2026, 12, 31)
    with db.session_scope(engine, write=True) as session:
        result = retire_item(
            session=session,
            seq=SEQ,
            retire_on=day,
            reason="年底取消",
            staff=supervisor(engine),
            today=TODAY,
            now=NOW,
        )
    assert not result.applied and item(engine).active
    with db.session_scope(engine, write=True) as session:
        assert refresh(session, today=day, now=NOW).catalog_changes == 1
    assert (item(engine).active, item(engine).retired_on) == (False, day)
    assert reminders(engine)[world["乙公司"]]["state"] == "withdrawn"


def test_add_takes_the_next_seq_and_is_validated(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    me = supervisor(engine)
    values = {
        "permit_item": "养犬登记",
        "certificate_name": "养犬登记证",
        "lead_months": 2,
        "filing_deadline_days": 30,
        "validity_years": [1],
        "materials": ["申请表"],
    }

    def add(**kwargs: object) -> catalog.CatalogEntry:
        args: dict[str, object] = {
            "section": "社会事务科",
            "values": values,
            "effective_on": TODAY,
            "reason": "新增事项",
            "staff": me,
        } | kwargs
        with db.session_scope(engine, write=True) as session:
            return add_item(session=session, today=TODAY, now=NOW, **args)  # type: ignore[arg-type]

    with db.session_scope(engine, write=False) as session:
        top = max(e.seq for e in catalog.list_items(session, include_retired=True))
    with pytest.raises(CatalogError, match="不在科室列表中"):
        add(section="不存在科")
    with pytest.raises(CatalogError, match="缺少提醒时限"):
        add(values={**values, "lead_months": None})
    with pytest.raises(CatalogError, match="已在目录第7项中"):
        add(values={**values, "certificate_name": "农药经营许可证 "})
    with pytest.raises(CatalogError, match="请填写修改原因"):
        add(reason="")
    entry = add()
    assert (entry.seq, entry.section, entry.lead_months, entry.active) == (
        top + 1,
        "社会事务科",
        2,
        True,
    )
    later = add(values={**values, "certificate_name": "犬只免疫证"}, effective_on=date(2027, 1, 4))
    assert later.seq == top + 2 and not later.active
    with db.session_scope(engine, write=True) as session:
        refresh(session, today=date(2027, 1, 4), now=NOW)
    assert item(engine, top + 2).active
    actions = [a["action"] for a in audits(engine)]
    assert actions == ["catalog.add", "catalog.add", "catalog.schedule", "catalog.activate"]


def test_history_lists_pending_and_audited_changes(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    apply(engine, materials=["申请书"], reason="材料简化")
    apply(engine, on=date(2027, 1, 1), lead_months=6, reason="新规")
    with db.session_scope(engine, write=False) as session:
        rows = history(session=session, seq=SEQ)
        others = history(session=session, seq=1)
    assert [(r.action, r.reason) for r in rows] == [
        ("pending.edit", "新规"),
        ("catalog.schedule", "新规"),
        ("catalog.edit", "材料简化"),
        ("catalog.create", ""),  # the seed catalog
    ]
    assert rows[0].effective_on == date(2027, 1, 1) and rows[0].pending_id is not None
    assert [r.action for r in others] == ["catalog.create"]


def test_a_reminder_claimed_by_a_caller_is_left_alone(engine: Engine, tmp_path: Path) -> None:
    world = build_world(engine, tmp_path)
    caller = staff_id(engine, "甲")
    set_reminder(
        engine, world["甲公司"], claimed_by_id=caller, claim_expires_at=NOW + timedelta(minutes=5)
    )
    before = reminders(engine)[world["甲公司"]]
    plan = preview(engine, lead_months=6)
    assert (plan.reminders_changed, plan.kept_in_progress) == (4, 3)
    assert apply(engine, lead_months=6).reminders_changed == 4
    assert reminders(engine)[world["甲公司"]] == before


@pytest.mark.parametrize("days", [-3, 731])
def test_a_filing_deadline_out_of_range_is_refused(
    engine: Engine, tmp_path: Path, days: int
) -> None:
    build_world(engine, tmp_path)
    with pytest.raises(CatalogError, match="申请换证时限应为 0–730 日"):
        apply(engine, filing_deadline_days=days)
    me = supervisor(engine)
    values = {"permit_item": "养犬登记", "certificate_name": "养犬登记证", "lead_months": 2}
    with (
        db.session_scope(engine, write=True) as session,
        pytest.raises(CatalogError, match="申请换证时限应为 0–730 日"),
    ):
        add_item(
            session=session,
            section="社会事务科",
            values={**values, "filing_deadline_days": days},
            effective_on=TODAY,
            reason="新增事项",
            staff=me,
            today=TODAY,
            now=NOW,
        )
    with db.session_scope(engine, write=False) as session:
        names = [e.certificate_name for e in catalog.list_items(session, include_retired=True)]
    assert "养犬登记证" not in names and item(engine).filing_deadline_days == 90


def test_an_edit_cannot_take_another_items_certificate_name(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    with pytest.raises(CatalogError, match="已在目录第14项中"):
        preview(engine, certificate_name="兽药经营许可证")
    with pytest.raises(CatalogError, match="已在目录第14项中"):
        apply(engine, certificate_name="兽 药经营许可证")  # spaces do not make it another name
    with pytest.raises(CatalogError, match="已在目录第14项中"):
        apply(engine, on=date(2027, 1, 1), certificate_name="兽药经营许可证")
    assert item(engine).certificate_name == "农药经营许可证"
    assert audits(engine) == []
    # its own name, written differently, is no clash
    apply(engine, certificate_name="农药经营许可证（新）")
    assert item(engine).certificate_name == "农药经营许可证（新）"


def test_history_shows_office_time(engine: Engine, tmp_path: Path) -> None:
    build_world(engine, tmp_path)
    apply(engine, materials=["申请书"], reason="材料简化")  # at NOW, 09:00 in Shanghai
    apply(engine, on=date(2027, 1, 1), lead_months=6, reason="新规")
    with db.session_scope(engine, write=False) as session:
        rows = history(session=session, seq=SEQ)
    edit = next(r for r in rows if r.action == "catalog.edit")
    assert edit.at is not None and edit.at.utcoffset() == timedelta(hours=8)
    assert edit.line().startswith("2026-11-24 09:00 第7项 修改")
    assert edit.to_json()["at"].startswith("2026-11-24T09:00:00")
    pending = rows[0]
    assert pending.action == "pending.edit" and pending.at is not None
    assert pending.at.utcoffset() == timedelta(hours=8)
    me = supervisor(engine)
    with db.session_scope(engine, write=True) as session:
        cancel_change(
            session=session, change_id=pending.pending_id or 0, reason="搞错", staff=me, now=NOW
        )
    with db.session_scope(engine, write=False) as session:
        (cancelled, *_) = history(session=session, seq=SEQ)
    assert (
        cancelled.line()
        == "2026-11-24 09:00 第7项 撤销待生效修改 · 张敏：提醒时限（月） 6；原因：搞错"
    )
