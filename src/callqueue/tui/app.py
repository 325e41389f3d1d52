"""The callqueue App: composes screens, routes messages, holds app-wide state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App
from textual.binding import Binding

from callqueue import db
from callqueue.config import Settings
from callqueue.queue import staff
from callqueue.tui.desk import Desk, default_clock, failure_text
from callqueue.tui.messages import StaffFound, StaffMissing
from callqueue.tui.records_desk import RecordsDesk
from callqueue.tui.screens.catalog import CatalogScreen
from callqueue.tui.screens.queue import QueueScreen
from callqueue.tui.screens.search import SearchScreen

if TYPE_CHECKING:
    from sqlalchemy import Engine

NO_STAFF = "未指定工作人员：呼叫队列需要 --staff 姓名，现在显示提醒目录"


class CallqueueApp(App[None]):
    """许可证书到期前提醒 — the staff's call-queue tool."""

    CSS_PATH = "app.tcss"
    TITLE = "许可证书到期前提醒"
    BINDINGS = [
        Binding("q", "quit", "退出", tooltip="退出程序", id="quit"),
        Binding(
            "slash",
            "search",
            "查找",
            tooltip="按单位名称、电话或证书查找单位记录",
            id="app.search",
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Search needs a known staff member (their section scopes it) and no search open."""
        if action == "search":
            return self.desk is not None and not isinstance(self.screen, SearchScreen)
        return True

    def action_search(self) -> None:
        """Open the search screen, or go back to the one already open (from a record)."""
        if self.desk is None:
            return
        if any(isinstance(s, SearchScreen) for s in self.screen_stack):
            while not isinstance(self.screen, SearchScreen):
                self.pop_screen()
            self.screen.action_focus_query()
            return
        self.push_screen(SearchScreen(RecordsDesk(self.desk)))

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
        self.refresh_bindings()
        self.push_screen(QueueScreen(self.desk))

    @on(StaffMissing)
    def open_catalog(self, message: StaffMissing) -> None:
        """Without a staff member only the catalog can be shown; say why."""
        self.push_screen(CatalogScreen())
        self.notify(message.message, title="呼叫队列", severity="warning", timeout=8)


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
