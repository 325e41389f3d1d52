"""A footer that fits its width, and rebuilds its keys only when the keys on show change.

Textual's Footer lays every key out in a row and cuts the row at the edge of the terminal: at
80 columns the call screen lost everything after `f`, help and quit included. This one leaves
out the keys that do not fit, last first (the app's screen keys, then the screen's own from
the end), but always shows help and quit; the help (`?`) and Ctrl+P list every key.

Textual's Footer recomposes (a widget per key) on every `refresh_bindings`; one outcome changes
the claim and the busy flag several times in a tick, which cost about 40 ms of style work per
key press on the call screen. When only whether keys work changed (a claim taken or given back,
an address known or not) this one sets that on the key widgets already there, at once; when the
keys themselves changed (or fit no more) it recomposes once, after the handler that changed them.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

Shown = tuple[tuple[str, str, str, str, bool, str], ...]
"""Per key on show: key, action, description, tooltip, enabled, the key as displayed."""

ALWAYS_SHOWN = frozenset({"help", "app.help", "quit", "app.quit"})
"""Actions whose keys every footer shows, however narrow: how to get help, how to quit."""


class CalmFooter(Footer):
    """Footer that sets which keys work in place, and rebuilds its key list only when it must."""

    _pending = False
    _shown: Shown | None = None

    def on_mount(self, event: events.Mount | None = None) -> None:
        """Hear of binding changes as they are made (Footer hears of them in its next turn)."""
        if event is not None:  # Footer's own on_mount would subscribe a second, later, time
            event.prevent_default()
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed, immediate=True)

    def compose(self) -> ComposeResult:
        """One key widget per key that fits (this app's bindings use no groups)."""
        if not self._bindings_ready:
            return
        self._shown = self._keys_on_show()
        for key, action, description, tooltip, enabled, display in self._shown:
            yield FooterKey(
                key, display, description, action, disabled=not enabled, tooltip=tooltip
            ).data_bind(compact=Footer.compact)

    def on_resize(self, event: events.Resize) -> None:
        """Another width: keys may fit now, or no longer."""
        if self._bindings_ready and self.is_attached:
            self.bindings_changed(self.screen)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Set which keys work now; rebuild the key list once, later, if the keys themselves changed."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            if self._pending or self._set_in_place():
                return  # a rebuild is already due, or the keys are set
            self._pending = True
            self.call_next(self._rebuild)

    async def _rebuild(self) -> None:
        """Recompose if the keys on show changed; if only their state did, set it in place."""
        self._pending = False
        if not self._set_in_place():
            self._shown = self._keys_on_show()
            await self.recompose()

    def _keys_on_show(self) -> Shown:
        """The keys the screen shows now that fit, each with whether it works.

        One key per action, as Textual's Footer shows them.
        """
        actions: set[str] = set()
        shown = []
        for active in self.screen.active_bindings.values():
            b = active.binding
            if b.show and b.action not in actions:
                actions.add(b.action)
                display = self.app.get_key_display(b)
                shown.append(
                    (b.key, b.action, b.description, active.tooltip, active.enabled, display)
                )
        return self._fitted(tuple(shown))

    def _fitted(self, shown: Shown) -> Shown:
        """`shown` less the keys that do not fit the width, last first, help and quit kept."""
        width = self.size.width
        if not width:  # not laid out yet: the first resize fits the keys
            return shown
        room = width - sum(map(self._cells, shown))
        kept = list(shown)
        for item in reversed(shown):
            if room >= 0:
                break
            if item[1] not in ALWAYS_SHOWN:
                kept.remove(item)
                room += self._cells(item)
        return tuple(kept)

    def _cells(self, item: tuple[str, str, str, str, bool, str]) -> int:
        """The columns a key takes in this footer, as FooterKey's and Footer's styles lay it out."""
        description, display = item[2], item[5]
        if self.compact:  # `k name` and a space after it
            return cell_len(display) + (1 + cell_len(description) if description else 0) + 1
        return 2 + cell_len(display) + (cell_len(description) + 1 if description else 0)

    def _set_in_place(self) -> bool:
        """Bring the keys on show up to date without new widgets; False if that needs a recompose.

        Run as the change is made, not after the handler that made it: a key greyed or lit in
        a later task landed in a frame of its own, 20-35 ms after the screen's (an outcome
        greys and lights the email key as the save starts and ends).
        """
        shown = self._keys_on_show()
        if shown == self._shown:
            return True
        before = self._shown
        if before is None or [s[:4] for s in before] != [s[:4] for s in shown]:
            return False
        enabled = {(key, action): on for key, action, _, _, on, _ in shown}
        keys = list(self.query(FooterKey))
        if len(keys) != len(shown) or any((k.key, k.action) not in enabled for k in keys):
            return False
        self._shown = shown
        for k in keys:
            off = not enabled[(k.key, k.action)]
            # What Footer.compose gives a key that does not work now: a class (dim) and the
            # flag its mouse handler reads (a bell instead of the key).
            k.set_class(off, "-disabled")
            k._disabled = off
        return True
