"""Find the migrations and seed files, in a wheel or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """The directory `name` (`migrations` or `seeds`) shipped with this installation.

    A wheel carries them under `callqueue/_bundled/`; an editable install or a checkout
    finds them at the repository root.
    """
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"{name}/ not found next to {_PACKAGE}")
