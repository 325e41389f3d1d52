"""Workbook → raw rows: find each sheet's ledger table (附件2) and hand over every row with its number."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import operator
import re
import threading
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import python_calamine as calamine

COLUMNS: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "holder": (
        "单位(个人)名称",
        "单位名称",
        "持证单位",
        "持证单位名称",
        "企业名称",
        "单位(个人)",
        "持证人",
        "申请人",
    ),
    "certificate": ("许可证书名称", "证书名称", "许可证名称", "证照名称"),
    "number": ("证书编号", "许可证号", "证号", "编号"),
    "issued_on": ("颁发日期", "发证日期", "颁证日期", "核发日期", "发证时间", "颁发时间"),
    "expires_on": (
        "期满日期",
        "到期日期",
        "到期时间",
        "到期日",
        "期满时间",
        "届满日期",
        "届满时间",
        "有效期至",
        "有效期到",
        "有效期止",
        "有效期截至",
        "有效期截止日期",
        "有效期截止时间",
        "有效期截止",
        "有效期结束日期",
        "有效期结束",
        "有效期满日期",
        "有效日期至",
        "有效截止日期",
        "截止日期",
        "有效期限至",
        "有效期限止",
        "有效期限截止",
        "有效期限截止日期",
        "失效日期",
    ),
    "contact_name": ("联系人",),
    "contact": (
        "联系方式",
        "联系电话",
        "电话",
        "手机",
        "手机号码",
        "联系人电话",
        "办公电话",
        "固定电话",
        "座机",
    ),
    "email": ("电子邮箱", "邮箱", "电子邮件", "email", "e-mail"),
    "reminded_on": ("提醒日期",),
    "method": ("提醒方式",),
    "reminder": ("提醒人",),
    "note": ("备注",),
}

REPEATED_HEADER = "重复的表头"
NOTE_ROW = "说明行"
SECTION_ROW = "科室名称行"
SEQ_ONLY = "只有序号的空行"
_BLANK = ""

_KEY_OF = {text: key for key, texts in COLUMNS.items() for text in texts}
# Raw spellings a repeated header's holder cell may have; the full check normalises.
_HOLDER_HEADERS: frozenset[object] = frozenset(
    {*COLUMNS["holder"], "单位（个人）名称", "单位（个人）"}
)
_FOLD = str.maketrans(
    {"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")", "\u200b": None, "\ufeff": None}
    | {chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)}
)
HEADER_SCAN = 30  # rows searched for the header
_SECTION = re.compile(r"科室(?:名称)?\s*(?:[:：]\s*(.*))?", re.DOTALL)
# "注" alone would catch holders such as 注塑厂, so it needs a separator or 意/释 after it.
_NOTE = re.compile(
    r"注(?:$|[:：\d\s.、(（意释])|备注|说明|填表|制表|审核|负责人|合计|总计|以下空白|联系人\s*[:：]|科室"
)
# Keys whose cells add up when a sheet has several columns of them (电话 and 手机); any other
# key repeated is read from its first column, and the others are reported.
_JOINED = frozenset({"contact", "email"})
_REMARK = re.compile(r"\(.*?\)")
_OWNER = re.compile(r"^(?:证书|许可证书?|证照)")
# Headers that name the expiry only when nothing else does: "有效期" may also hold "5年".
_WEAK_EXPIRES = frozenset({"有效期", "有效期限", "证书有效期"})
_TOTAL = re.compile(r"[合总小共]\s*计\s*[:：]?")
# A footer's first cell: who filled the form in or checked it, a phone to ask, a note
# (填报单位：…, 审核人：…, 联系电话：, 说明). Unlike _NOTE it must be a whole label, so that
# 合计贸易有限公司 or 说明书印刷厂 stays a holder.
_FOOTER = re.compile(
    r"(?:(?:填报|填表|制表|审核|复核|审批|统计|经办|报送)(?:单位|科室|人|日期|时间)?"
    r"|(?:单位|科室|部门)?负责人|(?:分管|主管)领导|联系人|联系电话|电话|日期)\s*[:：].*"
    r"|(?:说明|备注|填表说明)(?:\s*[:：].*)?|注\s*(?:[:：\d].*)?",
    re.DOTALL,
)
# The cells whose emptiness decides a row's fate (see _read_sheet's `deciding`).
_DECIDING = ("holder", "certificate", "issued_on", "expires_on", "contact", "email")
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row of a ledger sheet, its cells keyed by canonical column."""

    sheet: str
    row: int
    values: dict[str, object]
    # Keys whose cell is a formula the file holds no result of (a workbook written by a
    # program, not saved by Excel or WPS): read as empty, but not empty.
    uncomputed: tuple[str, ...] = ()
    # The section a 科室名称 row under the header names for the rows below it (a sheet that
    # stacks several sections' tables); None: the sheet's own.
    section: str | None = None
    # (key, error value such as "#REF!") of the cells holding an Excel error value: read as
    # empty too (python-calamine reads error cells as empty), but not empty.
    errors: tuple[tuple[str, str], ...] = ()


