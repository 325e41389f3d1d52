"""Dialogs of the record screen: mark a number invalid, add a number or email, add a certificate.

Each dialog saves through the records desk in a thread; a refusal is shown inline and the
dialog keeps what was typed; it closes only once saved. Escape closes it with nothing saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from callqueue.records.contacts import ContactFix
from callqueue.records.manual import CertificateRefused, ManualCertificate
from callqueue.records.view import PhoneView
from callqueue.tui.record_messages import FixRefused, FixSaved
from callqueue.tui.records_desk import RecordsDesk, refusal_text

T = TypeVar("T")

CERT_FIELDS = (  # field, label, placeholder
    ("section", "科室", "可不填：按证书目录确定"),
    ("holder", "单位（个人）名称", "必填"),
    ("certificate", "许可证书名称", "必填，如：农药经营许可证"),
    ("number", "证书编号", "可不填"),
    ("issued_on", "颁发日期", "如 2024-03-01 或 2024年3月1日"),
    ("expires_on", "期满日期", "必填（或由颁发日期推算）"),
    ("contact_name", "联系人", "可不填"),
    ("contact", "联系方式", "电话（可带分机）或邮箱，可填多个"),
)


class RecordDialog(ModalScreen[T | None], Generic[T]):
    """The frame the record dialogs share: title, fields, an error line, a hint; saves in a thread."""

    CSS_PATH = "record_dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "取消", tooltip="不保存，返回记录", id="record_dialog.cancel"),
    ]
    HEADING: ClassVar[str] = ""
    HINT: ClassVar[str] = "回车保存 · Esc 取消（不保存）"

    def __init__(self, records: RecordsDesk) -> None:
        super().__init__()
        self.records = records
        self.saving = False
        self.result: T | None = None

    def compose(self) -> ComposeResult:
        """Title, the dialog's own fields, the error line, the hint."""
        with Vertical(classes="record-dialog-box"):
            yield Label(Text(self.heading()), classes="record-dialog-title")
            yield from self.fields()
            yield Static(id="record-dialog-error")
            yield Static(Text(self.HINT), classes="record-dialog-hint")

    def heading(self) -> str:
        """The title line."""
        return self.HEADING

    def fields(self) -> list[Widget]:
        """The widgets between the title and the error line."""
        return []

    def show_error(self, message: str) -> None:
        """Say what is wrong; the dialog stays open with what was typed."""
        self.query_one("#record-dialog-error", Static).update(Text(message))

    def save(self, call: Callable[[], tuple[str, T]]) -> None:
        """Run `call` (one unit of work) in a thread, unless a save is under way."""
        if self.saving:
            return
        self.saving = True
        self.show_error("正在保存…")
        self.run_save(call)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_save(self, call: Callable[[], tuple[str, T]]) -> None:
        """The save, in a thread; the answer comes back as a message."""
        try:
            message, self.result = call()
        except CertificateRefused as exc:
            self.post_message(FixRefused(str(exc), exc.errors))
            return
        except Exception as exc:  # shown inline; the dialog stays usable
            self.post_message(FixRefused(refusal_text("保存失败", exc), {}))
            return
        self.post_message(FixSaved(message))

    @on(FixSaved)
    def saved(self, message: FixSaved) -> None:
        """Close: the change is in the database."""
        self.saving = False
        self.dismiss(self.closing_value(message.message))

    @on(FixRefused)
    def refused(self, message: FixRefused) -> None:
        """Show why; keep everything typed."""
        self.saving = False
        self.show_refusal(message)

    def show_refusal(self, message: FixRefused) -> None:
        """Show the service's refusal."""
        self.show_error(message.message)

    def closing_value(self, message: str) -> T | None:
        """What the dialog returns once saved."""
        return self.result

    def action_cancel(self) -> None:
        """Close without saving anything."""
        if not self.saving:
            self.dismiss(None)


class InvalidDialog(RecordDialog[str]):
    """标记号码无效：confirm, with an optional reason."""

    HEADING = "标记号码无效"
    HINT = "回车确认 · Esc 取消（不保存）"

    def __init__(self, records: RecordsDesk, phone: PhoneView) -> None:
        super().__init__(records)
        self.phone = phone

    def heading(self) -> str:
        """Which number."""
        return f"将号码 {self.phone.display} 标记为无效"

    def fields(self) -> list[Widget]:
        """The reason (optional)."""
        return [
            Label("原因（可不填），例如：空号、非本单位"),
            Input(id="invalid-reason", placeholder="可不填"),
        ]

    @on(Input.Submitted, "#invalid-reason")
    def submit(self, event: Input.Submitted) -> None:
        """Mark it, with the reason as typed."""
        phone_id, reason = self.phone.id, event.value

        def call() -> tuple[str, str]:
            fix = self.records.mark_invalid(phone_id, reason)
            return fix.message, fix.message

        self.save(call)


