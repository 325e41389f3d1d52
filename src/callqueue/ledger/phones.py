"""Reader for the contact cells of hand-kept ledgers: phones, emails and names."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType

MOBILE = "mobile"
LANDLINE = "landline"


class Phone(NamedTuple):
    """One usable phone number found in a contact cell (a tuple: imports hand rows between
    processes as plain tuples, see ledger/pipeline.py)."""

    e164: str  # "+8613800138000", "+862223456789"
    extension: str  # "" or digits, e.g. "8021"
    raw: str  # the piece of the cell it came from, stripped
    kind: str  # "mobile" | "landline"


@dataclass(frozen=True, slots=True)
class ContactInfo:
    """Everything usable in one contact cell, plus warnings for the pieces that were not."""

    phones: tuple[Phone, ...]
    emails: tuple[str, ...]  # lower-cased, deduplicated, in order
    names: tuple[str, ...]  # person names found in the cell, e.g. "张三"
    problems: tuple[str, ...]  # Chinese messages for pieces that could not be used


_EMPTY = ContactInfo((), (), (), ())
_MAX_DIGITS = 20
_TOO_BIG = 10**_MAX_DIGITS
_MAX_PIECE_GROUPS = 8

# The library's own CN mobile pattern, so the fast path accepts exactly what
# phonenumbers.is_valid_number accepts as a mobile, without its ~40 µs parse.
_CN_METADATA = phonenumbers.PhoneMetadata.metadata_for_region("CN")
_CN_MOBILE_DESC = _CN_METADATA.mobile if _CN_METADATA is not None else None
_MOBILE = re.compile(
    _CN_MOBILE_DESC.national_number_pattern
    if _CN_MOBILE_DESC is not None and _CN_MOBILE_DESC.national_number_pattern
    else r"1[3-9]\d{9}",
    re.ASCII,
)
_E164 = re.compile(r"\+\d{8,15}", re.ASCII)

# Maps one character to one character, so offsets in the folded text are offsets in the cell.
_FOLD = str.maketrans(
    {
        **{chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)},
        "\u3000": " ",
        "\u00a0": " ",
        "\u2002": " ",
        "\u2003": " ",
        "\u2009": " ",
        "\u200b": " ",
        "\ufeff": " ",
        "\t": "\n",
        "\r": "\n",
        "\u2028": "\n",
        "。": "\n",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\ufe63": "-",
    }
)

# The lookbehinds make each run start once, so a long cell cannot make the search quadratic.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
    re.ASCII,
)
_BROKEN_EMAIL = re.compile(r"(?<![^\s/,;、|])[^\s/,;、|]*@[^\s/,;、|]*")
_TOKEN = re.compile(
    r"(?P<sci>\d++(?:\.\d++)?[eE]\+?\d{1,3})(?!\d)"
    r"|(?P<num>[(+]*\d(?:[\d()+\-]++|\.(?=\d)| (?! )(?!\d{1,2}(?:、|\.\D)))*+)"
    r"|(?P<han>[\u3400-\u4dbf\u4e00-\u9fff]+)"
    r"|(?P<fax>(?i:fax))"
    r"|(?P<sep>[/,;、|\n]| {2,})",
    re.ASCII,
)
_EXTENSION = re.compile(r" *(?:转|分机号?|(?i:ext)\.?|[xX#]) *:? *(?P<ext>\d{1,5})(?!\d)", re.ASCII)
_HYPHEN_EXTENSION = re.compile(r"(?P<main>.*\d\)?) ?- ?(?P<ext>\d{1,5})", re.ASCII)
_DIGIT_GROUP = re.compile(r"\d+", re.ASCII)
# What may stand between a landline and a digit group that is then one of its extensions.
_EXTENSION_GAP = re.compile(r"(?:[ \n/,;、|()#:xX~\-]|转|分机号?|或者?|(?i:ext)\.?)*", re.ASCII)
_MAX_EXTENSION = 5  # digits, as _EXTENSION reads them; a longer group is not an extension
# What stands before digit groups after a landline says how they may be read (_written_whole):
# an extension word or a hyphen makes them extensions, a list mark ("、", "/", "或"…) starts
# another item, and spaces (or brackets) alone leave it open.
_AFTER_EXTENSION_WORD = re.compile(r"转|分机|(?i:ext)|[xX#:~\-]")
_AFTER_LIST_MARK = re.compile(r"[/,;、|\n]|或")
_EXTENSIONS, _LISTED, _SPACED = 0, 1, 2
# Longer labels first: the regex takes the first alternative that matches.
_LABEL = re.compile(
    "联系电话|电话号码|手机号码|手机号|手机|电话|座机|固话|办公室|办公|传真号码|传真号|传真"
    "|分机号|分机|转|微信号|微信|电子邮箱|邮箱|邮件|联系方式|联系人|号码|或者|或"
)
_NOT_NAMES = frozenset(
    {"暂无", "没有", "不详", "同上", "空号", "停机", "已停机", "本人", "前台", "总机", "值班室"}
    | {"单位", "公司", "家里", "家庭", "白天", "晚上", "夜间", "工作日", "备用", "常用", "同号"}
)
_FAX_LABELS = ("传真", "传真号", "传真号码")
_LIST_MARKS = ("、", ".")

# Any run of 7+ digits, allowing one space or hyphen between digits (full-width digits too).
_DIGIT_RUN = re.compile(r"\+?\d(?:[ \-]?\d){6,}")

_SCIENTIFIC = "号码被 Excel 转成了科学计数法，位数已丢失：“{}”，请把该列设为文本后重新填写"
_FAX = "传真号码不用于电话提醒：“{}”"
_UNUSABLE = "无法识别的电话号码：“{}”（{}位数字）"
_MOBILE_EXTENSION = "手机号码没有分机，已忽略“{}”"
_BROKEN = "邮箱地址不完整：“{}”"
_NOT_CONTACT = "不是联系方式：“{}”"
_AMBIGUOUS = "无法确定“{}”是分机号还是另一个电话号码，未使用，请核对"


def read_contact(value: object) -> ContactInfo:
    """Read one ledger contact cell into phones, emails, names and warnings.

    Args:
        value: the cell as python-calamine returns it; never raises for any value.

    Returns:
        The usable phones (E.164, extension apart), emails and names, and a Chinese
        warning for every piece that could not be used.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            return _read_digits(text, numeric=False)
        if not text:
            return _EMPTY
        return _read_common(text) or _read_other(text)
    if value is None:
        return _EMPTY
    if isinstance(value, bool):
        return _only_problem(_NOT_CONTACT.format(str(value).upper()))
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer() and 0 <= value < _TOO_BIG):
            return _only_problem(_NOT_CONTACT.format(_quote(repr(value))))
        value = int(value)
    if isinstance(value, int):
        if not 0 <= value < _TOO_BIG:
            return _only_problem(_NOT_CONTACT.format(_quote(str(value)[:40])))
        return _read_digits(str(value), numeric=True)
    if isinstance(value, datetime | date | time):
        return _only_problem(_NOT_CONTACT.format(_show_when(value)))
    return _only_problem(_NOT_CONTACT.format(_quote(str(value)[:40])))


