"""Record services: search in every form, section scoping, the record view, contact fixes, manual certificates."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from callqueue import db
from callqueue.db import table
from callqueue.ledger import service
from callqueue.models import (
    Certificate,
    ContactEmail,
    ContactPhone,
    ImportBatch,
    Outcome,
    Reminder,
)
from callqueue.queue import claims, outcomes, staff
from callqueue.records import RecordRefused, Viewer
from callqueue.records.contacts import add_email, add_phone, mark_phone_invalid
from callqueue.records.manual import (
    CertificateRefused,
    ManualCertificate,
    ManualResult,
    add_certificate,
)
from callqueue.records.search import SearchKind, search
from callqueue.records.view import holder_record

from .ledger_files import licence_row, write_annex2
from .queue_world import NOW, TODAY, log, policy, section_id, set_reminder, staff_id
from .records_world import (
    LANDLINE_HOLDER,
    MOBILE_HOLDER,
    NO_CONTACT,
    OTHER,
    OTHER_HOLDER,
    TWO_PHONES,
    audit_actions,
    certificate_ids,
    count,
    holder_id,
    holder_reminders,
    phones,
    viewer,
    world,
)


def found(engine: Engine, query: str, who: str = "甲", **kwargs: int) -> list[str]:
    with db.session_scope(engine, write=False) as session:
        page = search(session, query=query, viewer=viewer(engine, who), **kwargs)
    return [hit.holder for hit in page.hits]


def kind(engine: Engine, query: str) -> SearchKind | None:
    with db.session_scope(engine, write=False) as session:
        return search(session, query=query, viewer=viewer(engine, "主任")).kind


# --- search ---------------------------------------------------------------------------------


def test_search_by_name_substring_and_normalised_name(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    assert found(engine, "华明") == [MOBILE_HOLDER]
    assert found(engine, "东丽区") == [MOBILE_HOLDER, LANDLINE_HOLDER, TWO_PHONES, NO_CONTACT]
    # Spaces and full-width letters typed by staff still find the stored name.
    assert found(engine, "金桥 商贸") == [LANDLINE_HOLDER]
    assert found(engine, "没有这个单位") == []
    assert kind(engine, "华明") is SearchKind.NAME


@pytest.mark.parametrize(
    ("query", "holder"),
    [
        ("138 0013 8000", MOBILE_HOLDER),
        ("+86 13800138000", MOBILE_HOLDER),
        ("13800138000", MOBILE_HOLDER),
        ("138-0013-8000", MOBILE_HOLDER),
        ("022-2345 6789", LANDLINE_HOLDER),
        ("23456789", LANDLINE_HOLDER),
        ("(022)23456789", LANDLINE_HOLDER),
        ("+86 22 2345 6789", LANDLINE_HOLDER),
        ("022-24445555", TWO_PHONES),
    ],
)
def test_search_by_phone_in_any_format(
    engine: Engine, tmp_path: Path, query: str, holder: str
) -> None:
    world(engine, tmp_path)
    assert found(engine, query) == [holder]
    assert kind(engine, query) is SearchKind.PHONE


def test_search_by_certificate_name_number_and_id(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    mine = [MOBILE_HOLDER, LANDLINE_HOLDER, TWO_PHONES, NO_CONTACT]
    assert found(engine, "农药经营许可证") == mine
    assert found(engine, " 农药经营 许可证 ") == mine
    assert kind(engine, "农药经营许可证") is SearchKind.CERTIFICATE
    assert found(engine, "卫生许可证", who="主任") == [OTHER_HOLDER]
    assert found(engine, "卫生许可证") == []  # 甲 works in another section
    c = table(Certificate)
    with db.session_scope(engine, write=True) as session:
        cert_id = session.execute(
            select(c.c.id).where(c.c.holder_id == holder_id(engine, TWO_PHONES))
        ).scalar_one()
        session.execute(update(c).where(c.c.id == cert_id).values(number="津农药2024第0007号"))
    assert found(engine, f"#{cert_id}") == [TWO_PHONES]
    assert kind(engine, f"#{cert_id}") is SearchKind.CERTIFICATE_ID
    assert found(engine, "津农药2024第0007号") == [TWO_PHONES]
    assert found(engine, "#999999") == []
    # A number of digits and dashes reads as a phone (2021-0345: a Tianjin landline) too;
    # nobody has that phone, so it is looked up as a 证书编号.
    with db.session_scope(engine, write=True) as session:
        session.execute(update(c).where(c.c.id == cert_id).values(number="2021-0345"))
    assert found(engine, "2021-0345") == [TWO_PHONES]
    assert kind(engine, "2021-0345") is SearchKind.NAME


def test_callers_see_their_section_supervisors_all(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    assert found(engine, "单位") == []
    assert found(engine, "137 0013 7000") == []
    assert found(engine, "单位", who="主任") == [OTHER_HOLDER]
    assert found(engine, "137 0013 7000", who="主任") == [OTHER_HOLDER]
    with db.session_scope(engine, write=False) as session:
        with pytest.raises(RecordRefused, match="没有本科室的证书"):
            holder_record(session, holder_id=holder_id(engine, OTHER_HOLDER), viewer=viewer(engine))
        record = holder_record(
            session, holder_id=holder_id(engine, OTHER_HOLDER), viewer=viewer(engine, "主任")
        )
    assert [c.item for c in record.certificates] == ["卫生许可证"]


def test_another_sections_certificate_does_not_reveal_its_holder(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    both = licence_row(
        20,
        holder=MOBILE_HOLDER,  # also holds 农药经营许可证 in 甲's section
        certificate="卫生许可证",
        issued_on=date(2023, 1, 10),
        expires_on=date(2027, 1, 9),
        contact="138 0013 8000",
    )
    path = write_annex2(tmp_path / "both.xlsx", [both], section=OTHER)
    holder = holder_id(engine, MOBILE_HOLDER)
    with db.session_scope(engine, write=True) as session:
        assert service.import_ledger(session, path=path, today=TODAY, margin_workdays=10).imported
        c = table(Certificate)
        other_cert = session.execute(
            select(c.c.id).where(
                c.c.holder_id == holder, c.c.section_id == staff.section_id(session, OTHER)
            )
        ).scalar_one()
        session.execute(update(c).where(c.c.id == other_cert).values(number="WS-2023-77"))
    for query in ("卫生许可证", "WS-2023-77", f"#{other_cert}"):
        assert found(engine, query) == [], query
        assert MOBILE_HOLDER in found(engine, query, who="主任"), query
    assert found(engine, MOBILE_HOLDER) == [MOBILE_HOLDER]  # by name: their own holder still
    with db.session_scope(engine, write=False) as session:
        mine = holder_record(
            session, holder_id=holder_id(engine, MOBILE_HOLDER), viewer=viewer(engine)
        )
        everything = holder_record(
            session, holder_id=holder_id(engine, MOBILE_HOLDER), viewer=viewer(engine, "主任")
        )
    assert [c.item for c in mine.certificates] == ["农药经营许可证"]
    assert sorted(c.item for c in everything.certificates) == ["农药经营许可证", "卫生许可证"]


def test_search_pages(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    with db.session_scope(engine, write=False) as session:
        first = search(session, query="东丽区", viewer=viewer(engine), limit=3)
        second = search(session, query="东丽区", viewer=viewer(engine), limit=3, offset=3)
        capped = search(session, query="东丽区", viewer=viewer(engine), limit=10_000)
        empty = search(session, query="   ", viewer=viewer(engine))
    assert len(first.hits) == 3 and first.has_more
    assert [h.holder for h in second.hits] == [NO_CONTACT] and not second.has_more
    assert len(capped.hits) == 4
    assert empty.kind is None and not empty.hits
    hit = first.hits[1]
    assert hit.holder == LANDLINE_HOLDER
    assert hit.phones == ("022-23456789转8021",)
    assert hit.certificates == ("农药经营许可证",)


def test_record_shows_contacts_certificates_reminder_and_attempts(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    rid = holder_reminders(engine, TWO_PHONES)[0]["id"]
    rules = policy(engine)
    with db.session_scope(engine, write=True) as session:
        outcomes.record_outcome(
            session,
            reminder_id=rid,
            outcome=Outcome.NO_ANSWER,
            staff_id=staff_id(engine, "甲"),
            policy=rules,
            data=outcomes.OutcomeInput(note="占线"),
        )
    with db.session_scope(engine, write=False) as session:
        record = holder_record(
            session, holder_id=holder_id(engine, TWO_PHONES), viewer=viewer(engine)
        )
    (contact,) = record.contacts
    assert [p.display for p in contact.phones] == ["13900139000", "022-24445555"]
    (cert,) = record.certificates
    assert cert.item == "农药经营许可证" and cert.status_label == "有效"
    assert cert.reminder is not None
    assert cert.reminder.state_label == "待重拨" and cert.reminder.attempts == 1
    (attempt,) = cert.reminder.history
    assert (attempt.staff, attempt.outcome_label, attempt.note) == ("甲", "无人接听", "占线")


# --- contact fixes ---------------------------------------------------------------------------


def test_mark_invalid_with_a_number_left_changes_no_reminder(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    first = phones(engine, TWO_PHONES)[0]
    with db.session_scope(engine, write=True) as session:
        fix = mark_phone_invalid(
            session, phone_id=first["id"], viewer=viewer(engine), now=NOW, reason="空号"
        )
    assert "已标记为无效" in fix.message
    after = phones(engine, TWO_PHONES)
    assert (after[0]["invalid"], after[0]["invalid_reason"]) == (True, "空号")
    assert after[1]["invalid"] is False
    assert [r["needs_repair"] for r in holder_reminders(engine, TWO_PHONES)] == [False]
    assert audit_actions(engine)[-1] == ("contact.phone_invalid", "contactphone", str(first["id"]))


def test_mark_invalid_marks_the_same_number_of_another_contact(
    engine: Engine, tmp_path: Path
) -> None:
    """王总 has the number 王经理 has: marked invalid once, it is invalid for both."""
    from callqueue.models import Contact

    world(engine, tmp_path)
    first = phones(engine, TWO_PHONES)[0]
    with db.session_scope(engine, write=True) as session:
        other = Contact(holder_id=holder_id(engine, TWO_PHONES), name="王总", created_at=NOW)
        session.add(other)
        session.flush()
        assert other.id is not None
        session.add(
            ContactPhone(contact_id=other.id, e164=first["e164"], extension=first["extension"])
        )
    with db.session_scope(engine, write=True) as session:
        fix = mark_phone_invalid(
            session, phone_id=first["id"], viewer=viewer(engine), now=NOW, reason="空号"
        )
    assert "另有 1 位联系人登记了这个号码，一并标记" in fix.message
    after = phones(engine, TWO_PHONES)
    same = [p for p in after if p["e164"] == first["e164"]]
    assert [(p["invalid"], p["invalid_reason"]) for p in same] == [(True, "空号")] * 2
    assert [p["invalid"] for p in after if p["e164"] != first["e164"]] == [False]


def test_mark_last_number_invalid_flags_repair_like_wrong_number(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    (only,) = phones(engine, MOBILE_HOLDER)
    before = holder_reminders(engine, MOBILE_HOLDER)[0]
    with db.session_scope(engine, write=True) as session:
        fix = mark_phone_invalid(session, phone_id=only["id"], viewer=viewer(engine), now=NOW)
    (r,) = holder_reminders(engine, MOBILE_HOLDER)
    assert r["needs_repair"] is True and r["version"] == before["version"] + 1
    assert fix.needs_repair == (r["id"],)
    assert "需补充联系方式" in fix.message
    # The engine leaves a reminder needing repair out of the queue.
    with db.session_scope(engine, write=False) as session:
        queue = claims.queue_entries(
            session, section_id=section_id(engine), staff_id=staff_id(engine, "甲"), now=NOW
        )
    assert MOBILE_HOLDER not in [e.holder for e in queue]


def test_mark_last_number_invalid_with_an_email_goes_to_email(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    (only,) = phones(engine, LANDLINE_HOLDER)
    with db.session_scope(engine, write=True) as session:
        fix = mark_phone_invalid(session, phone_id=only["id"], viewer=viewer(engine), now=NOW)
    (r,) = holder_reminders(engine, LANDLINE_HOLDER)
    assert (r["channel"], r["needs_repair"]) == ("email", False)
    assert "电子邮件" in fix.message


def test_mark_invalid_refusals_change_nothing(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    (only,) = phones(engine, MOBILE_HOLDER)
    with db.session_scope(engine, write=True) as session:
        mark_phone_invalid(session, phone_id=only["id"], viewer=viewer(engine), now=NOW)
    events = audit_actions(engine)
    other = phones(engine, OTHER_HOLDER)[0]
    for phone_id, who, words in (
        (only["id"], "甲", "已标记为无效"),
        (other["id"], "甲", "无权"),
        (999_999, "甲", "不存在"),
    ):
        with pytest.raises(RecordRefused, match=words), db.session_scope(engine, write=True) as s:
            mark_phone_invalid(s, phone_id=phone_id, viewer=viewer(engine, who), now=NOW)
    assert audit_actions(engine) == events
    assert phones(engine, OTHER_HOLDER)[0]["invalid"] is False


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("12345", "无法识别的电话号码"),
        ("", "请填写电话号码"),
        ("13900139000 13700137001", "一次只能添加一个号码"),
        ("a@b.cn", "邮箱"),
        ("022-2345 6789转8021", "已在联系人"),  # the same number and extension
    ],
)
def test_add_phone_refusals_change_nothing(
    engine: Engine, tmp_path: Path, text: str, words: str
) -> None:
    world(engine, tmp_path)
    contact = phones(engine, LANDLINE_HOLDER)[0]["contact_id"]
    events, stored = audit_actions(engine), count(engine, ContactPhone)
    with pytest.raises(RecordRefused, match=words), db.session_scope(engine, write=True) as s:
        add_phone(s, contact_id=contact, text=text, viewer=viewer(engine), now=NOW)
    assert (audit_actions(engine), count(engine, ContactPhone)) == (events, stored)


def test_add_phone_keeps_the_extension_and_lifts_repair(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    (r,) = holder_reminders(engine, NO_CONTACT)
    assert r["needs_repair"] is True  # imported without any contact
    rec_viewer = viewer(engine)
    with db.session_scope(engine, write=False) as session:
        record = holder_record(session, holder_id=holder_id(engine, NO_CONTACT), viewer=rec_viewer)
    contact = record.contacts[0].id
    with db.session_scope(engine, write=True) as session:
        fix = add_phone(
            session, contact_id=contact, text="022-2345 6789 分机 12", viewer=rec_viewer, now=NOW
        )
    (stored,) = phones(engine, NO_CONTACT)
    assert (stored["e164"], stored["extension"], stored["invalid"]) == (
        "+862223456789",
        "12",
        False,
    )
    (r,) = holder_reminders(engine, NO_CONTACT)
    assert r["needs_repair"] is False
    assert fix.repaired == (r["id"],)
    assert audit_actions(engine)[-1] == ("contact.phone_add", "contactphone", str(stored["id"]))
    with db.session_scope(engine, write=False) as session:
        queue = claims.queue_entries(
            session, section_id=section_id(engine), staff_id=staff_id(engine, "甲"), now=NOW
        )
    assert NO_CONTACT in [e.holder for e in queue]


def test_add_email_validated_and_audited(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    contact = phones(engine, MOBILE_HOLDER)[0]["contact_id"]
    me = viewer(engine)
    events = audit_actions(engine)
    for bad in ("", "wang@", "wang@example", "王@例子.中国", "a@b.cn c@d.cn", "a..b@example.cn"):
        with pytest.raises(RecordRefused), db.session_scope(engine, write=True) as s:
            add_email(s, contact_id=contact, text=bad, viewer=me, now=NOW)
    assert audit_actions(engine) == events and count(engine, ContactEmail) == 1
    with db.session_scope(engine, write=True) as session:
        fix = add_email(session, contact_id=contact, text=" Wang@Example.CN ", viewer=me, now=NOW)
    e = table(ContactEmail)
    with db.session_scope(engine, write=False) as session:
        address = session.execute(select(e.c.address).where(e.c.id == fix.row_id)).scalar_one()
    assert address == "wang@example.cn"
    assert audit_actions(engine)[-1] == ("contact.email_add", "contactemail", str(fix.row_id))
    with (
        pytest.raises(RecordRefused, match="已在联系人"),
        db.session_scope(engine, write=True) as s,
    ):
        add_email(s, contact_id=contact, text="wang@example.cn", viewer=me, now=NOW)


def test_add_email_to_a_contact_without_numbers_goes_to_email(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    me = viewer(engine)
    with db.session_scope(engine, write=False) as session:
        record = holder_record(session, holder_id=holder_id(engine, NO_CONTACT), viewer=me)
    with db.session_scope(engine, write=True) as session:
        add_email(
            session, contact_id=record.contacts[0].id, text="li@example.cn", viewer=me, now=NOW
        )
    (r,) = holder_reminders(engine, NO_CONTACT)
    assert (r["needs_repair"], r["channel"]) == (False, "email")


# --- certificates by hand -----------------------------------------------------------------------


def manual(engine: Engine, entry: ManualCertificate, who: str = "甲") -> ManualResult:
    with db.session_scope(engine, write=True) as session:
        return add_certificate(
            session,
            entry=entry,
            viewer=viewer(engine, who),
            today=TODAY,
            now=NOW,
            margin_workdays=10,
        )


def test_manual_certificate_is_written_like_an_imported_row(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    entry = ManualCertificate(
        holder="东丽区新开业农资店",
        certificate="兽药经营许可证",
        issued_on="2022年3月1日",
        expires_on="2027-03-15",
        contact_name="赵六",
        contact="139 0013 9001 / 022-23450000转3",
        number="津兽药2022-001",
    )
    result = manual(engine, entry)
    c, r, b = table(Certificate), table(Reminder), table(ImportBatch)
    with db.session_scope(engine, write=False) as session:
        cert = session.execute(select(c).where(c.c.id == result.certificate_id)).one()
        reminder = session.execute(select(r).where(r.c.certificate_id == cert.id)).one()
        batch = session.execute(select(b).where(b.c.id == cert.import_batch_id)).one()
    assert (cert.issued_on, cert.expires_on, cert.number) == (
        date(2022, 3, 1),
        date(2027, 3, 15),
        "津兽药2022-001",
    )
    assert cert.section_id == section_id(engine)
    assert (batch.file_name, batch.imported, batch.staff_id) == (
        "手工录入",
        1,
        staff_id(engine, "甲"),
    )
    assert reminder.expires_on == date(2027, 3, 15) and reminder.needs_repair is False
    assert reminder.state in ("due", "scheduled")
    assert reminder.apply_by < reminder.expires_on and reminder.remind_on < reminder.apply_by
    stored = phones(engine, "东丽区新开业农资店")
    assert [(p["e164"], p["extension"]) for p in stored] == [
        ("+8613900139001", ""),
        ("+862223450000", "3"),
    ]
    assert audit_actions(engine)[-1] == ("certificate.add_manual", "certificate", str(cert.id))
    assert found(engine, "新开业") == ["东丽区新开业农资店"]


def test_manual_certificate_expiry_computed_as_import_does(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    result = manual(
        engine,
        ManualCertificate(holder=TWO_PHONES, certificate="兽药经营许可证", issued_on="2023-01-05"),
    )
    assert any("推算" in w for w in result.warnings)
    with db.session_scope(engine, write=False) as session:
        cert = session.get(Certificate, result.certificate_id)
    assert cert is not None
    assert cert.expires_on == date(2028, 1, 4) and cert.expiry_computed
    assert cert.holder_id == holder_id(engine, TWO_PHONES)


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        (
            ManualCertificate(holder="", certificate="兽药经营许可证", expires_on="2028-01-01"),
            "holder",
            "缺少单位",
        ),
        (
            ManualCertificate(holder="某单位", certificate="兽药许可证", expires_on="2028-01-01"),
            "certificate",
            "是否为“兽药经营许可证”",
        ),
        (
            ManualCertificate(
                holder="某单位", certificate="兽药经营许可证", expires_on="2028-02-30"
            ),
            "expires_on",
            "",
        ),
        (
            ManualCertificate(holder="某单位", certificate="兽药经营许可证"),
            "expires_on",
            "缺少期满日期",
        ),
        (
            ManualCertificate(
                holder="某单位",
                certificate="兽药经营许可证",
                issued_on="2028-01-01",
                expires_on="2027-01-01",
            ),
            "issued_on",
            "不早于",
        ),
        (
            ManualCertificate(
                holder=TWO_PHONES, certificate="农药经营许可证", expires_on="2027-02-18"
            ),
            "expires_on",
            "已有这张证书",
        ),
        (
            ManualCertificate(
                holder=TWO_PHONES, certificate="农药经营许可证", expires_on="2026-12-01"
            ),
            "expires_on",
            "旧证",
        ),
        (  # issued tomorrow: a typo, and it would have closed TWO_PHONES' 农药 as renewed
            ManualCertificate(
                holder=TWO_PHONES,
                certificate="农药经营许可证",
                issued_on="2026-11-25",
                expires_on="2031-11-24",
            ),
            "issued_on",
            "颁发日期 2026-11-25 晚于今天（2026-11-24）",
        ),
        (  # typed, but no number or address can be read from it: not dropped silently
            ManualCertificate(
                holder="某单位",
                certificate="兽药经营许可证",
                expires_on="2028-01-01",
                contact="12345",
            ),
            "contact",
            "无法识别的电话号码",
        ),
        (
            ManualCertificate(
                holder="某单位",
                certificate="兽药经营许可证",
                expires_on="2028-01-01",
                contact="13900139001 foo@bar",
            ),
            "contact",
            "邮箱地址不完整：“foo@bar”",
        ),
        (  # longer than the database keeps (PostgreSQL refused it with an error)
            ManualCertificate(
                holder="长" * 201, certificate="兽药经营许可证", expires_on="2028-01-01"
            ),
            "holder",
            "过长（201字，最多200字）",
        ),
        (
            ManualCertificate(
                holder="某单位",
                certificate="兽药经营许可证",
                expires_on="2028-01-01",
                number="9" * 65,
            ),
            "number",
            "过长（65字，最多64字）",
        ),
        (
            ManualCertificate(
                holder="某单位",
                certificate="兽药经营许可证",
                expires_on="2028-01-01",
                contact_name="联" * 101,
            ),
            "contact_name",
            "过长（101字，最多100字）",
        ),
    ],
)
def test_manual_certificate_refusals_write_nothing(
    engine: Engine, tmp_path: Path, entry: ManualCertificate, field: str, words: str
) -> None:
    world(engine, tmp_path)
    certs, events, batches = (
        certificate_ids(engine),
        audit_actions(engine),
        count(engine, ImportBatch),
    )
    with pytest.raises(CertificateRefused) as refused:
        manual(engine, entry)
    assert field in refused.value.errors, refused.value.errors
    assert words in "".join(refused.value.errors[field])
    assert "导入后" not in str(refused.value)  # said of a row in a file, not of this form
    assert (certificate_ids(engine), audit_actions(engine)) == (certs, events)
    assert count(engine, ImportBatch) == batches


def test_manual_certificate_keeps_a_contact_with_only_a_note(
    engine: Engine, tmp_path: Path
) -> None:
    # A mobile with an extension: the number is read, the extension left out and said so.
    world(engine, tmp_path)
    result = manual(
        engine,
        ManualCertificate(
            holder="新单位",
            certificate="兽药经营许可证",
            expires_on="2028-01-01",
            contact="13900139003转5",
        ),
    )
    assert any("手机号码没有分机" in w for w in result.warnings), result.warnings


def test_supervisor_names_the_section_or_the_catalog_does(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    result = manual(
        engine,
        ManualCertificate(holder="新单位", certificate="卫生许可证", expires_on="2028-05-01"),
        who="主任",
    )
    assert any("按目录归入“社会事务科”" in w for w in result.warnings)
    with pytest.raises(CertificateRefused) as refused:
        manual(
            engine,
            ManualCertificate(
                holder="新单位2",
                certificate="卫生许可证",
                expires_on="2028-05-01",
                section="不存在科",
            ),
            who="主任",
        )
    assert "section" in refused.value.errors


def test_viewer_roles() -> None:
    from callqueue.queue.staff import StaffRow

    caller = Viewer.of(StaffRow(1, "甲", 3, "x", "caller", True))
    boss = Viewer.of(StaffRow(2, "乙", 4, "y", "supervisor", True))
    admin = Viewer.of(StaffRow(3, "丙", 4, "y", "admin", True))
    assert (caller.sees_all, boss.sees_all, admin.sees_all) == (False, True, True)


def test_a_number_added_for_an_unreachable_holder_puts_it_back_in_the_queue(
    engine: Engine, tmp_path: Path
) -> None:
    # Three unanswered calls and no email close a reminder as 无法联系 (the supervisor's list).
    # Adding a number for the holder once left it there for good: nobody would call, and the
    # licence lapsed unreminded. It is now due again, and only calls after the new number count
    # towards the limit: one unanswered call does not close it again.
    world(engine, tmp_path)
    (rid,) = [r["id"] for r in holder_reminders(engine, MOBILE_HOLDER)]
    for hour in (9, 11, 14):
        result = log(engine, rid, "no_answer", now=NOW.replace(hour=hour))
    assert "已连续3次无人接听且无邮箱" in result.message
    assert holder_reminders(engine, MOBILE_HOLDER)[0]["state"] == "unreachable"
    contact = phones(engine, MOBILE_HOLDER)[0]["contact_id"]
    later = NOW.replace(hour=16)
    with db.session_scope(engine, write=True) as session:
        fix = add_phone(
            session, contact_id=contact, text="13700137009", viewer=viewer(engine), now=later
        )
    assert fix.repaired == (rid,) and "1 条提醒已恢复待联系" in fix.message
    (r,) = holder_reminders(engine, MOBILE_HOLDER)
    assert (r["state"], r["channel"]) == ("due", "phone")
    with db.session_scope(engine, write=False) as session:
        back = session.get(Reminder, rid)
        assert back is not None and back.closed_at is None and back.attempts == 3
        queue = claims.queue_entries(
            session, section_id=section_id(engine), staff_id=staff_id(engine, "甲"), now=later
        )
    assert MOBILE_HOLDER in [e.holder for e in queue]
    reach = [a for a in audit_actions(engine) if a == ("reminder.reach", "reminder", str(rid))]
    assert reach, audit_actions(engine)[-3:]

    tomorrow = NOW + timedelta(days=1)
    first = log(engine, rid, "no_answer", now=tomorrow)
    assert holder_reminders(engine, MOBILE_HOLDER)[0]["state"] == "retry", first.message
    log(engine, rid, "no_answer", now=tomorrow.replace(hour=11))
    third = log(engine, rid, "no_answer", now=tomorrow.replace(hour=14))
    assert holder_reminders(engine, MOBILE_HOLDER)[0]["state"] == "unreachable"
    assert "已连续3次无人接听" in third.message


def test_an_address_added_sends_an_unreachable_reminder_by_email_unless_expired(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    rid, gone = holder_reminders(engine, MOBILE_HOLDER)[0]["id"], None
    for hour in (9, 11, 14):
        log(engine, rid, "no_answer", now=NOW.replace(hour=hour))
    for other in holder_reminders(engine, TWO_PHONES):
        gone = other["id"]
        for hour in (9, 11, 14):
            log(engine, gone, "no_answer", now=NOW.replace(hour=hour))
    assert gone is not None
    set_reminder(engine, gone, expires_on=TODAY - timedelta(days=1))  # expired meanwhile
    me = viewer(engine)
    with db.session_scope(engine, write=True) as session:
        mobile = phones(engine, MOBILE_HOLDER)[0]["contact_id"]
        fix = add_email(session, contact_id=mobile, text="wang@example.cn", viewer=me, now=NOW)
    assert fix.repaired == (rid,)
    (r,) = holder_reminders(engine, MOBILE_HOLDER)
    assert (r["state"], r["channel"]) == ("due", "email")  # its number went unanswered
    with db.session_scope(engine, write=True) as session:
        landline = phones(engine, TWO_PHONES)[0]["contact_id"]
        fix = add_phone(session, contact_id=landline, text="13700137009", viewer=me, now=NOW)
    assert fix.repaired == ()  # the certificate expired: nothing to remind of any more
    assert [r["state"] for r in holder_reminders(engine, TWO_PHONES)] == ["unreachable"]
