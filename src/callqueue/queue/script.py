"""The words of 一次性告知: what the caller says, filled from the record, and its warnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from callqueue.queue.briefing import Briefing, DueCertificate

WEEKDAYS = "一二三四五六日"
UNSET = "（未设置）"
NUMBERS = "①②③④⑤⑥⑦⑧⑨⑩"


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
    several = len(b.certificates) > 1
    paragraphs = [
        (NUMBERS[n] if several and n < len(NUMBERS) else "") + _paragraph(c)
        for n, c in enumerate(b.certificates)
    ]
    phones = list(dict.fromkeys(c.phone for c in b.certificates if c.phone))
    closing = "咨询电话：" + ("、".join(phones) if phones else UNSET) + "。"
    if b.materials:
        closing += f"办理时请带齐以下 {len(b.materials)} 项材料。"
    return Script(
        opening=f"您好，这里是{b.office_name}，提醒{b.holder}办理许可证书延续（换证）：",
        paragraphs=paragraphs,
        closing=closing,
        warnings=_warnings(b.certificates, today),
    )


def _paragraph(c: DueCertificate) -> str:
    number = f"（{c.number}）" if c.number else ""
    text = f"《{c.certificate}》{number}{cn_date(c.expires_on)}期满，"
    if c.window_opens_on is not None:
        text += f"{cn_date(c.window_opens_on)}起可申请，"
    text += f"请在{cn_date(c.apply_by)}前（含当日）到{c.place or UNSET}申请延续。"
    return text


def _warnings(certificates: list[DueCertificate], today: date) -> list[str]:
    """Short warnings, each said once: passed deadlines first, then missing catalog facts."""
    found = []
    for c in certificates:
        if c.expires_on < today:
            found.append(f"《{c.certificate}》已于 {c.expires_on:%Y-%m-%d} 期满")
        elif c.apply_by < today:
            late = (today - c.apply_by).days
            found.append(
                f"《{c.certificate}》已过申请截止 {late} 天（{c.apply_by:%Y-%m-%d}），请告知尽快办理"
            )
    if any(not c.place for c in certificates):
        found.append("办理地点未设置，请主管在目录中填写")
    if any(not c.phone for c in certificates):
        found.append("咨询电话未设置，请主管在目录中填写")
    return found
