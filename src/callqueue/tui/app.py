"""The callqueue App: composes screens, routes messages, holds app-wide state."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from callqueue import db, roles
from callqueue.config import Settings
from callqueue.queue import signin, staff
from callqueue.tui import remembered
from callqueue.tui.collector import IDLE, collect_when_idle, hand_back_collector
from callqueue.tui.desk import Desk, default_clock, failure_text
from callqueue.tui.messages import (
    CalendarUncovered,
    RecordsChanged,
    StaffFound,
    StaffListed,
    StaffMissing,
)
from callqueue.tui.screens.help import HelpScreen, help_rows, key_name
from callqueue.tui.screens.pin_dialog import PinDialog
from callqueue.tui.screens.queue import QueueScreen
from callqueue.tui.screens.side import SideScreen
from callqueue.tui.screens.staff_picker import SignInPicker, StaffPicker

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from textual.notifications import SeverityLevel

    from callqueue.tui.office_desk import OfficeDesk

# The screens besides the queue, and the desks behind them, are imported when first opened:
# loading them all at start-up (with plotext, the mail, ledger and calendar code behind them)
# cost about 0.4 s before the first queue row. Checks that an open screen is of a kind compare
# names, so that they import nothing.

NO_STAFF = "尚未登记工作人员：请先用 callqueue staff add 添加，现在只显示提醒目录"
NOT_CHOSEN = "未选择工作人员：现在只显示提醒目录；重新启动后可选择"
SCREENS = "callqueue.tui.screens."
SIDE_SCREENS: dict[str, str] = {
    "appointments": SCREENS + "appointments.AppointmentsScreen",
    "import_ledger": SCREENS + "import_screen.ImportScreen",
    "catalog": SCREENS + "catalog.CatalogScreen",
    "calendar": SCREENS + "calendar.CalendarScreen",
    "assisted": SCREENS + "assisted.AssistedScreen",
    "inspection": SCREENS + "inspections.InspectionsScreen",
    "dashboard": SCREENS + "dashboard.DashboardScreen",
}
SEARCH = SCREENS + "search.SearchScreen"
INSPECTION_REVIEW = SCREENS + "inspection_review.InspectionReviewScreen"


def kind(screen: object) -> str:
    """The screen's class as `module.Class`, to compare with the names above."""
    return f"{type(screen).__module__}.{type(screen).__qualname__}"


NEEDS_DESK = frozenset({"appointments", "import_ledger", "inspection", "assisted", "dashboard"})
INSPECTION_HELP = "督促检查：抽样检查各科室台账（仅限主管、管理员）"


