"""The queue list's columns, and which of them fit a terminal's width."""

from __future__ import annotations

Column = tuple[str, str, int]
"""Key, label, width (cells)."""

COLUMNS: tuple[Column, ...] = (  # the widths at 120 columns
    ("holder", "单位（个人）名称", 31),
    ("certificates", "证书", 25),
    ("expires_on", "期满日期", 10),
    ("apply_by", "申请截止", 10),
    ("days_left", "剩余天数", 8),
    ("attempts", "已拨", 4),
    ("marks", "标记", 16),  # "补录 他人处理中" is 15 cells
)
NAMES = {"holder": (16, 31, 40), "certificates": (12, 25, 36)}
"""The name columns' least, 120-column and most widths: they take what the others leave."""
GIVE_WAY = ("expires_on", "attempts")
"""Left out in turn where the names would get narrower than `ROOMY`: the detail pane shows
both, while a caller needs who, the certificate, the deadline, the days left and the marks."""
ROOMY = 42
PADDING = 2  # DataTable's cell padding, one cell each side
SCROLLBAR = 2  # kept free: a page of 50 rows scrolls


def fit_columns(width: int) -> tuple[Column, ...]:
    """The columns to show in a list `width` cells wide, with their widths."""

    def left_for_names(columns: list[Column]) -> int:
        others = sum(w for key, _, w in columns if key not in NAMES)
        return width - SCROLLBAR - PADDING * len(columns) - others

    shown = list(COLUMNS)
    for key in GIVE_WAY:
        if left_for_names(shown) >= ROOMY:
            break
        shown = [c for c in shown if c[0] != key]
    room = left_for_names(shown)
    (h_least, h_usual, h_most), (c_least, c_usual, c_most) = NAMES["holder"], NAMES["certificates"]
    if room <= h_usual + c_usual:  # narrower: both give up their share
        holder = max(h_least, round(room * h_usual / (h_usual + c_usual)))
        certificates = max(c_least, room - holder)
    else:  # wider: the holder's name first (long company names), then the certificates
        holder = min(h_most, room - c_usual)
        certificates = min(c_most, room - holder)
    widths = {"holder": holder, "certificates": certificates}
    return tuple((key, label, widths.get(key, w)) for key, label, w in shown)