# A number cell exported through CSV as a float: "13800138000.0".
_FLOAT_TEXT = re.compile(r"(\d{1,20})\.0+", re.ASCII)


def _read_other(text: str) -> ContactInfo:
    """Read a stripped text cell that is neither bare digits nor of a common shape."""
    if text[-1] == "0" and (number := _FLOAT_TEXT.fullmatch(text)) is not None:
        # The digits are a number cell's, trunk 0 lost included, as if calamine had read the float.
        return _read_digits(number[1], numeric=True)
    return _read_text(text, numeric=False)


def _read_digits(digits: str, *, numeric: bool) -> ContactInfo:
    """Read a cell of ASCII digits alone, the most common kind, without scanning it as text."""
    # What _read_text finds in such a cell when it is one number; anything else goes there.
    found = _interpret(digits, plus=False, country=False, numeric=numeric)
    if found is None:
        return _read_text(digits, numeric=numeric)
    return ContactInfo((Phone(found[0], "", digits, found[1]),), (), (), ())


# The two text shapes ledgers write most after bare digits: a mobile and a landline side by
# side ("13812345678、022-23456789"), and a landline with its extension ("022-2345 6789转123").
# Their pieces are what _read_text's tokens would be; each goes through the same _interpret.
_MOBILE_AND_LANDLINE = re.compile(r"(\d{11})、(0\d{2,3})-(\d{7,8})", re.ASCII)
_LANDLINE_EXTENSION = re.compile(r"((0\d{2,3})-(\d{3,4}) (\d{4}))转(\d{1,5})", re.ASCII)


