"""The catalog: the plan's 附件1 verbatim, renewal facts, loading, edits with audit, checks, export."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func
from sqlmodel import select

from callqueue import bootstrap, catalog, catalog_edit, db
from callqueue.catalog_export import ANNEX1_HEADERS, export_catalog
from callqueue.models import AuditEvent, CatalogItem

from .conftest import SHARED

PLAN = SHARED / "seed" / "000_e32436155b362073.txt"
FACTS = SHARED / "data" / "renewal-materials.toml"


def annex1_rows() -> list[list[str]]:
    """附件1 as the plan's text lays it out: a 7-line header, then 7 lines per item."""
    if not PLAN.exists():
        pytest.skip("shared/seed is not beside this checkout")
    text = PLAN.read_text(encoding="utf-8")
    body = text.split("许可证书到期前提醒目录\n", 2)[2].split("附件2")[0]
    cells = [line.strip() for line in body.splitlines() if line.strip()]
    assert cells[:7] == [
        "序号",
        "许可事项名称",
        "许可证书名称",
        "承办科室",
        "许可证书法定有效期限",
        "提醒方式",
        "提醒时限",
    ]
    return [cells[i : i + 7] for i in range(7, len(cells), 7)]


def entries(engine: Engine) -> list[catalog.CatalogEntry]:
    with db.session_scope(engine, write=False) as session:
        return catalog.list_items(session)


def audit_count(engine: Engine) -> int:
    with db.session_scope(engine, write=False) as session:
        return session.exec(select(func.count()).select_from(AuditEvent)).one()


def test_seed_is_annex1_verbatim(engine: Engine) -> None:
    rows = annex1_rows()
    got = entries(engine)
    assert len(rows) == len(got) == 14
    for row, e in zip(rows, got, strict=True):
        assert [
            str(e.seq),
            e.permit_item,
            e.certificate_name,
            e.section,
            e.validity_label,
            e.method_label,
            e.lead_label,
        ] == row
    item5 = next(e for e in got if e.seq == 5)
    assert item5.validity_years == [2, 3, 4]


def test_seed_carries_the_researched_renewal_facts(engine: Engine) -> None:
    if not FACTS.exists():
        pytest.skip("shared/data is not beside this checkout")
    facts = {i["seq"]: i for i in tomllib.loads(FACTS.read_text(encoding="utf-8"))["item"]}
    for e in entries(engine):
        f = facts[e.seq]
        assert e.filing_deadline_days == f.get("renewal_deadline_days_before_expiry")
        assert e.deadline_kind == f["deadline_kind"]
        assert e.materials == f["materials"] and e.sources == f["sources"]
        assert (e.legal_basis, e.confidence) == (f["legal_basis"], f["confidence"])
    kinds = {e.seq: e.deadline_kind for e in entries(engine)}
    assert [s for s, k in kinds.items() if k == "window_opens"] == [4, 13]


def test_loading_the_same_file_twice_changes_nothing(engine: Engine) -> None:
    before = audit_count(engine)
    with db.session_scope(engine, write=True) as session:
        result = catalog_edit.load_catalog(session, path=bootstrap.catalog_seed_path())
    assert (result.created, result.updated, result.unchanged) == (0, 0, 14)
    assert audit_count(engine) == before


def test_loading_a_changed_file_updates_and_audits(engine: Engine, tmp_path: Path) -> None:
    text = bootstrap.catalog_seed_path().read_text(encoding="utf-8")
    changed = tmp_path / "catalog.toml"
    changed.write_text(text.replace("lead_months = 1\n", "lead_months = 2\n", 1), encoding="utf-8")
    with db.session_scope(engine, write=True) as session:
        result = catalog_edit.load_catalog(session, path=changed, actor="张敏")
    assert (result.created, result.updated) == (0, 1)
    with db.session_scope(engine, write=False) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "catalog.update")).one()
        item = session.exec(select(CatalogItem).where(CatalogItem.seq == 2)).one()
    assert (event.before, event.after, event.actor) == (
        {"lead_months": 1},
        {"lead_months": 2},
        "张敏",
    )
    assert item.lead_months == 2


