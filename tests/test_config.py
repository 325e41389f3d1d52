"""Settings: file, then CALLQUEUE_* environment on top."""

from __future__ import annotations

from pathlib import Path

import pytest

from callqueue.config import SettingsError, load_settings


def test_defaults_file_and_environment(tmp_path: Path) -> None:
    missing = load_settings(env={}, path=tmp_path / "none.toml")
    assert missing.margin_workdays == 10 and missing.db.startswith("sqlite:///")
    cfg = tmp_path / "config.toml"
    cfg.write_text('db = "sqlite:////srv/cq.sqlite"\nmargin_workdays = 12\n', encoding="utf-8")
    from_file = load_settings(env={}, path=cfg)
    assert (from_file.db, from_file.margin_workdays) == ("sqlite:////srv/cq.sqlite", 12)
    both = load_settings(env={"CALLQUEUE_MARGIN_WORKDAYS": "15"}, path=cfg)
    assert both.margin_workdays == 15 and both.db == "sqlite:////srv/cq.sqlite"


def test_bad_values_are_messages(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="整数"):
        load_settings(env={"CALLQUEUE_MARGIN_WORKDAYS": "ten"}, path=tmp_path / "x.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("db = ", encoding="utf-8")
    with pytest.raises(SettingsError, match="无法读取"):
        load_settings(env={}, path=broken)