def _read_common(text: str) -> ContactInfo | None:
    """Read a stripped text cell of a common shape as _read_text would, or None for any other
    (or any doubt: a piece that is not a valid number of the expected kind); a test compares
    the two on many generated cells."""
    if "、" in text:
        pair = _MOBILE_AND_LANDLINE.fullmatch(text)
        if pair is None:
            return None
        mobile = _interpret(pair[1], plus=False, country=False, numeric=False)
        landline = _interpret(pair[2] + pair[3], plus=False, country=False, numeric=False)
        if mobile is None or landline is None or mobile[0] == landline[0]:
            return None
        phones = (
            Phone(mobile[0], "", pair[1], mobile[1]),
            Phone(landline[0], "", text[pair.start(2) :], landline[1]),
        )
        return ContactInfo(phones, (), (), ())
    if "转" in text:
        ext = _LANDLINE_EXTENSION.fullmatch(text)
        if ext is None:
            return None
        found = _interpret(ext[2] + ext[3] + ext[4], plus=False, country=False, numeric=False)
        if found is None or found[1] != LANDLINE:
            return None
        return ContactInfo((Phone(found[0], ext[5], text, LANDLINE),), (), (), ())
    return None


def mask_phone(text: str) -> str:
    """Mask the phone numbers in free text for logs, keeping only what identifies them.

    Args:
        text: any text, e.g. a contact cell, a message or an E.164 number.

    Returns:
        The text with every run of 7+ digits (spaces or hyphens allowed inside) masked:
        mobiles keep the first 3 and last 4 digits ("+86138****8000"), landlines with an
        area code keep it and the last 4 ("022****6789"), other runs keep the last 4.
    """
    return _DIGIT_RUN.sub(_mask_run, text)


def _mask_run(match: re.Match[str]) -> str:
    """Return the masked form of one digit run."""
    run = match[0]
    digits = "".join(ch for ch in run.translate(_FOLD) if "0" <= ch <= "9")
    prefix, national = "", digits
    if run.startswith("+") and digits.startswith("86"):
        prefix, national = "+86", digits[2:]
    elif run.startswith("+"):
        prefix = "+"
    elif digits.startswith("0086"):
        prefix, national = "+86", digits[4:]
    elif len(digits) == 13 and digits.startswith("861"):
        prefix, national = "86", digits[2:]
    if len(national) == 11 and national[0] == "1":
        keep = 3
    elif national.startswith("0") and len(national) >= 10:
        keep = 3 if national[1] in "12" else 4
    elif prefix == "+86" and len(national) >= 9:
        keep = 2 if national[0] in "12" else 3
    else:
        keep = 0
    hidden = len(national) - keep - 4
    return prefix + national[:keep] + "*" * hidden + national[-4:]


