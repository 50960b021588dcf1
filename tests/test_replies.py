"""Progress by reply against a real IMAP server (Dovecot on loopback, scripts/dovecot.sh).

A notice goes out through the loopback SMTP server; the unit's answer is written into duban's
mailbox in the shape a real client gives it; one poll later the answer is the unit's progress
report, via "email", shown by `duban show --json`, and a confirmation went back to the sender.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from loguru import logger
from support.imap import (
    PDF,
    Mailbox,
    foxmail_reply,
    fresh_mailbox,
    iphone_reply,
    out_of_office,
    outlook_reply,
    with_attachments,
)
from support.notices import NOW, queue
from support.plans import small_plan
from support.postgres import scratch_database
from support.smtp import SmtpServer

from engine.actions.loading import load_plan
from engine.config import load_settings
from engine.notify.dispatcher import dispatch_due
from engine.notify.replies import ReplySummary, poll_replies
from engine.store import Database, open_database

UNIT_ADDRESSES = {
    "市发改局": ["fgj@example.gov.cn", "fgj.zhb@example.gov.cn"],
    "市财政局": ["czj@example.gov.cn"],
    "市司法局": ["sfj@example.gov.cn"],
    "市市场监管局": ["scjgj@example.gov.cn"],
    "市商务局": ["swj@example.gov.cn"],
}
FGJ = "张三 <fgj@example.gov.cn>"
LATER = NOW + timedelta(hours=2)
IMAP_PASSWORD_ENV = "DUBAN_TEST_IMAP_PASSWORD"


def write_config(folder: Path, smtp: SmtpServer, mailbox: Mailbox, **imap: Any) -> Path:
    values: dict[str, Any] = {
        "imap_host": mailbox.host,
        "imap_port": mailbox.port,
        "imap_tls": "tls",
        "imap_username": mailbox.username,
        "imap_password_env": IMAP_PASSWORD_ENV,
        "imap_ca_file": mailbox.cafile,
    }
    values.update(imap)
    lines = [
        "[channels.email]",
        'host = "127.0.0.1"',
        f"port = {smtp.port}",
        'security = "none"',
        'from = "督办系统 <duban@example.gov.cn>"',
        'reply_to = "duban@example.gov.cn"',
        "timeout_seconds = 10",
    ]
    lines += [f"{key} = {value!r}".replace("'", '"') if isinstance(value, str)
              else f"{key} = {value}" for key, value in values.items() if value is not None]
    lines += ["[channels.file]", f'dir = "{folder / "outbox"}"']
    for unit, addresses in UNIT_ADDRESSES.items():
        lines += [f'[units."{unit}"]', "email = [" + ", ".join(f'"{a}"' for a in addresses) + "]"]
    path = folder / "duban.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class World:
    folder: Path
    config: Path
    db: Database
    smtp: SmtpServer
    mailbox: Mailbox
    logs: list[str]
    url: str

    def notice(self, unit: str = "市发改局", tasks: tuple[int, ...] = (1, 4)) -> Any:
        """Send a reminder to `unit` through the SMTP server; the mail as it arrived."""
        settings = load_settings(self.config)
        before = len(self.smtp.received)
        queue(self.db, settings, unit, tasks=tasks, occurrence=f"reply-{unit}-{before}")
        dispatch_due(self.db, settings, NOW)
        (sent,) = self.smtp.received[before:]
        return sent.message

    def poll(self, at: Any = LATER) -> ReplySummary:
        return poll_replies(self.db, load_settings(self.config), at)


@contextlib.contextmanager
def open_world(folder: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> Iterator[World]:
    mailbox = fresh_mailbox()
    monkeypatch.setenv(IMAP_PASSWORD_ENV, mailbox.password)
    logs: list[str] = []
    sink = logger.add(logs.append, format="{level} {message}")
    with SmtpServer("none", folder) as smtp:
        config = write_config(folder, smtp, mailbox)
        db = open_database(url)
        load_plan(db, small_plan(), load_settings(config), NOW)
        try:
            yield World(folder, config, db, smtp, mailbox, logs, url)
        finally:
            db.close()
            with contextlib.suppress(ValueError):  # `duban` commands reset the log handlers
                logger.remove(sink)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with open_world(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'duban.db'}") as opened:
        yield opened


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_world(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The world on SQLite and on PostgreSQL: savepoints, locks and the unique key on both."""
    if request.param == "sqlite":
        with open_world(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'duban.db'}") as opened:
            yield opened
        return
    with scratch_database("duban_replies") as url, open_world(tmp_path, monkeypatch, url) as opened:
        yield opened


