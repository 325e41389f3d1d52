"""The working-day calendar: coverage, a year's holidays and closures; changes for supervisors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Header, Static

from callqueue import roles
from callqueue.catalog_change.redate import Redated
from callqueue.holiday_file import HolidayFileError
from callqueue.tui.calendar_desk import CalendarDesk, CalendarView, Loaded, SpecialDay
from callqueue.tui.desk import failure_text
from callqueue.tui.office_desk import read_failure
from callqueue.tui.screens.calendar_dialogs import (
    KIND_WORDS,
    DayChange,
    DayChangeDialog,
    LoadFileDialog,
)
from callqueue.tui.screens.confirm import ConfirmDialog
from callqueue.tui.screens.side import SideScreen
from callqueue.tui.widgets.footer import CalmFooter

WEEKDAYS = "一二三四五六日"
COLUMNS = (
    ("day", "日期", 12),
    ("weekday", "星期", 6),
    ("kind", "安排", 6),
    ("source", "来源", 8),
    ("note", "名称 / 原因", 60),
)
CHANGE_ACTIONS = frozenset({"load_file", "set_day"})


@dataclass
class CalendarRead(Message):
    """A year of the calendar was read."""

    view: CalendarView


@dataclass
class CalendarFailed(Message):
    """Reading or changing the calendar failed and changed nothing; `message` is for staff."""

    message: str


@dataclass
class SchedulePreviewed(Message):
    """A schedule file was read and what loading it would change worked out (nothing saved)."""

    path: Path
    result: Loaded


@dataclass
class CalendarChanged(Message):
    """A schedule was loaded or a day changed; `message` is for staff."""

    message: str
    year: int


def change_spans(days: list[tuple[date, bool]]) -> list[str]:
    """Consecutive days with the same new status as one line each: 02-08 至 02-12 休息."""
    spans: list[list[tuple[date, bool]]] = []
    for day, open_ in days:
        last = spans[-1][-1] if spans else None
        if last and last[1] == open_ and (day - last[0]).days == 1:
            spans[-1].append((day, open_))
        else:
            spans.append([(day, open_)])
    return [
        f"{s[0][0]:%m-%d}{f' 至 {s[-1][0]:%m-%d}' if len(s) > 1 else ''} "
        f"{'上班' if s[0][1] else '休息'}"
        for s in spans
    ]


def moved_text(moved: Redated) -> str:
    """'，N 条提醒的日期随之调整' or nothing."""
    return f"，{moved.reminders} 条尚未处理的提醒日期随之调整" if moved.reminders else ""


class CalendarScreen(SideScreen):
    """节假日与工作日：which years are loaded, a year's special days, the office's changes."""

    CSS_PATH = "calendar.tcss"
    BINDINGS = [
        Binding("p", "year(-1)", "上一年", tooltip="上一年的安排", id="cal.prev"),
        Binding("n", "year(1)", "下一年", tooltip="下一年的安排", id="cal.next"),
        Binding(
            "l",
            "load_file",
            "载入安排",
            tooltip="载入国务院办公厅的节假日安排文件（主管）",
            id="cal.load",
        ),
        Binding("x", "set_day(False)", "设为休息", tooltip="某天临时闭馆（主管）", id="cal.close"),
        Binding("o", "set_day(True)", "设为上班", tooltip="某天临时上班（主管）", id="cal.open"),
        Binding(
            "u",
            "set_day(None)",
            "恢复法定",
            tooltip="取消办公室对所选日期的调整（主管）",
            id="cal.restore",
        ),
    ]

    year: reactive[int] = reactive(0)
    """The year shown."""
    busy: reactive[bool] = reactive(False, bindings=True)
    """A read or write is under way."""

    def __init__(self, desk: CalendarDesk) -> None:
        super().__init__()
        self.desk = desk
        self.days: dict[str, SpecialDay] = {}
        self.refusal = desk.may_change()

    def compose(self) -> ComposeResult:
        """Header, who, coverage, warning, the year's days, status line."""
        yield Header()
        yield Static(id="who")
        yield Static(id="cal-coverage")
        yield Static(id="cal-warning")
        yield Static(id="cal-year")
        yield DataTable(id="cal-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="cal-status")
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Set up the table and read this year."""
        me = self.desk.staff
        who = f"{me.name} · {me.section} · {roles.role_label(me.role)}" if me else "未指定工作人员"
        self.query_one("#who", Static).update(Text(f"{who} · 日期 {self.desk.today:%Y-%m-%d}"))
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        if self.refusal:
            self._status(f"只能查看：{self.refusal}")
        self.read(self.desk.today.year)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Changes are for supervisors and admins, and wait for any read or write."""
        if action in CHANGE_ACTIONS and (self.refusal or self.busy):
            return None
        if action == "set_day" and parameters == (None,) and self._office_day() is None:
            return None
        if action == "year" and self.busy:
            return None
        return super().check_action(action, parameters)

    # --- actions ---------------------------------------------------------------------------

    def action_year(self, step: int) -> None:
        """The previous or next year."""
        self.read(self.year + step)

    def action_load_file(self) -> None:
        """Ask for the schedule file, then show what it would change before saving."""

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.busy = True
                self._status("正在读取文件…")
                self.preview(path)

        self.app.push_screen(LoadFileDialog(), chosen)

    def action_set_day(self, is_workday: bool | None) -> None:
        """Open or close a day; restore the highlighted office change to the official calendar."""
        if is_workday is None:
            day = self._office_day()
            if day is None:
                return
            question = f"{day.day:%Y-%m-%d}（{day.note}）恢复法定安排？"
            self.app.push_screen(
                ConfirmDialog("恢复法定安排", question),
                lambda yes: self._save(DayChange(day.day, None, "恢复法定安排") if yes else None),
            )
            return
        self.app.push_screen(DayChangeDialog(is_workday), self._save)

    def _save(self, change: DayChange | None) -> None:
        if change is None:
            return
        self.busy = True
        self._status("正在保存…")
        self.set_day(change)

    # --- workers (no widgets here) ---------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="cal-read")
    def read(self, year: int) -> None:
        """Read one year."""
        try:
            view = self.desk.view(year)
        except Exception as exc:  # shown; the screen stays usable
            self.post_message(CalendarFailed(read_failure("读取日历失败", exc)))
            return
        self.post_message(CalendarRead(view))

    @work(thread=True, exclusive=True, exit_on_error=False, group="cal-write")
    def preview(self, path: Path) -> None:
        """Read the file and work out what it would change, saving nothing."""
        try:
            result = self.desk.preview_load(path)
        except (HolidayFileError, roles.NotAllowed) as exc:
            problems = exc.problems if isinstance(exc, HolidayFileError) else [str(exc)]
            self.post_message(CalendarFailed("未载入：" + "；".join(problems)))
            return
        except Exception as exc:
            self.post_message(CalendarFailed(failure_text("读取节假日安排失败", exc)))
            return
        self.post_message(SchedulePreviewed(path, result))

    @work(thread=True, exclusive=True, exit_on_error=False, group="cal-write")
    def load(self, path: Path) -> None:
        """Load the file's schedule in one transaction."""
        try:
            result = self.desk.load(path)
        except (HolidayFileError, roles.NotAllowed) as exc:
            problems = exc.problems if isinstance(exc, HolidayFileError) else [str(exc)]
            self.post_message(CalendarFailed("未载入：" + "；".join(problems)))
            return
        except Exception as exc:  # one transaction: nothing was written
            self.post_message(CalendarFailed(failure_text("载入节假日安排失败", exc)))
            return
        done = result.schedule
        message = (
            f"已载入{done.year}年节假日安排：放假 {done.holidays} 天，调休上班 "
            f"{done.workdays} 天，{len(done.changed_days)} 天有变化{moved_text(result.moved)}"
        )
        self.post_message(CalendarChanged(message, done.year))

    @work(thread=True, exclusive=True, exit_on_error=False, group="cal-write")
    def set_day(self, change: DayChange) -> None:
        """Save one day's change."""
        try:
            now_open, moved = self.desk.set_day(change.day, change.is_workday, change.reason)
        except roles.NotAllowed as exc:
            self.post_message(CalendarFailed(str(exc)))
            return
        except Exception as exc:
            self.post_message(CalendarFailed(failure_text("保存失败", exc)))
            return
        what = "工作日" if now_open else "休息日"
        message = f"{change.day:%Y-%m-%d} {KIND_WORDS[change.is_workday]}：现在是{what}{moved_text(moved)}"
        self.post_message(CalendarChanged(message, change.day.year))

    # --- messages --------------------------------------------------------------------------

    @on(CalendarRead)
    def show(self, message: CalendarRead) -> None:
        """Fill the coverage lines and the year's table."""
        view = message.view
        self.year = view.year
        self.busy = False
        self.query_one("#cal-coverage", Static).update(Text("　".join(view.coverage)))
        warning = self.query_one("#cal-warning", Static)
        warning.update(Text(f"⚠ {view.warning}主管可按 l 载入。" if view.warning else ""))
        warning.display = bool(view.warning)
        table = self.query_one(DataTable)
        table.clear()
        self.days = {d.day.isoformat(): d for d in view.days}
        for d in view.days:
            table.add_row(
                Text(f"{d.day:%Y-%m-%d}"),
                Text(f"周{WEEKDAYS[d.day.weekday()]}"),
                Text("上班" if d.is_workday else "休息", style="" if d.is_workday else "bold"),
                Text(d.source),
                Text(d.note, overflow="ellipsis", no_wrap=True),
                key=d.day.isoformat(),
            )
        holidays = sum(not d.is_workday for d in view.days)
        line = f"{view.year}年 · 休息 {holidays} 天，调休/临时上班 {len(view.days) - holidays} 天 · p/n 换年份"
        self.query_one("#cal-year", Static).update(Text(line))
        if not view.days:
            self._status(f"{view.year}年没有节假日数据（尚未载入）")
        self.refresh_bindings()

    @on(SchedulePreviewed)
    def confirm_load(self, message: SchedulePreviewed) -> None:
        """Show what the file would change and load it only when confirmed."""
        self.busy = False
        r, moved = message.result.schedule, message.result.moved
        spans = change_spans(r.changed_days)
        lines = [
            f"{'替换' if r.replaced else '载入'}{r.year}年节假日安排：放假 {r.holidays} 天，"
            f"调休上班 {r.workdays} 天。",
            f"与现在相比 {len(r.changed_days)} 天有变化" + ("：" if spans else "。"),
            *(f"  {span}" for span in spans[:8]),
            *(["  ……"] if len(spans) > 8 else []),
            *(
                [f"尚未处理的提醒中有 {moved.reminders} 条的日期将随之调整。"]
                if moved.reminders
                else []
            ),
            *(f"⚠ {w}" for w in r.warnings),
            "保存？",
        ]

        def answered(yes: bool | None) -> None:
            if yes:
                self.busy = True
                self._status("正在载入…")
                self.load(message.path)
            else:
                self._status("未载入")

        self.app.push_screen(ConfirmDialog(f"载入 {message.path.name}", "\n".join(lines)), answered)

    @on(CalendarChanged)
    def changed(self, message: CalendarChanged) -> None:
        """Say what was saved and show that year."""
        self._status(message.message)
        self.notify(message.message, title="日历")
        self.read(message.year)

    @on(CalendarFailed)
    def failed(self, message: CalendarFailed) -> None:
        """Say what went wrong; keep the screen."""
        self.busy = False
        self._status(message.message)
        self.notify(message.message, title="日历", severity="error", timeout=10)

    @on(DataTable.RowHighlighted)
    def follow_cursor(self, _event: DataTable.RowHighlighted) -> None:
        """`u` works on the highlighted office change."""
        self.refresh_bindings()

    def _office_day(self) -> SpecialDay | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        day = self.days.get(str(key.value))
        return day if day is not None and day.source == "办公室" else None

    def _status(self, text: str) -> None:
        self.query_one("#cal-status", Static).update(Text(text))
