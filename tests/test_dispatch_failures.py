"""Permanent failures found while sending go dead and tell the coordinator, at once.

A wrong SMTP password is answered 535 (a 5xx: permanent) by the loopback server, so the client
never waits for its timeout; a robot key variable emptied after a notice was planned fails before
anything is posted.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from support.notices import NOW, database_with_plan, queue, row, rows, settings_for
from support.smtp import SmtpServer
from support.wecom import WecomServer

from engine.notify.dispatcher import dispatch_due
from engine.store.outbox import DEAD, SENT

pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")

LOGIN = "duban@example.gov.cn"
RIGHT = "right-smtp-pw-5521"
WRONG = "wrong-smtp-pw-8830"


@pytest.fixture
def smtp(tmp_path: Path):
    with SmtpServer("none", tmp_path, username=LOGIN, password=RIGHT) as server:
        yield server


def _failure_report(db, tmp_path: Path) -> tuple[str, str]:
    report = next(r for r in rows(db) if r.kind == "delivery_failure")
    assert (report.recipient, report.channel, report.status) == ("市司法局", "file", SENT)
    text = next((tmp_path / "outbox").rglob("*delivery_failure*.txt")).read_text(encoding="utf-8")
    return report.context["error"], text


def test_a_wrong_smtp_password_goes_dead_and_the_coordinator_is_told(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DUBAN_TEST_DISPATCH_PW", WRONG)
    email = {
        "host": "127.0.0.1",
        "port": smtp.port,
        "security": "none",
        "username": LOGIN,
        "password_env": "DUBAN_TEST_DISPATCH_PW",
        "from": "督办系统 <duban@example.gov.cn>",
        # a server that never answered the login would make this a transient timeout
        "timeout_seconds": 5,
    }
    settings = settings_for(
        tmp_path,
        {"市发改局": {"email": ["fgj@example.gov.cn"]}, "市司法局": {"file": True}},
        email=email,
    )
    db = database_with_plan(tmp_path, settings)
    try:
        (notice,) = queue(db, settings)
        summary = dispatch_due(db, settings, NOW, rng=random.Random(1))
        assert (summary.dead, summary.failed, summary.sent) == (1, 0, 1)
        dead = row(db, notice)
        assert dead.status == DEAD and dead.attempts == 1  # not retried: 535 is permanent
        assert "535" in (dead.error or "") and WRONG not in (dead.error or "")
        error, text = _failure_report(db, tmp_path)
        assert "535" in error
        assert "电子邮件" in text and "市发改局" in text and f"通知编号{notice}" in text
        assert WRONG not in text and RIGHT not in text
        assert smtp.received == []
    finally:
        db.close()


def test_a_key_variable_emptied_after_planning_goes_dead_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    server = WecomServer().start()
    monkeypatch.setenv("DUBAN_TEST_DISPATCH_KEY", "robot-key-7d1c")
    try:
        settings = settings_for(
            tmp_path,
            {
                "市发改局": {"wecom": server.url("${DUBAN_TEST_DISPATCH_KEY}")},
                "市司法局": {"file": True},
            },
        )
        db = database_with_plan(tmp_path, settings)
        (notice,) = queue(db, settings)
        assert row(db, notice).channel == "wecom"
        monkeypatch.setenv("DUBAN_TEST_DISPATCH_KEY", " ")
        summary = dispatch_due(db, settings, NOW, rng=random.Random(1))
        assert (summary.dead, summary.sent) == (1, 1)
        assert server.received == []  # nothing was posted to `key=`
        error, text = _failure_report(db, tmp_path)
        assert "环境变量 DUBAN_TEST_DISPATCH_KEY 为空" in error
        assert "DUBAN_TEST_DISPATCH_KEY" in text and "企业微信" in text
        db.close()
    finally:
        server.stop()
