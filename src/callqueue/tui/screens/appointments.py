"""The appointments screen: one day's appointments by time, with cancel and no-show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Header, Static

from callqueue.models import AppointmentStatus
from callqueue.queue.agenda import AgendaRow
from callqueue.queue.appointments import STATUS_LABELS, AppointmentRefused
from callqueue.tui.desk import failure_text
from callqueue.tui.office_desk import OfficeDesk, read_failure
from callqueue.tui.screens.confirm_note import NotedConfirmDialog
from callqueue.tui.screens.side import SideScreen
from callqueue.tui.widgets.footer import CalmFooter

COLUMNS = (  # key, label, width (cells); sized to fit 120 columns
    ("time", "时间", 11),
    ("holder", "单位（个人）名称", 28),
    ("certificate", "证书", 22),
    ("status", "状态", 6),
    ("booked_by", "预约人", 8),
    ("section", "科室", 20),
    ("note", "备注", 8),
)
STATUS_STYLES = {AppointmentStatus.CANCELLED: "dim", AppointmentStatus.NO_SHOW: "bold red"}
CHANGES = {  # action → status, what the dialog asks, what the status line says after
    "cancel": (AppointmentStatus.CANCELLED, "取消这个预约？", "已取消"),
    "no_show": (AppointmentStatus.NO_SHOW, "记为未到（未按预约前来）？", "已记为未到"),
}
WEEKDAYS = "一二三四五六日"


@dataclass
class AgendaLoaded(Message):
    """A day's appointments were read."""

    day: date
    section: str | None
    rows: list[AgendaRow]
    token: int


@dataclass
class AgendaFailed(Message):
    """Reading or changing appointments failed and changed nothing; `message` is for staff."""

    message: str


@dataclass
class AppointmentChanged(Message):
    """An appointment was cancelled or marked no-show; `message` is for staff."""

    message: str


def day_label(day: date) -> str:
    """2026年11月24日（周二）."""
    return f"{day:%Y年%m月%d日}（周{WEEKDAYS[day.weekday()]}）"


