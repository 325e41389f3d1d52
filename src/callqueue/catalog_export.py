"""Write the catalog in the plan's 附件1 layout, with the renewal facts on a second sheet."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from callqueue.catalog import CatalogEntry
from callqueue.excel import for_print, put, save_atomic, title, write_table

ANNEX1_HEADERS = (
    "序号",
    "许可事项名称",
    "许可证书名称",
    "承办科室",
    "许可证书法定有效期限",
    "提醒方式",
    "提醒时限",
)
DETAIL_HEADERS = (
    "序号",
    "许可证书名称",
    "申请换证时限",
    "时限说明",
    "依据",
    "可信度",
    "提交材料清单",
    "办理地点",
    "服务电话",
)


def export_catalog(entries: list[CatalogEntry], path: Path, *, office_name: str) -> Path:
    """Write `entries` to `path` as 附件1 (sheet 1) and 换证须知 (sheet 2).

    The file is written to a temporary name and moved into place, so a failed export
    never leaves half a workbook behind.

    Args:
        entries: the catalog in 序号 order.
        path: the .xlsx to write.
        office_name: e.g. 东丽区政务服务办公室, used in the title.

    Returns:
        The written path.
    """
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "附件1"
    put(ws.cell(row=1, column=1), "附件1")
    title(ws, row=2, text=f"{office_name}许可证书到期前提醒目录", columns=len(ANNEX1_HEADERS))
    write_table(
        ws,
        first_row=3,
        headers=ANNEX1_HEADERS,
        widths=(6, 36, 28, 22, 14, 14, 20),
        rows=[
            (
                e.seq,
                e.permit_item,
                e.certificate_name,
                e.section,
                e.validity_label,
                e.method_label,
                e.lead_label,
            )
            for e in entries
        ],
    )
    ws.freeze_panes = "A4"
    for_print(ws, header_rows="3:3")
    details = wb.create_sheet("换证须知")
    title(details, row=1, text="许可证书换证须知（一次性告知内容）", columns=len(DETAIL_HEADERS))
    write_table(
        details,
        first_row=2,
        headers=DETAIL_HEADERS,
        widths=(6, 26, 18, 40, 40, 16, 60, 24, 16),
        rows=[
            (
                e.seq,
                e.certificate_name,
                e.deadline_label,
                e.deadline_note,
                e.legal_basis,
                e.confidence_label,
                "\n".join(f"{n}. {m}" for n, m in enumerate(e.materials, 1)),
                e.place,
                e.phone,
            )
            for e in entries
        ],
    )
    details.freeze_panes = "A3"
    for_print(details, header_rows="2:2")
    return save_atomic(wb, path)
