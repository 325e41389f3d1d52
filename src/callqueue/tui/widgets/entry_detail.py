"""The detail pane: the holder's contacts, the certificates this call is about, past attempts."""

from __future__ import annotations

from rich.text import Text

from callqueue.clock import local
from callqueue.queue.briefing import Briefing
from callqueue.queue.claims import QueueEntry
from callqueue.queue.outcome_terms import CHANNEL_LABELS, outcome_label
from callqueue.queue.reminders import STATE_LABELS
from callqueue.tui.widgets.queue_table import BADGES
from callqueue.tui.widgets.snug import SnugStatic


class EntryDetail(SnugStatic):
    """What staff need in view while on the phone with one holder."""

    def show(self, e: QueueEntry, b: Briefing | None, *, claimed: bool) -> None:
        """Draw the entry; the briefing's parts once it has been read."""
        t = Text()
        if claimed:
            t.append(" 认领中 ", style="bold reverse green")
            t.append(" ")
        t.append(e.holder, style="bold")
        badges = "、".join(BADGES.get(x, x) for x in e.badges)
        t.append(f"    已拨 {e.attempts} 次" + (f" · {badges}" if badges else ""), style="dim")
        t.append("\n")
        if b is None or b.holder_id != e.holder_id:
            t.append(f"证书：{'、'.join(e.certificates)}\n正在读取联系人和记录…", style="dim")
            self.update(t)
            return
        self._contacts(t, b)
        self._certificates(t, b)
        self._attempts(t, b)
        self.update(t)

    def _contacts(self, t: Text, b: Briefing) -> None:
        t.append("联系人\n", style="bold underline")
        if not b.contacts:
            t.append("  （无联系人，需补充联系方式）\n", style="red")
        for c in b.contacts:
            t.append(f"  {c.name or '（未写姓名）'}  ")
            for n, phone in enumerate(c.phones):
                t.append("  " if n else "")
                t.append(phone.display, style="strike dim" if phone.invalid else "bold")
                if phone.invalid:
                    t.append("（有误）", style="dim")
            for email in c.emails:
                t.append("  ")
                t.append(email.address, style="strike dim" if email.invalid else "")
            if not any(not p.invalid for p in c.phones):
                t.append("  无有效号码", style="red")
            t.append("\n")

    def _certificates(self, t: Text, b: Briefing) -> None:
        t.append("到期证书\n", style="bold underline")
        for c in b.certificates:
            issued = f"{c.issued_on:%Y-%m-%d}" if c.issued_on else "—"
            state = STATE_LABELS.get(c.state, c.state)
            t.append(f"  《{c.certificate}》", style="bold")
            t.append(f"{c.number} · {state}\n" if c.number else f"{state}\n")
            t.append(f"   发证 {issued} 期满 {c.expires_on:%Y-%m-%d} 截止 {c.apply_by:%Y-%m-%d}\n")

    def _attempts(self, t: Text, b: Briefing) -> None:
        t.append("提醒记录\n", style="bold underline")
        if not b.attempts:
            t.append("  （尚无）\n", style="dim")
        for a in b.attempts:
            when = local(a.at)
            channel = CHANNEL_LABELS.get(a.channel, a.channel)
            t.append(f"  {when:%m-%d %H:%M} {a.staff or '—'} {channel} {outcome_label(a.outcome)}")
            t.append(f"  {a.note}\n" if a.note else "\n", style="dim")
