"""The email channel against aiosmtpd on loopback: plain, STARTTLS and SSL, Chinese headers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.slowpeer import SlowPeer
from support.smtp import SmtpServer
from support.wecom import closed_port

from engine.config import EmailSettings
from engine.notify.channels.base import Message, Outcome
from engine.notify.channels.email import EmailChannel

# aiosmtpd itself reads a deprecated attribute when it checks a login
pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")

NOW = datetime(2021, 6, 23, 1, 0, tzinfo=UTC)
LOGIN = "duban@example.gov.cn"
PASSWORD = "Sm7p-pa55word!"
SUBJECT = "关于“统筹谋划体系建设”任务即将到期的提醒"


def settings(server: SmtpServer, security: str, **changes: object) -> EmailSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "security": security,
        "username": LOGIN,
        "password_env": "DUBAN_TEST_SMTP_PASSWORD",
        "from": "督办系统 <noreply@example.gov.cn>",
        "timeout_seconds": 5,
    }
    values.update(changes)
    return EmailSettings.model_validate(values)


def notice(**changes: object) -> Message:
    values: dict[str, object] = {
        "notice_id": 12,
        "kind": "reminder",
        "recipient": "市发改局",
        "subject": SUBJECT,
        "text": "市发改局：\n\n　　请抓紧推进。\n",
        "html": "<p>市发改局：</p><p>请抓紧推进。</p>",
        "emails": ("fgj@example.gov.cn", "fgj2@example.gov.cn"),
    }
    values.update(changes)
    return Message(**values)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUBAN_TEST_SMTP_PASSWORD", PASSWORD)


@pytest.fixture
def smtp_server(request, tmp_path: Path):
    with SmtpServer(request.param, tmp_path, username=LOGIN, password=PASSWORD) as server:
        yield server


@pytest.mark.parametrize("smtp_server", ["none", "starttls", "ssl"], indirect=True)
def test_a_notice_arrives_with_chinese_subject_and_names(smtp_server: SmtpServer):
    mode = smtp_server.mode
    context = smtp_server.client_context() if smtp_server.cafile else None
    channel = EmailChannel(settings(smtp_server, mode), ssl_context=context)
    delivery = channel.send(notice(), NOW)
    assert delivery.outcome is Outcome.SENT, delivery.detail
    assert "250 2.0.0 Ok: queued as DUBAN42" in delivery.detail
    (got,) = smtp_server.received
    assert got.mail_from == LOGIN  # the envelope sender is the login
    assert got.rcpt_tos == ["fgj@example.gov.cn", "fgj2@example.gov.cn"]
    mail = got.message
    assert mail["Subject"] == SUBJECT
    assert mail["From"].addresses[0].display_name == "督办系统"
    assert mail["To"].addresses[0].display_name == "市发改局"
    plain = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain == "市发改局：\n\n　　请抓紧推进。\n"
    assert "请抓紧推进" in mail.get_body(("html",)).get_content()
    # on the wire every header is ASCII: UTF-8 encoded words that any server accepts
    raw_headers = mail.as_bytes().split(b"\n\n", 1)[0]
    assert raw_headers.isascii()
    assert b"=?utf-8?" in raw_headers.lower()


@pytest.mark.parametrize("smtp_server", ["ssl"], indirect=True)
def test_the_system_trust_store_is_used_by_default(smtp_server, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp_server.cafile))
    delivery = EmailChannel(settings(smtp_server, "ssl")).send(notice(), NOW)
    assert delivery.ok, delivery.detail


@pytest.mark.parametrize("smtp_server", ["ssl"], indirect=True)
def test_an_untrusted_certificate_is_permanent(smtp_server, monkeypatch, tmp_path):
    other = tmp_path / "empty-ca.pem"
    other.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    delivery = EmailChannel(settings(smtp_server, "ssl")).send(notice(), NOW)
    assert delivery.outcome is Outcome.PERMANENT
    assert "证书校验失败" in delivery.detail
    assert smtp_server.received == []


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
def test_a_wrong_password_is_permanent_and_never_shown(smtp_server, monkeypatch):
    monkeypatch.setenv("DUBAN_TEST_SMTP_PASSWORD", "wrong-password-123")
    delivery = EmailChannel(settings(smtp_server, "none")).send(notice(), NOW)
    assert delivery.outcome is Outcome.PERMANENT
    assert "535" in delivery.detail
    assert "wrong-password-123" not in delivery.detail


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
def test_a_missing_password_variable_is_permanent(smtp_server, monkeypatch):
    monkeypatch.delenv("DUBAN_TEST_SMTP_PASSWORD")
    delivery = EmailChannel(settings(smtp_server, "none")).send(notice(), NOW)
    assert delivery.outcome is Outcome.PERMANENT
    assert "DUBAN_TEST_SMTP_PASSWORD" in delivery.detail


@pytest.mark.parametrize(
    ("smtp_server", "reply", "outcome"),
    [
        ("none", "451 4.3.0 Try again later", Outcome.TRANSIENT),
        ("none", "554 5.7.1 Rejected as spam", Outcome.PERMANENT),
    ],
    indirect=["smtp_server"],
)
def test_smtp_4xx_is_transient_and_5xx_permanent(smtp_server, reply, outcome):
    smtp_server.handler.reject_with = reply
    delivery = EmailChannel(settings(smtp_server, "none")).send(notice(), NOW)
    assert delivery.outcome is outcome
    assert reply.split()[0] in delivery.detail


def test_a_refused_connection_is_transient():
    s = EmailSettings.model_validate(
        {
            "host": "127.0.0.1",
            "port": closed_port(),
            "security": "none",
            "from": "a@b.cn",
            "timeout_seconds": 2,
        }
    )
    delivery = EmailChannel(s).send(notice(), NOW)
    assert delivery.outcome is Outcome.TRANSIENT
    assert "无法连接邮件服务器" in delivery.detail


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
def test_without_a_login_the_envelope_sender_is_the_from_address(smtp_server):
    s = settings(smtp_server, "none", username=None, password_env=None)
    assert EmailChannel(s).send(notice(), NOW).ok
    assert smtp_server.received[0].mail_from == "noreply@example.gov.cn"


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
@pytest.mark.parametrize("value", ["", "   "])
def test_a_blank_password_variable_is_permanent_and_nothing_is_sent(
    smtp_server, monkeypatch, value
):
    monkeypatch.setenv("DUBAN_TEST_SMTP_PASSWORD", value)
    delivery = EmailChannel(settings(smtp_server, "none")).send(notice(), NOW)
    assert delivery.outcome is Outcome.PERMANENT
    assert delivery.detail == (
        "环境变量 DUBAN_TEST_SMTP_PASSWORD 为空（channels.email.password_env），无法登录邮件服务器"
    )
    assert smtp_server.received == []


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
def test_without_a_login_the_password_variable_may_be_unset(smtp_server, monkeypatch):
    monkeypatch.delenv("DUBAN_TEST_SMTP_PASSWORD")
    s = settings(smtp_server, "none", username=None)
    assert EmailChannel(s).send(notice(), NOW).ok


def test_a_server_dribbling_its_replies_is_cut_off_at_the_timeout():
    """smtplib's timeout is per read: a greeting sent a byte every 0.2 s never trips 1 s, and the
    whole line takes ~20 s. The conversation as a whole must end at `timeout_seconds`."""
    greeting = b"220 " + b"x" * 100 + b"\r\n"
    with SlowPeer(greeting, interval=0.2, read_http_request=False) as peer:
        s = EmailSettings.model_validate(
            {"host": "127.0.0.1", "port": peer.port, "security": "none", "from": "a@b.cn",
             "timeout_seconds": 1}
        )
        delivery = EmailChannel(s).send(notice(), NOW)
        assert peer.finished.wait(timeout=30)
    assert delivery.outcome is Outcome.TRANSIENT
    assert "超时" in delivery.detail
    (written,) = peer.written
    assert written < len(greeting) // 4, (written, len(greeting))


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
def test_a_notice_names_itself_so_that_replies_and_repeats_find_it(smtp_server):
    s = settings(smtp_server, "none", imap_host="imap.example.gov.cn",
                 imap_username="duban@example.gov.cn", imap_password_env="DUBAN_TEST_IMAP_PW")
    channel = EmailChannel(s)
    assert channel.send(notice(), NOW).ok
    assert channel.send(notice(), NOW).ok  # the same notice again, as after a crash
    first, again = (r.message for r in smtp_server.received)
    assert first["Message-ID"] == again["Message-ID"] == "<duban.notice.12@example.gov.cn>"
    assert first["Reply-To"] == "duban@example.gov.cn"  # the mailbox duban reads
    assert first["List-Id"] == "duban notices <notices.duban.example.gov.cn>"
    # out-of-office answers and Exchange's automatic replies stay away
    assert first["Auto-Submitted"] == "auto-generated"
    assert first["X-Auto-Response-Suppress"] == "All"
    assert channel.send(notice(notice_id=13), NOW).ok
    assert smtp_server.received[2].message["Message-ID"] == "<duban.notice.13@example.gov.cn>"


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
def test_reply_to_names_the_configured_address_and_is_absent_without_a_mailbox(smtp_server):
    assert EmailChannel(settings(smtp_server, "none")).send(notice(), NOW).ok
    s = settings(smtp_server, "none", reply_to="督办室 <dbs@example.gov.cn>")
    assert EmailChannel(s).send(notice(), NOW).ok
    plain, named = (r.message for r in smtp_server.received)
    assert plain["Reply-To"] is None
    assert named["Reply-To"].addresses[0].addr_spec == "dbs@example.gov.cn"


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
@pytest.mark.parametrize("bad", ["fgj example.gov.cn", "fgj@", "发改局@example.gov.cn", "a@b@c"])
def test_a_bad_address_in_the_directory_fails_for_good_and_sends_nothing(smtp_server, bad):
    delivery = EmailChannel(settings(smtp_server, "none")).send(notice(emails=(bad,)), NOW)
    assert delivery.outcome is Outcome.PERMANENT, delivery.detail
    assert f"“{bad}”" in delivery.detail
    assert 'units."市发改局".email' in delivery.detail
    assert smtp_server.received == []


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
def test_beside_a_bad_address_the_good_one_gets_the_notice_and_the_bad_one_is_named(smtp_server):
    message = notice(emails=("fgj@example.gov.cn", "fgj,example.gov.cn"))
    delivery = EmailChannel(settings(smtp_server, "none")).send(message, NOW)
    assert delivery.ok, delivery.detail
    assert "未发往无效的地址" in delivery.detail and "“fgj,example.gov.cn”" in delivery.detail
    (got,) = smtp_server.received
    assert got.rcpt_tos == ["fgj@example.gov.cn"]


def test_doctor_names_a_bad_address_with_its_unit_and_key(duban, workdir):
    config = workdir / "duban.toml"
    config.write_text(
        "[channels.email]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\n"
        "from = \"督办系统 <duban@example.gov.cn>\"\n"
        "[channels.file]\ndir = \"outbox\"\n"
        "[units.\"市司法局\"]\nemail = [\"sfj@example.gov.cn\", \"sfj@example\"]\n",
        encoding="utf-8",
    )
    result = duban("--config", str(config), "doctor")
    lines = [line for line in result.out.splitlines() if "sfj@example”" in line]
    assert lines == [
        '问题：单位“市司法局”的电子邮箱“sfj@example”不是有效的地址（配置键 units."市司法局"'
        '.email[1]）：域名“example”无效，应形如 name@example.gov.cn'
    ]
    assert result.code == 1


def test_a_notice_to_a_bad_address_is_dead_at_once_in_the_outbox(duban, workdir):
    import json

    from support.notices import NOW as QUEUED
    from support.notices import database_with_plan, queue, settings_for

    from engine.notify.dispatcher import dispatch_due

    email = {"host": "127.0.0.1", "port": closed_port(), "security": "none",
             "from": "督办系统 <duban@example.gov.cn>"}
    settings = settings_for(workdir, {"市发改局": {"email": ["fgj@example"]}}, email=email)
    db = database_with_plan(workdir, settings)
    (notice_id,) = queue(db, settings, "市发改局")
    dispatch_due(db, settings, QUEUED)
    db.close()
    result = duban("--db", f"sqlite:///{workdir / 'duban.db'}", "outbox", "--json")
    rows = {row["id"]: row for row in json.loads(result.out)}
    row = rows[notice_id]
    # a config mistake: dead after one attempt, not retried for ever as an internal error
    assert (row["status"], row["attempts"]) == ("dead", 1)
    assert row["error"].startswith('单位“市发改局”的电子邮箱无效（配置键 units."市发改局".email）')
    assert "“fgj@example”" in row["error"]
    # and the coordinator is told
    assert any(r["kind"] == "delivery_failure" for r in rows.values())
