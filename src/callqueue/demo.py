"""A realistic demo database: staff per section and N certificates, written by the import path."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from sqlmodel import Session

from callqueue import catalog, clock, workdays
from callqueue.catalog import name_key
from callqueue.ledger.check import ValidRow
from callqueue.ledger.phones import Phone
from callqueue.ledger.write import write_rows
from callqueue.models import ImportBatch, SectionKind
from callqueue.queue import staff
from callqueue.queue.refresh import refresh

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕"
PLACES = (
    "东丽",
    "津门",
    "海河",
    "军粮城",
    "华明",
    "新立",
    "金钟",
    "无瑕",
    "丰年",
    "张贵庄",
    "万新",
    "金桥",
    "滨海",
    "渤海",
    "空港",
    "利津",
    "泰达",
    "昆仑",
    "福源",
    "祥和",
)
TRADES = (
    "商贸",
    "农资",
    "化工",
    "石化",
    "水务",
    "物业",
    "种业",
    "养殖",
    "乳业",
    "运输",
    "农业科技",
    "环保科技",
    "医疗器械",
    "饮用水",
    "实业",
    "建材",
    "兽药",
    "林木",
)
FORMS = ("有限公司", "有限责任公司", "股份有限公司", "经营部", "合作社", "门市部")
DEMO_STAFF = {
    "环保城管和建设交通科": ("刘洋", "陈静"),
    "社会事务科": ("王芳", "赵磊"),
    "涉农事务和经贸商务科": ("张敏", "李强", "孙丽"),
    "政务服务科": ("周主任",),
}


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


BRAND = "华盛鑫源泰丰隆昌瑞祥宏达鸿远恒通嘉禾润德永安金帆海泽天成富康佳信聚宝晨光博远兴旺"


# Prefixes the numbering plan gives to mobiles (others, such as 154 or 194, are not numbers).
MOBILE_PREFIXES: tuple[str, ...] = ("130", "132", "135", "136", "138", "139", "150", "151")
MOBILE_PREFIXES += ("158", "177", "186", "187", "189", "199")


def _holder(rng: random.Random) -> str:
    # ~14 million combinations: names repeat only rarely, as holders with several licences do.
    brand = rng.choice(BRAND) + rng.choice(BRAND)
    return f"天津市{rng.choice(PLACES)}{brand}{rng.choice(TRADES)}{rng.choice(FORMS)}"


def _phones(rng: random.Random) -> tuple[Phone, ...]:
    mobile = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
    phones = [Phone(e164=f"+86{mobile}", extension="", raw=mobile, kind="mobile")]
    if rng.random() < 0.3:
        land = f"2{rng.randrange(10**7):07d}"
        ext = str(rng.randrange(100, 9999)) if rng.random() < 0.3 else ""
        phones.append(Phone(e164=f"+8622{land}", extension=ext, raw=f"022-{land}", kind="landline"))
    return tuple(phones)


def build_demo(
    session: Session,
    *,
    certificates: int,
    today: date,
    margin_workdays: int,
    seed: int = 2026,
    progress: Callable[[int], None] | None = None,
    batch: int = 20_000,
) -> int:
    """Add staff and `certificates` certificates with contacts and reminders to the database.

    Holders are drawn so that some hold several certificates; expiries spread from a few
    weeks ago to five years ahead, so the queue has due, scheduled and lapsed work. Rows go
    through the ledger import's bulk writer, so the data is what an import would make.

    Returns:
        The number of certificates written (a drawn duplicate is skipped, as an import would).
    """
    rng = random.Random(seed)
    for section, names in DEMO_STAFF.items():
        for name in names:
            if staff.staff_id(session, name) is None:
                role = "supervisor" if section == "政务服务科" else "caller"
                staff.add_staff(session, name=name, section=section, role=role, actor="demo")
    items = [e for e in catalog.list_items(session) if e.section != SectionKind.SUPERVISION]
    import_batch = ImportBatch(file_name="演示数据", file_hash="demo", started_at=clock.now())
    session.add(import_batch)
    session.flush()
    assert import_batch.id is not None
    calendar = workdays.load_calendar(session)
    holders = max(1, certificates * 3 // 4)
    written = imported = 0
    while written < certificates:
        rows = []
        for n in range(written, min(certificates, written + batch)):
            item = rng.choice(items)
            h = rng.randrange(holders)
            holder = _holder(random.Random(h))
            years = max(item.validity_years)
            # Issued by today: a certificate valid for `years` expires within `years` from now.
            expires = today + timedelta(days=rng.randrange(-20, years * 365))
            issued = expires - timedelta(days=365 * years - 1)
            no_contact = rng.random() < 0.02
            rows.append(
                ValidRow(
                    sheet="演示",
                    row=n + 1,
                    section=item.section,
                    holder=holder,
                    holder_key=name_key(holder),
                    item=item,
                    number=f"津东{item.seq:02d}-{n:07d}",
                    issued_on=issued,
                    expires_on=expires,
                    expiry_computed=False,
                    validity_years=years if len(item.validity_years) == 1 else None,
                    contact_name=_person(random.Random(h * 7 + 1)),
                    phones=() if no_contact else _phones(random.Random(h * 7 + 2)),
                    emails=(f"office{h}@example.cn",) if rng.random() < 0.25 else (),
                    reminded_on=None,
                    reminded_by="",
                    reminded_channel=None,
                    needs_repair=no_contact,
                )
            )
        result = write_rows(
            session,
            rows=rows,
            batch_id=import_batch.id,
            calendar=calendar,
            today=today,
            margin_workdays=margin_workdays,
            actor="demo",
        )
        written += len(rows)
        import_batch.imported += result.imported
        imported += result.imported
        import_batch.duplicates += result.duplicates
        if progress is not None:
            progress(written)
    import_batch.rows, import_batch.finished_at = written, clock.now()
    session.add(import_batch)
    refresh(session, today=today, now=clock.now())
    return imported
