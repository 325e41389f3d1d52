"""The base of the screens opened beside the queue: escape goes back to the one below."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.screen import Screen

if TYPE_CHECKING:
    from callqueue.tui.app import CallqueueApp


class SideScreen(Screen[None]):
    """A screen pushed over the queue (or the start screen); escape pops it."""

    BINDINGS = [
        Binding("escape", "back", "返回", tooltip="回到上一个界面", id="side.back"),
    ]

    @property
    def cq_app(self) -> CallqueueApp:
        """The app, typed."""
        return cast("CallqueueApp", self.app)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Back only when there is a screen of ours below (not the app's empty one)."""
        if action == "back":
            return len(self.app.screen_stack) > 2
        return True

    def action_back(self) -> None:
        """Close this screen."""
        self.dismiss(None)
