"""The inspection record (检查记录) as a workbook: a header with the counts, one row per item."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from callqueue.excel import (
    BODY_FONT,
    BORDER,
    HEADER_FONT,
    WRAP,
    for_print,
    put,
    save_atomic,
    title,
    write_table,
)
from callqueue.queue.inspection import InspectionDetail, ItemView

HEADERS = (
    "序号",
    "单位（个人）名称",
    "许可证书名称",
    "证书编号",
    "颁发日期",
    "期满日期",
    "提醒日期",
    "申请换证时限",
    "提醒状态",
    "提醒次数",
    "提醒记录",
    "检查结论",
    "检查意见",
    "检查人",
    "检查日期",
)
# Column A holds 序号 below and the header block's labels (检查编号, 抽样数量) above.
WIDTHS = (10, 28, 20, 14, 12, 12, 12, 14, 10, 8, 60, 10, 30, 10, 12)
TABLE_ROW = 10
"""The row the item table's header is on (the header block above it has 8 rows and a gap)."""


def _row(item: ItemView) -> list[object]:
    return [
        item.position,
        item.holder,
        item.certificate,
        item.certificate_number,
        item.issued_on,
        item.expires_on,
        item.remind_on,
        item.apply_by,
        item.state_label,
        len(item.attempts),
        "\n".join(a.summary() for a in item.attempts),
        item.verdict_label,
        item.comment,
        item.reviewer or "",
        item.reviewed_at.date() if item.reviewed_at else None,
    ]


def _header(ws: Worksheet, detail: InspectionDetail) -> None:
    h = detail.header
    pairs: list[tuple[str, object, str, object]] = [
        ("检查编号", h.id, "科室", h.section),
        ("检查人", h.supervisor, "检查日期", h.created_at.date()),
        ("抽样数量", h.sample_size, "随机种子", h.seed),
        ("状态", h.status_label, "结束日期", h.finished_at.date() if h.finished_at else None),
        ("合格", h.passed, "有问题", h.problems),
        ("未检查", h.unreviewed, "总结", h.note),
    ]
    for offset, (k1, v1, k2, v2) in enumerate(pairs):
        row = 3 + offset
        for col, value, bold in ((1, k1, True), (2, v1, False), (4, k2, True), (5, v2, False)):
            cell = put(ws.cell(row=row, column=col), value)
            cell.font, cell.border = (HEADER_FONT if bold else BODY_FONT), BORDER
            cell.alignment = WRAP
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=3)
        ws.merge_cells(start_row=row, start_column=5, end_row=row, end_column=8)


def export_inspection(detail: InspectionDetail, path: Path, *, office_name: str) -> Path:
    """Write the inspection to `path` (atomically); text never becomes a formula, dates are dates.

    Raises:
        OSError: the file cannot be written.
    """
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "检查记录"
    title(
        ws,
        row=1,
        text=f"{office_name}督促检查记录（{detail.header.section}）",
        columns=len(HEADERS),
    )
    _header(ws, detail)
    write_table(
        ws,
        first_row=TABLE_ROW,
        headers=HEADERS,
        rows=[_row(item) for item in detail.items],
        widths=WIDTHS,
    )
    ws.freeze_panes = f"C{TABLE_ROW + 1}"
    for_print(ws, header_rows=f"{TABLE_ROW}:{TABLE_ROW}")
    return save_atomic(wb, path)
