"""Filtering a page of the queue: by state or flag, certificate kind, and days to apply-by."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from callqueue import db
from callqueue.db import table
from callqueue.models import CatalogItem
from callqueue.queue.claims import QueueFilter, queue_entries

from .queue_world import NOW, TODAY, build, due_row, section_id, set_reminder, staff_id


def names(engine: Engine, only: QueueFilter) -> list[str]:
    with db.session_scope(engine, write=False) as session:
        entries = queue_entries(
            session,
            section_id=section_id(engine),
            staff_id=staff_id(engine, "甲"),
            now=NOW,
            only=only,
        )
    return [e.holder.removeprefix("东丽区第").removesuffix("号公司") for e in entries]


def test_each_filter_keeps_queue_order(engine: Engine, tmp_path: Path) -> None:
    ids = build(
        engine,
        tmp_path,
        [
            due_row(1, expires_on=date(2027, 2, 24)),
            due_row(2, expires_on=date(2027, 2, 10), certificate="兽药经营许可证"),
            due_row(3, expires_on=date(2027, 2, 17)),
            due_row(4, expires_on=date(2027, 2, 18)),
        ],
    )
    for n, days in ((1, 40), (2, 5), (3, 20), (4, 30)):
        set_reminder(engine, ids[f"h{n}"], apply_by=TODAY + timedelta(days=days))
    set_reminder(engine, ids["h4"], state="retry", next_action_at=NOW - timedelta(hours=1))
    set_reminder(engine, ids["h3"], follow_up=True)
    for n in (1, 2, 3, 4):  # imported after their remind_on: all late; keep one
        set_reminder(engine, ids[f"h{n}"], late=n == 1)
    with db.session_scope(engine, write=False) as session:
        i = table(CatalogItem)
        vet = session.execute(
            select(i.c.id).where(i.c.certificate_name == "兽药经营许可证")
        ).scalar_one()

    assert names(engine, QueueFilter()) == ["002", "003", "004", "001"]
    assert names(engine, QueueFilter(kind="due")) == ["002", "003", "001"]
    assert names(engine, QueueFilter(kind="retry")) == ["004"]
    assert names(engine, QueueFilter(kind="callback")) == []
    assert names(engine, QueueFilter(kind="follow_up")) == ["003"]
    assert names(engine, QueueFilter(kind="late")) == ["001"]
    assert names(engine, QueueFilter(catalog_item_id=vet)) == ["002"]
    assert names(engine, QueueFilter(apply_by_until=TODAY + timedelta(days=20))) == ["002", "003"]
    both = QueueFilter(kind="due", apply_by_until=TODAY + timedelta(days=30))
    assert names(engine, both) == ["002", "003"]
    assert not QueueFilter().active and both.active
    with pytest.raises(ValueError):
        QueueFilter(kind="informed")