def _show_when(value: datetime | date | time) -> str:
    """Return a date or time cell as the office reads it (and not as a digit run to mask)."""
    if isinstance(value, time):
        return value.isoformat()
    shown = f"{value.year}年{value.month}月{value.day}日"
    return f"{shown} {value:%H:%M}" if isinstance(value, datetime) else shown


def only_a_note(problem: str) -> bool:
    """Whether a problem `read_contact` gave only notes what it left out on purpose (a mobile's
    extension, a fax number), not text it could not read as a number or an address."""
    return problem.startswith(_NOTES)


_NOTES = tuple(template.split("{")[0] for template in (_MOBILE_EXTENSION, _FAX))


def _only_problem(message: str) -> ContactInfo:
    """Return a result with one warning and nothing usable."""
    return ContactInfo((), (), (), (message,))


def _count_digits(text: str) -> int:
    """Return how many ASCII digits `text` holds."""
    return sum(1 for ch in text if "0" <= ch <= "9")


def _quote(piece: str) -> str:
    """Return `piece` fit for a warning: shortened, and masked when it is long enough to be a phone."""
    piece = piece.strip()
    if len(piece) > 40:
        piece = piece[:40] + "…"
    return mask_phone(piece) if _count_digits(piece.translate(_FOLD)) >= 7 else piece