@dataclass
class SheetTable:
    """One sheet: where its ledger header is, the rows under it and the rows set aside."""

    sheet: str
    header_row: int | None = None
    columns: dict[str, int] = field(default_factory=dict)
    extra_headers: list[str] = field(default_factory=list)
    duplicate_headers: list[str] = field(default_factory=list)
    section: str | None = None
    rows: list[RawRow] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    hidden: bool = False
    # A visible worksheet with content but no ledger header where the reader looks for one:
    # not read, and the report says so (it may be a ledger whose header was not recognised).
    no_header: bool = False
    # Read lazily (`read_workbook(lazy=True)`): the rows not yet read, and how many at most.
    pending: Iterator[RawRow] | None = field(default=None, repr=False, compare=False)
    expected_rows: int = 0

    # Read ahead (`read_workbook(lazy=True)`): the sheet, being parsed in another thread.
    later: Future[SheetTable] | None = field(default=None, repr=False, compare=False)

    def data_rows(self) -> Iterator[RawRow]:
        """The data rows: those read, then (once) those still pending."""
        yield from self.rows
        pending, self.pending = self.pending, None
        if pending is not None:
            yield from pending

    def ready(self) -> SheetTable:
        """Wait for a sheet read ahead and take its header, section and rows; then `self`.

        Raises:
            UnreadableWorkbook: the sheet's content is broken.
        """
        later, self.later = self.later, None
        if later is not None:
            read = later.result()
            for f in dataclasses.fields(self):
                if f.name not in ("sheet", "hidden", "later", "expected_rows"):
                    setattr(self, f.name, getattr(read, f.name))
        return self


@dataclass
class LedgerWorkbook:
    """A read workbook: its identity and one table per sheet, in workbook order."""

    path: Path
    sha256: str
    tables: list[SheetTable]


class UnreadableWorkbook(Exception):
    """The file is not a spreadsheet this reader can open; the message says why, in Chinese."""


def normalise_header(text: str) -> str:
    """Fold a header cell's text so that spelling variants compare equal.

    Args:
        text: The header cell as written.

    Returns:
        NFKC text without whitespace, brackets as `()`, no trailing colon, ASCII lower-cased.
    """
    folded = "".join(unicodedata.normalize("NFKC", text).split()).translate(_FOLD)
    return folded.rstrip(":").lstrip("*")


def read_workbook(path: Path, *, lazy: bool = False) -> LedgerWorkbook:
    """Read every visible sheet of a ledger workbook into raw rows.

    Args:
        path: The .xlsx (or .xls/.ods) file.
        lazy: find each sheet's header and section now but turn its rows into RawRows only as
            `SheetTable.data_rows` is iterated (`rows` stays empty; `expected_rows` bounds
            their count), so the first rows can be checked while the rest are still cells.

    Returns:
        The workbook's sha256 and one `SheetTable` per sheet, hidden sheets marked and unread.

    Raises:
        UnreadableWorkbook: The file is missing, empty, encrypted, corrupt or not a workbook.
    """
    path = Path(path)
    if path.is_dir():
        raise _unreadable(path, "这是一个文件夹，不是 Excel 文件")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _unreadable(path, "文件不存在") from None
    except PermissionError:
        raise _unreadable(path, "没有读取该文件的权限") from None
    except OSError as exc:
        raise _unreadable(path, "读取文件时出错") from exc
    if not data:
        raise _unreadable(path, "文件为空")
    try:
        # From the bytes already read: the content, not the name, decides the format (an .xlsx
        # renamed .xls opens), and the hash describes exactly what was parsed.
        with calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
            tables = _read_tables(book, path, data, lazy)
    except UnreadableWorkbook:
        raise
    except calamine.PasswordError as exc:
        raise _unreadable(path, "文件已加密，请取消密码保护后再导入") from exc
    except BaseException as exc:
        # pyo3 reports a Rust panic as PanicException, which derives from BaseException.
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        if data.startswith(_CFB_MAGIC) and _ENCRYPTED_STREAM in data:
            raise _unreadable(path, "文件已加密，请取消密码保护后再导入") from exc
        if isinstance(exc, calamine.CalamineError | OSError):
            raise _unreadable(path, "不是有效的 Excel 工作簿，可能已损坏") from exc
        raise _unreadable(path, "文件内容无法解析，可能已损坏") from exc
    return LedgerWorkbook(path=path, sha256=hashlib.sha256(data).hexdigest(), tables=tables)


