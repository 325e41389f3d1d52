"""The import screen's parts: its messages, the workbook picker, the summary line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.message import Message
from textual.widgets import DirectoryTree

from callqueue.ledger.service import ImportReport

PROBLEM_LIMIT = 300  # a table page; the rejects workbook and `import --json` hold the rest
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods"})
PROBLEM_COLUMNS = (  # key, label, width
    ("mark", "", 1),
    ("sheet", "工作表", 14),
    ("row", "行", 6),
    ("column", "列", 12),
    ("value", "值", 20),
    ("message", "说明", 56),
)


@dataclass
class SectionsRead(Message):
    """The section names were read, for sheets that do not name one."""

    names: list[str]


@dataclass
class ImportProgressed(Message):
    """A stage of the import moved on: `done` of `total` (读取 / 检查 / 写入)."""

    stage: str
    done: int
    total: int


@dataclass
class ImportDone(Message):
    """A dry run or an import finished; `report` says how every row ended."""

    report: ImportReport
    path: Path
    section: str | None


@dataclass
class ImportCancelled(Message):
    """Staff cancelled the dry run or import; it was rolled back."""

    dry_run: bool


@dataclass
class ImportFailed(Message):
    """The workbook could not be read or the import failed; nothing was written."""

    message: str


class WorkbookTree(DirectoryTree):
    """A directory tree that shows folders and workbooks only."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Hide dot files and anything that is not a folder or a workbook."""
        return [
            p
            for p in paths
            if not p.name.startswith(".") and (p.suffix.lower() in WORKBOOK_SUFFIXES or p.is_dir())
        ]


def summary(report: ImportReport) -> Text:
    """The counts in one line, as the CLI prints them."""
    verb = "检查" if report.dry_run else "导入完成"
    line = Text(
        f"{verb}：数据行 {report.rows} 行 —— 新增 {report.imported}，更新 {report.updated}，"
        f"重复 {report.duplicates}，拒绝 {report.rejected}，提示 {report.warnings}"
    )
    if report.dry_run:
        line.append("\n试运行：没有写入任何内容。Ctrl+G 正式导入", style="bold")
    elif report.rejects_file:
        line.append("\n被拒绝的行已写入：", style="bold")
        line.append(report.rejects_file, style="bold underline")
        line.append("（改正后可直接重新导入）")
    return line
