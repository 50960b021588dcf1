"""The test IMAP server (Dovecot, from scripts/dovecot.sh) and replies shaped like real clients'.

scripts/test.sh starts Dovecot on loopback and sets DUBAN_TEST_IMAP to
"HOST:PORT:STARTTLS_PORT:CA_FILE"; without it the IMAP tests are skipped, except on CI (CI=true),
where they fail. Any user name logs in with the test password and has a mailbox of its own, so
each test takes a fresh name and starts from an empty INBOX.

The replies are written as the clients write them (headers, parts, charsets, quote styles):
Outlook (答复:, a line of underscores and a 发件人: block, HTML with divRplyFwdMsg), iPhone Mail
(发自我的iPhone, "在 …写道：" and ">" quotes, format=flowed), Foxmail (GBK, "-----原始邮件-----"),
Exchange's out-of-office answer, and a reply with attachments.
"""

from __future__ import annotations

import imaplib
import os
import ssl
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any

import pytest

SERVER_VARIABLE = "DUBAN_TEST_IMAP"
PASSWORD = os.environ.get("DUBAN_IMAP_TEST_PASSWORD", "duban-test-imap")


@dataclass
class Mailbox:
    host: str
    port: int
    starttls_port: int
    cafile: str
    username: str
    password: str = PASSWORD

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def _session(self) -> imaplib.IMAP4_SSL:
        imap = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=self.context(), timeout=10)
        imap.login(self.username, self.password)
        return imap

    def append(self, mail: EmailMessage | bytes) -> None:
        """Deliver a message into INBOX, unseen, as the mail server would."""
        raw = mail if isinstance(mail, bytes) else mail.as_bytes()
        imap = self._session()
        try:
            typ, data = imap.append("INBOX", "", None, raw)
            assert typ == "OK", data
        finally:
            imap.logout()

    def messages(self) -> list[tuple[EmailMessage, bool]]:
        """Every message of INBOX with whether it is seen, in the order they arrived."""
        imap = self._session()
        try:
            imap.select("INBOX", readonly=True)
            _, data = imap.uid("SEARCH", "ALL")
            out = []
            for uid in data[0].decode().split():
                _, parts = imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                head, raw = next(p for p in parts if isinstance(p, tuple))
                mail = message_from_bytes(raw, policy=policy.default)
                assert isinstance(mail, EmailMessage)
                out.append((mail, b"\\Seen" in head))
            return out
        finally:
            imap.logout()


def fresh_mailbox() -> Mailbox:
    """A fresh, empty mailbox on the test server (skips, or fails on CI, without one)."""
    server = os.environ.get(SERVER_VARIABLE)
    if not server:
        why = f"{SERVER_VARIABLE} is not set (scripts/test.sh starts Dovecot)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}; on CI the IMAP tests must run")
        pytest.skip(why)
    host, port, starttls_port, cafile = server.split(":", 3)
    return Mailbox(host, int(port), int(starttls_port), cafile, f"duban-{uuid.uuid4().hex[:10]}")


# --- replies as real clients write them ---------------------------------------------------------


def _reply_headers(mail: EmailMessage, notice: EmailMessage, sender: str, subject: str,
                   domain: str) -> None:
    mail["From"] = sender
    mail["To"] = str(notice["Reply-To"] or notice["From"])
    mail["Subject"] = subject
    mail["Date"] = format_datetime(_sent())
    mail["Message-ID"] = make_msgid(domain=domain)
    mail["In-Reply-To"] = notice["Message-ID"]
    mail["References"] = notice["Message-ID"]


def _sent() -> Any:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime(2021, 6, 23, 10, 15, tzinfo=ZoneInfo("Asia/Shanghai"))


