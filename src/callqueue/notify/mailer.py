"""The mail server: settings, one connection per send run, and what a refusal means.

smtplib does the protocol; this module only decides which failures are worth another try
(server busy, connection lost), which say the address is wrong (5xx on RCPT), and which mean
the server or the settings cannot be used at all (no connection, login refused).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from types import TracebackType
from typing import TYPE_CHECKING

from callqueue.config import Settings
from callqueue.notify.masking import mask_email

if TYPE_CHECKING:  # collections.abc.Buffer from Python 3.12
    from typing_extensions import Buffer

SECURITY_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


class MailSettingsError(ValueError):
    """Email settings that cannot be used; the message names the setting."""


class ServerUnusable(Exception):
    """The mail server cannot be reached or refuses us: nothing more can be sent this run.

    The message is for staff; `detail` says the same in English for the log (where Chinese
    is masked as if it were a name).
    """

    def __init__(self, message: str, detail: str = "mail server unusable") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass
class SendFailure(Exception):
    """One message was refused or lost on the way; `permanent` failures are never retried.

    `uncertain`: the connection broke after the message itself was handed over, so the server
    may have accepted it; it must not go again by itself.
    """

    message: str
    permanent: bool
    bad_address: bool = False
    uncertain: bool = False
    detail: str = "send failed"
    """What happened in English, for the log."""

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class MailServer:
    """How to reach the office's mail server and whom mail comes from."""

    host: str
    port: int
    security: str
    user: str
    password: str = field(repr=False)
    sender: Address
    cafile: str = ""
    timeout: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> MailServer | None:
        """The server in the settings, or None while `smtp_host` is empty (email is off).

        Raises:
            MailSettingsError: an unknown security mode or an unusable sender address.
        """
        if not settings.smtp_host.strip():
            return None
        security = settings.smtp_security.strip().lower()
        if security not in SECURITY_PORTS:
            raise MailSettingsError(
                f"CALLQUEUE_SMTP_SECURITY 应为 ssl、starttls 或 none，实际为“{settings.smtp_security}”"
            )
        return cls(
            host=settings.smtp_host.strip(),
            port=settings.smtp_port or SECURITY_PORTS[security],
            security=security,
            user=settings.smtp_user.strip(),
            password=settings.smtp_password,
            sender=sender_address(settings),
            cafile=settings.smtp_cafile.strip(),
            timeout=settings.smtp_timeout,
        )

    def label(self) -> str:
        """`host:port（ssl）` for messages; never the user or password."""
        return f"{self.host}:{self.port}（{self.security}）"


def sender_address(settings: Settings) -> Address:
    """The From address: `CALLQUEUE_MAIL_FROM` (`名称 <地址>` or an address), else the user.

    Raises:
        MailSettingsError: no usable address.
    """
    name, address = parseaddr(settings.mail_from.strip())
    address = address or settings.smtp_user.strip()
    if "@" not in address:
        raise MailSettingsError(
            "请设置发件人 CALLQUEUE_MAIL_FROM（如：区政务服务办 <zwfw@example.cn>）"
        )
    local, _, domain = address.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def recipient(address: str, name: str) -> Address:
    """The To header's address, its name on one line.

    Raises:
        SendFailure: (permanent, bad address) an address no header can hold, such as
            `zhang.@163.com`, which ledgers bring in and no server would take.
    """
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, MessageError):
        raise SendFailure(
            f"收件地址 {mask_email(address)} 格式有误，无法发送：请在单位记录中更正",
            permanent=True,
            bad_address=True,
            detail="malformed address",
        ) from None
    return Address(display_name=" ".join(name.split()), addr_spec=parsed.addr_spec)


