"""The catalog item edit dialog (supervisors): dismisses with the saved item, or None."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from callqueue.catalog import CatalogEntry, CatalogError
from callqueue.roles import NotAllowed
from callqueue.tui.desk import failure_text
from callqueue.tui.office_desk import OfficeDesk

FIELDS = (  # field, label, placeholder
    ("lead_months", "提醒时限（月）", "到期前几个月提醒，1–24"),
    ("filing_deadline_days", "申请换证时限（日）", "到期前几日须提出申请；空为未规定"),
    ("deadline_note", "时限说明", ""),
    ("materials", "提交材料", "用“；”分隔"),
    ("place", "办理地点", "空为使用办公室设置"),
    ("phone", "服务电话", "空为使用办公室设置"),
    ("reason", "修改原因", "必填，记入审计"),
)
SEPARATORS = ("；", ";")


class EditInvalid(ValueError):
    """A field that cannot be read; the message is for staff."""


@dataclass
class EditSaved(Message):
    """The item was saved (and audited)."""

    entry: CatalogEntry


@dataclass
class EditRefused(Message):
    """The service refused the edit or the write failed; nothing was saved."""

    message: str


def _shown(entry: CatalogEntry, field: str) -> str:
    """The item's current value of `field` as the dialog shows it."""
    value = getattr(entry, field, "")
    if field == "materials":
        return "；".join(value)
    return "" if value is None else str(value)


def _whole(text: str, what: str, *, blank_ok: bool = False) -> int | None:
    text = text.strip()
    if not text and blank_ok:
        return None
    if not text:
        raise EditInvalid(f"请填写{what}")
    if not text.isdigit():
        raise EditInvalid(f"{what}应为整数，现在是“{text}”")
    return int(text)


def read_changes(entry: CatalogEntry, typed: dict[str, str]) -> dict[str, Any]:
    """The fields whose typed value differs from the item's, as the service takes them.

    Raises:
        EditInvalid: a number that is not one.
    """
    values: dict[str, Any] = {
        "lead_months": _whole(typed["lead_months"], "提醒时限（月）"),
        "filing_deadline_days": _whole(
            typed["filing_deadline_days"], "申请换证时限（日）", blank_ok=True
        ),
        "deadline_note": typed["deadline_note"].strip(),
    }
    materials = typed["materials"]
    for sep in SEPARATORS[1:]:
        materials = materials.replace(sep, SEPARATORS[0])
    values["materials"] = [m.strip() for m in materials.split(SEPARATORS[0]) if m.strip()]
    for field in ("place", "phone"):
        text = typed[field].strip()
        if text != _shown(entry, field):
            values[field] = text or None  # blank: the office-wide value applies again
    return {k: v for k, v in values.items() if getattr(entry, k) != v}


class CatalogEditDialog(ModalScreen[CatalogEntry | None]):
    """修改目录事项：enter saves when a reason is given; escape saves nothing."""

    CSS_PATH = "catalog_edit.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "取消", tooltip="不保存，返回目录", id="catalog_edit.cancel"),
        Binding("ctrl+s", "save", "保存", tooltip="保存修改并记入审计", id="catalog_edit.save"),
    ]

    def __init__(self, entry: CatalogEntry, office: OfficeDesk) -> None:
        super().__init__()
        self.entry = entry
        self.office = office
        self.saving = False

    def compose(self) -> ComposeResult:
        """Title, one labelled field per editable value, an error line, a hint."""
        with Vertical(id="catalog-edit-box"):
            title = Text(f"修改第{self.entry.seq}项：", style="bold")
            title.append(self.entry.certificate_name)
            yield Label(title, id="catalog-edit-title")
            with Grid(id="catalog-edit-grid"):
                for field, label, placeholder in FIELDS:
                    yield Label(Text(label))
                    value = "" if field == "reason" else _shown(self.entry, field)
                    yield Input(value, placeholder=placeholder, id=f"edit-{field}", compact=True)
            yield Static(id="catalog-edit-error")
            yield Static(Text("回车或 Ctrl+S 保存 · Esc 取消（不保存）"), id="catalog-edit-hint")

    def typed(self) -> dict[str, str]:
        """What each field holds now."""
        return {field: self.query_one(f"#edit-{field}", Input).value for field, _l, _p in FIELDS}

    @on(Input.Submitted)
    def submitted(self) -> None:
        """Enter in any field saves."""
        self.action_save()

    def action_save(self) -> None:
        """Check the fields here, then let the service save (and judge) the change."""
        if self.saving:
            return
        typed = self.typed()
        try:
            changes = read_changes(self.entry, typed)
        except EditInvalid as exc:
            self.show_error(str(exc))
            return
        if not changes:
            self.show_error("没有修改任何内容")
            return
        reason = typed["reason"].strip()
        if not reason:
            self.show_error("请填写修改原因（记入审计）")
            self.query_one("#edit-reason", Input).focus()
            return
        self.saving = True
        self.show_error("正在保存…")
        self.save(changes, reason)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def save(self, changes: dict[str, Any], reason: str) -> None:
        """Save in one transaction; a refusal leaves everything as it was."""
        try:
            entry = self.office.edit_catalog(self.entry.seq, changes, reason)
        except (CatalogError, NotAllowed) as exc:
            self.post_message(EditRefused(str(exc)))
            return
        except Exception as exc:
            self.post_message(EditRefused(failure_text("保存目录失败", exc)))
            return
        self.post_message(EditSaved(entry))

    @on(EditSaved)
    def saved(self, message: EditSaved) -> None:
        """Close with the saved item."""
        self.dismiss(message.entry)

    @on(EditRefused)
    def refused(self, message: EditRefused) -> None:
        """Say why inline; what was typed stays."""
        self.saving = False
        self.show_error(message.message)

    def show_error(self, message: str) -> None:
        """One line under the fields."""
        self.query_one("#catalog-edit-error", Static).update(Text(message))

    def action_cancel(self) -> None:
        """Close: nothing is saved."""
        self.dismiss(None)
