"""What a catalog change would do, in data and in words; reading `field=value` input."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from callqueue import audit
from callqueue.catalog import METHOD_LABELS, CatalogError
from callqueue.catalog_edit import EDITABLE
from callqueue.models import Channel
from callqueue.queue.reminders import STATE_LABELS

FIELD_LABELS = {
    "permit_item": "许可事项名称",
    "certificate_name": "许可证书名称",
    "validity_years": "法定有效期限（年）",
    "method": "提醒方式",
    "lead_months": "提醒时限（月）",
    "filing_deadline_days": "申请换证时限（日）",
    "deadline_kind": "申请时限类型",
    "deadline_note": "时限说明",
    "legal_basis": "法律依据",
    "basis_level": "依据层级",
    "confidence": "可信度",
    "materials": "提交材料",
    "sources": "资料来源",
    "place": "办理地点",
    "phone": "服务电话",
}
"""The fields a change may set, in words; `active` is changed by retiring, not by editing."""

DATE_FIELDS = frozenset({"lead_months", "filing_deadline_days", "deadline_kind", "method"})
"""Fields that change reminders; the others are read from the catalog when staff call."""
WITHDRAWN_REASON = "目录事项已取消"
EXAMPLES = 5
ACTION_LABELS = {
    "catalog.create": "载入",
    "catalog.update": "修改",
    "catalog.edit": "修改",
    "catalog.retire": "停用",
    "catalog.activate": "启用",
    "catalog.add": "新增",
    "catalog.schedule": "登记待生效修改",
    "catalog.cancel": "撤销待生效修改",
}
KIND_LABELS = {"edit": "修改", "retire": "停用", "activate": "启用", "add": "新增"}
_LIST_SEPARATORS = ("；", ";", "，", ",", "、")


@dataclass(frozen=True)
class FieldChange:
    """One field of an item, before and after."""

    field: str
    label: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ReminderExample:
    """One reminder the change moves, as a sample for the confirmation."""

    reminder_id: int
    holder: str
    expires_on: date
    remind_on_before: date
    remind_on_after: date
    apply_by_before: date
    apply_by_after: date
    state_before: str
    state_after: str


@dataclass(frozen=True)
class ChangePlan:
    """What a change would do: the fields, and how many open reminders it moves or closes."""

    kind: str
    seq: int
    certificate_name: str
    effective_on: date
    applies_now: bool
    fields: list[FieldChange] = field(default_factory=list)
    reminders_changed: int = 0
    remind_on_changed: int = 0
    apply_by_changed: int = 0
    becoming_due: int = 0
    back_to_scheduled: int = 0
    channel_changed: int = 0
    only_planned: int = 0
    """Reminders whose day, deadline, state and method all stay: only the date the lead time
    alone gives moves (the reminder is pulled earlier for the filing deadline either way)."""
    kept_in_progress: int = 0
    examples: list[ReminderExample] = field(default_factory=list)

    def lines(self, *, examples: int = EXAMPLES) -> list[str]:
        """The plan in Chinese, one line each, for a confirmation, with a few examples."""
        head = f"第{self.seq}项“{self.certificate_name}”{KIND_LABELS.get(self.kind, self.kind)}"
        when = "立即生效" if self.applies_now else "到期日当天由每日刷新自动生效"
        out = [f"{head}，生效日期 {self.effective_on:%Y-%m-%d}（{when}）"]
        out += [f"  {f.label}：{_shown(f.before)} → {_shown(f.after)}" for f in self.fields]
        estimate = "" if self.applies_now else "（按目前数据估算）"
        if self.kind == "retire":
            out.append(f"将关闭尚未处理的提醒 {self.reminders_changed} 条{estimate}")
        else:
            out.append(
                f"将改动尚未处理的提醒 {self.reminders_changed} 条{estimate}：提醒日期变化 "
                f"{self.remind_on_changed} 条，申请截止变化 {self.apply_by_changed} 条，"
                f"立即转为待联系 {self.becoming_due} 条，退回待提醒 {self.back_to_scheduled} 条"
            )
            method = next((f.after for f in self.fields if f.field == "method"), None)
            if self.channel_changed and method is not None:
                out.append(f"  提醒方式改为{_shown(method)} {self.channel_changed} 条")
            if self.only_planned:
                out.append(
                    f"  其中 {self.only_planned} 条只改动按提醒时限推算的原定提醒日期，实际提醒日期不变"
                    "（仍按申请截止提前）"
                )
        out.append(f"已在处理中的提醒 {self.kept_in_progress} 条保持不变；已关闭的提醒不受影响")
        for e in self.examples[:examples]:
            out.append(
                f"  例：#{e.reminder_id} {e.holder} 期满 {e.expires_on:%Y-%m-%d}：提醒 "
                f"{e.remind_on_before:%Y-%m-%d}→{e.remind_on_after:%Y-%m-%d}，申请截止 "
                f"{e.apply_by_before:%Y-%m-%d}→{e.apply_by_after:%Y-%m-%d}，"
                f"{STATE_LABELS.get(e.state_before, e.state_before)}→"
                f"{STATE_LABELS.get(e.state_after, e.state_after)}"
            )
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return audit.jsonable(asdict(self))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ChangeResult:
    """What applying (or scheduling) a change did."""

    plan: ChangePlan
    applied: bool
    change_id: int | None = None
    reminders_changed: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "plan": self.plan.to_json(),
            "applied": self.applied,
            "change_id": self.change_id,
            "reminders_changed": self.reminders_changed,
        }


@dataclass(frozen=True)
class HistoryEntry:
    """One audited catalog change, or a change still waiting for its day."""

    at: datetime | None
    seq: str
    action: str
    actor: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    pending_id: int | None = None
    effective_on: date | None = None

    def line(self) -> str:
        """One line in Chinese: when, which item, what, who, why."""
        what = ACTION_LABELS.get(self.action, self.action)
        if self.pending_id is not None:
            what = f"待生效#{self.pending_id}（{KIND_LABELS.get(self.action[8:], '')}）"
        at = f"{self.at:%Y-%m-%d %H:%M}" if self.at else ""
        on = f" 生效 {self.effective_on:%Y-%m-%d}" if self.effective_on else ""
        after = self.after or {}
        before = self.before
        if self.action == "catalog.cancel":
            # a cancellation keeps the withdrawn values as its `before`: name them
            after, before = before or {}, None
        fields = [k for k in after if k in FIELD_LABELS or k == "active"]
        shown = "；".join(
            f"{FIELD_LABELS.get(k, '状态')} {_shown((before or {}).get(k))}→{_shown(after[k])}"
            if before is not None
            else f"{FIELD_LABELS.get(k, '状态')} {_shown(after[k])}"
            for k in fields[:6]
        )
        count = after.get("reminders_changed")
        tail = f"；改动提醒 {count} 条" if count is not None else ""
        why = f"；原因：{self.reason}" if self.reason else ""
        return f"{at} 第{self.seq}项 {what}{on} · {self.actor}：{shown}{tail}{why}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return audit.jsonable(asdict(self))  # type: ignore[no-any-return]


# --- reading input ----------------------------------------------------------------------


def parse_value(name: str, text: str) -> Any:
    """Read one `field=value` as the service takes it (lists split on ；, blanks as unset).

    Raises:
        CatalogError: an unknown field, or a number that is not one.
    """
    if name == "active":
        raise CatalogError("停用事项请用 callqueue catalog retire")
    if name not in FIELD_LABELS:
        raise CatalogError(f"不能修改的字段：{name}（可改：{'、'.join(FIELD_LABELS)}）")
    text = text.strip()
    kinds = EDITABLE[name]
    if name in ("place", "phone", "filing_deadline_days") and text.lower() in ("", "none"):
        return None
    if list in kinds:
        parts = [text]
        for sep in _LIST_SEPARATORS:
            parts = [p for part in parts for p in part.split(sep)]
        values = [p.strip() for p in parts if p.strip()]
        return [_whole(name, v) for v in values] if name == "validity_years" else values
    if int in kinds:
        return _whole(name, text)
    if name == "method":
        labels = {label: channel.value for channel, label in METHOD_LABELS.items()}
        return labels.get(text, text)
    return text


def _whole(name: str, text: str) -> int:
    if text[:1] in ("-", "－") and text[1:].isdigit():
        return -int(text[1:])  # a whole number: the range check says what is allowed
    if not text.isdigit():
        raise CatalogError(f"{FIELD_LABELS.get(name, name)}应为整数，现在是“{text}”")
    return int(text)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "在用" if value else "停用"
    if value is None or value == "":
        return "（空）"
    if isinstance(value, list):
        return "；".join(str(v) for v in value) or "（空）"
    if value in set(Channel):
        return METHOD_LABELS[Channel(value)]
    return str(value)
