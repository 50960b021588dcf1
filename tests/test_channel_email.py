"""The email channel against aiosmtpd on loopback: plain, STARTTLS and SSL, Chinese headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from support.slowpeer import SlowPeer
from support.smtp import SmtpServer
from support.wecom import closed_port

from engine.config import EmailSettings
from engine.notify.channels.base import Message, Outcome
from engine.notify.channels.email import (
    MESSAGES_PER_CONNECTION,
    EmailChannel,
    ascii_address,
    build_message,
    notice_message_id,
    reply_address,
    sender_address,
)

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


# --- the message as written -----------------------------------------------------------------------


def written_by_the_email_package(message: Message, s: EmailSettings, now: datetime) -> bytes:
    """The notice as the email package writes it (how the channel built it before it wrote the
    bytes itself): the reference the channel's own bytes must parse the same as."""
    sender = sender_address(s.from_)
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = [
        Address(display_name=message.recipient, addr_spec=ascii_address(address))
        for address in message.emails
    ]
    if reply_address(s):
        mail["Reply-To"] = reply_address(s)
    mail["Date"] = format_datetime(now)
    if message.notice_id is not None:
        mail["Message-ID"] = notice_message_id(message.notice_id, sender)
    else:
        mail["Message-ID"] = make_msgid(idstring="duban.test", domain=sender.domain)
    mail["List-Id"] = f"duban notices <notices.duban.{sender.domain}>"
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(message.text, charset="utf-8")
    if message.html:
        mail.add_alternative(message.html, subtype="html", charset="utf-8")
    return mail.as_bytes(policy=policy.SMTP)


def plain_settings(**changes: object) -> EmailSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1", "port": 25, "security": "none",
        "from": "督办系统 <noreply@example.gov.cn>",
    }
    values.update(changes)
    return EmailSettings.model_validate(values)


HEADERS = ("Subject", "From", "To", "Reply-To", "Date", "List-Id", "Auto-Submitted",
           "X-Auto-Response-Suppress", "MIME-Version")
CASES: dict[str, tuple[dict[str, object], dict[str, object]]] = {
    "a notice": ({}, {}),
    "an ASCII subject": ({"subject": "Reminder: task 3 is due"}, {}),
    "a long subject": ({"subject": "关于" + "统筹谋划大湾区法律服务体系建设" * 8 + "的提醒"}, {}),
    "text only": ({"html": None}, {}),
    "no last line break": ({"text": "请抓紧推进。", "html": "<p>请抓紧推进。</p>"}, {}),
    "a test message": ({"notice_id": None}, {}),
    "an ASCII name with specials": ({"recipient": 'Office "A", Zhuhai'}, {}),
    "thirty addresses": ({"emails": tuple(f"u{i}@example.gov.cn" for i in range(30))}, {}),
    "a Chinese domain": ({"emails": ("fgj@例子.中国",)}, {}),
    "a Chinese Reply-To": ({}, {"reply_to": "珠海市司法局督办室 <dbs@example.gov.cn>"}),
    "an ASCII sender": ({}, {"from": "duban@example.gov.cn"}),
}


@pytest.mark.parametrize("case", CASES)
def test_the_notice_written_is_the_message_the_email_package_writes(case):
    changes, setting_changes = CASES[case]
    message, s = notice(**changes), plain_settings(**setting_changes)
    data = build_message(message, s, NOW)
    ours = message_from_bytes(data, policy=policy.default)
    theirs = message_from_bytes(written_by_the_email_package(message, s, NOW),
                                policy=policy.default)
    for name in HEADERS:
        assert str(ours[name]) == str(theirs[name]), name
    if message.notice_id is None:
        assert str(ours["Message-ID"]).startswith("<") and "duban.test" in ours["Message-ID"]
    else:
        assert ours["Message-ID"] == theirs["Message-ID"] == "<duban.notice.12@example.gov.cn>"
    assert ours.get_content_type() == theirs.get_content_type()
    for kind in ("plain", "html"):
        got, want = ours.get_body((kind,)), theirs.get_body((kind,))
        assert (got is None) == (want is None), kind
        if got is not None and want is not None:
            assert got.get_content() == want.get_content(), kind
            assert got.get_content_charset() == "utf-8"
    assert [part.defects for part in ours.walk()] == [[] for _ in ours.walk()]
    # on the wire: ASCII, every line ended by CRLF and at most 78 characters (RFC 5322's
    # "should"; a test message's random Message-ID, one token, may be longer: at most 998)
    assert data.isascii() and data.endswith(b"\r\n")
    lines = data.split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    assert max(len(line) for line in lines if not line.startswith(b"Message-ID:")) <= 78
    assert max(map(len, lines)) <= 998


@pytest.mark.parametrize(
    "name", ["市发改局\r\nBcc: spy@example.com", "Office\r\nBcc: spy@example.com"]
)
def test_a_line_break_in_a_name_or_subject_adds_no_header(name):
    message = notice(recipient=name, subject="提醒\nBcc: spy@example.com")
    parsed = message_from_bytes(build_message(message, plain_settings(), NOW),
                                policy=policy.default)
    assert parsed["Bcc"] is None
    assert "spy@example.com" in str(parsed["Subject"])
    assert parsed["To"].addresses[0].addr_spec == "fgj@example.gov.cn"
    assert "spy@example.com" in parsed["To"].addresses[0].display_name


