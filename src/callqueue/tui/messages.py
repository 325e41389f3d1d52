"""Messages shared across screens: past-tense events posted by workers."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from callqueue.catalog import CatalogEntry, LateItem


@dataclass
class CatalogLoaded(Message):
    """The catalog was read from the database."""

    entries: list[CatalogEntry]
    late: list[LateItem]
    calendar_warning: str | None


@dataclass
class LoadFailed(Message):
    """Reading from the database failed; `message` is for staff."""

    message: str
