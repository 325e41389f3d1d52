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


async def test_every_screen_has_its_help(engine: Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        for key, screen_keys in (
            ("a", {"p": "前一工作日", "x": "取消预约", "Esc": "返回"}),
            ("c", {"e": "修改", "Esc": "返回"}),
            ("d", {"回车": "明细", "Esc": "返回"}),
        ):
            await pilot.press(key)
            await settle(app, pilot)
            screen, focused = app.screen, app.focused
            assert "? 帮助" in footer_line(app)
            await pilot.press("question_mark")  # did nothing: only the call screen had a help
            await settle(app, pilot)
            help_ = app.screen
            assert isinstance(help_, HelpScreen), key
            keys = {k: name for k, name, _ in help_.rows}
            assert screen_keys.items() <= keys.items()
            assert keys["q"] == "退出" and keys["?"] == "帮助"
            assert key not in keys  # the key of the screen in view opens nothing
            assert not help_.query(".help-note")  # the call screen's notes are the call screen's
            await pilot.press("escape")
            await settle(app, pilot)
            assert app.screen is screen and app.focused is focused
            await pilot.press("escape")
            await settle(app, pilot)

        await pilot.press("question_mark")  # the call screen's help: its keys and its notes
        await settle(app, pilot)
        help_ = app.screen
        assert isinstance(help_, HelpScreen)
        keys = {k: name for k, name, _ in help_.rows}
        assert keys["1"] == "告知" and keys["a"] == "预约表" and keys["Ctrl+S"] == "重试保存"
        assert help_.query(".help-note")


def footer_line(app: CallqueueApp) -> str:
    """The screen's last line: the footer's keys."""
    return app.screen._compositor.render_strips()[-1].text


def test_the_call_screens_notes_say_what_its_marks_mean() -> None:
    from callqueue.tui.screens.queue import QueueScreen

    marks = next(n for n in QueueScreen.HELP_NOTES if n.startswith("标记"))
    # A holder is claimed whole, across sections: a colleague of another section calling it
    # also shows as 他人处理中 (the note said 同科室, the same section only).
    assert "同科室" not in marks and "不论哪个科室" in marks
    assert "认领中" in marks


async def test_screen_keys_are_named_apart_from_the_outcome_keys(
    engine: Engine, tmp_path: Path
) -> None:
    # `2 预约` and `a 预约`, `3 帮办` and `w 帮办` sat side by side: the digits record an
    # outcome, the letters open a screen, which now names itself as its key does.
    world(engine, tmp_path)
    app = app_for(engine)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        footer = footer_line(app)
        assert "2 预约 " in footer and "3 帮办 " in footer
        assert "a 预约表 " in footer and "w 帮办案件 " in footer
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"预约表（a）", "帮办案件（w）"} <= set(titles), titles
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = {k: name for k, name, _ in app.screen.rows}
        assert (keys["2"], keys["a"], keys["3"], keys["w"]) == (
            "预约",
            "预约表",
            "帮办",
            "帮办案件",
        )
        await pilot.press("escape")
        for key, title in (("a", "预约表"), ("w", "帮办案件")):
            await pilot.press(key)
            await settle(app, pilot)
            assert str(app.screen.query_one("#who").render()).startswith(title)
            await pilot.press("escape")
            await settle(app, pilot)


async def test_the_call_screens_help_leaves_out_what_a_caller_is_never_offered(
    engine: Engine, tmp_path: Path
) -> None:
    """`v 科室` is a supervisor's key: a caller's help does not list it, a supervisor's does."""
    from callqueue import db
    from callqueue.queue import staff

    from .queue_world import SECTION

    world(engine, tmp_path)
    with db.session_scope(engine, write=True) as session:
        staff.add_staff(session, name="主任", section=SECTION, role="supervisor", actor="t")
    for who, offered in (("甲", False), ("主任", True)):
        app = app_for(engine, who)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("question_mark")
            await settle(app, pilot)
            help_ = app.screen
            assert isinstance(help_, HelpScreen)
            keys = {k: name for k, name, _ in help_.rows}
            assert ("v" in keys) is offered, who
            assert keys["1"] == "告知" and keys["Ctrl+S"] == "重试保存"  # dimmed keys stay
