"""A Static that sizes to its text without a second layout pass."""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Static


class SnugStatic(Static):
    """Static text whose new size, once a layout has placed it, asks for no further layout.

    Textual's widgets refresh their layout when their virtual size changes. For text of
    `height: auto` that change is the result of the layout just done, so on the call screen
    every holder with a different number of lines cost a second layout and a second frame
    (5–8 ms, one frame later). A new size already repaints the widget in the frame of the
    layout that gave it. Nothing scrolls inside this widget; its container does, and the
    container's own size handling is unchanged.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=False)
