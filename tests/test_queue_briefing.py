"""The briefing of a queue entry, the words of 一次性告知, and the status-line counts."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, select, update

from callqueue import db
from callqueue.db import table
from callqueue.models import ContactPhone, Outcome, Reminder
from callqueue.queue import outcomes
from callqueue.queue.briefing import Briefing, briefing
from callqueue.queue.script import cn_date, inform_script
from callqueue.queue.tally import tally

from .queue_world import NOW, TODAY, build, due_row, policy, section_id, staff_id


def read(engine: Engine, holder_id: int, reminder_ids: list[int]) -> Briefing:
    with db.session_scope(engine, write=False) as session:
        return briefing(session, holder_id=holder_id, reminder_ids=reminder_ids)


def test_briefing_lists_contacts_certificates_and_attempts(engine: Engine, tmp_path: Path) -> None:
    ids = build(
        engine,
        tmp_path,
        [
            due_row(1, contact="13800000001 022-23456789转123 wang@example.cn"),
            due_row(2, holder="东丽区第001号公司", certificate="兽药经营许可证"),
        ],
    )
    assert list(ids) == ["h1"]  # one holder, two certificates
    with db.session_scope(engine, write=False) as session:
        r = table(Reminder)
        first, second = session.execute(select(r.c.id).order_by(r.c.id)).scalars().all()
    with db.session_scope(engine, write=True) as session:
        p = table(ContactPhone)
        session.execute(update(p).where(p.c.e164 == "+8613800000001").values(invalid=True))
    me = staff_id(engine, "甲")
    with db.session_scope(engine, write=True) as session:
        outcomes.record_outcome(
            session,
            reminder_id=first,
            outcome=Outcome.NO_ANSWER,
            staff_id=me,
            policy=policy(engine),
            data=outcomes.OutcomeInput(note="占线"),
        )

    b = read(engine, 1, [second, first])

    assert b.holder == "东丽区第001号公司" and b.office_name == "东丽区政务服务办公室"
    assert [c.reminder_id for c in b.certificates] == [second, first]
    assert [c.certificate for c in b.certificates] == ["兽药经营许可证", "农药经营许可证"]
    assert b.certificates[1].expires_on == date(2027, 2, 16)
    assert b.certificates[1].place == "东丽区政务服务中心"  # the office-wide place
    assert all(c.materials for c in b.certificates)
    assert len(b.materials) == len(set(b.materials))  # each material once
    [contact] = b.contacts
    phones = {p.display: p.invalid for p in contact.phones}
    assert phones == {
        "13800000001": True,
        "022-23456789转123": False,
        "13800000002": False,  # the second row's number, same contact person
    }
    assert [e.address for e in contact.emails] == ["wang@example.cn"] and b.has_email
    [attempt] = b.attempts
    assert (attempt.outcome, attempt.note, attempt.staff) == ("no_answer", "占线", "甲")
    assert attempt.certificate == "农药经营许可证"


def test_the_script_names_every_date_with_its_weekday(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(1)])
    b = read(engine, 1, [ids["h1"]])
    [c] = b.certificates

    script = inform_script(b, today=c.apply_by)

    assert cn_date(date(2026, 11, 24)) == "2026年11月24日（星期二）"
    assert "东丽区政务服务办公室" in script.opening
    [words] = script.paragraphs
    assert "《农药经营许可证》" in words and cn_date(c.expires_on) in words
    assert cn_date(c.apply_by) in words and "东丽区政务服务中心" in words
    # the seed catalog leaves the service phone empty: the card says so
    assert "（未设置）" in script.closing
    assert "咨询电话未设置，请主管在目录中填写" in script.warnings
    assert not any("已过" in w for w in script.warnings)
    assert inform_script(b, today=c.expires_on + timedelta(days=1)).warnings[0] == (
        f"《农药经营许可证》已于 {c.expires_on:%Y-%m-%d} 期满"
    )

    late = inform_script(b, today=c.apply_by + timedelta(days=3))
    assert (
        f"《农药经营许可证》已过申请截止 3 天（{c.apply_by:%Y-%m-%d}），请告知尽快办理"
        in late.warnings
    )


def test_tally_counts_callable_done_and_late(engine: Engine, tmp_path: Path) -> None:
    ids = build(engine, tmp_path, [due_row(n) for n in (1, 2, 3)])
    me, other = staff_id(engine, "甲"), staff_id(engine, "乙")
    section = section_id(engine)
    r = table(Reminder)
    with db.session_scope(engine, write=True) as session:
        session.execute(update(r).values(apply_by=TODAY + timedelta(days=20)))
        session.execute(
            update(r).where(r.c.id == ids["h3"]).values(apply_by=TODAY - timedelta(days=1))
        )

    def count() -> tuple[int, int, int, int]:
        with db.session_scope(engine, write=False) as session:
            t = tally(session, section_id=section, staff_id=me, today=TODAY, now=NOW)
        return t.callable_now, t.done_today, t.done_today_mine, t.past_apply_by

    assert count() == (3, 0, 0, 1)
    for who, rid, outcome in (
        (me, ids["h1"], Outcome.INFORMED),
        (other, ids["h2"], Outcome.NO_ANSWER),
    ):
        with db.session_scope(engine, write=True) as session:
            outcomes.record_outcome(
                session, reminder_id=rid, outcome=outcome, staff_id=who, policy=policy(engine)
            )
    # h1 is informed, h2 waits for its retry time: only h3 is callable now
    assert count() == (1, 2, 1, 1)
