"""The layers of DESIGN.md §3, enforced by the import-linter contracts in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_create_all_outside_tests() -> None:
    offenders = [p for p in (ROOT / "src").rglob("*.py") if "create_all(" in p.read_text("utf-8")]
    assert offenders == []


def test_every_rules_module_is_under_contract() -> None:
    """A new module below the faces must join the contract, or this fails."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    contract = config["tool"]["importlinter"]["contracts"][0]
    listed = set(contract["source_modules"])
    package = ROOT / "src" / "callqueue"
    faces = {"cli", "tui", "web", "__init__", "__main__"}
    modules = {
        f"callqueue.{p.relative_to(package).with_suffix('').parts[0]}"
        for p in package.rglob("*.py")
        if p.relative_to(package).parts[0].removesuffix(".py") not in faces
        and not p.relative_to(package).parts[0].startswith("cli_")
        and "_bundled" not in p.parts
    }
    assert modules - listed == set()
