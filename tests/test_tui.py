"""The (for now minimal) TUI: it starts, reads the catalog in a worker, survives a lost database."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from textual.widgets import DataTable, Static

from callqueue import db
from callqueue.tui.app import create_app


async def test_catalog_screen_lists_the_catalog(engine: Engine) -> None:
    app = create_app(engine=engine, today=date(2026, 11, 24), staff_name="张敏")
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count == 14
        first = [str(cell) for cell in table.get_row_at(0)]
        assert first[2] == "排污许可证" and "偏晚" in first[1]
        who = str(app.screen.query_one("#who", Static).render())
        assert "张敏" in who and "2026-11-24" in who
        assert "2027年的法定节假日" in who  # next year is not covered yet: said on screen
        await pilot.press("down", "down")
        detail = str(app.screen.query_one("#catalog-detail", Static).render())
        assert "卫生许可证" in detail or "供水" in detail
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_lost_database_shows_a_message_and_keeps_the_screen(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'gone.sqlite'}")  # never migrated: no tables
    app = create_app(engine=engine, today=date(2026, 11, 24))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(app.screen.query_one("#catalog-status", Static).render())
        assert status.startswith("读取目录失败")
        assert app.screen.query_one(DataTable).row_count == 0
        await pilot.press("r")  # still usable
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running
    engine.dispose()


async def test_catalog_detail_gives_the_confidence_in_chinese(engine: Engine) -> None:
    app = create_app(engine=engine, today=date(2026, 11, 24), staff_name="张敏")
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = []
        for _ in range(app.screen.query_one(DataTable).row_count):
            said.append(str(app.screen.query_one("#catalog-detail", Static).render()))
            await pilot.press("down")
        confidences = [d.split("可信度：")[1].split("）")[0] for d in said if "可信度：" in d]
        assert "期限高；材料中" in confidences and "低" in confidences
        assert not any(c.isascii() or "high" in c or "deadline" in c for c in confidences)