def history(duban, world: World, no: int) -> list[dict[str, Any]]:
    import json

    result = duban("--db", world.url, "--config", str(world.config), "--now", LATER.isoformat(),
                   "show", str(no), "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)["history"]


def progress(duban, world: World, no: int) -> list[dict[str, Any]]:
    return [h for h in history(duban, world, no) if h["action"] == "progress"]


def confirmations(world: World) -> list[Any]:
    return [r for r in world.smtp.received if str(r.message["Subject"]).startswith("已收到进展")]


def test_an_outlook_reply_is_the_units_progress_on_every_task_of_the_notice(duban, any_world):
    notice = any_world.notice()
    text = "体系建设方案已完成初稿，正在征求各成员单位意见。"
    any_world.mailbox.append(outlook_reply(notice, FGJ, text))

    summary = any_world.poll()

    assert [h.outcome for h in summary.handled] == ["recorded"], summary
    for no in (1, 4):
        (entry,) = progress(duban, any_world, no)
        assert entry["actor"] == "市发改局" and entry["via"] == "email"
        # the quoted notice and Outlook's header block are cut off
        assert entry["reason"] == text
        assert entry["at"] == LATER.isoformat()
    (confirmation,) = confirmations(any_world)
    assert confirmation.rcpt_tos == ["fgj@example.gov.cn"]
    mail = confirmation.message
    assert mail["In-Reply-To"] == any_world.mailbox.messages()[0][0]["Message-ID"]
    assert mail["Auto-Submitted"] == "auto-replied"
    assert "记为任务 1、4 的进展" in mail.get_body(("plain",)).get_content()
    assert [seen for _, seen in any_world.mailbox.messages()] == [True]


def test_a_reply_from_a_phone_naming_one_task_goes_to_that_task_only(duban, world):
    notice = world.notice()
    world.mailbox.append(iphone_reply(notice, "fgj.zhb@example.gov.cn", "任务4：二季度已报送。"))

    summary = world.poll()

    assert [h.tasks for h in summary.handled] == [[4]]
    (entry,) = progress(duban, world, 4)
    assert entry["reason"] == "任务4：二季度已报送。"  # no "发自我的iPhone", no quote
    assert progress(duban, world, 1) == []
    assert confirmations(world)[0].rcpt_tos == ["fgj.zhb@example.gov.cn"]


def test_a_foxmail_reply_in_gbk_loses_its_signature_and_the_original(duban, world):
    notice = world.notice()
    world.mailbox.append(foxmail_reply(notice, FGJ, "已按要求完成，详见下周报送的材料。"))

    world.poll()

    (entry,) = progress(duban, world, 1)
    assert entry["reason"] == "已按要求完成，详见下周报送的材料。"


def test_attachments_become_evidence_and_a_refused_one_is_named_to_the_sender(duban, world):
    notice = world.notice(tasks=(1,))
    reply = with_attachments(
        outlook_reply(notice, FGJ, "附上阶段性工作报告。"),
        [("阶段性工作报告.pdf", PDF, "application/pdf"),
         ("setup.exe", b"MZ\x90\x00", "application/octet-stream")],
    )
    world.mailbox.append(reply)

    summary = world.poll()

    (handled,) = summary.handled
    assert handled.evidence == ["阶段性工作报告.pdf"]
    (entry,) = progress(duban, world, 1)
    assert entry["reason"] == "附上阶段性工作报告。（佐证材料：阶段性工作报告.pdf）"
    body = confirmations(world)[0].message.get_body(("plain",)).get_content()
    assert "佐证材料：阶段性工作报告.pdf" in body
    assert "setup.exe" in body and "不接受“.exe”格式" in body
    from engine.store.models import Evidence

    with world.db.read() as session:
        (stored,) = session.query(Evidence).all()
        assert stored.content == PDF and stored.filename == "阶段性工作报告.pdf"


def _unknown_sender(notice):
    return outlook_reply(notice, "李四 <lisi@other.example.cn>", "已完成。")


def _answers_no_notice(notice):
    mail = outlook_reply(notice, FGJ, "已完成。")
    del mail["In-Reply-To"]
    del mail["References"]
    return mail


def _empty(notice):
    return iphone_reply(notice, FGJ, "")


def _another_units_notice_answered_by_fgj(notice):
    mail = outlook_reply(notice, FGJ, "已完成。")
    mail.replace_header("In-Reply-To", "<duban.notice.999@example.gov.cn>")
    mail.replace_header("References", "<duban.notice.999@example.gov.cn>")
    return mail


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda notice: out_of_office(notice, FGJ), "Auto-Submitted: auto-replied"),
        (_unknown_sender, "发件人 lisi@other.example.cn 不是通知 1 所发单位“市发改局”"),
        (_answers_no_notice, "对应不到任何通知"),
        (_another_units_notice_answered_by_fgj, "对应不到任何通知"),
        (_empty, "回复没有正文"),
    ],
    ids=["out-of-office", "unknown-sender", "no-notice", "unknown-notice", "empty"],
)
def test_mail_that_is_no_report_changes_nothing_and_is_logged_with_why(duban, world, make, why):
    notice = world.notice()
    world.mailbox.append(make(notice))

    summary = world.poll()

    (handled,) = summary.handled
    assert handled.outcome == "ignored" and why in handled.reason, handled.reason
    assert any(why in line and "未做任何改动" in line for line in world.logs), world.logs
    assert progress(duban, world, 1) == [] and progress(duban, world, 4) == []
    assert confirmations(world) == []  # an auto-reply is never answered: no loop
    assert [seen for _, seen in world.mailbox.messages()] == [True]
    assert world.poll().handled == []  # and it is not read again


