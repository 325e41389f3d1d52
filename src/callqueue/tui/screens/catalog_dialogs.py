"""Retire a catalog item or add one (supervisors); both dismiss with a notice, or None."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Input, Label, Static

from callqueue.catalog import CatalogEntry, CatalogError
from callqueue.catalog_change import parse_value
from callqueue.roles import NotAllowed
from callqueue.tui.desk import failure_text
from callqueue.tui.office_desk import OfficeDesk
from callqueue.tui.screens.catalog_flow import (
    ChangeRefused,
    ChangeSaved,
    FieldInvalid,
    PlannedChangeDialog,
    read_day,
    read_reason,
)

_CANCEL = Binding(
    "escape", "cancel", "取消", tooltip="不保存，返回目录", id="catalog_dialog.cancel"
)


class RetireDialog(PlannedChangeDialog):
    """停用目录事项：the day and the reason, then the count of reminders it closes, then yes."""

    CSS_PATH = "catalog_edit.tcss"
    BINDINGS = [
        _CANCEL,
        Binding("ctrl+s", "save", "停用", tooltip="显示影响并确认后停用", id="retire.save"),
    ]

    def __init__(self, entry: CatalogEntry, office: OfficeDesk) -> None:
        super().__init__()
        self.entry = entry
        self.office = office

    def compose(self) -> ComposeResult:
        """Title, the day, the reason, an error line, a hint."""
        with Vertical(id="catalog-edit-box"):
            title = Text(f"停用第{self.entry.seq}项：", style="bold")
            title.append(self.entry.certificate_name)
            yield Label(title, id="catalog-edit-title")
            with Grid(id="catalog-edit-grid"):
                yield Label(Text("停用日期"))
                yield Input(f"{self.office.today:%Y-%m-%d}", id="retire-on", compact=True)
                yield Label(Text("停用原因"))
                yield Input(placeholder="必填，记入审计", id="retire-reason", compact=True)
            yield Static(id="retire-error", classes="catalog-error")
            yield Static(
                Text(
                    "尚未处理的提醒将关闭（目录事项已取消），处理中的保持不变 · 回车确认 · Esc 取消"
                ),
                id="catalog-edit-hint",
            )

    def on_mount(self) -> None:
        """Start in the reason field."""
        self.query_one("#retire-reason", Input).focus()

    @on(Input.Submitted)
    def submitted(self) -> None:
        """Enter in either field goes on."""
        self.action_save()

    def action_save(self) -> None:
        """Check the day and reason, then preview, confirm and retire."""
        try:
            day = read_day(self.query_one("#retire-on", Input).value, "停用日期")
            reason = read_reason(self.query_one("#retire-reason", Input).value)
        except FieldInvalid as exc:
            self.show_error(str(exc))
            return
        seq, office = self.entry.seq, self.office
        self.plan_and_confirm(
            lambda: office.preview_retire(seq, day),
            lambda: office.retire_catalog_item(seq, day, reason),
        )


ADD_FIELDS = (  # field, label, placeholder
    ("section", "承办科室", "科室名称"),
    ("permit_item", "许可事项名称", ""),
    ("certificate_name", "许可证书名称", ""),
    ("validity_years", "有效期限（年）", "如 5，或 2；3；4"),
    ("lead_months", "提醒时限（月）", "到期前几个月提醒，1–24"),
    ("filing_deadline_days", "申请换证时限（日）", "到期前几日须提出申请；空为未规定"),
    ("method", "提醒方式", "人工电话通知 或 电子邮件告知"),
    ("materials", "提交材料", "用“；”分隔"),
    ("effective", "生效日期", "YYYY-MM-DD"),
    ("reason", "新增原因", "必填，记入审计"),
)


def read_new_item(typed: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The section and the item's values as the service takes them.

    Raises:
        FieldInvalid: a number that is not one.
    """
    values: dict[str, Any] = {
        "permit_item": typed["permit_item"].strip(),
        "certificate_name": typed["certificate_name"].strip(),
    }
    if not typed["lead_months"].strip():
        raise FieldInvalid("请填写提醒时限（月）")
    try:
        for field in ("validity_years", "lead_months", "filing_deadline_days", "materials"):
            values[field] = parse_value(field, typed[field])
        values["method"] = parse_value("method", typed["method"].strip() or "人工电话通知")
    except CatalogError as exc:
        raise FieldInvalid(str(exc)) from exc
    return typed["section"].strip(), values


class AddItemDialog(PlannedChangeDialog):
    """新增目录事项：the item's fields, a day and a reason; saved under the next 序号."""

    CSS_PATH = "catalog_edit.tcss"
    BINDINGS = [
        _CANCEL,
        Binding("ctrl+s", "save", "保存", tooltip="新增事项并记入审计", id="add_item.save"),
    ]

    def __init__(self, office: OfficeDesk, section: str) -> None:
        super().__init__()
        self.office = office
        self.section = section

    def compose(self) -> ComposeResult:
        """Title, one labelled field per value, an error line, a hint."""
        with Vertical(id="catalog-edit-box"):
            yield Label(Text("新增目录事项", style="bold"), id="catalog-edit-title")
            with Grid(id="catalog-edit-grid"):
                for field, label, placeholder in ADD_FIELDS:
                    yield Label(Text(label))
                    value = {
                        "section": self.section,
                        "method": "人工电话通知",
                        "effective": f"{self.office.today:%Y-%m-%d}",
                    }.get(field, "")
                    yield Input(value, placeholder=placeholder, id=f"add-{field}", compact=True)
            yield Static(id="add-error", classes="catalog-error")
            yield Static(Text("回车或 Ctrl+S 保存 · Esc 取消（不保存）"), id="catalog-edit-hint")

    @on(Input.Submitted)
    def submitted(self) -> None:
        """Enter in any field saves."""
        self.action_save()

    def action_save(self) -> None:
        """Check the fields here, then let the service add (and judge) the item."""
        if self.busy:
            return
        typed = {f: self.query_one(f"#add-{f}", Input).value for f, _l, _p in ADD_FIELDS}
        try:
            section, values = read_new_item(typed)
            day = read_day(typed["effective"])
            reason = read_reason(typed["reason"])
        except FieldInvalid as exc:
            self.show_error(str(exc))
            return
        self.busy = True
        self.show_error("正在保存…")
        self.add(section, values, day, reason)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def add(self, section: str, values: dict[str, Any], day: Any, reason: str) -> None:
        """One transaction; a refusal leaves the catalog as it was."""
        try:
            entry = self.office.add_catalog_item(section, values, day, reason)
        except (CatalogError, NotAllowed) as exc:
            self.post_message(ChangeRefused(str(exc)))
            return
        except Exception as exc:
            self.post_message(ChangeRefused(failure_text("新增事项失败", exc)))
            return
        when = "已启用" if entry.active else f"将于 {day:%Y-%m-%d} 启用"
        self.post_message(
            ChangeSaved(f"已新增第{entry.seq}项“{entry.certificate_name}”，{when}，已记入审计")
        )
