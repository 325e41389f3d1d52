"""Check raw ledger rows: each becomes a valid row or a rejected one, with every problem said."""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

from callqueue.catalog import CatalogEntry, name_key
from callqueue.ledger.dates import DateParseError, read_date
from callqueue.ledger.phones import ContactInfo, Phone, mask_phone, read_contact
from callqueue.ledger.read import (
    HEADER_SCAN,
    NOTE_ROW,
    REPEATED_HEADER,
    SECTION_ROW,
    SEQ_ONLY,
    LedgerWorkbook,
    RawRow,
    SheetTable,
    UnreadableWorkbook,
)
from callqueue.models import Channel

HEADERS = {
    "seq": "序号",
    "holder": "单位（个人）名称",
    "certificate": "许可证书名称",
    "issued_on": "颁发日期",
    "expires_on": "期满日期",
    "contact_name": "联系人",
    "contact": "联系方式",
    "reminded_on": "提醒日期",
    "method": "提醒方式",
    "reminder": "提醒人",
    "number": "证书编号",
    "email": "电子邮箱",
    "note": "备注",
}
# The ten columns of the plan's 附件2, in its order.
ANNEX2_KEYS = (
    "seq",
    "holder",
    "certificate",
    "issued_on",
    "expires_on",
    "contact_name",
    "contact",
    "reminded_on",
    "method",
    "reminder",
)
ANNEX2_HEADERS = tuple(HEADERS[k] for k in ANNEX2_KEYS)
# Columns our own exports and rejects add; reading them back is not a problem.
EXPORT_EXTRA_HEADERS = ("申请换证时限", "计划提醒日期", "状态")
REASON_HEADER = "原因"
IGNORED_HEADERS = frozenset({REASON_HEADER, *EXPORT_EXTRA_HEADERS})
# An unrecognised header that may name the expiry (有效期止于, 证照到期年月): while a sheet has
# one, no expiry is worked out from the issue date, since the sheet may well give it.
_EXPIRY_LIKE = re.compile(r"期满|届满|到期|有效.*[止至截]|截止|失效")
_HEADER_NEEDS = "需含“单位（个人）名称”和“许可证书名称”或“期满日期”"
NO_HEADER_SHEET = (
    f"前{HEADER_SCAN}行中找不到台账表头（{_HEADER_NEEDS}），整张表未读取；"
    "如果这张表是台账，请把表头改为附件2的列名后重新导入"
)
_SKIPPED = {
    NOTE_ROW: "视为说明行，未导入",
    REPEATED_HEADER: "重复的表头，未导入",
    SECTION_ROW: "这是科室名称行，以下各行归入它注明的科室",
}
# A contact-name cell that may hold a phone or an email too (李四 13900139000).
_CONTACT_HINT = re.compile(r"[\d@]")
_NAME_SEPARATORS = re.compile(r"[,，、;；/|:：()（）\[\]<>《》\-—_]+")
_CHANNELS = {
    "电话": Channel.PHONE,
    "人工电话通知": Channel.PHONE,
    "电子邮件告知": Channel.EMAIL,
    "邮件": Channel.EMAIL,
    "电子邮件": Channel.EMAIL,
    "邮箱": Channel.EMAIL,
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a cell or a row; `severity` is error (row rejected) or warning."""

    sheet: str
    row: int | None
    column: str | None
    value: str | None
    severity: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """The report's problem object."""
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "severity": self.severity,
            "message": self.message,
        }


