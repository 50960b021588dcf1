"""The `email` channel: SMTP over SSL, STARTTLS or plain, text with an HTML alternative.

Subjects and display names are UTF-8 encoded words (RFC 2047), which Chinese mail servers accept;
the envelope sender is the login (some servers refuse any other), else the From address. The
password is read from the variable named by `password_env` when sending and is never kept; with a
login, that variable unset or blank fails permanently, naming it (see `directory.py`). SMTP 4xx
answers, timeouts and dropped connections are transient; 5xx answers and certificate or login
problems are permanent. `timeout_seconds` bounds the whole conversation (connect, TLS, login,
message), not only each read (`engine.notify.deadline`). A login over `security = "none"` sends
the password in the clear: `doctor` reports it and the service warns at start
(`plaintext_login_problem`).

Every notice carries headers that make replies work: a `Message-ID` made from its outbox id and
the sender's domain (`notice_message_id`), so that a resend after a crash carries the same one and
a reply names its notice in `In-Reply-To`/`References` (`engine.notify.replies` reads them); a
`Reply-To` to duban's mailbox when one is configured; `List-Id`; and `Auto-Submitted:
auto-generated` with `X-Auto-Response-Suppress: All`, so that out-of-office answers do not loop.
An address in the directory that is not an address (`address_problem`) is named by `doctor`; when
sending, a notice with no valid address fails for good, naming the address and its key.

The dispatcher's channel (`reuse=True`) keeps its connections open for the pass: a connection,
logged in once, carries up to `MESSAGES_PER_CONNECTION` messages, one at a time, and is closed
(QUIT) when the dispatcher closes the channel. On a kept connection, the message's own MAIL FROM
asks whether the server still holds it (no RSET first: one round trip a message fewer); a
connection the server dropped meanwhile (its idle timeout) or is closing (421) is replaced before
any of the message is sent, so that reuse never sends one twice. A connection on which anything
failed is closed, never kept.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import smtplib
import socket
import ssl
import threading
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from email import policy
from email.errors import HeaderParseError, MessageError
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from functools import lru_cache
from typing import Any

from engine.config import EmailSettings
from engine.notify.channels.base import Delivery, Message
from engine.notify.deadline import Watchdog, watch
from engine.notify.directory import email_login_problem
from engine.notify.secrets import mask, remember

MESSAGES_PER_CONNECTION = 20
"""How many messages one connection carries before it is closed and another one opened. Some
servers cap what a connection may carry and answer the message past the cap with 4xx (which
only defers it); 20 stays under the usual caps and still saves nearly all of the set-up (the
TLS handshake, EHLO, the login) that a connection a message paid."""


class _KeepsReply:
    """Keeps the server's answer to DATA ("250 OK queued as …"), which sendmail discards; and
    lets sendmail go on from a MAIL FROM already answered (a kept connection's, `_session`)."""

    last_reply: tuple[int, bytes] | None = None
    mailed: tuple[int, bytes] | None = None
    """The answer to the MAIL FROM sent for the next message, which sendmail then does not
    send again."""

    def mail(self, sender: str, options: Any = ()) -> tuple[int, bytes]:
        if self.mailed is not None:
            reply, self.mailed = self.mailed, None
            return reply
        return super().mail(sender, options)  # type: ignore[misc]  # mixed into smtplib.SMTP

    def data(self, msg: Any) -> tuple[int, bytes]:
        reply = super().data(msg)  # type: ignore[misc]  # mixed into smtplib.SMTP
        self.last_reply = reply
        return reply


class _Watched(smtplib.SMTP):
    """Registers the TCP socket with the thread's watchdog as soon as it is connected."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return watch(super()._get_socket(host, port, timeout))  # type: ignore[misc]


class SMTPClient(_KeepsReply, _Watched):
    pass


# SMTP_SSL._get_socket wraps what super()._get_socket returns: with _Watched after SMTP_SSL in
# the method order, the raw socket is watched before the TLS handshake, which can be slow too.
class SMTPSSLClient(_KeepsReply, smtplib.SMTP_SSL, _Watched):
    pass


def plaintext_login_problem(email: EmailSettings) -> str | None:
    """Why this login exposes the password (a login over a plain connection), or None."""
    if email.security != "none" or not email.username:
        return None
    return (
        f"邮件通道以明文连接（channels.email.security = \"none\"）登录邮件服务器 "
        f"{email.host}:{email.port}，密码将不加密传输；请改为 ssl 或 starttls"
    )


@lru_cache(maxsize=64)
def sender_address(from_: str) -> Address:
    """The From header as an Address, e.g. `督办系统 <duban@example.gov.cn>`."""
    name, addr = parseaddr(from_)
    username, _, domain = addr.partition("@")
    return Address(display_name=name, username=username, domain=domain)


_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


@lru_cache(maxsize=4096)  # the same few addresses, several times a notice
def address_problem(address: str) -> str | None:
    """Why `address` cannot be a recipient (name@example.gov.cn), or None when it can."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return "缺少“@”或其前后的部分"
    if not _LOCAL.match(local):
        return "“@”之前只能是字母、数字和 . _ - + 等符号，不能有空格或中文"
    try:
        ascii_domain = domain.encode("idna").decode("ascii")  # 例子.中国 is a domain too
    except UnicodeError:
        return f"域名“{domain}”无效"
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return f"域名“{domain}”无效"
    try:
        Address(addr_spec=f"{local}@{ascii_domain}")
    except (HeaderParseError, MessageError, IndexError, ValueError):
        return "不是有效的电子邮件地址"
    return None


def ascii_address(address: str) -> str:
    """A valid address as SMTP sends it: its domain in IDNA (例子.中国 → xn--fsqu00a.xn--fiqs8s)."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def notice_message_id(notice_id: int, sender: Address) -> str:
    """The Message-ID of a notice: the same for every attempt, unique per outbox row."""
    return f"<duban.notice.{notice_id}@{sender.domain or 'localhost'}>"


_NOTICE_ID = re.compile(r"<duban\.notice\.(\d+)@([^<>\s]+)>")


def notice_ids_in(header: str) -> list[tuple[int, str]]:
    """The (outbox id, domain) of every notice Message-ID in an In-Reply-To or References."""
    return [(int(m.group(1)), m.group(2).lower()) for m in _NOTICE_ID.finditer(header or "")]


def reply_address(settings: EmailSettings) -> str | None:
    """Where replies go: `reply_to`, else the mailbox duban reads (`imap_username`)."""
    if settings.reply_to:
        return settings.reply_to
    if settings.imap_host and settings.imap_username and "@" in settings.imap_username:
        return settings.imap_username
    return None


def build_message(message: Message, settings: EmailSettings, now: datetime) -> bytes:
    """The notice as the bytes sent after DATA: headers in ASCII (UTF-8 encoded words), the
    text and, when there is one, the HTML alternative, each base64 in UTF-8, lines ending CRLF.

    Written directly rather than through `email.message.EmailMessage`, whose header registry,
    content manager and generator took ~3 ms of the interpreter a notice (the e-mail channel
    then sent fewer than half the notices a second of the others); the message is the same one
    the email package writes (tests/test_channel_email.py parses both and compares them)."""
    sender = sender_address(settings.from_)
    to = [
        _mailbox(message.recipient, ascii_address(address), None if to else "To")
        for to, address in enumerate(a for a in message.emails if address_problem(a) is None)
    ]
    lines = [
        _folded("Subject", _words(message.subject, "Subject")),
        _folded("From", _mailbox(sender.display_name, _sender_spec(sender), "From")),
        _folded("To", [token for mailbox in _listed(to) for token in mailbox]),
    ]
    reply_to = reply_address(settings)
    if reply_to:
        name, addr = parseaddr(reply_to)
        address = ascii_address(addr) if "@" in addr else addr
        lines.append(_folded("Reply-To", _mailbox(name, address, "Reply-To")))
    lines.append(f"Date: {format_datetime(now)}")
    if message.notice_id is not None:
        lines.append(f"Message-ID: {notice_message_id(message.notice_id, sender)}")
    else:  # `send-test`: no notice to answer
        test_id = make_msgid(idstring="duban.test", domain=sender.domain or None)
        lines.append(f"Message-ID: {test_id}")
    lines += [
        f"List-Id: duban notices <notices.duban.{sender.domain or 'localhost'}>",
        "Auto-Submitted: auto-generated",
        "X-Auto-Response-Suppress: All",
        "MIME-Version: 1.0",
    ]
    if not message.html:  # the part's own headers follow the message's
        return _headers(lines) + _part(b"plain", message.text)
    # "=_" cannot occur in base64, so the boundary cannot occur in a part
    boundary = f"=_duban_{secrets.token_hex(12)}".encode("ascii")
    lines.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary.decode()}"')
    parts = b"".join(
        b"--" + boundary + b"\r\n" + _part(kind, body)
        for kind, body in ((b"plain", message.text), (b"html", message.html))
    )
    return _headers(lines) + b"\r\n" + parts + b"--" + boundary + b"--\r\n"


_TEXT_PART = b'Content-Type: text/%s; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n'
_PRINTABLE = re.compile(r"[\x20-\x7e]*")


def _headers(lines: list[str]) -> bytes:
    return "\r\n".join(lines).encode("ascii") + b"\r\n"


def _part(kind: bytes, text: str) -> bytes:
    """A text part (its headers, a blank line, its body): its lines ended by CRLF, as MIME's
    canonical form of text wants (and the email package writes), in UTF-8 and base64, 76
    characters a line."""
    canonical = b"\r\n".join(text.encode("utf-8").splitlines()) + b"\r\n"
    body = base64.encodebytes(canonical).replace(b"\n", b"\r\n")
    return _TEXT_PART % kind + b"\r\n" + body


@lru_cache(maxsize=1024)  # the same unit names and many of the same subjects, pass after pass
def _words(text: str, header: str | None = None) -> tuple[str, ...]:
    """`text` as the tokens of a header: itself, split at its spaces, when printable ASCII; else
    UTF-8 encoded words of at most 75 characters, the first short enough to follow `header`'s
    name (a line break or a control character in `text` cannot get through)."""
    if _PRINTABLE.fullmatch(text):
        return tuple(text.split(" "))
    return tuple(Header(text, "utf-8", header_name=header).encode(linesep="\r\n").split())


def _mailbox(name: str, addr: str, header: str | None = None) -> list[str]:
    """`名称 <addr>` as tokens: the name in encoded words (see `_words`), or quoted when ASCII
    with specials."""
    if not name:
        return [addr]
    if _PRINTABLE.fullmatch(name):
        return [formataddr((name, addr))]
    return [*_words(name, header), f"<{addr}>"]


def _listed(mailboxes: list[list[str]]) -> list[list[str]]:
    """The mailboxes of an address list, each but the last ending in a comma."""
    return [[*m[:-1], m[-1] + ","] for m in mailboxes[:-1]] + mailboxes[-1:]


def _folded(name: str, tokens: Sequence[str]) -> str:
    """`Name: token token …`, folded (CRLF and a space) before a token that would take the
    line past 78 characters; unfolding gives back the single spaces between them."""
    lines, line = [], f"{name}:"
    for n, token in enumerate(tokens):
        if n and len(line) + 1 + len(token) > 78:
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return "\r\n".join(lines)


def _sender_spec(sender: Address) -> str:
    spec = sender.addr_spec
    if sender.domain and not _PRINTABLE.fullmatch(sender.domain):
        spec = ascii_address(spec)
    if not _PRINTABLE.fullmatch(spec):
        raise ValueError(f"发件地址不是有效的 ASCII 地址（配置键 channels.email.from）：{spec}")
    return spec


Client = SMTPClient | SMTPSSLClient


class EmailChannel:
    name = "email"

    def __init__(
        self,
        settings: EmailSettings,
        ssl_context: ssl.SSLContext | None = None,
        *,
        reuse: bool = False,
    ) -> None:
        """`reuse`: keep connections open between messages until `close` (the dispatcher's
        channel, closed at the end of its pass); without, each message has a connection of
        its own."""
        self.settings = settings
        self.ssl_context = ssl_context
        self.reuse = reuse
        self._idle: list[tuple[Client, int]] = []
        """Connections logged in and between messages, each with the messages it carried."""
        self._lock = threading.Lock()

    def _context(self) -> ssl.SSLContext:
        # the system's trust store (SSL_CERT_FILE is honoured), with hostname checks
        return self.ssl_context or ssl.create_default_context()

    def _password(self) -> str | None:
        """The login password, read now; a login whose variable is unset or blank cannot work."""
        s = self.settings
        if not s.username or not s.password_env:
            return None
        problem = email_login_problem(s)
        if problem:
            raise LookupError(problem)
        password = os.environ[s.password_env]
        remember(password)
        return password

    def _connect(self) -> Client:
        s = self.settings
        if s.security == "ssl":
            return SMTPSSLClient(s.host, s.port, timeout=s.timeout_seconds, context=self._context())
        smtp = SMTPClient(s.host, s.port, timeout=s.timeout_seconds)
        if s.security == "starttls":
            smtp.starttls(context=self._context())
        return smtp

    def _open(self, password: str | None) -> Client:
        """A new connection, logged in when the settings have a login."""
        smtp = self._connect()
        try:
            if self.settings.username and password is not None:
                smtp.login(self.settings.username, password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _session(self, password: str | None, envelope: str, data: bytes) -> tuple[Client, int]:
        """A kept connection that takes this message's MAIL FROM (watched by this thread's
        watchdog), else a new one; with the messages it has carried. A kept connection that
        refuses the sender raises what sendmail would (SMTPSenderRefused), closed."""
        while self.reuse:
            with self._lock:
                if not self._idle:
                    break
                smtp, carried = self._idle.pop()
            _watched(smtp)
            try:
                # the options sendmail gives a message of bytes
                options = [f"size={len(data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
                code, answer = smtp.mail(envelope, options)
            except (smtplib.SMTPException, OSError):
                code, answer = 0, b""
            if code == 250:
                smtp.mailed = (code, answer)
                return smtp, carried
            smtp.close()  # not used again, whatever it answered
            if code not in (0, 421):  # held, but the sender refused: said as sendmail says it
                raise smtplib.SMTPSenderRefused(code, answer, envelope)
            # dropped by the server (idle too long) or closing (421): another one
        return self._open(password), 0

    def _keep(self, smtp: Client, carried: int) -> None:
        """After a message sent: kept for the next one, or closed when it has carried enough."""
        if self.reuse and carried < MESSAGES_PER_CONNECTION:
            with self._lock:
                self._idle.append((smtp, carried))
            return
        _quit(smtp)

    def close(self) -> None:
        """QUIT the kept connections, within the timeout altogether."""
        with self._lock:
            idle, self._idle = self._idle, []
        if not idle:
            return
        with Watchdog(self.settings.timeout_seconds):
            for smtp, _ in idle:
                _watched(smtp)
                _quit(smtp)

    def send(self, message: Message, now: datetime) -> Delivery:
        if not message.emails:
            return Delivery.permanent(f"单位“{message.recipient}”未配置电子邮箱")
        bad = [
            f"“{address}”（{why}）"
            for address in message.emails
            if (why := address_problem(address))
        ]
        if len(bad) == len(message.emails):  # a config mistake: no retry can mend it
            return Delivery.permanent(
                f'单位“{message.recipient}”的电子邮箱无效（配置键 units."{message.recipient}"'
                f".email）：{'、'.join(bad)}"
            )
        recipients = [ascii_address(a) for a in message.emails if address_problem(a) is None]
        try:
            data = build_message(message, self.settings, now)
        except ValueError as exc:  # the From address of the config: no retry can mend it
            return Delivery.permanent(str(exc))
        delivery = self.deliver(data, recipients)
        if bad and delivery.ok:
            key = f'units."{message.recipient}".email'
            detail = delivery.detail + f"；未发往无效的地址（配置键 {key}）：" + "、".join(bad)
            return Delivery.sent(mask(detail))
        return delivery

    def deliver(self, mail: EmailMessage | bytes, recipients: list[str]) -> Delivery:
        """Send one message built by the caller: a notice's bytes (`build_message`), or the
        confirmation of a reply (an EmailMessage, written here)."""
        s = self.settings
        try:
            password = self._password()
        except LookupError as exc:
            return Delivery.permanent(str(exc))
        envelope = s.username or sender_address(s.from_).addr_spec
        data = mail if isinstance(mail, bytes) else mail.as_bytes(policy=policy.SMTP)
        where = f"{s.host}:{s.port}"
        dog = Watchdog(s.timeout_seconds)  # the whole conversation, however slow each reply
        try:
            with dog:
                smtp, carried = self._session(password, envelope, data)
                try:
                    refused = smtp.sendmail(envelope, recipients, data)
                    reply = smtp.last_reply
                except BaseException:
                    smtp.close()  # whatever failed, the connection is not used again
                    raise
                self._keep(smtp, carried + 1)
        except (smtplib.SMTPException, OSError) as exc:
            if dog.fired:  # the watchdog ended the conversation: whatever broke, it was the time
                return Delivery.transient(
                    f"邮件服务器 {where} 超时（{s.timeout_seconds:g} 秒内未完成发送，已断开）"
                )
            return _failure(exc, where, s.timeout_seconds)
        answer = f"{reply[0]} {_text(reply[1])}" if reply else "已接受"
        detail = f"邮件服务器 {where} 已接受：{answer}"
        if refused:
            detail += "；被拒收的地址：" + "、".join(refused)
        return Delivery.sent(mask(detail))


def _watched(smtp: Client) -> None:
    """A kept connection's socket registered with this thread's watchdog (`_Watched` does that
    for a new one)."""
    if smtp.sock is not None:
        watch(smtp.sock)


def _quit(smtp: Client) -> None:
    """End a connection politely (QUIT), and close it whatever the server answers."""
    with suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    smtp.close()


def _failure(exc: smtplib.SMTPException | OSError, where: str, timeout: float) -> Delivery:
    """A failed conversation: 4xx answers and lost connections transient, others for good."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        text = "；".join(f"{a}：{c} {_text(m)}" for a, (c, m) in exc.recipients.items())
        return _by_code(min(codes) if codes else 550, f"邮件服务器拒收全部收件人：{text}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(
            exc.smtp_code, f"邮件服务器 {where} 返回 {exc.smtp_code} {_text(exc.smtp_error)}"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Delivery.permanent(f"邮件服务器 {where} 的证书校验失败：{exc.verify_message}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Delivery.permanent(f"邮件服务器 {where} 不支持所需功能：{exc}")
    if isinstance(exc, TimeoutError):
        return Delivery.transient(f"邮件服务器 {where} 超时（{timeout:g} 秒）")
    return Delivery.transient(mask(f"无法连接邮件服务器 {where}：{type(exc).__name__}: {exc}"))


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return mask(" ".join(text.split()))


def _by_code(code: int, detail: str) -> Delivery:
    return Delivery.transient(detail) if 400 <= code < 500 else Delivery.permanent(detail)