class AppointmentsScreen(SideScreen):
    """提前预约：a day's appointments at the hall."""

    CSS_PATH = "appointments.tcss"
    BINDINGS = [
        Binding("p", "step(-1)", "前一工作日", tooltip="前一个工作日的预约", id="appts.prev"),
        Binding("n", "step(1)", "后一工作日", tooltip="后一个工作日的预约", id="appts.next"),
        Binding("t", "today", "今天", tooltip="回到今天", id="appts.today"),
        Binding(
            "s",
            "next_section",
            "科室",
            tooltip="主管：全部科室 / 逐个科室",
            id="appts.sections",
        ),
        Binding("x", "change('cancel')", "取消预约", tooltip="取消所选预约", id="appts.cancel"),
        Binding("m", "change('no_show')", "未到", tooltip="所选预约记为未到", id="appts.no_show"),
        Binding("r", "reload", "刷新", tooltip="重新读取", id="appts.reload"),
    ]

    day: reactive[date] = reactive(date.min)
    """The day shown."""
    section: reactive[str | None] = reactive(None)
    """The one section shown; None for every section this desk may see (callers: their own)."""
    current: reactive[AgendaRow | None] = reactive(None, bindings=True)
    """The highlighted appointment."""
    busy: reactive[bool] = reactive(False, bindings=True)
    """A read or write is under way."""

    def __init__(self, office: OfficeDesk) -> None:
        super().__init__()
        self.office = office
        self.rows: dict[str, AgendaRow] = {}
        self.token = 0  # the latest read; an older read that lands late is dropped

    def compose(self) -> ComposeResult:
        """Header, who is working, the day, the table, the status line."""
        yield Header()
        yield Static(id="who")
        yield Static(id="appts-day")
        yield DataTable(id="appts-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="appts-status")
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Set up the table and read today's appointments."""
        me = self.office.staff
        who = f"{me.name} · {me.section}" if me else "未指定工作人员"
        self.query_one("#who", Static).update(
            Text(f"预约表 · {who} · 日期 {self.office.today:%Y-%m-%d}")
        )
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self.load(self.office.today, 0)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Changes need a booked appointment under the cursor; nothing while busy."""
        if action == "change":
            booked = self.current is not None and self.current.status == AppointmentStatus.BOOKED
            return None if self.busy or not booked else True
        if action == "next_section" and not self.office.sees_all:
            return False  # callers see their own section only
        if action in ("step", "today", "next_section", "reload") and self.busy:
            return None
        return super().check_action(action, parameters)

    # --- actions ---------------------------------------------------------------------------

    def action_step(self, step: int) -> None:
        """The previous or next working day."""
        self.load(self.day, step)

    def action_today(self) -> None:
        """Back to today."""
        self.load(self.office.today, None)

    def action_next_section(self) -> None:
        """Supervisors: every section, then one section after another."""
        self.load(self.day, None, next_section=True)

    def action_reload(self) -> None:
        """Read the day again."""
        self.load(self.day, None)

    def action_change(self, change: str) -> None:
        """Ask to cancel or mark no-show the highlighted appointment."""
        row = self.current
        if row is None:
            return
        status, question, _done = CHANGES[change]
        title = Text(f"{row.starts_at:%m月%d日 %H:%M} ")
        title.append(row.holder, style="bold")
        self.app.push_screen(
            NotedConfirmDialog(title, question),
            lambda note: self._confirmed(row, change, note),
        )

    def _confirmed(self, row: AgendaRow, change: str, note: str | None) -> None:
        if note is None:  # escape: nothing changes
            return
        self.busy = True
        self._status("正在保存…")
        self.change(row, change, note)

    # --- workers (no widgets here) ---------------------------------------------------------

    def load(self, day: date, step: int | None, *, next_section: bool = False) -> None:
        """Read the day `step` working days from `day` (None: `day` itself)."""
        self.token += 1
        self.read_day(day, step, self.section, next_section, self.token)

    @work(thread=True, exclusive=True, exit_on_error=False, group="appts-read")
    def read_day(
        self, day: date, step: int | None, section: str | None, next_section: bool, token: int
    ) -> None:
        """Work out the day (and the section) and read its appointments."""
        try:
            if step is not None:
                day = self.office.workday(day, step)
            if next_section:
                section = self.office.next_section(section)
            rows = self.office.agenda(day, section=section)
        except Exception as exc:  # shown; the screen stays usable
            self.post_message(AgendaFailed(read_failure("读取预约失败", exc)))
            return
        self.post_message(AgendaLoaded(day, section, rows, token))

    @work(thread=True, exclusive=True, exit_on_error=False, group="appts-write")
    def change(self, row: AgendaRow, change: str, note: str) -> None:
        """Save the status change in one transaction."""
        status, _question, done = CHANGES[change]
        try:
            changed = self.office.set_appointment(row.id, status, note)
        except AppointmentRefused as exc:
            self.post_message(AgendaFailed(str(exc)))
            return
        except Exception as exc:  # nothing was written: one transaction
            self.post_message(AgendaFailed(failure_text("保存预约失败", exc)))
            return
        again = "，提醒回到待联系队列" if changed.requeued else ""
        self.post_message(AppointmentChanged(f"{row.starts_at:%H:%M} {row.holder}：{done}{again}"))

    # --- messages --------------------------------------------------------------------------

    @on(AgendaLoaded)
    def show_day(self, message: AgendaLoaded) -> None:
        """Fill the table with the day's appointments, keeping the cursor's row if it is there."""
        if message.token != self.token:
            return
        keep = self.current.id if self.current else None
        self.day, self.section = message.day, message.section
        self.busy = False
        table = self.query_one(DataTable)
        table.clear()
        self.rows = {str(r.id): r for r in message.rows}
        for r in message.rows:
            status = AppointmentStatus(r.status)
            table.add_row(
                Text(f"{r.starts_at:%H:%M}–{r.ends_at:%H:%M}"),
                Text(r.holder, overflow="ellipsis", no_wrap=True),
                Text(r.certificate, overflow="ellipsis", no_wrap=True),
                Text(STATUS_LABELS.get(status, r.status), style=STATUS_STYLES.get(status, "")),
                Text(r.booked_by),
                Text(r.section, overflow="ellipsis", no_wrap=True),
                Text(r.note, overflow="ellipsis", no_wrap=True),
                key=str(r.id),
            )
        if keep is not None and str(keep) in self.rows:
            table.move_cursor(row=table.get_row_index(str(keep)))
        self.current = self._row_at_cursor()
        counts = {s: sum(1 for r in message.rows if r.status == s) for s in AppointmentStatus}
        scope = self.section or ("全部科室" if self.office.sees_all else "本科室")
        line = Text(f"{day_label(message.day)} · {scope} · 共 {len(message.rows)} 个预约")
        line.append(
            f"（待到 {counts[AppointmentStatus.BOOKED]}，已取消 "
            f"{counts[AppointmentStatus.CANCELLED]}，未到 {counts[AppointmentStatus.NO_SHOW]}）"
        )
        self.query_one("#appts-day", Static).update(line)
        if not message.rows:
            self._status("这一天没有预约 · p/n 换一天")

    @on(AppointmentChanged)
    def changed(self, message: AppointmentChanged) -> None:
        """Say what was saved and read the day again."""
        self._status(message.message)
        self.notify(message.message, title="预约")
        self.load(self.day, None)

    @on(AgendaFailed)
    def failed(self, message: AgendaFailed) -> None:
        """Say what went wrong; keep the screen."""
        self.busy = False
        self._status(message.message)
        self.notify(message.message, title="预约", severity="error")

    @on(DataTable.RowHighlighted)
    def follow_cursor(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted appointment is the one the keys act on."""
        self.current = self.rows.get(str(event.row_key.value))

    def _row_at_cursor(self) -> AgendaRow | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.rows.get(str(key.value))

    def _status(self, text: str) -> None:
        self.query_one("#appts-status", Static).update(Text(text))
