"""The import screen: dry run with its problems, then a real import with progress and rejects."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import SQLModel
from textual.pilot import Pilot
from textual.widgets import DataTable, DirectoryTree, Input, ProgressBar, Static

from callqueue import db
from callqueue.db import table
from callqueue.models import AuditEvent, Certificate, Holder, ImportBatch
from callqueue.queue import staff
from callqueue.tui.app import CallqueueApp, create_app
from callqueue.tui.office_desk import OfficeDesk
from callqueue.tui.screens.import_screen import PROBLEM_LIMIT, ImportScreen, WorkbookTree

from .ledger_files import licence_row, write_annex2, write_annex2_bulk

TODAY = date(2026, 11, 24)
SECTION = "社会事务科"


def with_staff(engine: Engine) -> int:
    with db.session_scope(engine, write=True) as session:
        return staff.add_staff(session, name="甲", section=SECTION, role="caller", actor="t").id


def count(engine: Engine, model: type[SQLModel]) -> int:
    with db.session_scope(engine, write=False) as session:
        return int(session.execute(select(func.count()).select_from(table(model))).scalar_one())


def workbook(path: Path) -> Path:
    """Three good rows and two bad ones (an unknown certificate, a date that does not exist)."""
    return write_annex2(
        path,
        [
            licence_row(1, expires_on=date(2027, 6, 1)),
            licence_row(2, expires_on=date(2027, 7, 1)),
            licence_row(3, certificate="兽药许可证"),
            licence_row(4, expires_on="2027-02-30"),
            licence_row(5, expires_on=date(2027, 8, 1), holder="A[/b]c 公司"),
        ],
        section=SECTION,
    )


async def settle(app: CallqueueApp, pilot: Pilot[Any]) -> None:
    """Let workers finish, except a directory tree's loader, which runs until unmounted."""
    for _ in range(3):
        await pilot.pause()
        workers = [w for w in app.workers if not isinstance(w.node, DirectoryTree)]
        if workers:  # an empty list would mean every worker
            await app.workers.wait_for_complete(workers)
        await pilot.pause()


def text_of(app: CallqueueApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_import(app: CallqueueApp, pilot: Pilot[Any]) -> ImportScreen:
    await settle(app, pilot)
    await pilot.press("i")
    await settle(app, pilot)
    assert isinstance(app.screen, ImportScreen)
    return app.screen


async def test_dry_run_then_import_with_rejects(engine: Engine, tmp_path: Path) -> None:
    me = with_staff(engine)
    path = workbook(tmp_path / "台账.xlsx")
    rejects = tmp_path / "台账-未导入.xlsx"
    app = create_app(engine=engine, today=TODAY, staff_name="甲")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_import(app, pilot)
        assert screen.check_action("import", ()) is None  # no dry run yet
        screen.query_one("#import-path", Input).value = str(path)
        await pilot.press("enter")
        await settle(app, pilot)
        summary = text_of(app, "#import-summary")
        assert "检查：数据行 5 行 —— 新增 3，更新 0，重复 0，拒绝 2" in summary
        assert "没有写入任何内容" in summary
        problems = screen.query_one(DataTable)
        cells = [[str(c) for c in problems.get_row_at(i)] for i in range(problems.row_count)]
        errors = [row for row in cells if row[0] == "✗"]
        assert [row[2] for row in errors] == ["7", "8"]  # sheet rows of items 3 and 4
        assert all(row[1] == "Sheet1" for row in errors)
        assert "兽药经营许可证" in errors[0][5] and "不存在的日期" in errors[1][5]
        problems.focus()
        problems.move_cursor(row=cells.index(errors[0]))
        await pilot.pause()
        detail = text_of(app, "#import-detail")
        assert detail.startswith("Sheet1 第7行［许可证书名称］：目录中没有“兽药许可证”")
        assert "是否为“兽药经营许可证”？" in detail  # in full, however narrow the column
        problems.move_cursor(row=cells.index(errors[1]))
        await pilot.pause()
        detail = text_of(app, "#import-detail")
        assert "不存在的日期" in detail and detail.count("“2027-02-30”") == 1, detail  # once
        # The dry run wrote nothing, not even the rejects workbook.
        assert (count(engine, Certificate), count(engine, ImportBatch)) == (0, 0)
        assert not rejects.exists()

        assert screen.check_action("import", ()) is True
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        summary = text_of(app, "#import-summary")
        assert "导入完成：数据行 5 行 —— 新增 3" in summary
        assert str(rejects) in summary
        bar = screen.query_one(ProgressBar)
        assert bar.total and bar.progress == bar.total
        assert screen.check_action("import", ()) is None  # a new dry run comes first
    assert (count(engine, Certificate), count(engine, Holder)) == (3, 3)
    b, a = table(ImportBatch), table(AuditEvent)
    with db.session_scope(engine, write=False) as session:
        batch = session.execute(select(b.c.staff_id, b.c.rejected, b.c.rejects_file)).one()
        audit = session.execute(
            select(a.c.staff_id, a.c.actor).where(a.c.action == "ledger.import")
        ).one()
    assert tuple(batch) == (me, 2, str(rejects))
    assert tuple(audit) == (me, "甲")
    assert rejects.exists()


async def test_unreadable_or_missing_file_is_said_and_nothing_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    with_staff(engine)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not a workbook")
    app = create_app(engine=engine, today=TODAY, staff_name="甲")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_import(app, pilot)
        await pilot.press("enter")  # nothing typed
        assert "请填写工作簿路径" in text_of(app, "#import-status")
        screen.query_one("#import-path", Input).value = str(broken)
        await pilot.press("enter")
        await settle(app, pilot)
        status = text_of(app, "#import-status")
        assert "无法读取“broken.xlsx”" in status and "没有写入任何内容" in status
        assert screen.query_one("#import-path", Input).value == str(broken)  # kept
        screen.query_one("#import-path", Input).value = str(tmp_path / "nowhere.xlsx")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "文件不存在" in text_of(app, "#import-status")
        assert screen.check_action("import", ()) is None
        assert app.is_running
    assert count(engine, ImportBatch) == 0


async def test_a_workbook_is_picked_in_the_folder_tree(engine: Engine, tmp_path: Path) -> None:
    with_staff(engine)
    folder = tmp_path / "ledgers"
    folder.mkdir()
    (folder / "readme.txt").write_text("not a workbook")
    good = workbook(folder / "good.xlsx")
    assert [p.name for p in WorkbookTree.filter_paths(None, folder.iterdir())] == ["good.xlsx"]  # type: ignore[arg-type]
    app = create_app(engine=engine, today=TODAY, staff_name="甲")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_import(app, pilot)
        screen.query_one("#import-path", Input).value = str(folder)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        tree = screen.query_one(WorkbookTree)
        assert tree.display and tree.path == folder
        for _ in range(100):  # the tree reads the folder in its own worker
            if tree.root.children:
                break
            await pilot.pause(0.02)
        await pilot.press("down", "enter")  # the only workbook
        await settle(app, pilot)
        assert screen.query_one("#import-path", Input).value == str(good)
        assert not tree.display
        assert "新增 3" in text_of(app, "#import-summary")
    assert count(engine, Certificate) == 0  # only a dry run


async def test_the_problems_table_holds_one_page(engine: Engine, tmp_path: Path) -> None:
    with_staff(engine)
    path = write_annex2(
        tmp_path / "bad.xlsx",
        [licence_row(n, certificate="兽药许可证") for n in range(1, PROBLEM_LIMIT + 21)],
        section=SECTION,
    )
    app = create_app(engine=engine, today=TODAY, staff_name="甲")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_import(app, pilot)
        screen.query_one("#import-path", Input).value = str(path)
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.query_one(DataTable).row_count == PROBLEM_LIMIT
        assert f"问题 {PROBLEM_LIMIT + 20} 条，表中列出前 {PROBLEM_LIMIT} 条" in text_of(
            app, "#import-status"
        )


async def test_back_at_the_queue_after_an_import_the_new_holders_are_listed(
    engine: Engine, tmp_path: Path
) -> None:
    from callqueue.tui.screens.queue import QueueScreen

    from .queue_world import due_row

    with_staff(engine)
    path = write_annex2(tmp_path / "新台账.xlsx", [due_row(1), due_row(2)], section=SECTION)
    app = create_app(engine=engine, today=TODAY, staff_name="甲")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen) and not queue.entries
        screen = await open_import(app, pilot)
        screen.query_one("#import-path", Input).value = str(path)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        assert "导入完成" in text_of(app, "#import-summary")
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is queue
        assert sorted(e.holder for e in queue.entries.values()) == [
            "东丽区第001号公司",
            "东丽区第002号公司",
        ]


