"""Logging that never writes a whole phone number, email address or name: a masking filter on
every handler."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from pathlib import Path

from callqueue.ledger.phones import mask_phone
from callqueue.notify.masking import mask_email

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


# A run of Chinese characters: a person's or a business's name, as far as a log can tell.
# Library errors quote the value they choke on (openpyxl: "张三 cannot be used in worksheets").
_HAN = re.compile(
    r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"
)


def mask_names(text: str) -> str:
    """`text` with every run of two or more Chinese characters cut to its first and ＊s."""
    return _HAN.sub(lambda m: m.group(1) + "＊" * (len(m.group(0)) - 1), text)


def mask(text: str) -> str:
    """`text` as a log may keep it: phones, emails and names masked."""
    return mask_names(mask_email(mask_phone(text)))


def caller(depth: int = 2) -> str:
    """The qualified name of the function `depth` frames above this one's caller.

    What failed, in a log line: a face's fixed Chinese label would be masked with the data
    (读＊＊＊＊), while the names of the code are English and say which action it was.
    """
    return sys._getframe(depth).f_code.co_qualname


class MaskingFilter(logging.Filter):
    """Masks phone numbers, email addresses and names in the message and any traceback before
    a handler sees them. Log messages are English; Chinese in a log is data or a message for
    staff, which may quote a name, so all of it is masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        record.msg = mask(record.getMessage())
        record.args = ()
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = mask(text)
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
