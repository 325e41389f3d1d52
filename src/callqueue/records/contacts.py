"""Fix a holder's contacts by hand: mark a number invalid, add a number or an email, audited.

The reminders of the contact's certificates follow the engine's rules: when no valid number is
left they go to email (if there is one) or are flagged `needs_repair`, as the wrong_number
outcome does; a new usable number or email lifts the flag, as a re-import does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from callqueue import audit
from callqueue.db import table
from callqueue.ledger.phones import display_phone, mask_phone, read_contact
from callqueue.models import (
    Channel,
    Contact,
    ContactEmail,
    ContactPhone,
    Holder,
)
from callqueue.queue import reach
from callqueue.records import RecordRefused, Viewer
from callqueue.records.view import ensure_visible

# The address as a whole: one local part, one domain with a dot and a 2+ letter ending.
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}", re.ASCII
)


@dataclass(frozen=True)
class ContactFix:
    """What a fix did, in words for staff, and the reminders it flagged or released."""

    message: str
    row_id: int
    needs_repair: tuple[int, ...] = ()
    repaired: tuple[int, ...] = ()
    to_email: tuple[int, ...] = ()


def mark_phone_invalid(
    session: Session, *, phone_id: int, viewer: Viewer, now: datetime, reason: str = ""
) -> ContactFix:
    """Mark one number invalid; with none valid left, its reminders go to email or repair.

    Raises:
        RecordRefused: unknown number, not the viewer's to change, or already invalid.
    """
    phone = session.get(ContactPhone, phone_id)
    if phone is None:
        raise RecordRefused(f"号码 {phone_id} 不存在")
    holder_id = _contact(session, phone.contact_id, viewer).holder_id
    shown = display_phone(phone.e164, phone.extension)
    if phone.invalid:
        raise RecordRefused(f"号码 {shown} 已标记为无效")
    why = reason.strip() or f"人工标记无效（{now:%Y-%m-%d}）"
    # The same number under another contact person of the holder is just as invalid.
    same = reach.same_number(session, holder_id, phone_id)
    reach.mark_invalid(session, same, why)
    session.refresh(phone)
    flagged: list[int] = []
    emailed: list[int] = []
    if not reach.has_valid_phone(session, holder_id):
        moved = reach.divert(
            session,
            holder_id=holder_id,
            now=now,
            why="单位已没有有效号码（人工标记无效）",
            staff_id=viewer.staff_id,
            actor=viewer.name,
        )
        flagged, emailed = moved.needs_repair, moved.to_email
    audit.record(
        session,
        action="contact.phone_invalid",
        entity="contactphone",
        entity_id=phone_id,
        before={"invalid": False},
        after={
            "invalid": True,
            "reason": why,
            "phone": mask_phone(phone.e164),
            "same_number": [i for i in same if i != phone_id],
            "needs_repair": flagged,
            "to_email": emailed,
        },
        staff_id=viewer.staff_id,
        actor=viewer.name,
        at=now,
    )
    message = f"号码 {shown} 已标记为无效"
    if len(same) > 1:
        message += f"（该单位另有 {len(same) - 1} 位联系人登记了这个号码，一并标记）"
    if flagged:
        message += f"；没有其他联系方式，{len(flagged)} 条提醒需补充联系方式"
    elif emailed:
        message += f"；没有其他有效号码，{len(emailed)} 条提醒改为电子邮件告知"
    return ContactFix(message, phone_id, needs_repair=tuple(flagged), to_email=tuple(emailed))


def add_phone(
    session: Session, *, contact_id: int, text: str, viewer: Viewer, now: datetime
) -> ContactFix:
    """Add one number, read as an imported contact cell is read (extension kept).

    Raises:
        RecordRefused: unreadable, several numbers, a duplicate, or not the viewer's contact.
    """
    contact = _contact(session, contact_id, viewer)
    info = read_contact(text.strip())
    if not text.strip():
        raise RecordRefused("请填写电话号码")
    if info.emails:
        raise RecordRefused("这是邮箱地址，请用“添加邮箱”")
    if not info.phones:
        raise RecordRefused(
            info.problems[0] if info.problems else f"无法识别的电话号码：“{text.strip()}”"
        )
    if len(info.phones) > 1:
        raise RecordRefused("一次只能添加一个号码")
    new = info.phones[0]
    p = table(ContactPhone)
    shown = display_phone(new.e164, new.extension)
    same = session.execute(
        select(p.c.invalid).where(
            p.c.contact_id == contact_id, p.c.e164 == new.e164, p.c.extension == new.extension
        )
    ).first()
    if same is not None:
        state = "（已标记无效）" if same.invalid else ""
        raise RecordRefused(f"号码 {shown} 已在联系人“{contact.name or '未具名'}”名下{state}")
    position = session.execute(
        select(func.coalesce(func.max(p.c.position), 0)).where(p.c.contact_id == contact_id)
    ).scalar_one()
    row = ContactPhone(
        contact_id=contact_id,
        e164=new.e164,
        extension=new.extension,
        raw=text.strip()[:100],
        kind=new.kind,
        position=int(position) + 1,
    )
    session.add(row)
    session.flush()
    repaired = reach.repaired(
        session,
        holder_id=contact.holder_id,
        now=now,
        why="添加了电话",
        staff_id=viewer.staff_id,
        actor=viewer.name,
        reopen=Channel.PHONE,
    )
    assert row.id is not None
    audit.record(
        session,
        action="contact.phone_add",
        entity="contactphone",
        entity_id=row.id,
        after={
            "contact_id": contact_id,
            "phone": mask_phone(new.e164),
            "extension": new.extension,
            "repaired": repaired,
        },
        staff_id=viewer.staff_id,
        actor=viewer.name,
        at=now,
    )
    message = f"已添加号码 {shown}"
    if info.problems:
        message += "（" + "；".join(info.problems) + "）"
    if repaired:
        message += f"；{len(repaired)} 条提醒已恢复待联系"
    return ContactFix(message, row.id, repaired=tuple(repaired))


def valid_email(address: str) -> bool:
    """Whether `address` is one whole email address (`name@example.com`), as staff may add."""
    return bool(_EMAIL.fullmatch(address)) and ".." not in address and len(address) <= 254


def add_email(
    session: Session, *, contact_id: int, text: str, viewer: Viewer, now: datetime
) -> ContactFix:
    """Add one email address (lower-cased); reminders without a valid number go to email.

    Raises:
        RecordRefused: not one whole address, a duplicate, or not the viewer's contact.
    """
    contact = _contact(session, contact_id, viewer)
    address = text.strip().lower()
    if not address:
        raise RecordRefused("请填写邮箱地址")
    if not valid_email(address):
        raise RecordRefused(f"邮箱地址无效：“{text.strip()}”，应如 name@example.com")
    e = table(ContactEmail)
    same = session.execute(
        select(e.c.invalid).where(e.c.contact_id == contact_id, e.c.address == address)
    ).first()
    if same is not None:
        state = "（已标记无效）" if same.invalid else ""
        raise RecordRefused(f"邮箱 {address} 已在联系人“{contact.name or '未具名'}”名下{state}")
    position = session.execute(
        select(func.coalesce(func.max(e.c.position), 0)).where(e.c.contact_id == contact_id)
    ).scalar_one()
    row = ContactEmail(contact_id=contact_id, address=address, position=int(position) + 1)
    session.add(row)
    session.flush()
    # Nothing to phone (no number, or do-not-call): the reminders go to email, as a wrong
    # number would have sent them.
    repaired = reach.repaired(
        session,
        holder_id=contact.holder_id,
        now=now,
        why="添加了邮箱",
        staff_id=viewer.staff_id,
        actor=viewer.name,
        reopen=Channel.EMAIL,
    )
    assert row.id is not None
    audit.record(
        session,
        action="contact.email_add",
        entity="contactemail",
        entity_id=row.id,
        after={"contact_id": contact_id, "email": address, "repaired": repaired},
        staff_id=viewer.staff_id,
        actor=viewer.name,
        at=now,
    )
    message = f"已添加邮箱 {address}"
    if repaired:
        message += f"；{len(repaired)} 条提醒已恢复"
    return ContactFix(message, row.id, repaired=tuple(repaired))


def _contact(session: Session, contact_id: int, viewer: Viewer) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise RecordRefused(f"联系人 {contact_id} 不存在")
    ensure_visible(session, holder_id=contact.holder_id, viewer=viewer)
    return contact


def set_do_not_call(
    session: Session,
    *,
    holder_id: int,
    value: bool,
    viewer: Viewer,
    now: datetime,
    reason: str = "",
) -> ContactFix:
    """Mark a holder 勿电话联系 (it asked not to be phoned) or lift the mark, audited.

    A marked holder leaves every phone queue at once (the queue and the claims test the mark);
    email reminders still go. A desk already on the phone with it may still record that call.

    Raises:
        RecordRefused: unknown holder, not the viewer's, already so, or no reason to mark it.
    """
    name = ensure_visible(session, holder_id=holder_id, viewer=viewer)
    holder = session.get(Holder, holder_id)
    assert holder is not None
    why = reason.strip()
    if holder.do_not_call == value:
        state = "已标记为勿电话联系" if value else "未标记勿电话联系"
        raise RecordRefused(f"“{name}”{state}")
    if value and not why:
        raise RecordRefused("请填写原因（如：单位要求不再来电）")
    holder.do_not_call = value
    session.add(holder)
    session.flush()
    if value:  # its phone reminders go to email, or wait for an address (repair)
        moved = reach.divert(
            session,
            holder_id=holder_id,
            now=now,
            why=f"勿电话联系：{why}",
            staff_id=viewer.staff_id,
            actor=viewer.name,
        )
        emailed, flagged = moved.to_email, moved.needs_repair
        back: list[int] = []
    else:  # those waiting for an address come back to the phone
        emailed, flagged = [], []
        back = reach.repaired(
            session,
            holder_id=holder_id,
            now=now,
            why="取消勿电话联系",
            staff_id=viewer.staff_id,
            actor=viewer.name,
        )
    audit.record(
        session,
        action="holder.do_not_call" if value else "holder.may_call",
        entity="holder",
        entity_id=holder_id,
        before={"do_not_call": not value},
        after={"do_not_call": value, "to_email": emailed, "needs_repair": flagged, "back": back},
        staff_id=viewer.staff_id,
        actor=viewer.name,
        note=why,
        at=now,
    )
    if value:
        message = f"“{name}”已标记为勿电话联系，不再进入电话队列"
        if emailed:
            message += f"；{len(emailed)} 条提醒改为电子邮件告知"
        if flagged:
            message += f"；没有邮箱，{len(flagged)} 条提醒需补充邮箱"
    else:
        message = f"“{name}”已取消勿电话联系，可以电话联系"
        if back:
            message += f"；{len(back)} 条提醒回到电话队列"
    return ContactFix(
        message,
        holder_id,
        needs_repair=tuple(flagged),
        to_email=tuple(emailed),
        repaired=tuple(back),
    )