class _Reader:
    """Collects what one contact cell holds while its text is scanned left to right."""

    __slots__ = ("emails", "landline", "names", "numeric", "phones", "problems", "text")

    def __init__(self, text: str, *, numeric: bool) -> None:
        self.text = text
        self.numeric = numeric
        self.phones: dict[tuple[str, str], Phone] = {}
        self.emails: dict[str, None] = {}
        self.names: dict[str, None] = {}
        self.problems: list[str] = []
        # The landline read last, which digit groups right after it extend: (its key in phones
        # when it was read here without an extension, else None; its start; its end) in text.
        self.landline: tuple[str, tuple[str, str] | None, int, int] | None = None

    def result(self) -> ContactInfo:
        """Return the collected contact information."""
        return ContactInfo(
            tuple(self.phones.values()),
            tuple(self.emails),
            tuple(self.names),
            tuple(self.problems),
        )

    def add_phone(self, e164: str, extension: str, raw: str, kind: str) -> bool:
        """Keep a phone unless the same number and extension was already found; say if new."""
        key = (e164, extension)
        if key in self.phones:
            return False
        self.phones[key] = Phone(e164, extension, raw.strip(), kind)
        return True

    def take_emails(self, work: str) -> str:
        """Collect the emails in `work` and return it with them (and broken ones) blanked."""

        def take(match: re.Match[str]) -> str:
            self.emails[match[0].lower()] = None
            return " " * len(match[0])

        def broken(match: re.Match[str]) -> str:
            self.problems.append(_BROKEN.format(_quote(self.text[match.start() : match.end()])))
            return " " * len(match[0])

        work = _EMAIL.sub(take, work)
        return _BROKEN_EMAIL.sub(broken, work) if "@" in work else work

    def take_names(self, run: str) -> None:
        """Collect the person names in a run of Chinese characters, skipping labels."""
        for part in _LABEL.split(run):
            if 2 <= len(part) <= 4 and part not in _NOT_NAMES:
                self.names[part] = None

    def take_number(self, work: str, start: int, end: int, *, fax: bool) -> int:
        """Read the digit chunk at work[start:end] and its extension; return where it ends."""
        chunk = work[start:end].rstrip(" -(+.")
        if chunk.endswith(")") and chunk.count(")") > chunk.count("("):
            chunk = chunk[:-1]  # closes a bracket opened before the chunk: "（分机8021、8022）"
        end = start + len(chunk)
        extension, ext_end = "", end
        marked = _EXTENSION.match(work, end)
        if marked is not None:
            extension, ext_end = marked["ext"], marked.end()
        raw = self.text[start:ext_end]
        if len(chunk) <= 2 and not extension and work[end : end + 1] in _LIST_MARKS:
            return end  # "1、138… 2、139…": the numbering of a list, not a phone
        landline, self.landline = self.landline, None
        if fax:
            self.problems.append(_FAX.format(_quote(raw)))
            return ext_end
        if landline is not None and _EXTENSION_GAP.fullmatch(
            self.text[landline[3] : start].translate(_FOLD)
        ):
            # Right after a landline: its extensions, and other numbers only when written whole.
            self.landline = landline
            lead = _lead(self.text[landline[3] : start].translate(_FOLD))
            self._split_chunk(chunk, start, extension, ext_end, glue=False, lead=lead)
            return ext_end
        whole = _interpret_chunk(chunk, self.numeric)
        if whole is not None:
            self._add_with_extension(whole, extension, start, ext_end, self.text[end:ext_end])
            return ext_end
        if not extension:
            hyphen = _HYPHEN_EXTENSION.fullmatch(chunk)
            if hyphen is not None:
                main = _interpret_chunk(hyphen["main"], self.numeric)
                if main is not None and main[1] == LANDLINE:
                    self._add_with_extension(main, hyphen["ext"], start, ext_end, "")
                    return ext_end
        self._split_chunk(chunk, start, extension, ext_end, glue=True)
        return ext_end

    def _add_with_extension(
        self, found: tuple[str, str], extension: str, start: int, end: int, ext_text: str
    ) -> None:
        """Keep the phone written at text[start:end]; an extension only belongs to a landline."""
        e164, kind = found
        if kind == MOBILE:
            if extension:
                self.problems.append(_MOBILE_EXTENSION.format(_quote(ext_text)))
            self.add_phone(e164, "", self.text[start:end], kind)
            self.landline = None
            return
        new = self.add_phone(e164, extension, self.text[start:end], kind)
        self.landline = (e164, (e164, "") if new and not extension else None, start, end)

    def _extend(
        self,
        landline: tuple[str, tuple[str, str] | None, int, int],
        extension: str,
        start: int,
        end: int,
    ) -> None:
        """Keep the digits at text[start:end] as an extension of the landline just read."""
        e164, bare, first, _ = landline
        if bare is not None:
            # The landline was read here without an extension: this one is its extension. It is
            # the last phone kept, so it stays in its place.
            phone = self.phones.pop(bare)
            self.add_phone(e164, extension, self.text[first:end], phone.kind)
        else:
            self.add_phone(e164, extension, self.text[start:end], LANDLINE)
        self.landline = (e164, None, first, end)

    def _split_chunk(
        self,
        chunk: str,
        start: int,
        extension: str,
        ext_end: int,
        *,
        glue: bool,
        lead: int = _EXTENSIONS,
    ) -> None:
        """Read a chunk that is not one number as several, warning about what is left.

        Digit groups are joined into a local number only at the chunk's start (`glue`) and
        before any number in it: after a number they are extensions of a landline, or other
        numbers written whole, never a new number made of a list of extensions. `lead` says
        what stands before the chunk's first group when it follows a landline (see _lead)."""
        groups = list(_DIGIT_GROUP.finditer(chunk))
        if len(groups) > _MAX_PIECE_GROUPS:
            self._unusable(chunk)
            self.landline = None
            return
        plus = chunk.lstrip("(").startswith("+")
        ext_text = self.text[start + len(chunk) : ext_end]
        i, left_from = 0, -1
        while i < len(groups):
            if i > 0:
                between = chunk[groups[i - 1].end() : groups[i].start()]
                lead = _lead(between) if self.landline is not None else _EXTENSIONS
            longest = _longest_number(
                groups,
                i,
                plus=plus and i == 0,
                numeric=self.numeric,
                glue=glue,
                lead=lead,
                exchange=_exchange(self.landline),
            )
            if longest is None:
                group, landline = groups[i], self.landline
                if left_from < 0 and landline is not None and len(group[0]) <= _MAX_EXTENSION:
                    self._extend(landline, group[0], start + group.start(), start + group.end())
                elif left_from < 0 and landline is not None:
                    # Too long for an extension: a warning, and the groups after it still extend.
                    self._unusable(group[0])
                    self.landline = (*landline[:3], start + group.end())
                else:
                    left_from = i if left_from < 0 else left_from
                    self.landline = None
                i += 1
                continue
            j, found = longest
            if left_from >= 0:
                self._unusable(chunk[groups[left_from].start() : groups[i - 1].end()])
                left_from = -1
            if found is None:
                # Neither extensions nor a number for sure: keep neither, tell staff.
                piece = chunk[groups[i].start() : groups[j - 1].end()]
                self.problems.append(_AMBIGUOUS.format(_quote(piece)))
                self.landline = None
                i = j
                continue
            last = j == len(groups)
            piece_start = start + (0 if i == 0 else groups[i].start())
            piece_end = ext_end if last else start + groups[j - 1].end()
            self._add_with_extension(
                found, extension if last else "", piece_start, piece_end, ext_text
            )
            extension = "" if last else extension
            glue = False
            i = j
        if left_from >= 0:
            self._unusable(chunk[groups[left_from].start() :])
        if extension and self.landline is not None:
            self._extend(self.landline, extension, start + len(chunk), ext_end)
        elif extension:
            self._unusable(ext_text)

    def _unusable(self, piece: str) -> None:
        """Warn about a digit-like piece that is not a usable phone."""
        self.problems.append(_UNUSABLE.format(_quote(piece), _count_digits(piece)))