def _tls_context(server: MailServer) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if server.cafile:
        try:
            context.load_verify_locations(cafile=server.cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ServerUnusable(
                f"CALLQUEUE_SMTP_CAFILE 证书文件无法读取：{server.cafile}（{exc}）",
                detail=f"CA file unreadable: {type(exc).__name__}",
            ) from exc
    return context


class _SMTP(smtplib.SMTP):
    """smtplib's client, noting when a message's DATA began (its fate is unknown from there)."""

    data_started = False

    def data(self, msg: Buffer | str) -> tuple[int, bytes]:
        """Send the message; from here on a lost connection may have delivered it."""
        self.data_started = True
        return super().data(msg)


class _SMTPSSL(smtplib.SMTP_SSL, _SMTP):
    """The implicit-TLS client with the same note."""


class Connection:
    """An open, logged-in SMTP session; use as a context manager."""

    def __init__(self, server: MailServer) -> None:
        self.server = server
        self._smtp: _SMTP | None = None

    def __enter__(self) -> Connection:
        server = self.server
        try:
            if server.security == "ssl":
                smtp: _SMTP = _SMTPSSL(
                    server.host,
                    server.port,
                    timeout=server.timeout,
                    context=_tls_context(server),
                )
            else:
                smtp = _SMTP(server.host, server.port, timeout=server.timeout)
                if server.security == "starttls":
                    smtp.starttls(context=_tls_context(server))
            self._smtp = smtp
            if server.user:
                smtp.login(server.user, server.password)
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            raise ServerUnusable(
                f"邮件服务器 {server.label()} 拒绝登录（{exc.smtp_code}）：请检查 CALLQUEUE_SMTP_USER "
                "和 CALLQUEUE_SMTP_PASSWORD（多数邮箱要用“授权码”而不是登录密码）",
                detail=f"login refused ({exc.smtp_code})",
            ) from None
        except smtplib.SMTPNotSupportedError:
            self._drop()
            raise ServerUnusable(
                f"邮件服务器 {server.label()} 不支持所选的加密方式或登录，请检查 CALLQUEUE_SMTP_SECURITY",
                detail=f"{server.security} or login not supported",
            ) from None
        except ssl.SSLError as exc:
            self._drop()
            raise ServerUnusable(
                f"与邮件服务器 {server.label()} 建立加密连接失败（{exc.reason or exc}）：请检查端口与加密方式是否匹配",
                detail=f"TLS failed: {exc.reason or exc}",
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise ServerUnusable(
                f"无法连接邮件服务器 {server.label()}：{_why_no_connection(exc, server)}",
                detail=f"cannot connect: {type(exc).__name__} {exc}".rstrip(),
            ) from None
        return self

    @property
    def is_open(self) -> bool:
        """Whether more messages can go over this connection."""
        return self._smtp is not None

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the messages are already accepted or already failed
        finally:
            self._drop()

    def send(self, message: EmailMessage, to: str) -> None:
        """Hand one message to the server for one recipient.

        Raises:
            SendFailure: the server refused it (permanent on 5xx) or a passing failure.
            ServerUnusable: the connection is gone; nothing more can go this run.
        """
        if self._smtp is None:
            raise ServerUnusable("邮件服务器连接已关闭")
        masked = mask_email(to)
        sender = self.server.sender.addr_spec
        self._smtp.data_started = False
        try:
            self._smtp.send_message(message, from_addr=sender, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (0, b""))
            raise SendFailure(
                f"收件地址 {masked} 被拒收（{code} {_text(text)}）",
                permanent=code >= 500,
                bad_address=code >= 500,
                detail=f"recipient refused ({code} {_text(text)})",
            ) from None
        except smtplib.SMTPSenderRefused as exc:
            if not self.server.user and (
                exc.smtp_code == 530 or b"auth" in _bytes(exc.smtp_error).lower()
            ):
                raise ServerUnusable(
                    f"邮件服务器 {self.server.label()} 要求登录（{exc.smtp_code}）：请设置 "
                    "CALLQUEUE_SMTP_USER 和 CALLQUEUE_SMTP_PASSWORD（多数邮箱要用“授权码”）",
                    detail=f"login required ({exc.smtp_code} {_text(exc.smtp_error)})",
                ) from None
            raise ServerUnusable(
                f"邮件服务器拒绝发件人 {sender}（{exc.smtp_code} {_text(exc.smtp_error)}）："
                "请检查 CALLQUEUE_MAIL_FROM 是否与登录的邮箱一致",
                detail=f"sender refused ({exc.smtp_code} {_text(exc.smtp_error)})",
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise SendFailure(
                f"邮件服务器拒收发往 {masked} 的邮件（{exc.smtp_code} {_text(exc.smtp_error)}）",
                permanent=exc.smtp_code >= 500,
                detail=f"message refused ({exc.smtp_code} {_text(exc.smtp_error)})",
            ) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            handed_over = self._smtp.data_started
            self._drop()
            if handed_over:
                raise SendFailure(
                    f"发往 {masked} 的邮件已交给邮件服务器，但连接在服务器确认前中断"
                    f"（{type(exc).__name__}）：可能已发出，不会自动重发",
                    permanent=True,
                    uncertain=True,
                    detail=f"connection lost after the message was sent ({type(exc).__name__})",
                ) from None
            raise SendFailure(
                f"发往 {masked} 时与邮件服务器的连接中断（{type(exc).__name__}）",
                permanent=False,
                detail=f"connection lost ({type(exc).__name__})",
            ) from None


def _why_no_connection(exc: Exception, server: MailServer) -> str:
    """What a failed connection means and what to check, in words for staff."""
    if isinstance(exc, socket.gaierror):
        return "找不到邮件服务器（域名无法解析）：请检查 CALLQUEUE_SMTP_HOST 和本机网络"
    if isinstance(exc, ConnectionRefusedError):
        return (
            "连接被拒绝，该端口没有邮件服务：请检查 CALLQUEUE_SMTP_HOST、CALLQUEUE_SMTP_PORT "
            "与加密方式（ssl 一般为 465，starttls 为 587）"
        )
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return (
            f"{server.timeout} 秒内没有回应：请检查网络、防火墙是否放行该端口，以及端口与加密方式"
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "服务器断开了连接：请检查端口与加密方式是否匹配"
    return f"{type(exc).__name__} {exc}".rstrip()


def _bytes(raw: bytes | str) -> bytes:
    return raw if isinstance(raw, bytes) else raw.encode("utf-8", "replace")


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return mask_email(" ".join(text.split()))[:200]
