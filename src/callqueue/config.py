"""Settings: a TOML file in the user config directory, overridden by CALLQUEUE_* variables."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "callqueue"
ENV_PREFIX = "CALLQUEUE_"


def data_dir() -> Path:
    """Where the embedded database lives unless told otherwise."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def log_path() -> Path:
    """The app's log file: CALLQUEUE_LOG, or callqueue.log in the user data directory."""
    explicit = os.environ.get(ENV_PREFIX + "LOG")
    return Path(explicit) if explicit else data_dir() / "callqueue.log"


def desk_state_path() -> Path:
    """What this desk remembers between runs (who worked last): CALLQUEUE_DESK_STATE or desk.json."""
    explicit = os.environ.get(ENV_PREFIX + "DESK_STATE")
    return Path(explicit) if explicit else data_dir() / "desk.json"


def config_path() -> Path:
    """The settings file: CALLQUEUE_CONFIG, or config.toml in the user config directory."""
    explicit = os.environ.get(ENV_PREFIX + "CONFIG")
    if explicit:
        return Path(explicit)
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_db_url() -> str:
    """A SQLite file in the user data directory."""
    return f"sqlite:///{data_dir() / 'callqueue.sqlite'}"


@dataclass(frozen=True)
class Settings:
    """Values a deployment may change; the database holds what the office edits itself."""

    db: str = field(default_factory=default_db_url)
    margin_workdays: int = 10
    """Working days between the latest reminder and the filing deadline (申请换证时限)."""
    busy_timeout_ms: int = 15_000
    """How long SQLite waits for another desk's write before giving up."""
    office_hours: str = "08:30-12:00,13:30-17:30"
    """When staff call and the hall receives holders (working days only)."""
    retry_delay_minutes: int = 120
    """Office time between a no-answer and the next try."""
    max_attempts: int = 3
    """Calls without an answer before email, or the supervisor's unreachable list."""
    claim_lease_minutes: int = 10
    """How long a claimed queue entry stays with one staff member without an outcome."""
    claim_hold_max_minutes: int = 60
    """How long an open desk keeps renewing its claim's lease (long calls); after that the
    lease runs out as for a desk that died, and a colleague may take the holder."""
    follow_up_workdays: int = 3
    """An informed holder not yet renewed this many working days before apply_by is called again."""
    callback_grace_minutes: int = 15
    """After this, anyone may take an overdue callback."""
    smtp_host: str = ""
    """The mail server; email is off while this is empty."""
    smtp_port: int = 0
    """0 means the usual port of `smtp_security`: 465 for ssl, 587 for starttls, 25 for none."""
    smtp_security: str = "ssl"
    """`ssl` (implicit TLS), `starttls` or `none`."""
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    """The mailbox's app password (授权码); never printed or logged."""
    mail_from: str = ""
    """Sender as `名称 <address>`, or a bare address (then `smtp_user` is the default)."""
    smtp_cafile: str = ""
    """Extra CA certificates (PEM) to trust, for an office relay with its own certificate."""
    smtp_timeout: int = 30
    """Seconds to wait for the mail server."""
    email_max_tries: int = 5
    """Sends that fail for a passing reason (server busy, connection lost) before giving up."""
    email_retry_minutes: int = 5
    """Wait after the first failed send; each further wait is three times longer."""
    templates_dir: str = ""
    """The office's email templates; empty means `templates/` beside the settings file."""


class SettingsError(ValueError):
    """A settings file or variable that cannot be used."""


def load_settings(env: dict[str, str] | None = None, path: Path | None = None) -> Settings:
    """Read the settings file (if any) and apply CALLQUEUE_* environment overrides.

    Args:
        env: the environment to read; `os.environ` when omitted.
        path: the settings file; `config_path()` when omitted.

    Returns:
        The merged settings.
    """
    env = dict(os.environ) if env is None else env
    path = path or config_path()
    values: dict[str, Any] = {}
    if path.is_file():
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"配置文件 {path} 无法读取：{exc}") from exc
    known = {f.name: f for f in fields(Settings)}
    for name in known:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw not in (None, ""):
            values[name] = raw
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name not in known:
            continue
        if known[name].type in ("int", int):
            try:
                value = int(value)
            except (TypeError, ValueError) as exc:
                raise SettingsError(f"设置 {name} 应为整数，实际为 {value!r}") from exc
        clean[name] = value
    return Settings(**clean)