def _notice_text(notice: EmailMessage) -> str:
    body = notice.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def outlook_reply(notice: EmailMessage, sender: str, text: str) -> EmailMessage:
    """Outlook (Chinese): "答复:", the notice below a line of underscores and a 发件人: block."""
    mail = EmailMessage()
    _reply_headers(mail, notice, sender, f"答复: {notice['Subject']}", "fgj.example.gov.cn")
    mail["Thread-Topic"] = str(notice["Subject"])
    mail["Thread-Index"] = "AQHXZ9Fz1Ka2xQ8x6kq3Cz4NwVtL0w=="
    mail["Content-Language"] = "zh-CN"
    mail["X-MS-Has-Attach"] = ""
    mail["X-MS-TNEF-Correlator"] = ""
    quoted = (
        "________________________________\n"
        f"发件人: {notice['From']}\n"
        "发送时间: 2021年6月23日 9:00\n"
        f"收件人: {notice['To']}\n"
        f"主题: {notice['Subject']}\n\n" + _notice_text(notice)
    )
    mail.set_content(f"{text}\n\n{quoted}", charset="utf-8", cte="base64")
    html_quote = _notice_text(notice).replace("\n", "<br>")
    mail.add_alternative(
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        "</head><body><div style=\"font-family: 等线\">"
        + "".join(f"<p>{line}</p>" for line in text.split("\n"))
        + '</div><hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr">'
        f"<b>发件人:</b> {notice['From']}<br><b>主题:</b> {notice['Subject']}</div>"
        f"<div>{html_quote}</div></body></html>",
        subtype="html",
        charset="utf-8",
        cte="base64",
    )
    return mail


def iphone_reply(notice: EmailMessage, sender: str, text: str) -> EmailMessage:
    """iPhone Mail: "回复：", the text, "发自我的iPhone", then the notice quoted with ">"."""
    mail = EmailMessage()
    _reply_headers(mail, notice, sender, f"回复：{notice['Subject']}", "iphone.example.gov.cn")
    mail["X-Mailer"] = "iPhone Mail (18F72)"
    mail["Mime-Version"] = "1.0 (1.0)"
    quoted = "\n".join(f"> {line}" if line else ">" for line in _notice_text(notice).split("\n"))
    body = (
        f"{text}\n\n发自我的iPhone\n\n"
        f"> 在 2021年6月23日，09:00，{notice['From']} 写道：\n>\n{quoted}\n"
    )
    mail.set_content(body, charset="utf-8", cte="quoted-printable")
    mail.set_param("format", "flowed")
    mail.set_param("delsp", "yes")
    return mail


def foxmail_reply(notice: EmailMessage, sender: str, text: str) -> bytes:
    """Foxmail: GBK, "------------------ 原始邮件 ------------------", a "--" signature."""
    body = (
        f"{text}\n\n--\n市发改局综合科 张三\n电话：0756-1234567\n\n"
        "------------------ 原始邮件 ------------------\n"
        f"发件人: {notice['From']}\n发送时间: 2021年6月23日(星期三) 上午9:00\n"
        f"主题: {notice['Subject']}\n\n" + _notice_text(notice)
    ).replace("\n", "\r\n")
    from email.header import Header

    subject = Header(f"回复：{notice['Subject']}", "gbk").encode()
    def header_address(value: object) -> str:
        return formataddr(parseaddr(str(value)), "gbk")

    head = (
        f"From: {header_address(sender)}\r\nTo: {header_address(notice['From'])}\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {format_datetime(_sent())}\r\nMessage-ID: {make_msgid(domain='foxmail.com')}\r\n"
        f"In-Reply-To: {notice['Message-ID']}\r\nReferences: {notice['Message-ID']}\r\n"
        "X-Mailer: Foxmail 7.2.23.121[cn]\r\nMime-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="gbk"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
    )
    return head.encode("ascii") + body.encode("gbk") + b"\r\n"


def out_of_office(notice: EmailMessage, sender: str) -> EmailMessage:
    """Exchange's automatic reply while someone is away."""
    mail = EmailMessage()
    _reply_headers(mail, notice, sender, f"自动回复: {notice['Subject']}", "fgj.example.gov.cn")
    mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content("您好，我于6月21日至6月25日休假，期间邮件将延迟处理。\n", charset="utf-8")
    return mail


def with_attachments(mail: EmailMessage, files: list[tuple[str, bytes, str]]) -> EmailMessage:
    """The reply with files attached as clients attach them (names in RFC 2231)."""
    for name, content, content_type in files:
        maintype, subtype = content_type.split("/", 1)
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return mail


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