class DoNotCallDialog(RecordDialog[str]):
    """勿电话联系: mark the holder (a reason is required) or lift the mark."""

    HINT = "回车确认 · Esc 取消（不保存）"

    def __init__(self, records: RecordsDesk, holder_id: int, name: str, marked: bool) -> None:
        super().__init__(records)
        self.holder_id, self.holder_name, self.marked = holder_id, name, marked

    def heading(self) -> str:
        """Which holder, and what happens."""
        if self.marked:
            return f"取消勿电话联系：“{self.holder_name}”待联系的证书回到电话队列"
        return f"标记勿电话联系：“{self.holder_name}”不再进入电话队列，邮件提醒照常"

    def fields(self) -> list[Widget]:
        """The reason (required to mark)."""
        label = "备注（可不填）" if self.marked else "原因（必填），例如：单位要求只用邮件联系"
        return [Label(label), Input(id="dnc-reason", placeholder="原因")]

    @on(Input.Submitted, "#dnc-reason")
    def submit(self, event: Input.Submitted) -> None:
        """Save the mark, with the reason as typed."""
        holder_id, value, reason = self.holder_id, not self.marked, event.value

        def call() -> tuple[str, str]:
            fix = self.records.set_do_not_call(holder_id, value, reason)
            return fix.message, fix.message

        self.save(call)


class _TextDialog(RecordDialog[str]):
    """One line of text added to a contact."""

    LABEL: ClassVar[str] = ""
    PLACEHOLDER: ClassVar[str] = ""

    def __init__(self, records: RecordsDesk, contact: tuple[int, str]) -> None:
        super().__init__(records)
        self.contact_id, self.contact_name = contact

    def heading(self) -> str:
        """For which contact."""
        return f"{self.HEADING} — 联系人：{self.contact_name or '（未具名）'}"

    def fields(self) -> list[Widget]:
        """The one input."""
        return [Label(self.LABEL), Input(id="contact-text", placeholder=self.PLACEHOLDER)]

    @on(Input.Submitted, "#contact-text")
    def submit(self, event: Input.Submitted) -> None:
        """Save what was typed."""
        text = event.value

        def call() -> tuple[str, str]:
            fix = self.add(text)
            return fix.message, fix.message

        self.save(call)

    def add(self, text: str) -> ContactFix:
        """The desk call that saves `text`."""
        raise NotImplementedError


class PhoneDialog(_TextDialog):
    """添加电话：read as an imported contact cell is read; an extension is kept."""

    HEADING = "添加电话"
    LABEL = "电话号码（手机、固话均可，可带分机，如 022-23456789转8021）"
    PLACEHOLDER = "如 138 0013 8000 或 23456789"

    def add(self, text: str) -> ContactFix:
        """Add the number."""
        return self.records.add_phone(self.contact_id, text)


class EmailDialog(_TextDialog):
    """添加邮箱."""

    HEADING = "添加邮箱"
    LABEL = "邮箱地址"
    PLACEHOLDER = "如 name@example.com"

    def add(self, text: str) -> ContactFix:
        """Add the address."""
        return self.records.add_email(self.contact_id, text)


class CertificateDialog(RecordDialog[int]):
    """新增证书：the fields of one ledger row, checked as an import checks it."""

    HEADING = "手工录入证书（按导入台账的规则检查）"
    HINT = "Tab 切换 · 回车保存 · Esc 取消（不保存）"

    def __init__(self, records: RecordsDesk, *, holder: str = "") -> None:
        super().__init__(records)
        self.holder = holder

    def fields(self) -> list[Widget]:
        """A label and an input per field; callers' section is fixed."""
        grid: list[Widget] = []
        own = not self.records.viewer.sees_all
        for key, label, placeholder in CERT_FIELDS:
            grid.append(Label(label, classes="cert-label"))
            if key == "section" and own:
                grid.append(Static(Text(self.records.desk.staff.section), id="cert-section"))
                continue
            value = self.holder if key == "holder" else ""
            field = Input(value=value, placeholder=placeholder, id=f"cert-{key}", compact=True)
            grid.append(field)
        return [Grid(*grid, id="cert-grid")]

    def on_mount(self) -> None:
        """Start where typing is needed: the certificate when the holder is known."""
        start = "#cert-certificate" if self.holder else "#cert-holder"
        self.query_one(start, Input).focus()

    @on(Input.Submitted)
    def submit(self) -> None:
        """Save the row as typed."""
        values = {
            key: self.query_one(f"#cert-{key}", Input).value
            for key, _, _ in CERT_FIELDS
            if self.query(f"#cert-{key}").filter("Input")
        }
        for widget in self.query(Input):
            widget.remove_class("-invalid")
        entry = ManualCertificate(**values)

        def call() -> tuple[str, int]:
            result = self.records.add_certificate(entry)
            return result.message, result.holder_id

        self.save(call)

    def show_refusal(self, message: FixRefused) -> None:
        """Each field's messages, and the field marked."""
        if not message.errors:
            self.show_error(message.message)
            return
        labels = {key: label for key, label, _ in CERT_FIELDS}
        lines = []
        for key, messages in message.errors.items():
            lines += [f"{labels.get(key, key)}：{m}" for m in messages]
            for widget in self.query(f"#cert-{key}").filter("Input"):
                widget.add_class("-invalid")
        self.show_error("\n".join(lines))

    def closing_value(self, message: str) -> int | None:
        """Say what was saved (with the import's warnings); close with the holder's id."""
        self.app.notify(message, title="已保存", timeout=8)
        return self.result
