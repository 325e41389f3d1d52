"""Holder records: search, the record view, contact fixes and certificates added by hand."""

from __future__ import annotations

from callqueue.queue.staff import Viewer

__all__ = ["RecordRefused", "Viewer"]


class RecordRefused(ValueError):
    """A record change or view that cannot be made; nothing changed. The message is for staff."""
