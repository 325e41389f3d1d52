"""A real SMTP server in the test process (aiosmtpd on a free loopback port) that keeps what arrives.

It can refuse addresses for good (5xx on RCPT), for a while (4xx), refuse message bodies, ask for
a login, and speak TLS (implicit or STARTTLS) with a test CA from trustme.
"""

from __future__ import annotations

import asyncio
import email
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Arrived:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        """The parsed message (headers decoded)."""
        parsed = email.message_from_bytes(self.raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Inbox:
    """The aiosmtpd handler: what arrived, and how to refuse."""

    arrived: list[Arrived] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    """address → reply, e.g. `550 5.1.1 no such user`."""
    busy_rcpt: dict[str, int] = field(default_factory=dict)
    """address → how many more times to answer `451` before accepting."""
    data_reply: str | None = None
    """A reply to DATA instead of accepting the message (e.g. `554 spam`)."""
    on_data: Any = None
    """Called (in the server's thread) after a message is stored."""
    reply_delay: float = 0.0
    """Seconds to wait after storing a message before answering 250 (a slow server)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        if self.busy_rcpt.get(address, 0) > 0:
            self.busy_rcpt[address] -= 1
            return "451 4.3.0 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_reply is not None:
            return self.data_reply
        with self.lock:
            self.arrived.append(
                Arrived(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        if self.on_data is not None:
            self.on_data(self)
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Arrived]:
        """Messages that arrived for `address`."""
        with self.lock:
            return [a for a in self.arrived if address in a.rcpt_tos]


def free_port() -> int:
    """A loopback port nobody listens on (aiosmtpd cannot take port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(
    inbox: Inbox,
    *,
    security: str = "none",
    server_context: ssl.SSLContext | None = None,
    login: tuple[str, str] | None = None,
) -> Iterator[int]:
    """Run the server for the block; yields its port.

    Args:
        inbox: the handler.
        security: `none`, `starttls` or `ssl` (the last two need `server_context`).
        server_context: the server's TLS certificate.
        login: (user, password) the server requires when given.
    """
    port = free_port()
    kwargs: dict[str, Any] = {}
    if security == "ssl":
        kwargs["ssl_context"] = server_context
    elif security == "starttls":
        kwargs["tls_context"] = server_context
        kwargs["require_starttls"] = True
    if login is not None:

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == login
            )
            return AuthResult(success=ok, handled=False)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        # aiosmtpd only counts STARTTLS as TLS; under implicit TLS the link is encrypted anyway.
        kwargs["auth_require_tls"] = security == "starttls"
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, server_hostname="localhost", **kwargs
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
