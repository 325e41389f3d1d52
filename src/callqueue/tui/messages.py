"""Messages shared across screens: past-tense events posted by workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message

from callqueue.catalog import CatalogEntry, LateItem
from callqueue.queue.appointments import Slot
from callqueue.queue.briefing import Briefing
from callqueue.queue.claims import QueueEntry
from callqueue.queue.refresh import RefreshResult
from callqueue.queue.script import Script
from callqueue.queue.staff import StaffRow
from callqueue.queue.tally import Tally
from callqueue.tui.desk import Desk, Number


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


@dataclass
class StaffFound(Message):
    """The staff member named on the command line was found."""

    staff: StaffRow


@dataclass
class StaffMissing(Message):
    """No usable staff member: the queue cannot open; `message` is for staff."""

    message: str


@dataclass
class QueuePageLoaded(Message):
    """A page of the queue was read (after a refresh when `refreshed` is set)."""

    entries: list[QueueEntry]
    tally: Tally | None
    """None when the page was read without its counts (after this desk's own write)."""
    refreshed: RefreshResult | None = None
    desk: Desk | None = None
    """Set when the page is another section's than the screen's desk (see Desk.opening)."""


@dataclass
class CountsRead(Message):
    """The counts above the queue were read again."""

    tally: Tally


@dataclass
class EntryClaimed(Message):
    """The next queue entry was claimed; None when nothing is callable."""

    entry: QueueEntry | None


@dataclass
class ClaimRenewed(Message):
    """The claimed entry's lease was lengthened (`kept`), or another desk has the holder now."""

    entry: QueueEntry
    kept: bool


@dataclass
class ClaimClosed(Message):
    """An outcome was saved or the claim released; `page` is the fresh page, if read.

    After an outcome the desk claims the next holder at once (`next_entry`; None when the queue
    is empty or the claim failed): one key per call.
    """

    message: str
    page: QueuePageLoaded | None
    next_entry: QueueEntry | None = None


@dataclass
class BriefingRead(Message):
    """The contacts, certificates, attempts and 一次性告知 words of an entry were read."""

    briefing: Briefing
    script: Script


@dataclass
class StaffListed(Message):
    """The active staff were read, for choosing who works at this desk."""

    staff: list[StaffRow]
    remembered: str | None
    note: str = ""


@dataclass
class SectionSwitched(Message):
    """A supervisor's desk moved to another section's queue."""

    desk: Desk


@dataclass
class DeskFailed(Message):
    """A queue action failed and changed nothing; `message` is for staff."""

    message: str


@dataclass
class CallbackProposed(Message):
    """The usual callback time was worked out from the office calendar."""

    at: datetime


@dataclass
class SlotsRead(Message):
    """The section's next free appointment slots were read."""

    slots: list[Slot]


@dataclass
class NumbersRead(Message):
    """The holder's valid numbers were read, to say which one was wrong (号码有误)."""

    numbers: list[Number]


@dataclass
class HelpersRead(Message):
    """The section's active staff were read, to choose who helps (帮办人)."""

    helpers: list[StaffRow]


@dataclass
class CalendarUncovered(Message):
    """This year's or next year's holiday schedule is not loaded; `message` is for staff."""

    message: str


@dataclass
class RecordsChanged(Message):
    """A holder's contacts, do-not-call mark or certificates were changed on a record screen."""
