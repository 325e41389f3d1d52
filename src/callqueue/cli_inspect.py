"""`callqueue inspect …` and `callqueue export inspection`: 督促检查 of the sections' ledgers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from callqueue import catalog, db
from callqueue.cli import (
    EXIT_UNUSABLE,
    AppContext,
    _now,
    emit_json,
    exported_to,
    fail,
    fail_writing,
    main,
    xlsx_output,
)
from callqueue.cli_export import export_group
from callqueue.queue import inspection
from callqueue.roles import NotAllowed

T = TypeVar("T")
STAFF_HELP = "进行检查的主管或管理员（默认为全局 --staff）。"
VIEWER_HELP = "查看的工作人员（默认为全局 --staff）；提醒人不能查看检查记录。"


@contextmanager
def _refusals() -> Iterator[None]:
    """Turn the service's refusals into one-line messages (exit 1)."""
    try:
        yield
    except (inspection.InspectionRefused, NotAllowed) as exc:
        fail(str(exc))


def _run(obj: AppContext, *, write: bool, work: Callable[[Any], T]) -> T:
    with _refusals(), db.session_scope(obj.engine(), write=write) as session:
        return work(session)


def _print_detail(detail: inspection.InspectionDetail) -> None:
    h = detail.header
    click.echo(
        f"检查记录 {h.id}：{h.section} · 检查人 {h.supervisor} · {h.created_at:%Y-%m-%d %H:%M} · "
        f"{h.status_label}（抽样 {h.sample_size}，随机种子 {h.seed}）"
    )
    for item in detail.items:
        verdict = item.verdict_label + (f"：{item.comment}" if item.comment else "")
        click.echo(
            f"  [{item.id}] {item.position}. {item.holder} — {item.certificate}"
            f"（期满 {item.expires_on}，申请截止 {item.apply_by}，{item.state_label}）→ {verdict}"
        )
        for attempt in item.attempts:
            click.echo(f"      · {attempt.summary()}")
    click.echo(f"合格 {h.passed}，有问题 {h.problems}，未检查 {h.unreviewed}")
    if h.note:
        click.echo(f"总结：{h.note}")


@main.group(name="inspect")
def inspect_group() -> None:
    """督促检查：抽样检查各科室已处理的提醒，逐条记合格或有问题（检查记录）。"""


@inspect_group.command(name="new")
@click.option("--section", required=True, help="被检查的科室。")
@click.option("--size", type=int, required=True, help="抽样数量。")
@click.option("--seed", type=int, help="随机种子（相同种子抽出相同样本；默认随机）。")
@click.option("--staff", "staff_name", help=STAFF_HELP)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def inspect_new(
    obj: AppContext,
    section: str,
    size: int,
    seed: int | None,
    staff_name: str | None,
    as_json: bool,
) -> None:
    """从科室已处理（有提醒记录）的提醒中随机抽样，建立一条检查记录。"""
    detail = _run(
        obj,
        write=True,
        work=lambda session: inspection.draw_sample(
            session=session,
            section=section,
            size=size,
            supervisor=staff_name or obj.staff,
            seed=seed,
            now=_now(obj),
        ),
    )
    if as_json:
        emit_json(detail.to_json())
        return
    _print_detail(detail)


@inspect_group.command(name="list")
@click.option("--section", help="只列出此科室的检查记录。")
@click.option("--staff", "staff_name", help=VIEWER_HELP)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def inspect_list(
    obj: AppContext, section: str | None, staff_name: str | None, as_json: bool
) -> None:
    """检查记录列表（新的在前）。"""
    rows = _run(
        obj,
        write=False,
        work=lambda session: inspection.list_inspections(
            session=session, viewer=staff_name or obj.staff, section=section
        ),
    )
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    for r in rows:
        click.echo(
            f"{r.id:>4} {r.created_at:%Y-%m-%d} {r.section} 检查人 {r.supervisor} {r.status_label}"
            f" 抽样 {r.items}：合格 {r.passed}，有问题 {r.problems}，未检查 {r.unreviewed}"
        )
    click.echo(f"共 {len(rows)} 条检查记录", err=True)


@inspect_group.command(name="show")
@click.argument("inspection_id", type=int)
@click.option("--staff", "staff_name", help=VIEWER_HELP)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.pass_obj
def inspect_show(
    obj: AppContext, inspection_id: int, staff_name: str | None, as_json: bool
) -> None:
    """一条检查记录：每条抽中的提醒、提醒记录（告知了什么、备注）和检查结论。"""
    detail = _run(
        obj,
        write=False,
        work=lambda session: inspection.get_inspection(
            session=session, inspection_id=inspection_id, viewer=staff_name or obj.staff
        ),
    )
    if as_json:
        emit_json(detail.to_json())
        return
    _print_detail(detail)


@inspect_group.command(name="mark")
@click.argument("item_id", metavar="ITEM", type=int)
@click.argument("verdict", type=click.Choice(["pass", "problem"]))
@click.option("--comment", default="", help="检查意见（problem 必填）。")
@click.option("--staff", "staff_name", help=STAFF_HELP)
@click.pass_obj
def inspect_mark(
    obj: AppContext, item_id: int, verdict: str, comment: str, staff_name: str | None
) -> None:
    """给一条抽中的提醒记检查结论：pass 合格，problem 有问题（须写意见）。"""
    item = _run(
        obj,
        write=True,
        work=lambda session: inspection.review(
            session=session,
            item_id=item_id,
            verdict=verdict,
            comment=comment,
            staff=staff_name or obj.staff,
            now=_now(obj),
        ),
    )
    extra = f"：{item.comment}" if item.comment else ""
    click.echo(f"条目 {item.id}（{item.holder}）：{item.verdict_label}{extra}")


@inspect_group.command(name="finish")
@click.argument("inspection_id", type=int)
@click.option("--note", default="", help="检查总结。")
@click.option("--staff", "staff_name", help=STAFF_HELP)
@click.pass_obj
def inspect_finish(obj: AppContext, inspection_id: int, note: str, staff_name: str | None) -> None:
    """结束检查（全部条目都有结论后）。"""
    header = _run(
        obj,
        write=True,
        work=lambda session: inspection.finish(
            session=session,
            inspection_id=inspection_id,
            staff=staff_name or obj.staff,
            note=note,
            now=_now(obj),
        ),
    )
    click.echo(f"检查记录 {header.id} 已结束：合格 {header.passed}，有问题 {header.problems}")


@export_group.command(name="inspection")
@click.argument("inspection_id", type=int)
@xlsx_output
@click.option("--staff", "staff_name", help=VIEWER_HELP)
@click.pass_obj
def export_inspection_cmd(
    obj: AppContext, inspection_id: int, output: Path, staff_name: str | None
) -> None:
    """导出一条检查记录：检查概况和每条抽中提醒的提醒记录、结论、意见。"""

    def read(session: Any) -> tuple[inspection.InspectionDetail, str]:
        detail = inspection.get_inspection(
            session=session, inspection_id=inspection_id, viewer=staff_name or obj.staff
        )
        return detail, catalog.office(session)["name"]

    detail, office_name = _run(obj, write=False, work=read)
    existed = output.exists()
    try:
        from callqueue.queue.inspection_export import (
            export_inspection,
        )  # openpyxl loads only when a workbook is written

        export_inspection(detail, output, office_name=office_name)
    except OSError as exc:
        fail_writing(output, exc, EXIT_UNUSABLE)
    click.echo(
        f"已导出检查记录 {inspection_id}（{len(detail.items)} 条）到 {exported_to(output, existed)}"
    )
