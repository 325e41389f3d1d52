"""Logging that never writes a whole phone number or email address: a masking filter on every handler."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from callqueue.ledger.phones import mask_phone
from callqueue.notify.masking import mask_email

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class MaskingFilter(logging.Filter):
    """Masks phone numbers and email addresses in the message and any traceback before a handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        record.msg = mask_email(mask_phone(record.getMessage()))
        record.args = ()
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = mask_email(mask_phone(text))
            record.exc_info = None
        return True


def setup(log_file: Path | None, *, level: int = logging.INFO, console: bool = True) -> None:
    """Send callqueue's log to `log_file` (and warnings to stderr), masked.

    Args:
        log_file: where to append the log; None logs warnings to stderr only.
        level: the file's level.
        console: also print warnings to stderr (off while the TUI owns the terminal).
    """
    root = logging.getLogger("callqueue")
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handlers: list[logging.Handler] = []
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError:
            pass  # an unwritable log must not stop the office's work
    if console:
        stream = logging.StreamHandler()
        stream.setLevel(logging.WARNING)
        # Errors reach staff as one Chinese line from the face; their traceback goes to the file.
        stream.addFilter(lambda record: record.levelno < logging.ERROR)
        handlers.append(stream)
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(MaskingFilter())
        root.addHandler(handler)
    root.propagate = False