class CallqueueApp(App[None]):
    """许可证书到期前提醒 — the staff's call-queue tool."""

    CSS_PATH = "app.tcss"
    TITLE = "许可证书到期前提醒"
    BINDINGS = [
        Binding("question_mark", "help", "帮助", tooltip="本界面的按键及说明", id="app.help"),
        Binding("q", "quit", "退出", tooltip="退出程序", id="quit"),
        # Named here, Textual does not add its own, English, one. Footers do not show it: a
        # Chinese label docked over the keys loses a character where they end (Textual cuts
        # wide characters at widget edges); `?` lists it.
        Binding(
            "ctrl+p",
            "command_palette",
            "命令",
            tooltip="输入功能名称，执行当前可用的操作",
            show=False,
            priority=True,
            id="app.palette",
        ),
        Binding(
            "slash",
            "search",
            "查找",
            tooltip="按单位名称、电话或证书查找单位记录",
            id="app.search",
        ),
        # The screens' keys are named as the screens name themselves, apart from the outcome
        # keys beside them in the footer (`2 预约` records an appointment, `a 预约表` opens them).
        Binding(
            "a", "appointments", "预约表", tooltip="某天的预约：取消、未到", id="app.appointments"
        ),
        Binding(
            "i", "import_ledger", "导入", tooltip="导入台账工作簿（先试运行）", id="app.import"
        ),
        Binding("c", "catalog", "目录", tooltip="提醒目录（主管可修改）", id="app.catalog"),
        Binding(
            "h",
            "calendar",
            "节假日",
            tooltip="节假日和工作日：载入新一年的安排、临时闭馆（主管）",
            id="app.calendar",
        ),
        Binding("k", "inspection", "检查", tooltip=INSPECTION_HELP, id="app.inspection"),
        Binding(
            "w",
            "assisted",
            "帮办案件",
            tooltip="帮办代办案件：推进到材料准备中、已提交申请",
            id="app.assisted",
        ),
        Binding(
            "d",
            "dashboard",
            "督查",
            tooltip="各科室指标、明细清单和未来 26 周工作量（提醒人只看本科室）",
            id="app.dashboard",
        ),
    ]

    def __init__(
        self,
        *,
        engine: Engine,
        today: date,
        staff_name: str | None,
        settings: Settings,
        now: Callable[[], datetime],
        sign_in: bool = False,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.today = today
        self.staff_name = staff_name
        self.settings = settings
        self.now = now
        self.sign_in = sign_in
        """Staff must type their PIN before anything opens (a shared database, or asked for)."""
        self.desk: Desk | None = None
        """Who works where, once known; screens that act for a staff member take it."""
        self.last_input = time.monotonic()
        """When staff last pressed a key or a mouse button (full collections wait for a pause)."""

    def on_mount(self) -> None:
        """Open the queue for the named staff member, else let staff choose who works."""
        self.sub_title = f"{self.today:%Y年%m月%d日}"
        self.set_interval(IDLE, self._collect_when_idle)
        self.find_staff(self.staff_name)

    async def on_event(self, event: events.Event) -> None:
        """Note when staff last pressed something, then handle the event as usual."""
        if isinstance(event, events.Key | events.MouseDown):
            self.last_input = time.monotonic()
        await super().on_event(event)

    def _collect_when_idle(self) -> None:
        collect_when_idle(time.monotonic() - self.last_input)

    async def action_quit(self) -> None:
        """Quit, giving back a claim on which nothing was recorded (see `give_back_claim`)."""
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                screen.give_back_claim()
        self.exit()

    def on_unmount(self) -> None:
        """Leave the garbage collector as it was found (tests run many apps in one process)."""
        hand_back_collector()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a toast; its text is always plain, never markup.

        Toasts quote data (holder and contact names, reasons typed by staff): a name such as
        `a[/b]c` made the toast's markup parse raise when drawn, which ended the app.
        Screens' `notify` passes `markup=True` on, so it is ignored here.
        """
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def action_command_palette(self) -> None:
        """Open the command palette, in Chinese."""
        from callqueue.tui.screens.palette import Palette

        if self.use_command_palette and not isinstance(self.screen, Palette):
            self.push_screen(Palette())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette offers every key of the screen (and the app) that works right now.

        Only ours: Textual's own commands and keys (Theme, Keys, Maximize, Focus Next, Copy
        selected text…) are in English, and staff need none of them.
        """
        for key, active in screen.active_bindings.items():
            b, node = active.binding, active.node
            if not active.enabled or not b.description or node not in (screen, self):
                continue
            if b.description.isascii() or b.action == "command_palette":
                continue

            def run(action: str = b.action, node: Any = node) -> Any:
                return self.run_action(action, node)

            yield SystemCommand(
                f"{b.description}（{key_name(key)}）", b.tooltip or b.description, run
            )

    @property
    def database(self) -> str:
        """The database as the desk remembers it (no password)."""
        return self.engine.url.render_as_string(hide_password=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Search and side screens open from a plain screen; most need a known staff member."""
        if action == "search":
            return self.desk is not None and kind(self.screen) != SEARCH
        if action not in SIDE_SCREENS:
            return True
        if self.sign_in and self.desk is None:
            return False  # nothing opens before signing in
        if isinstance(self.screen, ModalScreen) or kind(self.screen) == SIDE_SCREENS[action]:
            return False
        if action == "dashboard" and any(
            kind(s) == SIDE_SCREENS[action] for s in self.screen_stack
        ):
            return False  # its lists and records open over it: escape leads back there
        if action in NEEDS_DESK and self.desk is None:
            return None
        if action == "inspection":
            if kind(self.screen) == INSPECTION_REVIEW:
                return False
            assert self.desk is not None
            return True if roles.may_inspect(self.desk.staff.role) else None
        return True

    def action_help(self) -> None:
        """Every key of the screen in view (and the app's that work there), and its notes."""
        notes: tuple[str, ...] = getattr(self.screen, "HELP_NOTES", ())
        self.push_screen(HelpScreen(help_rows(self, self.screen), notes))

    def action_search(self) -> None:
        """Open the search screen, or go back to the one already open (from a record)."""
        if self.desk is None:
            return
        from callqueue.tui.records_desk import RecordsDesk
        from callqueue.tui.screens.search import SearchScreen

        if any(isinstance(s, SearchScreen) for s in self.screen_stack):
            while not isinstance(self.screen, SearchScreen):
                self.pop_screen()
            self.screen.action_focus_query()
            return
        self.push_screen(SearchScreen(RecordsDesk(self.desk)))

    @work(thread=True, exclusive=True, exit_on_error=False)
    def find_staff(self, name: str | None) -> None:
        """Look the named staff member up, or read the staff list to choose from."""
        note = ""
        try:
            with db.session_scope(self.engine, write=False) as session:
                if name:
                    try:
                        self.post_message(StaffFound(staff.get_staff(session, name)))
                        return
                    except staff.StaffError as exc:
                        note = f"{exc}，请从名单中选择"
                everyone = staff.list_staff(session)
        except Exception as exc:  # no database: the catalog screen says so too
            self.post_message(StaffMissing(failure_text("读取工作人员失败", exc)))
            return
        self.post_message(StaffListed(everyone, remembered.last_staff(self.database), note))

    @on(StaffListed)
    def choose_staff(self, message: StaffListed) -> None:
        """Let staff say who works at this desk."""
        if not any(s.active for s in message.staff):
            self.open_catalog(StaffMissing(NO_STAFF))
            return

        def chosen(who: staff.StaffRow | None) -> None:
            if who is None and self.sign_in:
                self.exit()
            elif who is None:
                self.open_catalog(StaffMissing(NOT_CHOSEN))
            elif self.sign_in:
                self.ask_pin(who)
            else:
                self.remember(who.name)
                self.open_queue(StaffFound(who))

        picker = SignInPicker if self.sign_in else StaffPicker
        self.push_screen(picker(message.staff, message.remembered, message.note), chosen)

    @on(StaffFound)
    def staff_found(self, message: StaffFound) -> None:
        """The staff member named with --staff: their queue, after their PIN when signing in."""
        if self.sign_in:
            self.ask_pin(message.staff)
        else:
            self.open_queue(message)

    def ask_pin(self, who: staff.StaffRow) -> None:
        """Ask for the PIN; signed in opens the queue, going back shows the staff list again."""

        def check(staff_id: int, pin: str) -> signin.SignIn:
            return signin.sign_in(self.engine, staff_id=staff_id, pin=pin, now=self.now())

        def signed_in(member: staff.StaffRow | None) -> None:
            if member is None:
                self.find_staff(None)
                return
            self.remember(member.name)
            self.open_queue(StaffFound(member))

        self.push_screen(PinDialog(who, check), signed_in)

    @work(thread=True, exit_on_error=False, group="remember")
    def remember(self, name: str) -> None:
        """Preselect this staff member next time (a file write, off the screen's thread)."""
        remembered.remember_staff(self.database, name)

    def open_queue(self, message: StaffFound) -> None:
        """The staff member's queue is the main screen."""
        self.desk = Desk(
            engine=self.engine,
            settings=self.settings,
            staff=message.staff,
            today=self.today,
            now=self.now,
        )
        self.refresh_bindings()
        self.push_screen(QueueScreen(self.desk))
        self.check_calendar()

    @work(thread=True, exit_on_error=False, group="calendar-check")
    def check_calendar(self) -> None:
        """Warn once when this year's or next year's holiday schedule is not loaded."""
        from callqueue.tui.calendar_desk import CalendarDesk

        desk = CalendarDesk(engine=self.engine, staff=None, today=self.today, now=self.now)
        try:
            warning = desk.coverage_warning()
        except Exception:  # the queue screen reports database trouble itself
            return
        if warning:
            self.post_message(CalendarUncovered(warning))

    @on(CalendarUncovered)
    def warn_calendar(self, message: CalendarUncovered) -> None:
        """Say the dates may be off, and who can fix it."""
        supervisor = self.desk is not None and roles.sees_all_sections(self.desk.staff.role)
        action = "请按 h 载入国务院办公厅的通知" if supervisor else "请告知主管载入（按 h 查看）"
        self.notify(
            f"{message.message}{action}", title="节假日安排", severity="warning", timeout=12
        )

    @on(RecordsChanged)
    def records_changed(self, message: RecordsChanged) -> None:
        """Tell the queue underneath: what it read of holders may be stale."""
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                screen.records_changed()

    @on(StaffMissing)
    def open_catalog(self, message: StaffMissing) -> None:
        """Without a staff member only the catalog can be shown; say why."""
        from callqueue.tui.screens.catalog import CatalogScreen

        self.push_screen(CatalogScreen(self.office()))
        self.notify(message.message, title="呼叫队列", severity="warning", timeout=8)

    def office(self) -> OfficeDesk:
        """The office work (appointments, import, catalog) for whoever is working, if known."""
        from callqueue.tui.office_desk import OfficeDesk

        return OfficeDesk(
            engine=self.engine,
            settings=self.settings,
            staff=self.desk.staff if self.desk else None,
            today=self.today,
            now=self.now,
        )

    def action_appointments(self) -> None:
        """Open the day's appointments."""
        from callqueue.tui.screens.appointments import AppointmentsScreen

        self._open_side(AppointmentsScreen(self.office()))

    def action_import_ledger(self) -> None:
        """Open the ledger import."""
        from callqueue.tui.screens.import_screen import ImportScreen

        self._open_side(ImportScreen(self.office()))

    def action_catalog(self) -> None:
        """Open the catalog."""
        from callqueue.tui.screens.catalog import CatalogScreen

        self._open_side(CatalogScreen(self.office()))

    def action_calendar(self) -> None:
        """Open the working-day calendar."""
        from callqueue.tui.calendar_desk import CalendarDesk
        from callqueue.tui.screens.calendar import CalendarScreen

        desk = CalendarDesk(
            engine=self.engine,
            staff=self.desk.staff if self.desk else None,
            today=self.today,
            now=self.now,
            margin_workdays=self.settings.margin_workdays,
        )
        self._open_side(CalendarScreen(desk))

    def action_inspection(self) -> None:
        """Open the inspections (supervisors and admins)."""
        if self.desk is None or not roles.may_inspect(self.desk.staff.role):
            return
        from callqueue.tui.inspection_desk import InspectionDesk
        from callqueue.tui.screens.inspections import InspectionsScreen

        self._open_side(InspectionsScreen(InspectionDesk(self.engine, self.desk.staff, self.now)))

    def action_assisted(self) -> None:
        """Open the 帮办代办 cases."""
        if self.desk is None:
            return
        from callqueue.tui.assisted_desk import AssistedDesk
        from callqueue.tui.screens.assisted import AssistedScreen

        desk = AssistedDesk(
            engine=self.engine, staff=self.desk.staff, today=self.today, now=self.now
        )
        self._open_side(AssistedScreen(desk))

    def action_dashboard(self) -> None:
        """Open the supervision dashboard (a caller's shows their own section only)."""
        if self.desk is not None:
            from callqueue.tui.screens.dashboard import DashboardScreen
            from callqueue.tui.supervision_desk import SupervisionDesk

            self._open_side(DashboardScreen(SupervisionDesk(self.desk)))

    def _open_side(self, screen: SideScreen) -> None:
        # One side screen at a time over the queue: escape always leads back to it.
        if isinstance(self.screen, SideScreen) and len(self.screen_stack) > 2:
            self.pop_screen()
        self.push_screen(screen, self._side_closed)

    def _side_closed(self, _result: object) -> None:
        """Back at the queue: read it again, an import or a calendar change may have moved it."""
        if isinstance(self.screen, QueueScreen):
            self.screen.action_reload()


def create_app(
    *,
    engine: Engine,
    today: date,
    staff_name: str | None = None,
    settings: Settings | None = None,
    now: Callable[[], datetime] | None = None,
    sign_in: bool = False,
) -> CallqueueApp:
    """The one factory the CLI and the tests build the app with.

    Args:
        engine: the database.
        today: the date in force.
        staff_name: who works (`--staff`), or None to choose from the staff list.
        settings: the office's settings.
        now: the clock.
        sign_in: ask for the chosen staff member's PIN before anything opens
            (see `callqueue.queue.signin.sign_in_required`).
    """
    return CallqueueApp(
        engine=engine,
        today=today,
        staff_name=staff_name,
        settings=settings or Settings(),
        now=now or default_clock(today),
        sign_in=sign_in,
    )