def test_a_sender_address_that_cannot_be_written_fails_for_good_naming_the_key():
    channel = EmailChannel(plain_settings(**{"from": "督办系统 <督办@example.gov.cn>"}))
    delivery = channel.send(notice(), NOW)
    assert delivery.outcome is Outcome.PERMANENT
    assert "channels.email.from" in delivery.detail and "督办@example.gov.cn" in delivery.detail


# --- connections kept for a pass ----------------------------------------------------------------


def _context(server: SmtpServer):
    return server.client_context() if server.cafile else None


@pytest.mark.parametrize("smtp_server", ["none", "starttls", "ssl"], indirect=True)
def test_a_kept_connection_carries_the_next_messages_and_is_quit_at_close(smtp_server):
    s = settings(smtp_server, smtp_server.mode)
    channel = EmailChannel(s, ssl_context=_context(smtp_server), reuse=True)
    for i in range(1, 6):
        assert channel.send(notice(notice_id=i), NOW).ok
    assert smtp_server.connections == 1
    assert smtp_server.handler.quits == 0  # kept open for the next message
    channel.close()
    assert smtp_server.handler.quits == 1
    ids = [got.message["Message-ID"] for got in smtp_server.received]
    assert ids == [f"<duban.notice.{i}@example.gov.cn>" for i in range(1, 6)]


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
def test_without_reuse_each_message_has_a_connection_of_its_own(smtp_server):
    channel = EmailChannel(settings(smtp_server, "none"))
    for i in range(1, 4):
        assert channel.send(notice(notice_id=i), NOW).ok
    assert smtp_server.connections == 3
    assert smtp_server.handler.quits == 3


def _dropped(server: SmtpServer) -> None:
    server.drop()  # the server ends the idle connection, as at its idle timeout


def _closing(server: SmtpServer) -> None:
    server.handler.sender_answers = ["421 4.3.2 Service shutting down"]  # to the next MAIL FROM


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
@pytest.mark.parametrize("gone", [_dropped, _closing], ids=["dropped", "closing"])
def test_a_connection_the_server_dropped_is_replaced_and_nothing_is_sent_twice(smtp_server, gone):
    channel = EmailChannel(settings(smtp_server, "none"), reuse=True)
    assert channel.send(notice(notice_id=1), NOW).ok
    gone(smtp_server)
    delivery = channel.send(notice(notice_id=2), NOW)
    assert delivery.ok, delivery.detail
    channel.close()
    ids = [got.message["Message-ID"] for got in smtp_server.received]
    assert ids == ["<duban.notice.1@example.gov.cn>", "<duban.notice.2@example.gov.cn>"]
    assert smtp_server.connections == 2
    assert smtp_server.handler.quits == 1  # the second; the first was gone


@pytest.mark.parametrize("smtp_server", ["none", "ssl"], indirect=True)
def test_on_a_kept_connection_the_next_message_begins_at_once_without_rset(smtp_server):
    # its own MAIL FROM is what asks whether the server still holds the connection
    channel = EmailChannel(
        settings(smtp_server, smtp_server.mode), ssl_context=_context(smtp_server), reuse=True
    )
    for i in range(1, 5):
        assert channel.send(notice(notice_id=i), NOW).ok
    channel.close()
    assert smtp_server.connections == 1
    assert smtp_server.handler.rsets == 0
    assert len(smtp_server.received) == 4
    assert {got.mail_from for got in smtp_server.received} == {"duban@example.gov.cn"}


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
def test_a_sender_refused_on_a_kept_connection_is_said_and_the_connection_not_kept(smtp_server):
    channel = EmailChannel(settings(smtp_server, "none"), reuse=True)
    assert channel.send(notice(notice_id=1), NOW).ok
    smtp_server.handler.sender_answers = ["451 4.3.0 Try again later"]
    delivery = channel.send(notice(notice_id=2), NOW)
    assert delivery.outcome is Outcome.TRANSIENT
    assert "451" in delivery.detail
    assert channel._idle == []
    assert channel.send(notice(notice_id=3), NOW).ok  # on a new connection
    channel.close()
    ids = [got.message["Message-ID"] for got in smtp_server.received]
    assert ids == ["<duban.notice.1@example.gov.cn>", "<duban.notice.3@example.gov.cn>"]
    assert smtp_server.connections == 2


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
def test_a_connection_carries_at_most_its_share_of_messages(smtp_server):
    channel = EmailChannel(settings(smtp_server, "none"), reuse=True)
    for i in range(MESSAGES_PER_CONNECTION + 1):
        assert channel.send(notice(notice_id=i + 1), NOW).ok
    assert smtp_server.handler.quits == 1  # the full one, at once
    channel.close()
    assert smtp_server.connections == 2 and smtp_server.handler.quits == 2
    first = smtp_server.received[0].peer
    assert sum(got.peer == first for got in smtp_server.received) == MESSAGES_PER_CONNECTION


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
def test_a_refused_message_leaves_no_connection_kept(smtp_server):
    channel = EmailChannel(settings(smtp_server, "none"), reuse=True)
    smtp_server.handler.reject_with = "452 4.3.1 Insufficient system storage"
    assert channel.send(notice(), NOW).outcome is Outcome.TRANSIENT
    assert channel._idle == []
    smtp_server.handler.reject_with = None
    assert channel.send(notice(notice_id=13), NOW).ok
    channel.close()
    (got,) = smtp_server.received
    assert got.message["Message-ID"] == "<duban.notice.13@example.gov.cn>"