async def test_esc_cancels_an_import_under_way_and_nothing_is_kept(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large import once ran to its end whatever staff pressed: Esc (and every other key) was
    # disabled until it finished. Esc now cancels it, up to the commit; the rows already
    # written are rolled back and the dry run stays, so Ctrl+G imports it later.
    with_staff(engine)
    path = write_annex2_bulk(tmp_path / "大台账.xlsx", 2500, section=SECTION)
    app = create_app(engine=engine, today=TODAY, staff_name="甲")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_import(app, pilot)
        screen.query_one("#import-path", Input).value = str(path)
        await pilot.press("enter")
        await settle(app, pilot)
        assert "新增 2500" in text_of(app, "#import-summary")
        run_import = OfficeDesk.import_ledger
        written: list[int] = []

        def held(office: OfficeDesk, path: Path, **kwargs: Any) -> Any:
            """The import, held after its first rows are written until Esc was pressed."""
            progress = kwargs.pop("progress")

            def wait_for_esc(stage: str, done: int, total: int) -> None:
                if stage == "写入" and done and not written:
                    written.append(done)
                    assert screen.cancelling.wait(10)
                progress(stage, done, total)

            return run_import(office, path, progress=wait_for_esc, **kwargs)

        monkeypatch.setattr(OfficeDesk, "import_ledger", held)
        await pilot.press("ctrl+g")
        for _ in range(100):
            await pilot.pause(0.05)
            if written:
                break
        assert written and written[0] >= 1000  # rows were written in the transaction
        assert screen.busy and screen.check_action("cancel", ()) is True
        assert screen.check_action("back", ()) is False  # Esc cancels; it does not go back
        assert screen.active_bindings["escape"].binding.description == "取消"  # the footer
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ImportScreen) and not screen.busy
        status = text_of(app, "#import-status")
        assert status == "已取消导入，没有写入任何内容（可按 Ctrl+G 重新导入）", status
        assert screen.check_action("import", ()) is True  # the dry run still stands
        assert screen.check_action("cancel", ()) is False
        assert screen.check_action("back", ()) is True
        assert screen.active_bindings["escape"].binding.description == "返回"
    assert (count(engine, Certificate), count(engine, Holder), count(engine, ImportBatch)) == (
        0,
        0,
        0,
    )
    assert not (tmp_path / "大台账-未导入.xlsx").exists()
