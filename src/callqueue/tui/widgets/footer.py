"""A footer that rebuilds once per batch of binding changes, and only when its keys change.

Textual's Footer recomposes (a widget per key) on every `refresh_bindings`; one outcome changes
the claim and the busy flag several times in a tick, which cost about 40 ms of style work per
key press on the call screen. This one coalesces them into a single update once the handler
that made them is done, skips it when the keys on show have not changed, and when only whether
keys work changed (a claim taken or given back, an address known or not) it sets that on the
key widgets already there instead of building them again.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

Shown = tuple[tuple[str, str, str, str, bool], ...]
"""Per key on show: key, action, description, tooltip, enabled."""


class CalmFooter(Footer):
    """Footer whose key list is rebuilt at most once per batch of changes, and only if it must be."""

    _pending = False
    _shown: Shown | None = None

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Schedule one update for however many changes the current handler makes."""
        self._bindings_ready = True
        if not screen.app.app_focus or self._pending:
            return
        if self.is_attached and screen is self.screen:
            self._pending = True
            # After the handler that changed them, not after the next refresh: that put a
            # change (a key greyed) into a frame of its own, 17-30 ms after the screen's.
            self.call_next(self._rebuild)

    async def _rebuild(self) -> None:
        """Recompose if the keys on show changed; if only their state did, set it in place."""
        self._pending = False
        shown: Shown = tuple(
            (b.key, b.action, b.description, active.tooltip, active.enabled)
            for active in self.screen.active_bindings.values()
            if (b := active.binding).show
        )
        if shown == self._shown:
            return
        before, self._shown = self._shown, shown
        if before is not None and [s[:4] for s in before] == [s[:4] for s in shown]:
            enabled = {(key, action): on for key, action, _, _, on in shown}
            keys = list(self.query(FooterKey))
            if len(keys) == len(shown) and all((k.key, k.action) in enabled for k in keys):
                for k in keys:
                    off = not enabled[(k.key, k.action)]
                    # What Footer.compose gives a key that does not work now: a class (dim) and
                    # the flag its mouse handler reads (a bell instead of the key).
                    k.set_class(off, "-disabled")
                    k._disabled = off
                return
        await self.recompose()
