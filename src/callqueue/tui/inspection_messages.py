"""Messages of the inspection screens: past-tense events posted by their workers."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from callqueue.queue.inspection import InspectionDetail, InspectionSummary, ItemView


@dataclass
class InspectionsListed(Message):
    """The inspections were read, newest first."""

    rows: list[InspectionSummary]


@dataclass
class InspectionRead(Message):
    """One inspection was read; `focus` is the item to show (None: the first unreviewed)."""

    detail: InspectionDetail
    focus: int | None = None


@dataclass
class VerdictSaved(Message):
    """An item's verdict was saved."""

    item: ItemView


@dataclass
class InspectionFinished(Message):
    """An inspection was finished."""

    header: InspectionSummary


@dataclass
class InspectionFailed(Message):
    """Reading or saving failed or was refused and changed nothing; `message` is for staff."""

    message: str


@dataclass
class SectionsRead(Message):
    """The sections that can be inspected were read."""

    sections: list[str]


@dataclass
class SampleDrawn(Message):
    """A new inspection's sample was drawn and saved."""

    detail: InspectionDetail