def test_edit_records_before_and_after(engine: Engine) -> None:
    with db.session_scope(engine, write=True) as session:
        entry = catalog_edit.update_item(
            session,
            seq=14,
            changes={"lead_months": 7},
            reason="按兽药管理条例提前",
            actor="supervisor",
            staff_id=None,
        )
    assert entry.lead_months == 7
    with db.session_scope(engine, write=False) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.entity_id == "14")).all()
    update = [e for e in events if e.action == "catalog.update"]
    assert len(update) == 1
    assert update[0].before == {"lead_months": 3} and update[0].after == {"lead_months": 7}
    assert update[0].note == "按兽药管理条例提前"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lead_months": 0}, "提醒时限"),
        ({"nope": 1}, "不能修改"),
        ({"lead_months": "3"}, "类型不对"),
        ({"deadline_kind": "whenever"}, "无法识别"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(
    engine: Engine, changes: dict[str, object], message: str
) -> None:
    before = audit_count(engine)
    with (
        pytest.raises(catalog.CatalogError, match=message),
        db.session_scope(engine, write=True) as session,
    ):
        catalog_edit.update_item(session, seq=1, changes=changes, reason="x", actor="x")
    assert audit_count(engine) == before
    assert next(e for e in entries(engine) if e.seq == 1).lead_months == 2


def test_late_items_name_the_numbers(engine: Engine) -> None:
    late = {item.certificate_name: item for item in catalog.late_items(entries(engine))}
    assert {"兽药经营许可证", "卫生许可证"} <= set(late)
    vet = late["兽药经营许可证"]
    assert (vet.lead_months, vet.filing_deadline_days) == (3, 180)
    assert "3个月" in vet.message and "180日" in vet.message
    # 30-day items reminded 3 months ahead are fine; windows (items 4 and 13) too.
    assert not {
        "事业单位法人证书",
        "林木种子生产经营许可证",
        "非药品类易制毒化学品经营备案证明",
    } & set(late)


def test_office_settings_change_with_audit(engine: Engine) -> None:
    with db.session_scope(engine, write=True) as session:
        catalog_edit.set_office(session, key="service_phone", value=" 022-12345678 ", actor="admin")
    with db.session_scope(engine, write=False) as session:
        assert catalog.office(session)["service_phone"] == "022-12345678"
        assert catalog.list_items(session)[0].phone == "022-12345678"
        event = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "setting")
            .where(AuditEvent.entity_id == "office.phone")
        ).all()[-1]
    assert event.after == {"value": "022-12345678"}


def test_broken_catalog_file_is_refused(engine: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[item]]\nseq = 1\n", encoding="utf-8")
    with (
        pytest.raises(catalog.CatalogError, match="缺少"),
        db.session_scope(engine, write=True) as session,
    ):
        catalog_edit.load_catalog(session, path=bad)
    bad.write_text("this is not toml [", encoding="utf-8")
    with pytest.raises(catalog.CatalogError, match="无法读取"):
        catalog_edit.read_catalog_file(bad)


def test_export_is_annex1_cell_by_cell(engine: Engine, tmp_path: Path) -> None:
    rows = annex1_rows()
    out = export_catalog(
        entries(engine), tmp_path / "附件1.xlsx", office_name="东丽区政务服务办公室"
    )
    wb = load_workbook(out)
    ws = wb["附件1"]
    assert ws["A1"].value == "附件1"
    assert ws["A2"].value == "东丽区政务服务办公室许可证书到期前提醒目录"
    assert tuple(c.value for c in ws[3]) == ANNEX1_HEADERS
    for r, row in enumerate(rows, start=4):
        got = [ws.cell(row=r, column=c).value for c in range(1, 8)]
        assert [str(got[0]), *got[1:]] == row
        assert isinstance(got[0], int)
    assert ws.max_row == 3 + 14
    details = wb["换证须知"]
    assert details["B3"].value == "排污许可证" and "承诺书" in details["G3"].value


def test_export_never_writes_formulas(engine: Engine, tmp_path: Path) -> None:
    with db.session_scope(engine, write=True) as session:
        catalog_edit.update_item(
            session,
            seq=1,
            changes={"materials": ['=HYPERLINK("x")', "+1", "@a"]},
            reason="test",
            actor="t",
        )
        catalog_edit.set_office(session, key="service_phone", value="-1", actor="t")
    out = export_catalog(entries(engine), tmp_path / "c.xlsx", office_name="x")
    with zipfile.ZipFile(out) as zf:
        sheets = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/")]
    assert all("<f>" not in s for s in sheets)
    assert load_workbook(out)["换证须知"]["I3"].value == "-1"