class ValidRow(NamedTuple):
    """A row ready to be written: clean values, the catalog item and section it belongs to.

    A tuple, in this field order: a large import hands its checked rows from the reading
    process to the writing one as plain tuples (ledger/pipeline.py), which the writer reads
    by position.
    """

    sheet: str
    row: int
    section: str
    holder: str
    holder_key: str
    item: CatalogEntry
    number: str
    issued_on: date | None
    expires_on: date
    expiry_computed: bool
    validity_years: int | None
    contact_name: str
    phones: tuple[Phone, ...]
    emails: tuple[str, ...]
    reminded_on: date | None
    reminded_by: str
    reminded_channel: str | None
    needs_repair: bool


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that cannot be imported, with its raw values and why."""

    sheet: str
    row: int
    section: str | None
    values: dict[str, object]
    reasons: tuple[str, ...]


@dataclass
class CheckResult:
    """Every data row of a workbook, each either valid or rejected, and all problems."""

    valid: list[ValidRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)  # sheet -> mapped keys

    @property
    def rows(self) -> int:
        """Data rows seen (valid + rejected)."""
        return len(self.valid) + len(self.rejected)


class _Catalog:
    """Catalog items looked up by normalised certificate name."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        # Active items first: a retired item's name finds it only when no active one has it.
        # Rows of a retired item are checked as any (the ledger may hold its certificates: an
        # export read back); the writer refuses only a new certificate of it.
        entries = sorted(entries, key=lambda e: not e.active)
        self.by_key: dict[str, CatalogEntry] = {}
        for e in entries:
            self.by_key.setdefault(name_key(e.certificate_name), e)
            self.by_key.setdefault(name_key(e.permit_item), e)
        self.names = sorted({e.certificate_name for e in entries if e.active})
        # A ledger spells its few certificate names over and over: look each spelling up once.
        self._found: dict[str, CatalogEntry | None] = {}
        self._suggested: dict[str, str | None] = {}

    def find(self, text: str) -> CatalogEntry | None:
        if text not in self._found:
            self._found[text] = self.by_key.get(name_key(text))
        return self._found[text]

    def suggest(self, text: str) -> str | None:
        if text not in self._suggested:
            hits = difflib.get_close_matches(text, self.names, n=1, cutoff=0.4)
            self._suggested[text] = hits[0] if hits else None
        return self._suggested[text]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# Control characters a worksheet cannot hold (text pasted from Word brings them, stored as
# `_x000B_` and the like): kept, they would make every later export of the ledger fail.
# openpyxl's ILLEGAL_CHARACTERS_RE is the same set (excel.put uses it); the reader does not
# load openpyxl.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


NO_CONTACT = "没有可用的电话或邮箱，导入后需补充联系方式"
UNCOMPUTED = (
    "是公式，但文件中没有保存它的计算结果（文件可能由其他程序生成），无法读取；"
    "请用 Excel 或 WPS 打开原文件、保存后重新导入"
)

_CONTACT_KEYS = frozenset({"contact", "email"})  # an unreadable one is said, the row imported


def _error_cell(column: str, error: str) -> str:
    """What a cell holding an Excel error value (#REF!, #N/A, ...) means for its row."""
    said = f"{HEADERS[column]}单元格是错误值{f' {error}' if error else ''}"
    if column in _CONTACT_KEYS:
        return f"{said}，未能读取；可在 Excel 或 WPS 中修正公式后重新导入"
    return f"{said}，请在 Excel 或 WPS 中修正公式后重新导入"


# The widest text each column keeps (models.py: Holder.name, Certificate.number, Contact.name).
# PostgreSQL refuses a longer value and the whole unit of work with it; SQLite would keep it.
LONGEST = {"holder": 200, "number": 64, "contact_name": 100}


def _stored(text: str) -> str:
    """`text` as the ledger keeps it: without control characters (tested first: rare)."""
    return text if text.isprintable() else _CONTROL.sub("", text).strip()


def _show(column: str, value: object) -> str:
    """A cell value as the report shows it: contact cells masked."""
    text = _text(value)
    return mask_phone(text) if column in ("contact", "contact_name") else text