def _unreadable(path: Path, cause: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(f"无法读取“{path.name or path}”：{cause}。")


def _read_tables(
    book: calamine.CalamineWorkbook, path: Path, data: bytes, lazy: bool
) -> list[SheetTable]:
    """One table per sheet. Lazily, the sheets after the first worksheet are parsed in another
    thread while the first one's rows are checked: calamine parses without the GIL, and parsing
    every sheet first kept the first rows waiting (0.6 s of a 100,000-row workbook's 3.8 s
    import)."""
    metas = book.sheets_metadata
    if not metas:
        raise _unreadable(path, "工作簿中没有工作表")
    tables: list[SheetTable] = []
    later: list[tuple[int, SheetTable]] = []
    first: SheetTable | None = None
    sizes = _sheet_sizes(data) if lazy else {}
    unread = _UnreadCells(data)
    for index, meta in enumerate(metas):
        if meta.visible != calamine.SheetVisibleEnum.Visible:
            tables.append(SheetTable(sheet=meta.name, hidden=True))
        elif meta.typ != calamine.SheetTypeEnum.WorkSheet:
            tables.append(SheetTable(sheet=meta.name))
        elif first is not None and meta.name in sizes and sizes.get(first.sheet):
            # About as many rows per byte of sheet XML as the first sheet: a guess, for the
            # progress bar and the writer's choice of keeping or rebuilding indexes.
            rows = round(sizes[meta.name] * first.expected_rows / sizes[first.sheet])
            tables.append(SheetTable(sheet=meta.name, expected_rows=rows))
            later.append((index, tables[-1]))
        else:
            tables.append(_read_sheet(_sheet(book, index, meta.name, path), lazy, unread))
            first = first or tables[-1]
    if later:
        _read_ahead(data, path, later, unread)
    return tables


def _sheet(
    book: calamine.CalamineWorkbook, index: int, name: str, path: Path
) -> calamine.CalamineSheet:
    try:
        return book.get_sheet_by_index(index)
    except calamine.CalamineError as exc:
        raise _unreadable(path, f"工作表“{name}”的内容已损坏") from exc


def _read_ahead(
    data: bytes, path: Path, tables: list[tuple[int, SheetTable]], unread: _UnreadCells
) -> None:
    """Parse `tables`' sheets one after another in a thread of their own (its own workbook:
    calamine's cannot be shared between threads); each table's `ready` waits for its sheet."""
    futures: list[Future[SheetTable]] = [Future() for _ in tables]
    for (_, table), future in zip(tables, futures, strict=True):
        table.later = future

    def parse() -> None:
        done = 0
        try:
            with calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
                for index, table in tables:
                    futures[done].set_result(
                        _read_sheet(_sheet(book, index, table.sheet, path), True, unread)
                    )
                    done += 1
        except BaseException as exc:
            # What `read_workbook` says of a sheet it cannot parse (a Rust panic included);
            # the sheets after it are not read either: the import stops at this one.
            if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
                raise
            broken = _unreadable(path, f"工作表“{tables[done][1].sheet}”的内容已损坏")
            for future in futures[done:]:
                future.set_exception(broken)

    threading.Thread(target=parse, name="callqueue-sheet-reader", daemon=True).start()


_WORKBOOK_XML_MAX = 1_000_000  # a workbook.xml names sheets: a few KB even with hundreds
_OFFICE_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _sheet_sizes(data: bytes) -> dict[str, int]:
    """Each worksheet's name → the size of its XML in an .xlsx; empty for any other file."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            sizes = {i.filename: i.file_size for i in package.infolist()}
            return {name: sizes[part] for name, part in _sheet_parts(package).items()}
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError):
        return {}


def _sheet_parts(package: zipfile.ZipFile) -> dict[str, str]:
    """Each worksheet's name → its XML part in an .xlsx package.

    Raises:
        KeyError, ElementTree.ParseError: not the package of a workbook this can read.
    """
    if package.getinfo("xl/workbook.xml").file_size > _WORKBOOK_XML_MAX:
        return {}  # not a ledger's; not worth parsing
    workbook = ElementTree.fromstring(package.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    targets = {
        r.get("Id"): str(r.get("Target", "")).lstrip("/").removeprefix("xl/")
        for r in rels.iter(f"{_PACKAGE_REL}Relationship")
    }
    return {
        str(sheet.get("name")): f"xl/{targets[sheet.get(_OFFICE_REL)]}"
        for sheet in workbook.iter(f"{_MAIN}sheet")
    }


_NS = rb"(?:[A-Za-z_][\w.-]*:)?"  # an XML namespace prefix, if the writer used one
_FORMULA = re.compile(rb"<" + _NS + rb"f[\s/>]")
_CELL_REF = re.compile(rb"<" + _NS + rb"c\s[^>]*?\br=\"([A-Z]{1,3})([0-9]+)\"")
_CELL_END = re.compile(rb"</" + _NS + rb"c>")
_SAVED_VALUE = re.compile(rb"<" + _NS + rb"v>\s*[^<\s]")
# A cell's type attribute saying it holds an error value (t="e"), and that value.
_ERROR_MARK = b't="e"'  # as every writer spells it (and _CELL_REF expects double quotes)
_ERROR_TYPE = re.compile(rb"\s" + _ERROR_MARK)
_ERROR_VALUE = re.compile(rb"<" + _NS + rb"v>\s*([^<\s]+)")
# A cell whose value calamine reads as empty though the file holds something: a formula
# without a saved result (None), or an Excel error value ("#REF!", "#N/A", ...).
Unread = dict[tuple[int, int], "str | None"]


def _may_hide(package: zipfile.ZipFile, part: str) -> bool:
    """Whether a sheet's XML may hold a formula (some cell in a sheet with formulas has </f>
    or </x:f>) or an error value (t="e"). Read a megabyte at a time: the whole XML of a
    large sheet is tens of MB."""
    tail = b""
    with package.open(part) as stream:
        while chunk := stream.read(1 << 20):
            seam = tail + chunk[:4]  # a mark may span two chunks
            if b"f>" in chunk or _ERROR_MARK in chunk or b"f>" in seam or _ERROR_MARK in seam:
                return True
            tail = chunk[-4:]
    return False


def _column(letters: bytes) -> int:
    """The 0-based column of a cell reference's letters (b"A" -> 0)."""
    column = 0
    for letter in letters:
        column = column * 26 + letter - 64
    return column - 1


