"""The catalog item edit dialog (supervisors): plan, confirm, save; dismisses with a notice."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Input, Label, Static

from callqueue.catalog import METHOD_LABELS, CatalogEntry
from callqueue.models import Channel
from callqueue.tui.office_desk import OfficeDesk
from callqueue.tui.screens.catalog_flow import (
    FieldInvalid,
    PlannedChangeDialog,
    read_day,
    read_reason,
)

FIELDS = (  # field, label, placeholder
    ("lead_months", "提醒时限（月）", "到期前几个月提醒，1–24"),
    ("filing_deadline_days", "申请换证时限（日）", "到期前几日须提出申请；空为未规定"),
    ("deadline_note", "时限说明", ""),
    ("materials", "提交材料", "用“；”分隔"),
    ("place", "办理地点", "空为使用办公室设置"),
    ("phone", "服务电话", "空为使用办公室设置"),
    ("method", "提醒方式", "人工电话通知 或 电子邮件告知"),
    ("effective", "生效日期", "YYYY-MM-DD；今天以后的日期到当天自动生效"),
    ("reason", "修改原因", "必填，记入审计"),
)
METHODS = {label: channel.value for channel, label in METHOD_LABELS.items()}
SEPARATORS = ("；", ";")


EditInvalid = FieldInvalid


def _shown(entry: CatalogEntry, field: str) -> str:
    """The item's current value of `field` as the dialog shows it."""
    value = getattr(entry, field, "")
    if field == "materials":
        return "；".join(value)
    if field == "method":
        return METHOD_LABELS.get(Channel(value), str(value))
    return "" if value is None else str(value)


def _whole(text: str, what: str, *, blank_ok: bool = False) -> int | None:
    text = text.strip()
    if not text and blank_ok:
        return None
    if not text:
        raise EditInvalid(f"请填写{what}")
    if text[:1] in ("-", "－") and text[1:].isdigit():
        return -int(text[1:])  # a whole number: the service's range check says what is allowed
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
    method = typed["method"].strip()
    if method not in METHODS:
        raise EditInvalid(f"提醒方式应为“人工电话通知”或“电子邮件告知”，现在是“{method}”")
    values["method"] = METHODS[method]
    for field in ("place", "phone"):
        text = typed[field].strip()
        if text != _shown(entry, field):
            values[field] = text or None  # blank: the office-wide value applies again
    return {k: v for k, v in values.items() if getattr(entry, k) != v}


class CatalogEditDialog(PlannedChangeDialog):
    """修改目录事项：ctrl+s or enter shows the plan and asks; escape saves nothing."""

    CSS_PATH = "catalog_edit.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "取消", tooltip="不保存，返回目录", id="catalog_edit.cancel"),
        Binding("ctrl+s", "save", "保存", tooltip="显示影响并确认后保存", id="catalog_edit.save"),
    ]

    def __init__(self, entry: CatalogEntry, office: OfficeDesk) -> None:
        super().__init__()
        self.entry = entry
        self.office = office

    def compose(self) -> ComposeResult:
        """Title, one labelled field per editable value, an error line, a hint."""
        with Vertical(id="catalog-edit-box"):
            title = Text(f"修改第{self.entry.seq}项：", style="bold")
            title.append(self.entry.certificate_name)
            yield Label(title, id="catalog-edit-title")
            with Grid(id="catalog-edit-grid"):
                for field, label, placeholder in FIELDS:
                    yield Label(Text(label))
                    value = self._initial(field)
                    yield Input(value, placeholder=placeholder, id=f"edit-{field}", compact=True)
            yield Static(id="catalog-edit-error", classes="catalog-error")
            yield Static(
                Text("回车或 Ctrl+S：显示受影响的提醒并确认后保存 · Esc 取消（不保存）"),
                id="catalog-edit-hint",
            )

    def _initial(self, field: str) -> str:
        if field == "reason":
            return ""
        if field == "effective":
            return f"{self.office.today:%Y-%m-%d}"
        return _shown(self.entry, field)

    def typed(self) -> dict[str, str]:
        """What each field holds now."""
        return {field: self.query_one(f"#edit-{field}", Input).value for field, _l, _p in FIELDS}

    @on(Input.Submitted)
    def submitted(self) -> None:
        """Enter in any field saves."""
        self.action_save()

    def action_save(self) -> None:
        """Check the fields here, then preview, confirm and save through the service."""
        if self.busy:
            return
        typed = self.typed()
        try:
            changes = read_changes(self.entry, typed)
            if not changes:
                raise EditInvalid("没有修改任何内容")
            effective = read_day(typed["effective"])
            reason = read_reason(typed["reason"])
        except EditInvalid as exc:
            self.show_error(str(exc))
            if "原因" in str(exc):
                self.query_one("#edit-reason", Input).focus()
            return
        seq, office = self.entry.seq, self.office
        self.plan_and_confirm(
            lambda: office.preview_catalog_change(seq, changes, effective),
            lambda: office.apply_catalog_change(seq, changes, effective, reason),
        )
