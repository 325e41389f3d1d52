"""The callqueue App: composes screens, routes messages, holds app-wide state."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding

from callqueue.tui.screens.catalog import CatalogScreen

if TYPE_CHECKING:
    from sqlalchemy import Engine


class CallqueueApp(App[None]):
    """许可证书到期前提醒 — the staff's call-queue tool."""

    CSS_PATH = "app.tcss"
    TITLE = "许可证书到期前提醒"
    BINDINGS = [
        Binding("q", "quit", "退出", tooltip="退出程序", id="quit"),
    ]

    def __init__(self, *, engine: Engine, today: date, staff_name: str | None) -> None:
        super().__init__()
        self.engine = engine
        self.today = today
        self.staff_name = staff_name

    def on_mount(self) -> None:
        """Open on the catalog until the queue screen exists."""
        self.sub_title = f"{self.today:%Y年%m月%d日}"
        self.push_screen(CatalogScreen())


def create_app(*, engine: Engine, today: date, staff_name: str | None = None) -> CallqueueApp:
    """The one factory the CLI and the tests build the app with."""
    return CallqueueApp(engine=engine, today=today, staff_name=staff_name)