def _read_text(text: str, *, numeric: bool) -> ContactInfo:
    """Read a non-empty contact text (or the digits of a number cell)."""
    reader = _Reader(text, numeric=numeric)
    work = text if text.isascii() else text.translate(_FOLD)
    if "@" in work:
        work = reader.take_emails(work)
    fax = False
    pos = 0
    while (token := _TOKEN.search(work, pos)) is not None:
        kind = token.lastgroup
        if kind == "num":
            pos = reader.take_number(work, token.start(), token.end(), fax=fax)
            fax = False
            continue
        if kind == "han":
            run = token[0]
            reader.take_names(run)
            fax = run.endswith(_FAX_LABELS)
        elif kind == "sci":
            reader.problems.append(_SCIENTIFIC.format(_quote(text[token.start() : token.end()])))
        else:
            fax = kind == "fax"
        pos = token.end()
    return reader.result()


def _longest_number(
    groups: list[re.Match[str]],
    first: int,
    *,
    plus: bool,
    numeric: bool,
    glue: bool,
    lead: int,
    exchange: str = "",
) -> tuple[int, tuple[str, str] | None] | None:
    """Return (end group, (e164, kind)) for the most digit groups from `first` that form a number;
    without `glue`, only a number written whole (see _written_whole) when it is several groups,
    and (end group, None) for groups that may be a number or extensions (staff must check).
    `exchange` is the first four digits of the landline's local number the groups follow."""
    for end in range(len(groups), first, -1):
        parts = [group[0] for group in groups[first:end]]
        digits = "".join(parts)
        several = end - first > 1
        whole: bool | None = True
        if several and not glue and not plus:
            rest = end == len(groups)
            inner = groups[first].string[groups[first].end() : groups[end - 1].start()]
            whole = _written_whole(parts, lead if rest else _EXTENSIONS, inner, exchange)
            if whole is False:
                continue
        found = _interpret(
            digits, plus=plus, country=several and groups[first][0] == "86", numeric=numeric
        )
        if found is not None:
            return end, found if whole else None
    return None


def _lead(between: str) -> int:
    """How digit groups may be read after a landline, from what stands between them."""
    if _AFTER_EXTENSION_WORD.search(between):
        return _EXTENSIONS
    return _LISTED if _AFTER_LIST_MARK.search(between) else _SPACED


