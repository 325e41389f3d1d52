"""A footer that rebuilds once per batch of binding changes.

Textual's Footer recomposes (a widget per key) on every `refresh_bindings`; one outcome changes
the claim and the busy flag several times in a tick, which cost about 40 ms of style work per
key press on the call screen. This one coalesces them into a single recompose after refresh, and skips it when the keys on
show have not changed.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class CalmFooter(Footer):
    """Footer whose key list is rebuilt at most once per refresh."""

    _pending = False
    _shown: tuple[tuple[str, str, bool], ...] | None = None

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Schedule one rebuild for however many changes arrive before the next refresh."""
        self._bindings_ready = True
        if not screen.app.app_focus or self._pending:
            return
        if self.is_attached and screen is self.screen:
            self._pending = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        """Recompose, unless the keys on show and their state are what is already drawn."""
        self._pending = False
        shown = tuple(
            (key, active.binding.description, active.enabled)
            for key, active in self.screen.active_bindings.items()
            if active.binding.show
        )
        if shown != self._shown:
            self._shown = shown
            await self.recompose()
