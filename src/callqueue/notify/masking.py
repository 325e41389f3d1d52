"""Email addresses as logs and messages may show them: enough to recognise, not to use."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)


def mask_email(text: str) -> str:
    """Mask every email address in free text: `zhangwei@163.com` → `zh***@163.com`.

    Args:
        text: any text, e.g. an address, an SMTP reply or a log message.

    Returns:
        The text with each address's local part cut to its first two characters (one when it is
        that short) followed by `***`; the domain stays, since it says which provider refused.
    """
    return _ADDRESS.sub(_mask_one, text)


def _mask_one(match: re.Match[str]) -> str:
    local, _, domain = match[0].rpartition("@")
    keep = 2 if len(local) > 3 else 1
    return f"{local[:keep]}***@{domain}"
