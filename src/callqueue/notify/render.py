"""Email templates (Jinja2): the office's own folder first, then the defaults shipped here.

Each kind of email has three templates: `<kind>.subject.txt`, `<kind>.txt` (plain text) and
`<kind>.html`. A catalog item may have its own reminder: `reminder-<序号>.txt` and so on, each
file falling back to the default on its own. Templates see the email's context (holder,
certificate, dates, place, phone, materials…) and the filters `cn_date` and `hm`.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from callqueue.clock import local
from callqueue.config import Settings, config_path
from callqueue.queue.script import cn_date

KINDS = ("reminder", "appointment", "cancellation")
PARTS = ("subject.txt", "txt", "html")
DATE_KEYS = ("issued_on", "expires_on", "apply_by", "window_opens_on", "today")
TIME_KEYS = ("starts_at", "ends_at")


class TemplateProblem(ValueError):
    """An office template that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Rendered:
    """An email's words: a one-line subject, plain text and HTML."""

    subject: str
    text: str
    html: str


def templates_dir(settings: Settings) -> Path:
    """The office's template folder: `templates_dir`, else `templates/` beside the settings."""
    explicit = settings.templates_dir.strip()
    return Path(explicit) if explicit else config_path().parent / "templates"


def default_templates() -> Path:
    """The shipped templates, to copy into the office's folder and edit."""
    return Path(__file__).parent / "templates"


@lru_cache(maxsize=4)
def _environment(folder: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                # utf-8-sig: Notepad's "UTF-8 with BOM" would put U+FEFF in front of the subject.
                jinja2.FileSystemLoader(folder, encoding="utf-8-sig"),
                jinja2.FileSystemLoader(str(default_templates())),
            ]
        ),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=False,
        auto_reload=True,
    )
    env.filters["cn_date"] = _cn_date
    env.filters["hm"] = lambda moment: f"{moment:%H:%M}"
    return env


def _cn_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return cn_date(value.date() if isinstance(value, datetime) else value)


def _values(context: dict[str, Any]) -> dict[str, Any]:
    """The stored context with its ISO dates and times turned back into dates and times."""
    values = dict(context)
    for key in DATE_KEYS:
        if isinstance(values.get(key), str):
            values[key] = date.fromisoformat(values[key])
    for key in TIME_KEYS:
        if isinstance(values.get(key), str):
            values[key] = local(datetime.fromisoformat(values[key]))
    return values


def _line_of(exc: Exception, template: jinja2.Template) -> str:
    """` 第 N 行` of the template where `exc` was raised (Jinja2 maps its frames to lines)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == template.filename]
    return f" 第 {frames[-1].lineno} 行" if frames else " "


def render(kind: str, context: dict[str, Any], *, folder: Path, seq: int | None = None) -> Rendered:
    """Fill the templates of one kind of email.

    Args:
        kind: `reminder`, `appointment` or `cancellation`.
        context: the facts queued with the email (ISO strings for dates and times).
        folder: the office's template folder (may not exist: then the defaults are used).
        seq: the catalog item's 序号, for its own reminder templates.

    Returns:
        Subject (one line), plain text and HTML.

    Raises:
        TemplateProblem: a template with a syntax error or a name the context does not have.
    """
    env = _environment(str(folder))
    values = _values(context)
    parts: list[str] = []
    for part in PARTS:
        names = [f"{kind}-{seq}.{part}"] if seq is not None else []
        names.append(f"{kind}.{part}")
        try:
            template = env.select_template(names)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(
                f"邮件模板 {exc.filename or exc.name} 第 {exc.lineno} 行有误：{exc.message}"
            ) from None
        except jinja2.TemplatesNotFound:
            raise TemplateProblem(f"找不到邮件模板 {names[-1]}（{folder}）") from None
        except UnicodeDecodeError:
            found = next((folder / n for n in names if (folder / n).is_file()), folder / names[-1])
            raise TemplateProblem(
                f"邮件模板 {found} 不是 UTF-8 编码：请用记事本打开，“另存为”时编码选 UTF-8"
            ) from None
        if part == "html":
            values["subject"] = parts[0]
        try:
            parts.append(template.render(**values))
        except jinja2.UndefinedError as exc:
            raise TemplateProblem(
                f"邮件模板 {template.filename or template.name} 用到了不存在的字段："
                f"{exc.message}；可用字段：{'、'.join(sorted(values))}"
            ) from None
        except jinja2.TemplateError as exc:
            raise TemplateProblem(
                f"邮件模板 {template.filename or template.name} 无法填写：{exc}"
            ) from None
        except Exception as exc:  # an expression the office wrote fails on these values
            raise TemplateProblem(
                f"邮件模板 {template.filename or template.name}{_line_of(exc, template)}无法填写："
                f"{type(exc).__name__}: {exc}"
            ) from None
    subject = " ".join(parts[0].split())
    return Rendered(subject=subject, text=parts[1].strip() + "\n", html=parts[2])