def check_workbook(
    book: LedgerWorkbook,
    *,
    catalog: Iterable[CatalogEntry],
    sections: Iterable[str],
    section_option: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> CheckResult:
    """Turn every data row of `book` into a ValidRow or a RejectedRow.

    Args:
        book: from `read_workbook`.
        catalog: the active catalog entries.
        sections: names of the known sections.
        section_option: the section for sheets that do not name one (`--section`).
        progress: called with the count of rows checked so far, now and then.

    Returns:
        The rows and the problems, in sheet and row order.
    """
    result = CheckResult()
    done = 0
    for part in iter_checked(
        book, catalog=catalog, sections=sections, section_option=section_option
    ):
        result.valid += part.valid
        result.rejected += part.rejected
        result.problems += part.problems
        result.columns |= part.columns
        done += len(part.valid) + len(part.rejected)
        if progress is not None:
            progress(done)
    return result


def iter_checked(
    book: LedgerWorkbook,
    *,
    catalog: Iterable[CatalogEntry],
    sections: Iterable[str],
    section_option: str | None = None,
    chunk_rows: int = 2000,
) -> Iterator[CheckResult]:
    """`check_workbook` a part at a time: each part holds about `chunk_rows` data rows.

    Parts come in sheet and row order; put together they are what `check_workbook` returns.
    A sheet's own problems (its section, unknown columns) come with its first rows.

    Raises:
        UnreadableWorkbook: no visible sheet has a ledger header (not a ledger at all).
    """
    part = CheckResult()
    index = _Catalog(catalog)
    known = {name_key(s): s for s in sections}
    if section_option is not None and name_key(section_option) not in known:
        part.problems.append(
            Problem("", None, None, section_option, "error", f"科室“{section_option}”不存在")
        )
        section_option = None
    memo = _Memo()
    found = False
    for table in book.tables:
        # A sheet read ahead is waited for only now, after the sheets before it were checked.
        if table.hidden or table.ready().header_row is None:
            if table.no_header:
                part.problems.append(
                    Problem(table.sheet, None, None, None, "warning", NO_HEADER_SHEET)
                )
            continue
        found = True
        section = _sheet_section(table, known, section_option, part)
        part.columns[table.sheet] = sorted(table.columns)
        column_notes = [
            (h, f"列“{h}”与前面的列重复，只读取了前一列") for h in table.duplicate_headers
        ]
        unknown = [h for h in table.extra_headers if h not in IGNORED_HEADERS]
        # Only when the sheet has no expiry column, or the rows leave it empty, does this matter.
        expiry_like = next((h for h in unknown if _EXPIRY_LIKE.search(h) and "提醒" not in h), None)
        column_notes += [
            (
                h,
                f"未识别的列“{h}”，已忽略"
                + ("；它可能是期满日期，本表不按颁发日期推算期满日期" if h == expiry_like else ""),
            )
            for h in unknown
        ]
        for header, message in column_notes:
            part.problems.append(
                Problem(table.sheet, table.header_row, header, None, "warning", message)
            )
        rows = table.data_rows()
        named: dict[str, str | None] = {}  # 科室名称 rows among the rows -> their section
        while chunk := list(itertools.islice(rows, chunk_rows)):
            for raw in chunk:
                own = section
                if raw.section is not None:
                    if raw.section not in named:
                        named[raw.section] = _named_section(table, raw, known, part)
                    own = named[raw.section] or section
                _check_row(raw, own, index, known, part, memo, expiry_like)
            yield part
            part = CheckResult()
        part.problems += _skipped_rows(table)  # known once the sheet's rows are all read
    if not found:
        # Not a ledger at all (the wrong file, an empty workbook): refused like a file that
        # cannot be read, so handing in the wrong file never looks like a successful import.
        hidden = "、".join(f"“{t.sheet}”" for t in book.tables if t.hidden)
        raise UnreadableWorkbook(
            f"“{book.path.name}”中没有台账：可见的工作表里都找不到表头（{_HEADER_NEEDS}）"
            + (
                f"；隐藏的工作表{hidden}未读取，如台账在其中，"
                "请在 Excel 或 WPS 中取消隐藏后重新导入"
                if hidden
                else ""
            )
        )
    if part.problems or part.columns:
        yield part


def _skipped_rows(table: SheetTable) -> list[Problem]:
    """What the reader set aside in `table` (note rows, repeated headers, rows with only a
    number), said in the report: nothing leaves an import unsaid."""
    problems = [
        Problem(table.sheet, row, None, None, "warning", _SKIPPED[reason])
        for row, reason in table.skipped
        if reason in _SKIPPED
    ]
    numbered = [row for row, reason in table.skipped if reason == SEQ_ONLY]
    if numbered:
        # A template's pre-numbered rows can run to hundreds: one line for all of them.
        where = f"第{numbered[0]}行" + (f"至第{numbered[-1]}行" if len(numbered) > 1 else "")
        problems.append(
            Problem(
                table.sheet,
                numbered[0],
                HEADERS["seq"],
                None,
                "warning",
                f"{len(numbered)}行只有序号、没有其他内容（{where}），视为空行，未导入",
            )
        )
    return problems


def _sheet_section(
    table: SheetTable, known: dict[str, str], option: str | None, result: CheckResult
) -> str | None:
    if table.section:
        found = known.get(name_key(table.section))
        if found:
            return found
        result.problems.append(
            Problem(
                table.sheet,
                None,
                "科室名称",
                table.section,
                "warning",
                f"科室“{table.section}”不存在，按其他方式确定科室",
            )
        )
    found = known.get(name_key(table.sheet))
    return found or option


def _named_section(
    table: SheetTable, raw: RawRow, known: dict[str, str], result: CheckResult
) -> str | None:
    """The known section a 科室名称 row among a sheet's rows names, or None (said)."""
    assert raw.section is not None
    found = known.get(name_key(raw.section))
    if found is None:
        result.problems.append(
            Problem(
                table.sheet,
                raw.row,
                "科室名称",
                raw.section,
                "warning",
                f"科室“{raw.section}”不存在，以下各行按其他方式确定科室",
            )
        )
    return found


def _check_row(
    raw: RawRow,
    section: str | None,
    index: _Catalog,
    known: dict[str, str],
    result: CheckResult,
    memo: _Memo,
    expiry_like: str | None = None,
) -> None:
    v = raw.values
    dates = memo.dates
    errors: list[Problem] = []
    warnings: list[Problem] = []

    def err(column: str | None, message: str, shown: str | None = None) -> None:
        value = shown or (_show(column, v.get(column)) if column else None)
        errors.append(
            Problem(raw.sheet, raw.row, HEADERS.get(column or "", column), value, "error", message)
        )

    def warn(column: str | None, message: str, shown: str | None = None) -> None:
        value = shown or (_show(column, v.get(column)) if column else None)
        warnings.append(
            Problem(
                raw.sheet, raw.row, HEADERS.get(column or "", column), value, "warning", message
            )
        )

    # Cells read as empty that are not: a formula without its result, an error value.
    unread = raw.uncomputed
    for column in unread:
        (warn if column in _CONTACT_KEYS else err)(column, UNCOMPUTED)
    for column, error in raw.errors:
        (warn if column in _CONTACT_KEYS else err)(column, _error_cell(column, error), error)
    if raw.errors:
        unread = (*unread, *(column for column, _ in raw.errors))
    holder = " ".join(_stored(_text(v.get("holder"))).split())
    if not holder and "holder" not in unread:
        err("holder", "缺少单位（个人）名称")
    number = _stored(_text(v.get("number")))
    for column, text in (("holder", holder), ("number", number)):
        if len(text) > LONGEST[column]:
            err(column, _too_long(column, text))
    cert_text = _text(v.get("certificate"))
    item = index.find(cert_text) if cert_text else None
    if not cert_text:
        if "certificate" not in unread:
            err("certificate", "缺少许可证书名称")
    elif item is None:
        hint = index.suggest(cert_text)
        err("certificate", f"目录中没有“{cert_text}”" + (f"，是否为“{hint}”？" if hint else ""))

    issued = _date(v, "issued_on", err, dates)
    expires = _date(v, "expires_on", err, dates)
    computed = False
    validity: int | None = None
    if item is not None and len(item.validity_years) == 1:
        validity = item.validity_years[0]
    if (
        expires is None
        and v.get("expires_on") is None
        and item is not None
        and "expires_on" not in unread
        and "issued_on" not in unread  # said above; the expiry may be worked out once fixed
    ):
        if expiry_like is not None:
            err(
                "expires_on",
                f"未填期满日期；本表的“{expiry_like}”列未能识别，可能是期满日期，"
                "不按颁发日期推算。请将该列表头改为“期满日期”后重新导入",
            )
        elif issued is None:
            err("expires_on", "缺少期满日期（也没有颁发日期可推算）")
        elif validity is None:
            err(
                "expires_on",
                f"{item.certificate_name}有效期为{item.validity_label}，无法推算，须填写期满日期",
            )
        else:
            expires = _add_years(issued, validity) - timedelta(days=1)
            computed = True
            warn("expires_on", f"未填期满日期，按颁发日期加{validity}年推算为{expires:%Y-%m-%d}")
    if issued is not None and expires is not None and issued >= expires:
        err("issued_on", f"颁发日期 {issued:%Y-%m-%d} 不早于期满日期 {expires:%Y-%m-%d}")
    if item is not None and issued is not None and expires is not None and not computed:
        years = max(item.validity_years)
        latest = memo.latest.get((issued, years))
        if latest is None:
            latest = memo.latest[(issued, years)] = _add_years(issued, years) + timedelta(days=31)
        if expires > latest:
            warn("expires_on", f"期满日期比法定有效期（{item.validity_label}）更晚，请核对")

    info = _contact(v)
    for message in info.problems:
        warn("contact", message)
    name_cell = v.get("contact_name")
    if name_cell is not None and (
        not isinstance(name_cell, str) or _CONTACT_HINT.search(name_cell)
    ):
        contact_name, info = _contact_in_name(name_cell, info, warn)
    else:
        contact_name = _stored(_text(name_cell) or "、".join(info.names))
    if len(contact_name) > LONGEST["contact_name"]:
        err("contact_name", _too_long("contact_name", contact_name))
    if not info.phones and not info.emails:
        warn("contact", NO_CONTACT)
    reminded_on = _date(v, "reminded_on", warn, dates)
    method = _text(v.get("method"))
    channel = _CHANNELS.get(method) if method else None
    if method and channel is None:
        warn("method", f"提醒方式“{method}”无法识别，已忽略")

    row_section = section
    if item is not None:
        if row_section is None:
            row_section = item.section
            warn(None, f"未注明科室，按目录归入“{item.section}”")
        elif row_section != item.section:
            warn(
                "certificate",
                f"目录中{item.certificate_name}由“{item.section}”承办，本表科室为“{row_section}”",
            )

    result.problems.extend(errors)
    result.problems.extend(warnings)
    if errors or item is None or expires is None or row_section is None:
        reasons = tuple(p.message for p in errors) or ("无法确定科室",)
        result.rejected.append(RejectedRow(raw.sheet, raw.row, section, dict(v), reasons))
        return
    # In ValidRow's field order, built as a tuple: its keyword constructor cost 2–3 µs a row.
    result.valid.append(
        _valid_row(
            ValidRow,
            (
                raw.sheet,  # sheet
                raw.row,  # row
                row_section,  # section
                holder,  # holder
                memo.keys.get(holder) or memo.keys.setdefault(holder, name_key(holder)),  # key
                item,  # item
                number,  # number
                issued,  # issued_on
                expires,  # expires_on
                computed,  # expiry_computed
                validity,  # validity_years
                contact_name,  # contact_name
                info.phones,  # phones
                info.emails,  # emails
                reminded_on,  # reminded_on
                _stored(_text(v.get("reminder"))),  # reminded_by
                channel.value if channel else None,  # reminded_channel
                not info.phones and not info.emails,  # needs_repair
            ),
        )
    )


def _too_long(column: str, text: str) -> str:
    return f"{HEADERS[column]}过长（{len(text)}字，最多{LONGEST[column]}字）"


_valid_row = tuple.__new__
assert len(ValidRow._fields) == 18  # the tuple in _check_row gives each field in this order


def _add_years(day: date, years: int) -> date:
    """`day` plus whole years as relativedelta adds them (29 February → 28 February), faster."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# A ledger repeats its dates, in a few spellings, over and over: each (type, value) of a date
# cell is read once per import. The type is part of the key: 1 == 1.0 == True are different cells.
_DateCache = dict[tuple[type, object], "date | str | None"]


@dataclass(slots=True)
class _Memo:
    """What one import's check works out once and looks up after (its rows repeat values)."""

    dates: _DateCache = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # holder name -> name_key
    # (issued on, most years valid) -> the latest expiry that is not "later than the law allows"
    latest: dict[tuple[date, int], date] = field(default_factory=dict)


def _date(
    values: dict[str, object],
    column: str,
    report: Callable[[str | None, str], None],
    cache: _DateCache,
) -> date | None:
    value = values.get(column)
    if value is None:  # an empty cell, as read_date(None) says
        return None
    key = (type(value), value)
    try:
        found = cache[key]
    except KeyError:
        try:
            found = cache[key] = read_date(value)
        except DateParseError as exc:
            found = cache[key] = str(exc)
    if isinstance(found, str):
        report(column, found)
        return None
    return found


def _contact_in_name(
    cell: object, info: ContactInfo, warn: Callable[[str | None, str], None]
) -> tuple[str, ContactInfo]:
    """The contact's name from a 联系人 cell that holds digits or an @, and `info` with the
    phones and emails written there too (李四 13900139000, 王五13700137000)."""
    text = _text(cell)
    found = read_contact(cell)
    if not found.phones and not found.emails:
        return _stored(text or "、".join(info.names)), info  # 3号楼王工: digits, but no phone
    for message in found.problems:
        warn("contact_name", message)
    rest = text
    for piece in (*(p.raw for p in found.phones), *found.emails):
        rest = rest.replace(piece, " ")
    rest = " ".join(_NAME_SEPARATORS.sub(" ", rest).split())
    if not rest or _CONTACT_HINT.search(rest):
        rest = "、".join(found.names) or "、".join(info.names)
    phones = {(p.e164, p.extension): p for p in (*info.phones, *found.phones)}
    merged = ContactInfo(
        phones=tuple(phones.values()),
        emails=tuple(dict.fromkeys(info.emails + found.emails)),
        names=info.names,
        problems=info.problems,
    )
    return _stored(rest), merged


def _contact(values: dict[str, object]) -> ContactInfo:
    info = read_contact(values.get("contact"))
    extra = values.get("email")
    if extra is None:
        return info
    more = read_contact(extra)
    emails = tuple(dict.fromkeys(info.emails + more.emails))
    return ContactInfo(
        phones=info.phones + more.phones,
        emails=emails,
        names=info.names,
        problems=info.problems + more.problems,
    )
