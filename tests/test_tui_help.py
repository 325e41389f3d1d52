"""The help (`?`): every key and explanation readable, at 80 columns too."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from callqueue.tui.app import CallqueueApp
from callqueue.tui.screens.help import HelpScreen

from .test_tui_queue import app_for, settle, world


def screen_text(app: CallqueueApp) -> str:
    """Everything on screen, borders and spaces left out, lines run together."""
    lines = (strip.text for strip in app.screen._compositor.render_strips())
    return "".join("".join(line.split()).strip("█▀▄▁▔▊▎") for line in lines)


async def test_help_explanations_fold_at_80_columns(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    # 80 columns as the smallest terminal; tall enough that nothing needs scrolling.
    async with app.run_test(size=(80, 80)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        help_ = app.screen
        assert isinstance(help_, HelpScreen)
        shown = screen_text(app)
        for _key, _name, why in help_.rows:  # a long one lost its end to "…" (the email key)
            assert "".join(why.split()) in shown, why
        assert "…" not in shown
