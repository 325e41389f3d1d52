"""`e` on the call screen: the claimed holder is emailed, the attempt shows, the next is claimed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select

from callqueue import db
from callqueue.config import Settings
from callqueue.db import table
from callqueue.models import MailStatus, OutboxEmail
from callqueue.tui.app import create_app
from callqueue.tui.screens.queue import QueueScreen

from .mail_server import Inbox, smtp_server
from .queue_world import NOW, TODAY, build, due_row
from .test_tui_dialogs import claim_first
from .test_tui_queue import attempts, reminders, settle, text_of

WITH_EMAIL = "东丽区第002号公司"  # first in queue order
NO_EMAIL = "东丽区第003号公司"


def world(engine: Engine, tmp_path: Path) -> None:
    build(
        engine,
        tmp_path,
        [
            due_row(2, expires_on=date(2027, 2, 10), contact="13800000002 boss@example.cn"),
            due_row(3, expires_on=date(2027, 2, 17)),
        ],
    )


def outbox_statuses(engine: Engine) -> list[str]:
    with db.session_scope(engine, write=False) as session:
        return list(session.execute(select(table(OutboxEmail).c.status)).scalars())


async def test_e_emails_the_claimed_holder_and_claims_the_next(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = Settings(
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            mail_from="区政务服务办 <zwfw@example.cn>",
            templates_dir=str(tmp_path / "templates"),
        )
        app = create_app(engine=engine, today=TODAY, staff_name="甲", settings=cfg, now=lambda: NOW)
        async with app.run_test(size=(120, 40)) as pilot:
            await claim_first(app, pilot)
            screen = app.screen
            assert isinstance(screen, QueueScreen) and screen.claimed is not None
            assert screen.claimed.holder == WITH_EMAIL
            assert screen.check_action("email", ()) is True
            await pilot.press("e")
            await settle(app, pilot)
            assert [a.rcpt_tos for a in inbox.arrived] == [["boss@example.cn"]]
            assert screen.claimed is not None and screen.claimed.holder == NO_EMAIL
            assert "邮件已发送至 bo***@example.cn" in text_of(app, "#queue-status")
            # The next holder has no address: `e` is greyed and pressing it does nothing.
            assert screen.check_action("email", ()) is None
            await pilot.press("e")
            await settle(app, pilot)
            assert len(inbox.arrived) == 1
    state = reminders(engine)
    assert state[WITH_EMAIL]["state"] == "informed" and state[WITH_EMAIL]["claimed_by_id"] is None
    [attempt] = attempts(engine)
    assert (attempt.channel, attempt.outcome) == ("email", "informed")
    assert outbox_statuses(engine) == [MailStatus.SENT]


async def test_e_without_a_mail_server_queues_for_the_send_run(
    engine: Engine, tmp_path: Path
) -> None:
    world(engine, tmp_path)
    app = create_app(engine=engine, today=TODAY, staff_name="甲", now=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await claim_first(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        assert "由邮件发送任务发出" in text_of(app, "#queue-status")
        # Emailed holders leave the phone queue; pressing `e` again cannot queue twice.
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        assert WITH_EMAIL not in [e.holder for e in screen.entries.values()]
    assert outbox_statuses(engine) == [MailStatus.QUEUED]
    assert reminders(engine)[WITH_EMAIL]["state"] == "due"  # until the email goes
    assert attempts(engine) == []