class _UnreadCells:
    """The cells of an .xlsx that read as empty but are not, found per sheet on demand: those
    holding a formula but no saved result, and those holding an error value.

    Excel and WPS save each formula's result, which is what calamine reads; a workbook written
    by a program (openpyxl, a business system's export) may hold the formula alone, and its
    cell then reads as empty. A cell showing an error (#REF!, #N/A, ...: t="e" in the XML)
    reads as empty too (python-calamine issue #105). Only a sheet whose row lacks a cell that
    decides the row's fate is searched (the search decompresses the sheet's XML again: 0.12 s
    for the 54 MB of 100,000 rows of inline strings).
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._parts: dict[str, str] | None = None
        self._found: dict[str, Unread] = {}

    def cells(self, sheet: str) -> Unread:
        """(row, column), both 0-based, of `sheet`'s formulas without a saved result (None)
        and of its error values (the value, e.g. "#REF!")."""
        found = self._found.get(sheet)
        if found is None:
            found = self._found[sheet] = self._search(sheet)
        return found

    def _search(self, sheet: str) -> Unread:
        try:
            with zipfile.ZipFile(io.BytesIO(self._data)) as package:
                if self._parts is None:
                    self._parts = _sheet_parts(package)
                part = self._parts.get(sheet)
                if part is None or not _may_hide(package, part):
                    return {}
                xml = package.read(part)
        except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError, ValueError):
            return {}  # not an .xlsx (.xls and .ods always hold their results)
        cells: Unread = {}
        pos = 0
        while (formula := _FORMULA.search(xml, pos)) is not None:
            pos = formula.end()
            # <f> is a cell's first child: the tag just before it opens the cell.
            ref = _CELL_REF.match(xml, xml.rfind(b"<", 0, formula.start()))
            end = _CELL_END.search(xml, pos)
            stop = end.start() if end is not None else len(xml)
            if ref is not None and _SAVED_VALUE.search(xml, pos, stop) is None:
                cells[(int(ref[2]) - 1, _column(ref[1]))] = None
        pos = 0
        while (typed := _ERROR_TYPE.search(xml, pos)) is not None:
            pos = typed.end()
            # No "<" inside a tag: the last one before the attribute opens its element, which
            # is a cell only if _CELL_REF matches there (t="e" in a text is no cell's).
            ref = _CELL_REF.match(xml, xml.rfind(b"<", 0, typed.start()))
            if ref is None:
                continue
            end = _CELL_END.search(xml, pos)
            stop = end.start() if end is not None else len(xml)
            value = _ERROR_VALUE.search(xml, pos, stop)
            text = value[1].decode("utf-8", "replace") if value is not None else ""
            cells[(int(ref[2]) - 1, _column(ref[1]))] = text
        return cells


def _header_key(value: object) -> str | None:
    """The column a header cell names: its text as known, or without a bracketed remark
    (期满日期（有效期至）) or a leading 证书/许可证 (证书有效期至)."""
    if not isinstance(value, str) or not value:
        return None
    text = normalise_header(value)
    key = _KEY_OF.get(text)
    if key is None and text:
        key = _KEY_OF.get(_REMARK.sub("", text).rstrip(":")) or _KEY_OF.get(_OWNER.sub("", text))
    return key


def _joined(cells: list[object]) -> object:
    """The cells of one key's columns as one cell: the only one given, or their texts joined
    (a number as its digits: phones are often stored as numbers)."""
    given = [c for c in cells if c is not None and not (isinstance(c, str) and not c.strip())]
    if len(given) <= 1:
        return given[0] if given else None
    texts = [
        str(int(c)) if isinstance(c, float) and c.is_integer() else str(c).strip() for c in given
    ]
    return "、".join(texts)


def _is_weak_expiry(value: object) -> bool:
    return isinstance(value, str) and normalise_header(value) in _WEAK_EXPIRES


def _is_note(value: object) -> bool:
    return isinstance(value, str) and _NOTE.match(value) is not None


def _is_total(value: object) -> bool:
    """A totals row's label (合计, 总 计：, 小计…); what follows it is counts, not a licence."""
    return isinstance(value, str) and _TOTAL.fullmatch(value) is not None