def _written_whole(parts: list[str], lead: int, inner: str, exchange: str = "") -> bool | None:
    """Whether digit groups, read after another number, are one number that says so (True),
    extensions or leftovers (False: never glued into a number), or either (None).

    Always a number: an area or country code first, a 400/800 number, or 11 digits that are a
    mobile in any spacing (138 0013 8000, 1380 013 8000). Extensions are numbered in blocks
    (8011 8012), so after a landline, and only as the last groups of their chunk, two groups
    of 8 digits (4-4 or 3-5) are another local number:
    - after a list mark (、 / ， ；或), unless they are two 4-digit groups of one block (same
      first three digits, "8011 8012"): extensions, as 73d3ec4 reads them;
    - after spaces alone, the same, but two 4-digit groups that share their first two digits
      ("8011 8099") could as well be two extensions as a number: None, neither is invented.
    Phonenumbers cannot tell them apart (any 8 digits from 2 on are a valid Tianjin number).
    Two groups that start with the landline's own exchange ("022-2345 6789、2345 2346") are its
    neighbour number, not a block of extensions that happens to repeat the exchange.
    After an extension word or a hyphen ("-8011 8012", "分机8011 8012"), or after a mobile,
    they are extensions or leftovers."""
    head = parts[0]
    if (
        (len(head) >= 3 and head[0] == "0")
        or head in ("86", "400", "800")
        or (len(parts) == 3 and len(head) == 3 and len(parts[1]) == len(parts[2]) == 4)
    ):
        return True
    if len(head) <= 4 and head[0] == "1":
        return _MOBILE.fullmatch("".join(parts)) is not None
    if lead == _EXTENSIONS or len(parts) != 2:
        return False
    tail = parts[1]
    if not ((len(head) == len(tail) == 4) or (len(head) == 3 and len(tail) == 5)):
        return False
    if len(head) == 4 and head[:3] == tail[:3] and head != exchange:
        return False
    if lead == _SPACED and "-" in inner:
        return False  # "8011-8099": a range of extensions
    if head == exchange:
        return True
    if lead == _SPACED and len(head) == 4 and head[:2] == tail[:2]:
        return None
    return True


def _exchange(landline: tuple[str, tuple[str, str] | None, int, int] | None) -> str:
    """The first four digits of a landline's 8-digit local number ("" without one)."""
    return "" if landline is None else landline[0][-8:-4]


def _interpret_chunk(chunk: str, numeric: bool) -> tuple[str, str] | None:
    """Return (e164, kind) when the whole chunk is one valid number."""
    groups = _DIGIT_GROUP.findall(chunk)
    return _interpret(
        "".join(groups),
        plus=chunk.lstrip("(").startswith("+"),
        country=len(groups) > 1 and groups[0] == "86",
        numeric=numeric,
    )


def _interpret(digits: str, *, plus: bool, country: bool, numeric: bool) -> tuple[str, str] | None:
    """Return (e164, kind) for the digits of one written number, or None if it is not valid."""
    if not 7 <= len(digits) <= _MAX_DIGITS:
        return None
    if plus:
        if digits.startswith("86"):
            return _national(digits[2:], international=True, numeric=False)
        return _foreign(digits)
    if digits.startswith("0086"):
        return _national(digits[4:], international=True, numeric=False)
    if digits.startswith("00"):
        return _foreign(digits[2:])
    if country or (len(digits) == 13 and digits.startswith("861")):
        return _national(digits[2:], international=True, numeric=False)
    return _national(digits, international=False, numeric=numeric)


