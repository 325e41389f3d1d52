"""The words of 一次性告知: what the caller says, filled from the record, and its warnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from callqueue.queue.briefing import Briefing, DueCertificate

WEEKDAYS = "一二三四五六日"
UNSET = "（未设置）"


def cn_date(day: date) -> str:
    """A date as said on the phone: `2027年3月5日（星期五）`."""
    return f"{day.year}年{day.month}月{day.day}日（星期{WEEKDAYS[day.weekday()]}）"


@dataclass(frozen=True)
class Script:
    """The card: an opening, one paragraph per certificate, a closing, and warnings."""

    opening: str
    paragraphs: list[str]
    closing: str
    warnings: list[str]


def inform_script(b: Briefing, *, today: date) -> Script:
    """The words for telling the holder once and completely about every due certificate."""
    paragraphs = [_paragraph(c, b.holder) for c in b.certificates]
    warnings = [w for c in b.certificates for w in _warnings(c, today)]
    phones = list(dict.fromkeys(c.phone for c in b.certificates if c.phone))
    closing = "办理前可致电咨询：" + ("、".join(phones) if phones else UNSET) + "。"
    closing += "所需材料见右侧清单，逐项告知后勾选。" if b.materials else ""
    return Script(
        opening=f"您好，这里是{b.office_name}，提醒您办理许可证书延续（换证）。",
        paragraphs=paragraphs,
        closing=closing,
        warnings=warnings,
    )


def _paragraph(c: DueCertificate, holder: str) -> str:
    number = f"（编号 {c.number}）" if c.number else ""
    text = f"{holder}的《{c.certificate}》{number}将于{cn_date(c.expires_on)}期满，"
    if c.window_opens_on is not None:
        text += f"最早可于{cn_date(c.window_opens_on)}起申请，"
    text += f"请于{cn_date(c.apply_by)}前到{c.place or UNSET}提出延续申请。"
    return text


def _warnings(c: DueCertificate, today: date) -> list[str]:
    found = []
    if c.apply_by < today:
        late = (today - c.apply_by).days
        found.append(
            f"《{c.certificate}》申请截止日期 {c.apply_by:%Y-%m-%d} 已过 {late} 天："
            "请告知尽快到窗口办理，并说明可能影响延续。"
        )
    if c.expires_on < today:
        found.append(f"《{c.certificate}》已于 {c.expires_on:%Y-%m-%d} 期满。")
    if not c.place:
        found.append(f"《{c.certificate}》未设置办理地点，请主管在目录中填写。")
    if not c.phone:
        found.append(f"《{c.certificate}》未设置咨询电话，请主管在目录中填写。")
    return found