def _is_footer(value: object) -> bool:
    return isinstance(value, str) and _FOOTER.fullmatch(value) is not None


def _find_header(rows: Sequence[list[object]]) -> tuple[int, list[str | None]] | None:
    for index, row in enumerate(rows):
        keys = [_header_key(value) for value in row]
        found = set(keys) - {None}
        if len(found) >= 3 and "holder" in found and found & {"certificate", "expires_on"}:
            return index, keys
    return None


def _sub_header(
    top: list[object], below: list[object], keys: list[str | None], grouped: set[int]
) -> list[str | None] | None:
    """The columns named by a second header row (WPS: 证书有效期 merged across two columns over
    颁发日期 | 期满日期, the other headers merged down over both rows), or None when `below`
    is not one: each of its cells must name a column and sit under a header cell merged
    across it (`grouped`), a blank one or one that names no column."""
    named = [(col, value) for col, value in enumerate(below) if value != ""]
    if not named or len(below) > len(top):
        return None
    sub = list(keys)
    for col, value in named:
        key = _header_key(value)
        if key is None and not _is_weak_expiry(value):
            return None
        if not (col in grouped or top[col] == "" or keys[col] is None):
            return None
        sub[col] = key
    return sub


def _find_section(rows: Sequence[list[object]]) -> str | None:
    section = None
    for row in rows:
        for col, value in enumerate(row):
            match = _SECTION.fullmatch(value) if isinstance(value, str) else None
            if match is None:
                continue
            rest = (match.group(1) or "").strip()
            if not rest:
                right = next((v for v in row[col + 1 :] if v != ""), "")
                # A neighbour such as 填报日期：… is another label, not the section.
                rest = right if isinstance(right, str) and not re.search("[:：]", right) else ""
            section = rest or None
    return section


