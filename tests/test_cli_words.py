"""Click's own words (usage, help headings, errors of a mistyped command) print in Chinese."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from callqueue import cli, cli_words

CLICK = Path(click.__file__).parent


def _marked() -> tuple[set[str], set[tuple[str, str]]]:
    """Every message the installed click marks for translation, singular and counted."""
    words: set[str] = set()
    plurals: set[tuple[str, str]] = set()
    for path in sorted(CLICK.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            texts = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if node.func.id == "_" and texts and isinstance(texts[0], str):
                words.add(texts[0])
            elif node.func.id == "ngettext" and len(texts) >= 2:
                plurals.add((texts[0], texts[1]))
    return words, plurals


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_message_click_marks_has_a_chinese_template() -> None:
    words, plurals = _marked()
    assert len(words) > 50 and len(plurals) >= 5  # the scan found click's messages
    assert sorted(words - cli_words.WORDS.keys()) == []
    assert sorted(plurals - cli_words.PLURALS.keys()) == []


def test_templates_use_only_the_names_click_passes() -> None:
    for english, chinese in cli_words.WORDS.items():
        assert _names(chinese) <= _names(english), english
        if "%(" in english:
            assert re.findall(r"%\(\w+\)s", chinese) == re.findall(r"%\(\w+\)s", english)
        assert re.search(r"[\u4e00-\u9fff]", chinese), english
    for (one, many), chinese in cli_words.PLURALS.items():
        assert _names(chinese) <= _names(one) | _names(many), one
        assert re.search(r"[\u4e00-\u9fff]", chinese), one


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))

    def invoke(*args: str) -> click.testing.Result:
        db = ["--db", f"sqlite:///{tmp_path / 'w.db'}"]
        return CliRunner().invoke(cli.main, [*db, *args], prog_name="callqueue")

    return invoke


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("import",), "错误：缺少参数 'FILE'"),
        (("import", "--bogus", "x"), "错误：没有选项“--bogus”。"),
        (("frob",), "错误：没有命令“frob”。"),
        (("demo", "--certificates", "abc"), "'--certificates' 的取值无效：“abc”不是有效的数字。"),
        (("ledger", "--section"), "错误：选项“--section”后面要写取值。"),
        (("call", "log", "1", "sing"), "“sing”不是可选的值，可选：'informed', 'appointment'"),
        (("export", "ledger"), "错误：缺少选项 '-o' / '--output'"),
        (("export", "report", "-o", "r.xlsx", "--rows", "0"), "0 不在允许的范围 x>=1 内。"),
    ],
)
def test_a_mistyped_command_is_told_in_chinese(run, args: tuple[str, ...], said: str) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)
    assert result.exit_code == 2
    assert said in result.output, result.output
    assert "用法：" in result.output or "Usage" not in result.output
    for english in ("Error:", "Usage:", "Try '", "No such", "Missing", "Invalid value", "is not"):
        assert english not in result.output, result.output


def test_help_and_version_are_in_chinese(run) -> None:  # type: ignore[no-untyped-def]
    shown = run("import", "--help").output
    assert shown.startswith("用法： callqueue import [OPTIONS] FILE")
    assert "选项:" in shown and "显示本帮助并退出。" in shown
    top = run("--help").output
    assert "命令:" in top and "显示版本并退出。" in top
    assert "Options" not in top and "Commands" not in top and "Show " not in top
    assert run("--version").output.startswith("callqueue，版本 ")


def test_a_translation_missing_falls_back_to_clicks_words() -> None:
    assert cli_words.gettext("A message click added later") == "A message click added later"
    assert cli_words.ngettext("one {n}", "many {n}", 2) == "many {n}"
    # A name the chosen form did not get is left empty rather than failing the message.
    assert cli_words.gettext("Missing {param_type}").format() == "缺少"
