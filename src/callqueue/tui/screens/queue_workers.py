"""The call screen's thread workers: database work only, each ending in a message."""

from __future__ import annotations

import logging
import time

from textual import work
from textual.worker import get_current_worker

from callqueue.notify.outbox import MailRefused
from callqueue.queue.claims import QueueEntry
from callqueue.tui.desk import failure_text
from callqueue.tui.messages import (
    BriefingRead,
    ClaimClosed,
    ClaimRenewed,
    CountsRead,
    DeskFailed,
    EntryClaimed,
    QueuePageLoaded,
    SectionSwitched,
)
from callqueue.tui.screens.queue_state import QueueState

PREFETCH_DELAY = 0.04  # seconds: a frame's drawing
log = logging.getLogger("callqueue.tui")


class QueueWorkers(QueueState):
    """The reads and writes of `QueueScreen`; workers never touch widgets."""

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-page")
    def load_page(self, refresh_first: bool = False) -> None:
        """Read the current page of the queue (after a refresh) and post it."""
        try:
            # The first read (and a refresh) opens on a section with a queue: a supervisor of
            # 政务服务科 starts on the first approval section, not on an empty list.
            desk = self.desk.opening() if refresh_first else self.desk
            page = desk.page(number=self.page_number, only=self.only, refresh_first=refresh_first)
        except Exception as exc:  # shown, the screen stays usable
            self.post_message(DeskFailed(failure_text("读取队列失败", exc)))
            return
        moved = desk if desk is not self.desk else None
        self.post_message(QueuePageLoaded(page.entries, page.tally, page.refreshed, moved))

    @work(thread=True, exclusive=True, exit_on_error=False, group="briefing")
    def read_briefing(self, entry: QueueEntry) -> None:
        """Read the entry's contacts, certificates, attempts and card."""
        try:
            found, script = self.desk.brief(entry)
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("读取联系人和记录失败", exc)))
            return
        self.post_message(BriefingRead(found, script))

    @work(thread=True, exclusive=True, exit_on_error=False, group="prefetch")
    def prefetch(self, entries: list[QueueEntry], wait: bool = True) -> None:
        """Read the briefings of the rows in view ahead of the cursor."""
        worker = get_current_worker()
        # Let the frame that asked for this be drawn first (unless started after it): reads in
        # a thread share the GIL with drawing, and slowed that frame by 20-40 ms on a busy
        # machine. Nothing waits for them.
        if wait:
            time.sleep(PREFETCH_DELAY)
        try:
            for entry in entries:
                found, script = self.desk.brief(entry)
                if worker.is_cancelled:  # a newer page is being read: these may be stale
                    return
                self.post_message(BriefingRead(found, script))
        except Exception:  # only a head start: the cursor reads what it needs itself
            log.debug("prefetch failed", exc_info=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-desk")
    def claim_next(self) -> None:
        """Claim the next entry and post it."""
        try:
            entry = self.desk.claim_next()
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("认领失败", exc)))
            return
        self.post_message(EntryClaimed(entry))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-desk")
    def switch_section(self) -> None:
        """Work out the next section this staff member may see, and post the desk for it."""
        try:
            desk = self.desk.next_section()
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("切换科室失败", exc)))
            return
        self.post_message(SectionSwitched(desk))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-desk")
    def release(self, entry: QueueEntry) -> None:
        """Release the claim, then read the page again."""
        try:
            self.desk.release(entry)
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("跳过失败", exc)))
            return
        self.post_message(ClaimClosed(f"已跳过 {entry.holder}，放回队列", self.fresh_page()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-desk")
    def send_email(self, entry: QueueEntry) -> None:
        """Queue (and send, with a mail server) the entry's emails, then claim the next holder."""
        try:
            message = self.desk.email(entry)
        except MailRefused as exc:  # nothing queued; the claim stays
            self.post_message(DeskFailed(str(exc)))
            return
        except Exception as exc:
            self.post_message(DeskFailed(failure_text("发送邮件失败", exc)))
            return
        try:
            following = self.desk.claim_next()
        except Exception as exc:  # the email is queued all the same; `n` tries again
            message += f" · {failure_text('认领下一户失败', exc)}"
            following = None
        self.post_message(ClaimClosed(message, self.fresh_page(), following))

    def fresh_page(self) -> QueuePageLoaded | None:
        """The page after a write (in a worker); None, and the handler reads again, on failure."""
        try:
            page = self.desk.page(number=self.page_number, only=self.only, counts=False)
        except Exception:
            return None
        return QueuePageLoaded(page.entries, page.tally)

    @work(thread=True, exclusive=True, exit_on_error=False, group="counts")
    def read_counts(self) -> None:
        """Read the counts above the queue (in a pause, after this desk's own writes)."""
        try:
            counted = self.desk.counts()
        except Exception:  # only the counts: the next page read brings them
            log.debug("counts not read", exc_info=True)
            return
        self.post_message(CountsRead(counted))

    @work(thread=True, exclusive=True, exit_on_error=False, group="claim-lease")
    def renew_claim(self, entry: QueueEntry) -> None:
        """Lengthen the claim's lease; say so only when another desk has the holder now."""
        try:
            kept = self.desk.renew(entry)
        except Exception as exc:  # the next tick tries again; the save says what is wrong
            failure_text("延长认领失败", exc)
            return
        self.post_message(ClaimRenewed(entry, kept))