def test_a_message_read_before_but_not_marked_seen_is_not_recorded_twice(duban, world):
    notice = world.notice()
    world.mailbox.append(outlook_reply(notice, FGJ, "已完成。"))
    world.poll()
    _mark_unseen(world.mailbox)  # as when the service died between the commit and the flag

    again = world.poll()

    assert [h.outcome for h in again.handled] == ["again"]
    assert len(progress(duban, world, 1)) == 1
    assert len(confirmations(world)) == 1
    assert [seen for _, seen in world.mailbox.messages()] == [True]


def _mark_unseen(mailbox: Mailbox) -> None:
    import imaplib

    imap = imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=mailbox.context())
    try:
        imap.login(mailbox.username, mailbox.password)
        imap.select("INBOX")
        imap.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")
    finally:
        imap.logout()


POLL = (
    "import sys\n"
    "from datetime import datetime\n"
    "from engine.config import load_settings\n"
    "from engine.store import open_database\n"
    "from engine.notify.replies import poll_replies\n"
    "db = open_database(sys.argv[2])\n"
    "print(poll_replies(db, load_settings(sys.argv[1]), datetime.fromisoformat(sys.argv[3])))\n"
)


def test_a_poll_killed_after_one_message_is_finished_by_the_next_once_each(duban, any_world):
    notices = [any_world.notice("市发改局", (1,)), any_world.notice("市商务局", (4,)),
               any_world.notice("市司法局", (3,))]
    senders = [FGJ, "swj@example.gov.cn", "sfj@example.gov.cn"]
    for notice, sender, text in zip(notices, senders, ["一已完成", "四已完成", "三已完成"],
                                    strict=True):
        any_world.mailbox.append(outlook_reply(notice, sender, text))
    holding = any_world.smtp.hold(len(any_world.smtp.received) + 1)  # the first confirmation
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env[IMAP_PASSWORD_ENV] = any_world.mailbox.password
    child = subprocess.Popen(
        [sys.executable, "-c", POLL, str(any_world.config), any_world.url, LATER.isoformat()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        # the first reply is committed and its confirmation is on the wire: kill it there
        assert holding.wait(timeout=60), "the poll never confirmed the first reply"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    any_world.smtp.release()
    assert child.returncode == -signal.SIGKILL
    assert [seen for _, seen in any_world.mailbox.messages()] == [False, False, False]

    summary = any_world.poll()

    assert [h.outcome for h in summary.handled] == ["again", "recorded", "recorded"]
    assert [e["reason"] for e in progress(duban, any_world, 1)] == ["一已完成"]
    assert [e["reason"] for e in progress(duban, any_world, 4)] == ["四已完成"]
    assert [e["reason"] for e in progress(duban, any_world, 3)] == ["三已完成"]
    assert sorted(c.rcpt_tos[0] for c in confirmations(any_world)) == [
        "fgj@example.gov.cn", "sfj@example.gov.cn", "swj@example.gov.cn"
    ]
    assert [seen for _, seen in any_world.mailbox.messages()] == [True, True, True]


def test_starttls_works_and_a_plain_port_is_never_used_in_the_clear(world):
    notice = world.notice()
    world.mailbox.append(outlook_reply(notice, FGJ, "已完成。"))
    # TLS from the start against the STARTTLS port: the handshake fails, nothing is sent
    write_config(world.folder, world.smtp, world.mailbox, imap_port=world.mailbox.starttls_port)
    failed = world.poll()
    assert failed.handled == [] and "无法读取回复邮件的邮箱" in (failed.error or "")
    write_config(world.folder, world.smtp, world.mailbox, imap_port=world.mailbox.starttls_port,
                 imap_tls="starttls")
    assert [h.outcome for h in world.poll().handled] == ["recorded"]


def test_an_untrusted_certificate_is_refused(world, tmp_path):
    other = tmp_path / "other-ca.pem"
    from support.smtp import self_signed_cert

    cert, _ = self_signed_cert(tmp_path)
    other.write_bytes(cert.read_bytes())
    write_config(world.folder, world.smtp, world.mailbox, imap_ca_file=str(other))
    summary = world.poll()
    assert "证书校验失败" in (summary.error or ""), summary.error


def test_a_mailbox_failure_is_logged_and_the_tick_goes_on(duban, world, monkeypatch):
    monkeypatch.setenv(IMAP_PASSWORD_ENV, "Wr0ng-imap-pa55word")
    result = duban("--db", world.url, "--config", str(world.config), "--now", LATER.isoformat(),
                   "run", "--once")
    assert result.code == 0, result.err
    assert "发送情况" in result.out  # the planner and the dispatcher ran
    assert "无法读取回复邮件的邮箱" in result.err and "下一轮检查时重试" in result.err
    assert "Wr0ng-imap-pa55word" not in result.err + result.out
    monkeypatch.delenv(IMAP_PASSWORD_ENV)
    result = duban("--db", world.url, "--config", str(world.config), "--now", LATER.isoformat(),
                   "run", "--once")
    assert result.code == 0
    assert f"环境变量 {IMAP_PASSWORD_ENV} 未设置（channels.email.imap_password_env）" in result.err


def test_the_service_tick_reads_the_mailbox(duban, world):
    notice = world.notice()
    world.mailbox.append(outlook_reply(notice, FGJ, "已完成。"))
    result = duban("--db", world.url, "--config", str(world.config), "--now", LATER.isoformat(),
                   "run", "--once")
    assert result.code == 0, result.err
    assert "记为“市发改局”对任务 1、4 的进展" in result.err
    assert [e["via"] for e in progress(duban, world, 1)] == ["email"]


def _doctor(duban, world: World, *args: str) -> list[str]:
    result = duban("--db", world.url, "--config", str(world.config), "--now", LATER.isoformat(),
                   "doctor", *args)
    return [line for line in result.out.splitlines() if "邮箱" in line or "IMAP" in line]


def test_doctor_logs_in_to_the_mailbox_with_network_and_reads_nothing(duban, world, monkeypatch):
    notice = world.notice()
    world.mailbox.append(outlook_reply(notice, FGJ, "已完成。"))
    assert _doctor(duban, world, "--network") == []
    assert [seen for _, seen in world.mailbox.messages()] == [False]  # not read, not marked
    monkeypatch.setenv(IMAP_PASSWORD_ENV, "Wr0ng-imap-pa55word")
    (line,) = _doctor(duban, world, "--network")
    assert line.startswith(f"问题：无法读取回复邮件的邮箱 127.0.0.1:{world.mailbox.port}")
    assert "Wr0ng-imap-pa55word" not in line
    monkeypatch.delenv(IMAP_PASSWORD_ENV)
    key = "channels.email.imap_password_env"
    expected = f"问题：环境变量 {IMAP_PASSWORD_ENV} 未设置（配置键 {key} 需要它）"
    assert expected in _doctor(duban, world)
    monkeypatch.setenv(IMAP_PASSWORD_ENV, world.mailbox.password)
    write_config(world.folder, world.smtp, world.mailbox, imap_ca_file="missing-ca.pem")
    assert _doctor(duban, world) == [
        f"问题：回复邮箱的 CA 证书文件 {world.folder / 'missing-ca.pem'} 不存在"
        "（配置键 channels.email.imap_ca_file）"
    ]


def test_a_reply_is_recorded_on_the_units_own_tasks_and_the_others_are_named(duban, any_world):
    # 市商务局 leads task 4 and has no part in task 1: a notice listing both (a digest-like
    # reminder) records the reply on 4 and names 1 to the sender, in one transaction
    notice = any_world.notice("市商务局", (1, 4))
    any_world.mailbox.append(outlook_reply(notice, "swj@example.gov.cn", "四季度工作已部署。"))

    (handled,) = any_world.poll().handled

    assert handled.outcome == "recorded" and handled.tasks == [4]
    assert [e["reason"] for e in progress(duban, any_world, 4)] == ["四季度工作已部署。"]
    assert progress(duban, any_world, 1) == []
    body = confirmations(any_world)[0].message.get_body(("plain",)).get_content()
    assert "记为任务 4 的进展" in body and "任务 1：" in body


def test_a_malformed_message_is_set_aside_and_the_next_one_is_read(duban, world):
    notice = world.notice()
    # headers the email package cannot parse (it raises IndexError on both), as spam may carry
    world.mailbox.append(
        b"From: =?utf-8?q?\xff?= <\r\nMessage-ID: <@>\r\nSubject: x\r\n\r\nbody\r\n"
    )
    world.mailbox.append(outlook_reply(notice, FGJ, "已完成。"))

    summary = world.poll()

    assert [h.outcome for h in summary.handled] == ["ignored", "recorded"], summary
    assert [e["reason"] for e in progress(duban, world, 1)] == ["已完成。"]
    assert [seen for _, seen in world.mailbox.messages()] == [True, True]