def _read_sheet(sheet: calamine.CalamineSheet, lazy: bool, unread: _UnreadCells) -> SheetTable:
    table = SheetTable(sheet=sheet.name)
    start = sheet.start
    if start is None:  # an empty sheet; calamine's row iterator cannot start on it
        return table
    col0, width = start[1], sheet.width
    # Merge coordinates are absolute and 0-based; cell lists start at column `col0`.
    wide: set[tuple[int, int]] = set()
    across: dict[int, list[tuple[int, int]]] = {}  # merges over two columns or more, near the top
    down: dict[int, list[tuple[int, int]]] = {}
    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []:
        if c1 - c0 >= 2:
            wide.add((r0, c0 - col0))
        if c1 > c0 and r0 < HEADER_SCAN:
            across.setdefault(r0, []).append((c0 - col0, c1 - col0))
        if r1 > r0 and col0 <= c0 < col0 + width:
            down.setdefault(r0, []).append((c0 - col0, r1))

    # iter_rows pads the rows above the data, so the n-th row it yields is spreadsheet row n.
    rows = sheet.iter_rows()
    head = list(itertools.islice(rows, HEADER_SCAN))
    scan = [_strip(row) for row in head]
    for r0, spans in down.items():
        for col, r1 in spans:
            for r in range(r0 + 1, min(r1 + 1, len(scan))):
                scan[r][col] = scan[r0][col]
    found = _find_header(scan)
    if found is None:
        table.no_header = any(value != "" for row in scan for value in row)
        return table
    header, keys = found
    texts = scan[header]
    first = header + 1  # the first row under the header
    if first < len(head):
        below = _strip(head[first])
        grouped = {c for c0, c1 in across.get(header, ()) for c in range(c0, c1 + 1)}
        sub = _sub_header(texts, below, keys, grouped)
        if sub is not None:
            # A two-level header: the second row's names are the more specific ones.
            keys = sub
            texts = [b if b != "" else t for t, b in zip(texts, below, strict=False)]
            texts += scan[header][len(texts) :]
            first += 1
    table.header_row = first
    table.section = _find_section(scan[:header])
    picks: dict[str, int] = {}
    joined: dict[str, list[int]] = {}  # more columns of a key whose cells add up (电话, 手机)
    if "expires_on" not in keys:
        weak = [c for c, t in enumerate(texts) if _is_weak_expiry(t) and keys[c] is None]
        if weak:
            keys = list(keys)
            keys[weak[0]] = "expires_on"
    for col, (key, text) in enumerate(zip(keys, texts, strict=True)):
        if key is None:
            if text != "":
                table.extra_headers.append(str(text))
        elif key in picks and key in _JOINED:
            joined.setdefault(key, []).append(col)
        elif key in picks:
            table.duplicate_headers.append(str(text))
        else:
            picks[key] = col
    table.columns = {key: col + col0 for key, col in picks.items()}

    names, cols = tuple(picks), list(picks.values())
    take, size = operator.itemgetter(*cols), len(cols)
    narrow = size == width  # every column is mapped: no other cell can hold content
    position = {col: pos for pos, col in enumerate(cols)}
    holder, seq = names.index("holder"), picks.get("seq")
    header_holders = _HOLDER_HEADERS | {texts[cols[holder]]}
    spread = {
        r0: [(position[c], r1) for c, r1 in spans if c in position] for r0, spans in down.items()
    }
    skipped, name = table.skipped, sheet.name
    joins = [(names.index(key), more) for key, more in joined.items()]
    # The cells that make a row a licence whatever else it holds: holder, certificate, dates.
    essential = (
        picks["holder"],
        picks.get("certificate"),
        tuple(picks[k] for k in ("issued_on", "expires_on") if k in picks),
    )
    # Positions of the cells whose emptiness rejects a row, has its expiry worked out or its
    # contact flagged for repair: such a cell read as empty may hold what calamine cannot read.
    deciding = [names.index(k) for k in _DECIDING if k in picks]

    def data_rows() -> Iterator[RawRow]:
        fills: dict[int, list[tuple[int, object]]] = {}
        section: str | None = None  # named by a 科室名称 row among the rows
        for r, raw in enumerate(itertools.chain(head[first:], rows), start=first):
            picked = take(raw)
            values = [(v.strip() or None) if isinstance(v, str) else v for v in picked]
            for pos, more in joins:
                values[pos] = _joined([values[pos], *(raw[c] for c in more)])
            own = size - values.count(None)
            # Counted before the merge fill: a row whose only content is a merged neighbour is blank.
            filled = own if narrow else own + len(raw) - raw.count("") - size + picked.count("")
            if fills and r in fills:
                for pos, value in fills.pop(r):
                    values[pos] = value
            if filled <= 4 or not own:
                cells = _strip(raw)
                reason = _skip_reason(cells, r, wide, position, seq, essential)
                if reason == _BLANK:
                    continue
                if reason == NOTE_ROW and (named := _find_section([cells])) is not None:
                    section, reason = named, SECTION_ROW
                if reason is not None:
                    skipped.append((r + 1, reason))
                    continue
            if values[holder] in header_holders and _header_like(values, names):
                skipped.append((r + 1, REPEATED_HEADER))
                continue
            uncomputed: tuple[str, ...] = ()
            errors: tuple[tuple[str, str], ...] = ()
            if own < size and any(values[pos] is None for pos in deciding):
                found = unread.cells(name)
                if found:
                    held = [
                        (key, found[(r, col + col0)])
                        for key, col, value in zip(names, cols, values)  # noqa: B905
                        if value is None and (r, col + col0) in found
                    ]
                    uncomputed = tuple(key for key, error in held if error is None)
                    errors = tuple((key, error) for key, error in held if error is not None)
            # Same length by construction; strict=True would cost a tenth of the whole read,
            # and even strict=False, as a keyword, half a microsecond a row.
            values_of = dict(zip(names, values))  # noqa: B905
            yield RawRow(name, r + 1, values_of, uncomputed, section, errors)
            for pos, r1 in spread.get(r, ()):
                if values[pos] is not None:
                    for below in range(r + 1, r1 + 1):
                        fills.setdefault(below, []).append((pos, values[pos]))

    if lazy:
        table.pending = data_rows()
        table.expected_rows = max(0, start[0] + sheet.height - first)
    else:
        table.rows = list(data_rows())
        table.expected_rows = len(table.rows)
    return table


