"""Messages of the search and record screens and their dialogs: past-tense worker events."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from callqueue.records.search import SearchPage
from callqueue.records.view import HolderRecord


@dataclass
class SearchDone(Message):
    """A page of search results was read."""

    page: SearchPage


@dataclass
class RecordRead(Message):
    """A holder's record was read; `note` says what was just saved, if anything."""

    record: HolderRecord
    note: str = ""


@dataclass
class RecordFailed(Message):
    """Reading or saving failed and changed nothing; `message` is for staff."""

    message: str


@dataclass
class FixSaved(Message):
    """A dialog's change was saved; `message` says what it did."""

    message: str


@dataclass
class FixRefused(Message):
    """A dialog's change was refused and nothing saved; `errors` maps fields to messages."""

    message: str
    errors: dict[str, list[str]]
