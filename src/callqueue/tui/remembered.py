"""What this desk remembers between runs: who last worked here, per database."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from callqueue.config import desk_state_path

log = logging.getLogger("callqueue.tui")


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        log.warning("desk state unreadable, starting afresh: %s", path)
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def last_staff(database: str) -> str | None:
    """The staff member last chosen at this desk for `database`, if any."""
    return _read(desk_state_path()).get(database)


def remember_staff(database: str, name: str) -> None:
    """Remember `name` for `database`; a failure to write only costs the preselection."""
    path = desk_state_path()
    data = _read(path)
    data[database] = name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        log.warning("could not remember the staff member in %s", path)