def _skip_reason(
    cells: list[object],
    r: int,
    wide: set[tuple[int, int]],
    mapped: dict[int, int],
    seq: int | None,
    essential: tuple[int, int | None, tuple[int, ...]],
) -> str | None:
    present = [(col, v) for col, v in enumerate(cells) if v != ""]
    if not present:
        return _BLANK
    if len(present) == 1:
        col, value = present[0]
        if (r, col) in wide or col not in mapped or _is_note(value):
            return NOTE_ROW
        if col == seq and _is_number(value):
            return SEQ_ONLY
    else:
        first = present[0][1]
        if _is_total(first) or all(_is_note(v) for _, v in present):
            return NOTE_ROW
        if _is_footer(first) and not _names_a_licence(cells, essential):
            return NOTE_ROW
    return None


def _names_a_licence(
    cells: list[object], essential: tuple[int, int | None, tuple[int, ...]]
) -> bool:
    """Whether two of a holder, a certificate and a date are given (not as footer labels):
    such a row is data, and is checked as such, whatever its first cell says."""
    holder, certificate, dates = essential

    def given(col: int | None) -> bool:
        value = cells[col] if col is not None and col < len(cells) else ""
        return value != "" and not _is_footer(value)

    return given(holder) + given(certificate) + any(given(c) for c in dates) >= 2


def _strip(row: list[Any]) -> list[object]:
    return [v.strip() if isinstance(v, str) else v for v in row]


def _header_like(values: list[object], names: tuple[str, ...]) -> bool:
    return sum(_header_key(v) == key for key, v in zip(names, values, strict=True)) >= 3


def _is_number(value: object) -> bool:
    if isinstance(value, str):
        return value.isdigit()
    return isinstance(value, int | float) and not isinstance(value, bool)
