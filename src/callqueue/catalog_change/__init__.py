"""Keep the catalog current: edit, add and retire items with a reason and an effective date.

What the effective date means (the office's rule, shown in the README):

- A change takes effect on its effective date. Dated today or earlier it is applied at once;
  dated later it is stored (`CatalogChange`) and `callqueue refresh` applies it on that day.
- On that day the new rule applies to every reminder nobody has worked yet: open reminders in
  state 待提醒 (scheduled), or 待联系 (due) with no attempt, no follow-up and no live claim, whose
  certificate has not expired. Their remind_on, planned_remind_on, apply_by, window_opens_on,
  pulled_earlier and channel are worked out again from the new rule and the working-day calendar
  (DESIGN.md §4). One whose new remind_on has come becomes due (late when it is already past);
  one whose new remind_on is later goes back to scheduled.
- Reminders someone has worked (an attempt, a callback, informed, an appointment, 帮办代办, a
  follow-up) keep their dates and state: the holder was already told the old facts. Closed
  reminders are never touched.
- Retiring an item closes its not-yet-worked reminders as `withdrawn` (目录事项已取消) on the
  retirement day; reminders already being worked stay open for staff to finish.
"""

from __future__ import annotations

from callqueue.catalog_change.add import add_item, next_seq
from callqueue.catalog_change.edit import apply_change, preview_change, preview_retire, retire_item
from callqueue.catalog_change.pending import apply_due_changes, cancel_change, history
from callqueue.catalog_change.plans import (
    FIELD_LABELS,
    WITHDRAWN_REASON,
    ChangePlan,
    ChangeResult,
    FieldChange,
    HistoryEntry,
    ReminderExample,
    parse_value,
)

__all__ = [
    "FIELD_LABELS",
    "WITHDRAWN_REASON",
    "ChangePlan",
    "ChangeResult",
    "FieldChange",
    "HistoryEntry",
    "ReminderExample",
    "add_item",
    "apply_change",
    "apply_due_changes",
    "cancel_change",
    "history",
    "next_seq",
    "parse_value",
    "preview_change",
    "preview_retire",
    "retire_item",
]
