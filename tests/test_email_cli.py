"""`callqueue email send | queue | list | retry | templates | test` against a real SMTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from callqueue import cli

from .ledger_files import write_annex2
from .mail_server import Inbox, free_port, smtp_server
from .queue_world import SECTION, due_row


@pytest.fixture
def inbox() -> Inbox:
    return Inbox(refuse_rcpt={"gone@example.cn": "550 5.1.1 no such user"})


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inbox: Inbox):  # type: ignore[no-untyped-def]
    """The CLI on three due holders (two with an address) and an SMTP server from the environment."""
    monkeypatch.setenv("CALLQUEUE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("CALLQUEUE_TEMPLATES_DIR", str(tmp_path / "templates"))
    contacts = ["13800000001 wang@example.cn", "13800000002 gone@example.cn", "13800000003"]
    rows = [due_row(n, contact=c) for n, c in enumerate(contacts, 1)]
    path = write_annex2(tmp_path / "q.xlsx", rows, section=SECTION)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli.main, ["--db", db_url, "--today", "2026-11-24", *args])

    assert invoke("import", str(path)).exit_code == 0
    assert invoke("staff", "add", "甲", "--section", SECTION).exit_code == 0
    with smtp_server(inbox) as port:
        monkeypatch.setenv("CALLQUEUE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CALLQUEUE_SMTP_PORT", str(port))
        monkeypatch.setenv("CALLQUEUE_SMTP_SECURITY", "none")
        monkeypatch.setenv("CALLQUEUE_MAIL_FROM", "区政务服务办 <zwfw@example.cn>")
        yield invoke


def reminders(run) -> list[int]:  # type: ignore[no-untyped-def]
    entries = json.loads(run("queue", "--section", SECTION, "--json").stdout)
    by_holder = {e["holder"]: e["reminders"][0] for e in entries}
    return [by_holder[f"东丽区第{n:03d}号公司"] for n in (1, 2, 3)]


def test_queue_sends_at_once_and_list_shows_it(run, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    first, gone, none = reminders(run)
    done = run("--staff", "甲", "email", "queue", str(first))
    assert done.exit_code == 0, done.output
    assert "wa***@example.cn" in done.stdout and "wang@example.cn" not in done.output
    assert [a.rcpt_tos for a in inbox.arrived] == [["wang@example.cn"]]
    again = run("--staff", "甲", "email", "queue", str(first))
    assert again.exit_code == 1 and "已发送过" in again.stderr
    no_address = run("--staff", "甲", "email", "queue", str(none))
    assert no_address.exit_code == 1 and "没有有效的电子邮箱" in no_address.stderr
    bounced = run("--staff", "甲", "email", "queue", str(gone))
    assert bounced.exit_code == 0 and "550" in bounced.stdout
    listed = json.loads(run("email", "list", "--json").stdout)
    assert [(e["reminder"], e["status"]) for e in listed] == [(gone, "failed"), (first, "sent")]
    assert all("@example.cn" in e["to"] and "***" in e["to"] for e in listed)
    text = run("email", "list").stdout
    assert "已发送" in text and "发送失败" in text


def test_send_json_and_dry_run(run, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    first, _, _ = reminders(run)
    assert run("--staff", "甲", "email", "queue", str(first), "--no-send").exit_code == 0
    dry = run("email", "send", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert report["dry_run"] is True and len(report["sent"]) == 1 and inbox.arrived == []
    real = json.loads(run("email", "send", "--json").stdout)
    assert [s["reminder"] for s in real["sent"]] == [first] and len(inbox.arrived) == 1
    assert json.loads(run("email", "send", "--json").stdout)["sent"] == []


def test_retry_refuses_what_was_sent(run) -> None:  # type: ignore[no-untyped-def]
    first, _, _ = reminders(run)
    run("--staff", "甲", "email", "queue", str(first))
    (line,) = json.loads(run("email", "list", "--json").stdout)
    refused = run("--staff", "甲", "email", "retry", str(line["id"]))
    assert refused.exit_code == 1 and "不需要重发" in refused.stderr


def test_retry_of_a_bounced_email_is_refused_without_another_address(run) -> None:  # type: ignore[no-untyped-def]
    _, gone, _ = reminders(run)
    run("--staff", "甲", "email", "queue", str(gone))
    (line,) = json.loads(run("email", "list", "--json").stdout)
    refused = run("--staff", "甲", "email", "retry", str(line["id"]))
    assert refused.exit_code == 1 and "已标记无效" in refused.stderr
    assert "gone@example.cn" not in refused.output
    (after,) = json.loads(run("email", "list", "--json").stdout)
    assert after["status"] == "failed"


def test_server_unreachable_exits_2_with_one_line(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    first, _, _ = reminders(run)
    run("--staff", "甲", "email", "queue", str(first), "--no-send")
    monkeypatch.setenv("CALLQUEUE_SMTP_PORT", str(free_port()))
    result = run("email", "send")
    assert result.exit_code == 2 and "无法连接邮件服务器" in result.stderr
    assert "Traceback" not in result.output


def test_templates_init_copies_defaults(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("email", "templates", "--init")
    assert result.exit_code == 0
    copied = sorted(p.name for p in (tmp_path / "templates").iterdir())
    assert "reminder.txt" in copied and "appointment.html" in copied and len(copied) == 9
    (tmp_path / "templates" / "reminder.txt").write_text("自拟", encoding="utf-8")
    run("email", "templates", "--init")
    assert (tmp_path / "templates" / "reminder.txt").read_text(encoding="utf-8") == "自拟"


def test_test_mail(run, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    result = run("email", "test", "--to", "check@example.cn")
    assert result.exit_code == 0, result.output
    assert inbox.to("check@example.cn")[0].message["Subject"] == "许可证书到期提醒系统：测试邮件"


@pytest.mark.parametrize("to", ["not an address", "check@example", "a@b@example.cn", " "])
def test_test_mail_to_something_that_is_no_address_is_refused(run, inbox: Inbox, to: str) -> None:  # type: ignore[no-untyped-def]
    result = run("email", "test", "--to", to)
    assert result.exit_code == 1 and "邮箱地址无效" in result.stderr
    assert inbox.arrived == []


def test_queue_says_the_email_went_when_the_database_could_not_record_it(
    run, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import OperationalError

    from callqueue.notify import delivery

    def database_gone(*args: object, **kwargs: object) -> None:
        raise OperationalError("UPDATE outboxemail …", {}, Exception("database is locked"))

    first, _, _ = reminders(run)
    monkeypatch.setattr(delivery, "_sent", database_gone)
    done = run("--staff", "甲", "email", "queue", str(first))
    assert [a.rcpt_tos for a in inbox.arrived] == [["wang@example.cn"]]
    assert done.exit_code == 2
    assert "已交给邮件服务器" in done.stderr and "不要重发" in done.stderr
    # Not the usual "waits in the queue for the next run": it went.
    assert "暂未发出" not in done.stderr and "Traceback" not in done.output


def test_send_shows_staff_chinese_only_and_logs_the_reason_in_english(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "cq.log"
    monkeypatch.setenv("CALLQUEUE_LOG", str(log))
    first, gone, _ = reminders(run)
    run("--staff", "甲", "email", "queue", str(gone), "--no-send")
    bounced = run("email", "send")
    assert "发送失败" in bounced.stdout and "550" in bounced.stdout
    run("--staff", "甲", "email", "queue", str(first), "--no-send")
    monkeypatch.setenv("CALLQUEUE_SMTP_PORT", str(free_port()))
    down = run("email", "send")
    assert down.exit_code == 2 and "无法连接邮件服务器" in down.stderr
    for result in (bounced, down):
        # No English log line on the staff's screen, nor Chinese masked into ＊s.
        assert "WARNING" not in result.output and "＊" not in result.output
    text = log.read_text(encoding="utf-8")
    assert "failed: recipient refused (550 5.1.1 no such user)" in text
    assert "email run stopped: cannot connect" in text and "Connection refused" in text
    assert "＊" not in text and "gone@" not in text
