"""The callqueue App: composes screens, routes messages, holds app-wide state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.screen import ModalScreen

from callqueue import db
from callqueue.config import Settings
from callqueue.queue import staff
from callqueue.tui.desk import Desk, default_clock, failure_text
from callqueue.tui.messages import StaffFound, StaffMissing
from callqueue.tui.office_desk import OfficeDesk
from callqueue.tui.screens.appointments import AppointmentsScreen
from callqueue.tui.screens.catalog import CatalogScreen
from callqueue.tui.screens.import_screen import ImportScreen
from callqueue.tui.screens.queue import QueueScreen
from callqueue.tui.screens.side import SideScreen

if TYPE_CHECKING:
    from sqlalchemy import Engine

NO_STAFF = "未指定工作人员：呼叫队列需要 --staff 姓名，现在显示提醒目录"
SIDE_SCREENS: dict[str, type[SideScreen]] = {
    "appointments": AppointmentsScreen,
    "import_ledger": ImportScreen,
    "catalog": CatalogScreen,
}
NEEDS_DESK = frozenset({"appointments", "import_ledger"})


class CallqueueApp(App[None]):
    """许可证书到期前提醒 — the staff's call-queue tool."""

    CSS_PATH = "app.tcss"
    TITLE = "许可证书到期前提醒"
    BINDINGS = [
        Binding("q", "quit", "退出", tooltip="退出程序", id="quit"),
        Binding(
            "a", "appointments", "预约", tooltip="某天的预约：取消、未到", id="app.appointments"
        ),
        Binding(
            "i", "import_ledger", "导入", tooltip="导入台账工作簿（先试运行）", id="app.import"
        ),
        Binding("c", "catalog", "目录", tooltip="提醒目录（主管可修改）", id="app.catalog"),
    ]

    def __init__(
        self,
        *,
        engine: Engine,
        today: date,
        staff_name: str | None,
        settings: Settings,
        now: Callable[[], datetime],
    ) -> None:
        super().__init__()
        self.engine = engine
        self.today = today
        self.staff_name = staff_name
        self.settings = settings
        self.now = now
        self.desk: Desk | None = None
        """Who works where, once known; screens that act for a staff member take it."""

    def on_mount(self) -> None:
        """Open the queue for a known staff member, else the catalog."""
        self.sub_title = f"{self.today:%Y年%m月%d日}"
        if self.staff_name:
            self.find_staff(self.staff_name)
        else:
            self.open_catalog(StaffMissing(NO_STAFF))

    @work(thread=True, exclusive=True, exit_on_error=False)
    def find_staff(self, name: str) -> None:
        """Look the staff member up in a thread and post who they are."""
        try:
            with db.session_scope(self.engine, write=False) as session:
                me = staff.get_staff(session, name)
        except Exception as exc:  # unknown name or no database: the catalog still opens
            reason = failure_text("读取工作人员失败", exc)
            self.post_message(StaffMissing(f"{reason}；呼叫队列需要 --staff 指定已登记的工作人员"))
            return
        self.post_message(StaffFound(me))

    @on(StaffFound)
    def open_queue(self, message: StaffFound) -> None:
        """The staff member's queue is the main screen."""
        self.desk = Desk(
            engine=self.engine,
            settings=self.settings,
            staff=message.staff,
            today=self.today,
            now=self.now,
        )
        self.push_screen(QueueScreen(self.desk))

    @on(StaffMissing)
    def open_catalog(self, message: StaffMissing) -> None:
        """Without a staff member only the catalog can be shown; say why."""
        self.push_screen(CatalogScreen(self.office()))
        self.notify(message.message, title="呼叫队列", severity="warning", timeout=8)

    def office(self) -> OfficeDesk:
        """The office work (appointments, import, catalog) for whoever is working, if known."""
        return OfficeDesk(
            engine=self.engine,
            settings=self.settings,
            staff=self.desk.staff if self.desk else None,
            today=self.today,
            now=self.now,
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Side screens open from a plain screen; appointments and import need a staff member."""
        if action not in SIDE_SCREENS:
            return True
        if isinstance(self.screen, ModalScreen | SIDE_SCREENS[action]):
            return False
        if action in NEEDS_DESK and self.desk is None:
            return None
        return True

    def action_appointments(self) -> None:
        """Open the day's appointments."""
        self._open_side(AppointmentsScreen(self.office()))

    def action_import_ledger(self) -> None:
        """Open the ledger import."""
        self._open_side(ImportScreen(self.office()))

    def action_catalog(self) -> None:
        """Open the catalog."""
        self._open_side(CatalogScreen(self.office()))

    def _open_side(self, screen: SideScreen) -> None:
        # One side screen at a time over the queue: escape always leads back to it.
        if isinstance(self.screen, SideScreen) and len(self.screen_stack) > 2:
            self.pop_screen()
        self.push_screen(screen)


def create_app(
    *,
    engine: Engine,
    today: date,
    staff_name: str | None = None,
    settings: Settings | None = None,
    now: Callable[[], datetime] | None = None,
) -> CallqueueApp:
    """The one factory the CLI and the tests build the app with."""
    return CallqueueApp(
        engine=engine,
        today=today,
        staff_name=staff_name,
        settings=settings or Settings(),
        now=now or default_clock(today),
    )
