"""Click's own words in Chinese: usage lines, help headings and the errors of a mistyped command.

Click marks every message it prints with gettext and leaves the translation to the application
(pallets/click#2320). Its modules bind `gettext` and `ngettext` at import, and the standard
gettext chooses a language from the environment, which on an office machine says nothing
useful; so `install()` gives those modules a Chinese lookup of their own. Templates keep click's
placeholders (each may drop or reorder them); a message missing here prints in English, and a
test lists every message the installed click marks, so an upgrade that adds one says which.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

WORDS: dict[str, str] = {
    # What staff see: usage, help and the errors of a mistyped command.
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "输入 {command} {option} 查看帮助。",
    "Missing command.": "缺少子命令。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "No such option {name!r}.": "没有选项“{name}”。",
    "No such command {name!r}.": "没有命令“{name}”。",
    "Invalid value: {message}": "取值无效：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的取值无效：{message}",
    "Option {name!r} does not take a value.": "选项“{name}”不带取值。",
    "Argument {name!r} takes {nargs} values.": "参数“{name}”需要 {nargs} 个值。",
    "Value must be an iterable.": "取值必须是一组值。",
    "{value!r} is not a valid {number_type}.": "“{value}”不是有效的数字。",
    "{value} is not in the range {range}.": "{value} 不在允许的范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "“{value}”不是有效的是/否值，可用：{states}"
    ),
    "{value!r} is not a valid UUID.": "“{value}”不是有效的 UUID。",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "Choice({choices})": "可选值（{choices}）",
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name}“{filename}”不存在。",
    "{name} {filename!r} is a file.": "{name}“{filename}”是文件，不是文件夹。",
    "{name} {filename!r} is a directory.": "{name}“{filename}”是文件夹，不是文件。",
    "{name} {filename!r} is not readable.": "{name}“{filename}”无法读取。",
    "{name} {filename!r} is not writable.": "{name}“{filename}”无法写入。",
    "{name} {filename!r} is not executable.": "{name}“{filename}”无法执行。",
    "Could not open file {filename!r}: {message}": "无法打开文件“{filename}”：{message}",
    "unknown error": "未知错误",
    "Aborted!": "已中止。",
    "deprecated": "已弃用",
    "required": "必填",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不再询问，直接确认。",
    "Repeat for confirmation": "再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Error: invalid input": "错误：输入无效",
    "Press any key to continue...": "按任意键继续……",
    "d": "天",  # a progress bar's days left: "1天 03:00:00"
    "{editor}: Editing failed": "{editor}：编辑失败",
    "{editor}: Editing failed: {e}": "{editor}：编辑失败：{e}",
    "Windows error: {error}": "Windows 错误：{error}",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}": (
        "弃用提示：命令“{name}”已弃用。{extra_message}"
    ),
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}": (
        "弃用提示：{param_type}“{name}”已弃用。{extra_message}"
    ),
    "Shell completion is not supported for Bash versions older than 4.4.": (
        "Bash 4.4 以前的版本不支持命令补全。"
    ),
    "Couldn't detect Bash version, shell completion is not supported.": (
        "无法识别 Bash 版本，不支持命令补全。"
    ),
    # Mistakes in the program's own declarations: only its developers see them.
    "Invalid start character for option ({option})": "选项开头的字符无效（{option}）",
    "Name '{name}' defined twice": "名称“{name}”定义了两次",
    "Boolean option {decl!r} cannot use the same flag for true/false.": (
        "是/否选项“{decl}”的“是”和“否”不能用同一个写法。"
    ),
    "Could not determine name for option with declarations {decls!r}": (
        "无法从声明 {decls!r} 确定选项名称"
    ),
    "No options defined but a name was passed ({name}). Did you mean to declare an argument "
    "instead? Did you mean to pass '--{name}'?": (
        "没有定义选项却给了名称（{name}）：是要声明参数，还是要写成“--{name}”？"
    ),
    "Arguments take exactly one parameter declaration, got {length}: {decls}.": (
        "参数只能有一个声明，现有 {length} 个：{decls}。"
    ),
    "Unknown standard stream '{name}'": "未知的标准流“{name}”",
    "Unknown color {colour!r}": "未知的颜色“{colour}”",
}
"""Click's message → the Chinese template printed instead."""

PLURALS: dict[tuple[str, str], str] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"): (
        "多余的参数（{args}）"
    ),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."): (
        "需要 {nargs} 个值，只给了 {len} 个。"
    ),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"): (
        "（是不是要输入 {possibilities}？）"
    ),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."): (
        "选项“{name}”后面要写取值。"
    ),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."): (
        "“{value}”不是可选的值，可选：{choices}。"
    ),
    (
        "{value!r} does not match the format {format}.",
        "{value!r} does not match the formats {formats}.",
    ): "“{value}”不符合格式 {format}{formats}。",
    (
        "{len_type} values are required, but {len_value} was given.",
        "{len_type} values are required, but {len_value} were given.",
    ): "需要 {len_type} 个值，给了 {len_value} 个。",
}
"""Click's (singular, plural) message → one Chinese template: Chinese has no plural form.

Click passes the names of both forms to either, so one template can use any of them; a name
it did not pass is left empty rather than failing the message.
"""

MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.shell_completion",
    "click.termui",
    "click.types",
    "click.utils",
    "click._termui_impl",
)
"""Click's modules that print marked messages (`_winconsole` is only on Windows)."""


class _Template(str):
    """A translated template whose `format` leaves out a name click did not pass."""

    __slots__ = ()

    def format(self, *args: object, **kwargs: object) -> str:
        """Fill the template; a name click did not pass becomes empty."""
        return str.format(self, *args) if args else str.format_map(self, _Lenient(kwargs))


class _Lenient(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return ""


def gettext(message: str) -> str:
    """Click's message in Chinese (the message itself when it has no translation)."""
    found = WORDS.get(message)
    return message if found is None else _Template(found)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Click's counted message in Chinese (click's own form when it has no translation)."""
    found = PLURALS.get((singular, plural))
    if found is None:
        return singular if n == 1 else plural
    return _Template(found)


def install() -> None:
    """Give click's modules the Chinese lookups (idempotent; before commands are declared,
    so the default help of `--version` is translated too)."""
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # pragma: no cover - a click without that module
            continue
        _bind(module, "_", gettext)
        _bind(module, "ngettext", ngettext)


def _bind(module: object, name: str, lookup: Callable[..., str]) -> None:
    if hasattr(module, name):
        setattr(module, name, lookup)