def _national(national: str, *, international: bool, numeric: bool) -> tuple[str, str] | None:
    """Return (e164, kind) for a number inside China, or None if it is not valid."""
    if len(national) == 11 and _MOBILE.fullmatch(national):
        return "+86" + national, MOBILE
    if national.startswith("0"):
        national = national[1:]  # the trunk prefix; "+86 (0)22 …" is written too
    elif international or (len(national) == 10 and national.startswith(("400", "800"))):
        pass
    elif len(national) == 8 and national[0] in "23456789":
        national = "22" + national  # a local Tianjin number: the office's own area code
    elif numeric and 9 <= len(national) <= 11 and national[0] in "23456789":
        pass  # a number cell lost the trunk 0; area codes are prefix-free, so this is exact
    elif not (len(national) == 11 and national[0] == "1"):
        return None
    if not 7 <= len(national) <= 12 or national.startswith("0"):
        return None
    return _cn_number(national)


def _desc(
    desc: phonenumbers.PhoneNumberDesc | None,
) -> tuple[frozenset[int], re.Pattern[str]] | None:
    """A number description of the CN metadata as (possible lengths, compiled pattern)."""
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)


# phonenumbers.number_type for +86, precompiled: the library costs ~15 µs a call, most of a
# landline's reading. Only valid-or-not and mobile-or-not matter here; the order of the checks
# is the library's (_number_type_helper), and a test compares the two on many numbers.
_CN_GENERAL = _desc(_CN_METADATA.general_desc) if _CN_METADATA is not None else None
_CN_NOT_MOBILE = tuple(
    d
    for d in (
        _desc(getattr(_CN_METADATA, name, None))
        for name in (
            "premium_rate",
            "toll_free",
            "shared_cost",
            "voip",
            "personal_number",
            "pager",
            "uan",
            "voicemail",
            "fixed_line",
        )
    )
    if d is not None
)
_CN_MOBILE_ONLY = (
    _desc(_CN_MOBILE_DESC)
    if _CN_METADATA is not None and not _CN_METADATA.same_mobile_and_fixed_line_pattern
    else None
)


def _matches(national: str, desc: tuple[frozenset[int], re.Pattern[str]] | None) -> bool:
    """phonenumbers' _is_number_matching_desc, for a description made by _desc."""
    if desc is None:
        return False
    lengths, pattern = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


@lru_cache(maxsize=1 << 14)
def _cn_number(national: str) -> tuple[str, str] | None:
    """Return (e164, kind) for a Chinese national number without trunk prefix, if valid."""
    # +86 has one region, so is_valid_number is exactly "has a type".
    if not _matches(national, _CN_GENERAL):
        return None
    if any(_matches(national, desc) for desc in _CN_NOT_MOBILE):
        kind = LANDLINE
    elif _matches(national, _CN_MOBILE_ONLY):
        kind = MOBILE
    else:
        return None
    # E.164 of a +86 number: the country code and the national number, which has no leading 0.
    return "+86" + national, kind


@lru_cache(maxsize=1 << 10)
def _foreign(digits: str) -> tuple[str, str] | None:
    """Return (e164, kind) for digits that start with a country code, if valid."""
    try:
        number = phonenumbers.parse("+" + digits, None)
    except NumberParseException:
        return None
    return _judge(number)


def _judge(number: PhoneNumber) -> tuple[str, str] | None:
    """Return (e164, kind) when phonenumbers finds the number valid."""
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if not _E164.fullmatch(e164):
        return None
    is_mobile = phonenumbers.number_type(number) == PhoneNumberType.MOBILE
    return e164, MOBILE if is_mobile else LANDLINE


_FIXED = frozenset(
    {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def display_phone(e164: str, extension: str = "") -> str:
    """A stored number as staff write it: `13800138000`, `022-23456789转8021`."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    area, _, rest = national.partition(" ")
    kind = phonenumbers.number_type(number)
    if kind not in _FIXED or not rest:
        # Mobiles, and numbers of no known kind: digits only. An area-code dash on an unknown
        # number (`194-48402905`) would read back as a Tianjin landline.
        text = national.replace(" ", "")
    else:
        text = f"{area}-{rest.replace(' ', '')}"
    return f"{text}转{extension}" if extension else text
