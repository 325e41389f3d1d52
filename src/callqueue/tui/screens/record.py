"""The record screen: one holder's contacts, certificates, reminders and attempts; fix contacts."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from callqueue.records.view import CertificateView, HolderRecord
from callqueue.tui.messages import RecordsChanged
from callqueue.tui.record_messages import RecordFailed, RecordRead
from callqueue.tui.records_desk import RecordsDesk, refusal_text
from callqueue.tui.screens.help import key_name
from callqueue.tui.screens.record_dialogs import (
    CertificateDialog,
    DoNotCallDialog,
    EmailDialog,
    InvalidDialog,
    PhoneDialog,
)
from callqueue.tui.widgets.footer import CalmFooter

HINT_KEYS = ("x", "p", "m", "n", "c", "escape")
"""The keys the status line names, in its order (the footer shows them all)."""

COLUMNS = (
    ("contact", "联系人", 14),
    ("kind", "类型", 6),
    ("value", "号码 / 邮箱", 34),
    ("state", "状态", 40),
)


def keys_hint(bindings: list[BindingType]) -> str:
    """The status line's keys, named as the footer names them (they said `勿电话` there and
    `勿电话联系` here when written out twice)."""
    named = {b.key: b.description for b in bindings if isinstance(b, Binding)}
    return " · ".join(f"{key_name(key)} {named[key]}" for key in HINT_KEYS)


class RecordScreen(Screen[None]):
    """单位记录：contacts (every number and email), certificates, reminders, earlier attempts."""

    CSS_PATH = "record.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "返回", tooltip="回到查找结果", id="record.back"),
        Binding("x", "mark_invalid", "标记无效", tooltip="所选号码标记为无效", id="record.invalid"),
        Binding("p", "add_phone", "添加电话", tooltip="为所选联系人添加号码", id="record.phone"),
        Binding("m", "add_email", "添加邮箱", tooltip="为所选联系人添加邮箱", id="record.email"),
        Binding(
            "c", "add_certificate", "新增证书", tooltip="为此单位手工录入证书", id="record.cert"
        ),
        Binding("n", "do_not_call", "勿电话联系", tooltip="标记或取消勿电话联系", id="record.dnc"),
        Binding("r", "reload", "刷新", tooltip="重新读取记录", id="record.reload"),
    ]

    record: reactive[HolderRecord | None] = reactive(None, bindings=True)
    """The record on screen, once read."""
    row: reactive[str | None] = reactive(None, bindings=True)
    """The contacts table row under the cursor: `phone:ID`, `email:ID` or `contact:ID`."""

    def __init__(self, records: RecordsDesk, holder_id: int) -> None:
        super().__init__()
        self.records = records
        self.holder_id = holder_id

    def compose(self) -> ComposeResult:
        """Header, the holder, contacts, certificates, the status line."""
        yield Header()
        yield Static(id="record-title")
        yield DataTable(id="record-contacts", cursor_type="row")
        with VerticalScroll(id="record-certs-box"):
            yield Static(id="record-certs")
        yield Static(id="record-status")
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Columns, then read the record."""
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self._status("正在读取…")
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Fixes need the record; marking invalid needs a valid number under the cursor."""
        needs_record = ("add_phone", "add_email", "add_certificate", "mark_invalid", "do_not_call")
        if action in needs_record and self.record is None:
            return None
        if action == "mark_invalid":
            phone = self._phone_id()
            found = self.record.phone(phone) if self.record and phone is not None else None
            return found is not None and not found.invalid
        if action in ("add_phone", "add_email"):
            return self.record is not None and bool(self.record.contacts)
        return True

    # --- actions -------------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the results."""
        self.dismiss(None)

    def action_reload(self) -> None:
        """Read the record again."""
        self.load()

    def action_mark_invalid(self) -> None:
        """Ask, then mark the number under the cursor invalid."""
        phone_id = self._phone_id()
        phone = self.record.phone(phone_id) if self.record and phone_id is not None else None
        if phone is not None and not phone.invalid:
            self.app.push_screen(InvalidDialog(self.records, phone), self._saved)

    def action_add_phone(self) -> None:
        """Add a number to the contact under the cursor (or the first contact)."""
        contact = self._contact()
        if contact is not None:
            self.app.push_screen(PhoneDialog(self.records, contact), self._saved)

    def action_add_email(self) -> None:
        """Add an email address to the contact under the cursor (or the first contact)."""
        contact = self._contact()
        if contact is not None:
            self.app.push_screen(EmailDialog(self.records, contact), self._saved)

    def action_add_certificate(self) -> None:
        """Add a certificate by hand for this holder."""
        if self.record is not None:
            dialog = CertificateDialog(self.records, holder=self.record.name)
            self.app.push_screen(dialog, self._certificate_added)

    def action_do_not_call(self) -> None:
        """Ask, then mark the holder 勿电话联系 or lift the mark."""
        if self.record is not None:
            dialog = DoNotCallDialog(
                self.records, self.holder_id, self.record.name, self.record.do_not_call
            )
            self.app.push_screen(dialog, self._saved)

    def _saved(self, message: str | None) -> None:
        if message:
            self.notify(message, title="已保存")
            self.app.post_message(RecordsChanged())
            self.load(note=message)

    def _certificate_added(self, holder_id: int | None) -> None:
        if holder_id is not None:
            self.app.post_message(RecordsChanged())
            self.load(note="已添加证书")

    def _phone_id(self) -> int | None:
        kind, _, ident = (self.row or "").partition(":")
        return int(ident) if kind == "phone" else None

    def _contact(self) -> tuple[int, str] | None:
        """(id, name) of the contact of the row under the cursor, else the first contact."""
        if self.record is None or not self.record.contacts:
            return None
        kind, _, ident = (self.row or "").partition(":")
        for c in self.record.contacts:
            rows = {f"contact:{c.id}"} | {f"phone:{p.id}" for p in c.phones}
            if f"{kind}:{ident}" in rows | {f"email:{e.id}" for e in c.emails}:
                return c.id, c.name
        first = self.record.contacts[0]
        return first.id, first.name

    # --- workers -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="record")
    def load(self, note: str = "") -> None:
        """Read the record in a thread and post it."""
        try:
            record = self.records.record(self.holder_id)
        except Exception as exc:
            self.post_message(RecordFailed(refusal_text("读取记录失败", exc)))
            return
        self.post_message(RecordRead(record, note))

    # --- handlers ------------------------------------------------------------------------

    @on(RecordRead)
    def show(self, message: RecordRead) -> None:
        """Draw the record; keep the cursor where it was."""
        record = self.record = message.record
        title = Text(record.name, style="bold")
        if record.do_not_call:
            title.append("  （勿电话联系）", style="bold red")
        self.query_one("#record-title", Static).update(title)
        self._fill_contacts(record)
        self.query_one("#record-certs", Static).update(_certificates(record.certificates))
        keys = keys_hint(self.BINDINGS)
        self._status(f"{message.note} · {keys}" if message.note else keys)
        self.query_one(DataTable).focus()

    @on(RecordFailed)
    def show_failure(self, message: RecordFailed) -> None:
        """Say what went wrong; what is on screen stays."""
        self._status(message.message)
        self.notify(message.message, severity="error")

    @on(DataTable.RowHighlighted, "#record-contacts")
    def follow_cursor(self, event: DataTable.RowHighlighted) -> None:
        """Remember which row is under the cursor (the keys act on it)."""
        self.row = str(event.row_key.value)

    def _fill_contacts(self, record: HolderRecord) -> None:
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for c in record.contacts:
            name = Text(c.name or "（未具名）", overflow="ellipsis", no_wrap=True)
            for p in c.phones:
                style = "strike dim" if p.invalid else ""
                state = (
                    f"无效：{p.invalid_reason}"
                    if p.invalid
                    else ("手机" if p.kind == "mobile" else "固话")
                )
                table.add_row(
                    name,
                    Text("电话"),
                    Text(p.display, style=style),
                    Text(state, overflow="ellipsis"),
                    key=f"phone:{p.id}",
                )
            for e in c.emails:
                style = "strike dim" if e.invalid else ""
                table.add_row(
                    name,
                    Text("邮箱"),
                    Text(e.address, style=style),
                    Text("无效" if e.invalid else "有效"),
                    key=f"email:{e.id}",
                )
            if not c.phones and not c.emails:
                table.add_row(
                    name,
                    Text("—"),
                    Text("没有联系方式", style="bold red"),
                    Text("按 p 添加电话或 m 添加邮箱"),
                    key=f"contact:{c.id}",
                )
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        else:
            self.row = None

    def _status(self, text: str) -> None:
        self.query_one("#record-status", Static).update(Text(text))


def _certificates(certs: tuple[CertificateView, ...]) -> Text:
    """Each certificate with its reminder and earlier attempts."""
    out = Text()
    if not certs:
        return Text("（没有可查看的证书）")
    for cert in certs:
        out.append(f"{cert.item}", style="bold")
        out.append(f"  {cert.number or '无编号'}  {cert.section}  {cert.status_label}\n")
        issued = f"{cert.issued_on:%Y-%m-%d}" if cert.issued_on else "—"
        out.append(f"  颁发 {issued}  期满 {cert.expires_on:%Y-%m-%d}\n")
        r = cert.reminder
        if r is None:
            out.append("  没有提醒记录\n")
            continue
        out.append(
            f"  提醒：{r.state_label}（{r.channel_label}） 提醒日期 {r.remind_on:%Y-%m-%d} "
            f"申请换证截止 {r.apply_by:%Y-%m-%d} 已联系 {r.attempts} 次"
        )
        if r.needs_repair:
            out.append("  需补充联系方式", style="bold red")
        out.append("\n")
        for a in r.history:
            note = f"：{a.note}" if a.note else ""
            out.append(
                f"    {a.at:%Y-%m-%d %H:%M} {a.staff} {a.outcome_label}{note}\n", style="dim"
            )
    return out
