"""Progress by reply: read duban's mailbox and turn replies to notices into progress reports.

With `[channels.email] imap_host` set, the service calls `poll_replies` every tick. It logs in over
TLS (`imap_tls = "tls"`, or STARTTLS, which must succeed before the password is sent: never in
the clear), reads the unseen messages of `imap_folder` without marking them, and for each one:

1. finds the notice it answers: a Message-ID of duban's (`engine.notify.channels.email`) in its
   `In-Reply-To` or `References`, naming an e-mail notice of the outbox;
2. checks the sender: the From address must be one of the addresses of the unit that notice went
   to (`[units."…"] email`);
3. takes the text the person wrote (`engine.notify.reply_text`: quote and signature cut off) and
   the attachments, checked like the web's evidence (`engine.web.uploads`);
4. records the text as that unit's progress report, via "email", on every task of the notice (on
   the tasks the reply names, when it names some of them: "任务3"), with the attachments as
   evidence, and in the same transaction a row saying the message was read
   (`engine.store.mail_replies`); then mails a short confirmation back and marks the message seen.

An auto-reply, a bounce, an unknown sender, a message that answers no notice and an empty reply
change nothing: each is logged with the reason, gets its row and is marked seen. A message with a
row is skipped, so a service that dies mid-mailbox handles every message once: a message whose
reports were committed but that was not yet marked seen is only marked seen the next time. A
mailbox that cannot be reached, or a password variable unset, is logged and tried again at the
next tick; it never stops the tick.
"""

from __future__ import annotations

import contextlib
import hashlib
import imaplib
import io
import os
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from zoneinfo import ZoneInfo

from loguru import logger
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.actions.tasks import Upload, Via, report_progress
from engine.config import EmailSettings, Settings
from engine.errors import ServiceError, UserError
from engine.notify.channels.email import (
    EmailChannel,
    notice_ids_in,
    sender_address,
)
from engine.notify.directory import contact_of
from engine.notify.reply_text import automatic_reason, header, named_tasks, reply_body
from engine.notify.secrets import mask, remember
from engine.store import Database
from engine.store.mail_replies import IGNORED, RECORDED, MailReplyRecord, already_read
from engine.store.outbox import OutboxNotice

EMAIL = Via("email")


@dataclass
class Handled:
    """What became of one message."""

    message_id: str
    sender: str
    outcome: str
    """RECORDED, IGNORED, or "again" (read before: only marked seen now)."""
    reason: str = ""
    unit: str | None = None
    tasks: list[int] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Attachments not kept, each with why."""
    confirmation: EmailMessage | None = None


@dataclass
class ReplySummary:
    handled: list[Handled] = field(default_factory=list)
    error: str | None = None
    """Why the mailbox could not be read (to the end), when it could not."""

    def count(self, outcome: str) -> int:
        return sum(1 for h in self.handled if h.outcome == outcome)

    def __str__(self) -> str:
        text = (
            f"读取回复邮件 {len(self.handled)} 封，记为进展 {self.count(RECORDED)} 封，"
            f"未采用 {self.count(IGNORED)} 封"
        )
        return text + (f"；{self.error}" if self.error else "")


def poll_replies(
    database: Database,
    settings: Settings,
    now: datetime,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> ReplySummary:
    """Read the mailbox once; never raises for a mailbox or mail problem (it logs them)."""
    summary = ReplySummary()
    email = settings.channels.email
    if email is None or not email.imap_host:
        return summary
    where = f"{email.imap_host}:{email.imap_port}"
    try:
        password = _password(email)
        with _Mailbox(email, settings, ssl_context, password) as mailbox:
            for uid in mailbox.unseen():
                raw = mailbox.fetch(uid)
                try:
                    handled = handle_message(raw, database, settings, now)
                except ServiceError:
                    raise  # the database: nothing recorded, the message stays unseen
                except Exception as exc:  # one odd message must not block the mailbox for good
                    logger.opt(exception=exc).error("回复邮件无法处理：{}", mask(str(exc)))
                    handled = unreadable(raw, exc, database, now)
                summary.handled.append(handled)
                _log(handled)
                if handled.confirmation is not None:
                    _confirm(handled, email)
                mailbox.mark_seen(uid)
    except (imaplib.IMAP4.error, OSError) as exc:  # ssl.SSLError and timeouts are OSErrors
        summary.error = mask(
            f"无法读取回复邮件的邮箱 {where}（channels.email.imap_host）：{_why(exc)}"
        )
    except NoPassword as exc:
        summary.error = str(exc)
    except Exception as exc:  # the database, a bug: the tick goes on, the next one tries again
        logger.opt(exception=exc).error("读取回复邮件时出错，下一轮重试：{}", mask(str(exc)))
        summary.error = mask(f"读取回复邮件时出错：{exc}")
        return summary
    if summary.error:
        logger.error("{}；下一轮检查时重试", summary.error)
    return summary


def mailbox_problem(settings: Settings, *, timeout: float | None = None) -> str | None:
    """Why duban cannot read its mailbox (TLS, login, folder), or None: `doctor --network`.

    Logs in and opens the folder read-only: it reads, marks and sends nothing."""
    email = settings.channels.email
    if email is None or not email.imap_host:
        return None
    if timeout is not None:
        email = email.model_copy(update={"timeout_seconds": min(email.timeout_seconds, timeout)})
    where = f"{email.imap_host}:{email.imap_port}"
    try:
        with _Mailbox(email, settings, None, _password(email), readonly=True):
            return None
    except NoPassword as exc:
        return str(exc)
    except (imaplib.IMAP4.error, OSError) as exc:
        return mask(f"无法读取回复邮件的邮箱 {where}（channels.email.imap_host）：{_why(exc)}")


class NoPassword(LookupError):
    """The mailbox's password variable is unset or blank."""


def _password(email: EmailSettings) -> str:
    name = email.imap_password_env or ""
    value = os.environ.get(name)
    if value is None or not value.strip():
        state = "未设置" if value is None else "为空"
        raise NoPassword(
            f"环境变量 {name} {state}（channels.email.imap_password_env），无法登录回复邮件的邮箱"
        )
    remember(value)
    return value


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"证书校验失败：{exc.verify_message}"
    if isinstance(exc, TimeoutError):
        return "连接超时"
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{type(exc).__name__}: {text}"


class _Mailbox:
    """One IMAP session on the folder: TLS first, then the login, then the unseen messages."""

    def __init__(
        self,
        email: EmailSettings,
        settings: Settings,
        context: ssl.SSLContext | None,
        password: str,
        *,
        readonly: bool = False,
    ) -> None:
        self.email = email
        if context is None:
            context = ssl.create_default_context()  # the system's CAs (SSL_CERT_FILE honoured)
            if email.imap_ca_file:
                context.load_verify_locations(cafile=str(settings.resolve_path(email.imap_ca_file)))
        host, port, timeout = email.imap_host or "", email.imap_port, email.timeout_seconds
        if email.imap_tls == "tls":
            self.imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                host, port, ssl_context=context, timeout=timeout
            )
        else:
            self.imap = imaplib.IMAP4(host, port, timeout=timeout)
            try:
                # raises when the server offers no STARTTLS: the password never goes in the clear
                self.imap.starttls(ssl_context=context)
            except BaseException:
                self.imap.shutdown()
                raise
        try:
            self.imap.login(email.imap_username or "", password)
            typ, data = self.imap.select(_quoted(email.imap_folder), readonly=readonly)
            if typ != "OK":
                raise imaplib.IMAP4.error(f"文件夹“{email.imap_folder}”无法打开：{_answer(data)}")
        except BaseException:
            self.imap.shutdown()
            raise

    def __enter__(self) -> _Mailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            self.imap.logout()

    def unseen(self) -> list[str]:
        typ, data = self.imap.uid("SEARCH", "UNSEEN")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"SEARCH UNSEEN：{_answer(data)}")
        return data[0].decode("ascii").split() if data and data[0] else []

    def fetch(self, uid: str) -> bytes:
        # BODY.PEEK leaves the message unseen until it is handled
        typ, data = self.imap.uid("FETCH", uid, "(BODY.PEEK[])")
        for item in data or []:
            if isinstance(item, tuple) and len(item) == 2:
                return bytes(item[1])
        raise imaplib.IMAP4.error(f"FETCH {uid}：{typ} {_answer(data)}")

    def mark_seen(self, uid: str) -> None:
        typ, data = self.imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"STORE {uid} \\Seen：{_answer(data)}")


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _answer(data: object) -> str:
    if isinstance(data, list) and data and isinstance(data[0], bytes):
        return data[0].decode("utf-8", "replace")
    return str(data)


# --- one message ------------------------------------------------------------------------------


def message_key(mail: EmailMessage, raw: bytes) -> tuple[str, str]:
    """The message's Message-ID (or "") and the key its row is kept under."""
    message_id = header(mail, "Message-ID")
    basis = message_id.encode() if message_id else raw
    return message_id, hashlib.sha256(basis).hexdigest()


def handle_message(raw: bytes, database: Database, settings: Settings, now: datetime) -> Handled:
    """Decide one message and record what it brings, with the row saying it was read."""
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    message_id, key = message_key(mail, raw)
    sender = parseaddr(header(mail, "From"))[1].strip().lower()
    try:
        with database.transaction() as session:
            if already_read(session, key) is not None:
                return Handled(message_id, sender, "again", "此前已处理，本次只标为已读")
            handled, notice = _decide(session, mail, message_id, sender, settings, now)
            session.add(
                MailReplyRecord(
                    key=key,
                    message_id=message_id[:2000],
                    sender=sender[:320],
                    notice_id=notice.id if notice is not None else None,
                    outcome=handled.outcome,
                    reason=handled.reason,
                    read_at=now,
                )
            )
            session.flush()
    except (IntegrityError, ServiceError) as exc:
        # Another instance read it at the same moment: its row won (the database layer hands
        # the IntegrityError on as a ServiceError naming the database).
        if isinstance(exc, IntegrityError) or isinstance(exc.__cause__, IntegrityError):
            return Handled(message_id, sender, "again", "另一实例已同时处理")
        raise
    if handled.outcome == RECORDED and notice is not None:
        handled.confirmation = confirmation(mail, handled, settings, now)
    return handled


def unreadable(raw: bytes, exc: Exception, database: Database, now: datetime) -> Handled:
    """The row of a message that could not be handled (a bug, a message no parser expected): it
    is set aside, named in the log, rather than tried again at every tick."""
    reason = mask(f"无法处理：{type(exc).__name__}: {exc}")[:500]
    key = hashlib.sha256(raw).hexdigest()
    with database.transaction() as session:
        if already_read(session, key) is None:
            session.add(MailReplyRecord(key=key, outcome=IGNORED, reason=reason, read_at=now))
    return Handled("", "", IGNORED, reason)


def _decide(
    session: Session,
    mail: EmailMessage,
    message_id: str,
    sender: str,
    settings: Settings,
    now: datetime,
) -> tuple[Handled, OutboxNotice | None]:
    def ignored(reason: str) -> tuple[Handled, None]:
        return Handled(message_id, sender, IGNORED, reason), None

    email = settings.channels.email
    assert email is not None
    ours = sender_address(email.from_)
    if sender and sender in {ours.addr_spec.lower(), (email.imap_username or "").lower()}:
        return ignored("督办系统自己发出的邮件")
    automatic = automatic_reason(mail)
    if automatic:
        return ignored(automatic)
    notice = _answered_notice(session, mail, ours)
    if notice is None:
        return ignored("对应不到任何通知（In-Reply-To/References 中没有督办系统通知的 Message-ID）")
    contact = contact_of(notice.recipient, settings)
    addresses = {a.strip().lower() for a in (contact.email if contact else [])}
    if not sender or sender not in addresses:
        return ignored(
            f"发件人 {sender or '（无）'} 不是通知 {notice.id} 所发单位“{notice.recipient}”"
            "在通讯录中的邮箱"
        )
    if not notice.tasks or notice.plan_id is None:
        return ignored(f"通知 {notice.id} 不涉及具体任务")
    text = reply_body(mail)
    uploads, refused = _evidence(mail, settings)
    if not text and not uploads:
        reason = "回复没有正文（去掉引用的原文和签名后为空）"
        if refused:
            reason += "；附件未被接受：" + "；".join(refused)
        return ignored(reason)
    if not text:
        text = "（通过邮件报送佐证材料）"
    tasks = named_tasks(text, list(notice.tasks)) or list(notice.tasks)
    done: list[int] = []
    problems: list[str] = []
    for no in tasks:
        try:
            with session.begin_nested():  # a refused task leaves the others recorded
                report_progress(
                    session, plan_id=notice.plan_id, no=no, unit=notice.recipient, text=text,
                    now=now, settings=settings, via=EMAIL, evidence=uploads,
                )
            done.append(no)
        except UserError as exc:
            problems.append(f"任务 {no}：{exc}")
    if not done:
        return ignored("进展未能记录：" + "；".join(problems))
    handled = Handled(
        message_id, sender, RECORDED,
        f"记为“{notice.recipient}”对任务 {'、'.join(map(str, done))} 的进展",
        unit=notice.recipient, tasks=done, evidence=[u.filename for u in uploads],
        refused=refused + problems,
    )
    return handled, notice


def _answered_notice(session: Session, mail: EmailMessage, ours: Address) -> OutboxNotice | None:
    """The e-mail notice of the outbox this message answers, the one it answers directly first."""
    domain = (ours.domain or "localhost").lower()
    refs = notice_ids_in(header(mail, "In-Reply-To"))
    refs += list(reversed(notice_ids_in(header(mail, "References"))))
    for notice_id, its_domain in refs:
        if its_domain != domain:
            continue
        notice = session.get(OutboxNotice, notice_id)
        if notice is not None and notice.channel == "email":
            return notice
    return None


def _evidence(mail: EmailMessage, settings: Settings) -> tuple[tuple[Upload, ...], list[str]]:
    """The attachments that pass the web's checks for evidence, and why the others did not."""
    from engine.web.uploads import MAX_FILES, Incoming, check_uploads

    web = settings.web
    kept: list[Upload] = []
    refused: list[str] = []
    room = web.max_upload_mb * 1024 * 1024
    for part in mail.iter_attachments():
        assert isinstance(part, EmailMessage)
        name = part.get_filename() or ""
        inline = part.get_content_disposition() == "inline" and part.get("Content-ID")
        if inline:  # a logo in a signature, a pasted picture: part of the text, not evidence
            refused.append(f"“{name or '内嵌图片'}”是正文中的内嵌图片，未作为佐证材料")
            continue
        if not name:
            refused.append(f"一个未命名的附件（{part.get_content_type()}）")
            continue
        if len(kept) >= MAX_FILES:
            refused.append(f"“{name}”：一次最多 {MAX_FILES} 个佐证材料")
            continue
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):
            refused.append(f"“{name}”：无法读取内容")
            continue
        try:
            (upload,) = check_uploads(
                [Incoming(name, io.BytesIO(content))],
                max_mb=web.max_upload_mb,
                allowed=web.upload_types,
            )
        except UserError as exc:
            refused.append(str(exc))
            continue
        if len(upload.content) > room:
            refused.append(f"“{upload.filename}”：佐证材料合计超过 {web.max_upload_mb} MB")
            continue
        room -= len(upload.content)
        kept.append(upload)
    return tuple(kept), refused


# --- confirmation and log ---------------------------------------------------------------------


def confirmation(
    mail: EmailMessage, handled: Handled, settings: Settings, now: datetime
) -> EmailMessage:
    """The short answer to a reply that was recorded: what was recorded, on which tasks."""
    email = settings.channels.email
    assert email is not None
    sender = sender_address(email.from_)
    zone = ZoneInfo(settings.service.timezone)
    subject = header(mail, "Subject")
    out = EmailMessage()
    out["Subject"] = f"已收到进展：{subject}" if subject else "已收到进展"
    out["From"] = sender
    out["To"] = handled.sender
    out["Date"] = format_datetime(now)
    out["Message-ID"] = make_msgid(idstring="duban.reply", domain=sender.domain or None)
    if handled.message_id:
        out["In-Reply-To"] = handled.message_id
        refs = header(mail, "References")
        out["References"] = f"{refs} {handled.message_id}".strip()
    out["Auto-Submitted"] = "auto-replied"
    out["X-Auto-Response-Suppress"] = "All"
    lines = [
        f"{handled.unit}：",
        "",
        f"　　您的邮件已于 {now.astimezone(zone):%Y年%m月%d日 %H:%M} 记为任务 "
        f"{'、'.join(map(str, handled.tasks))} 的进展。",
    ]
    if handled.evidence:
        lines.append(f"　　佐证材料：{'、'.join(handled.evidence)}。")
    if handled.refused:
        lines.append(f"　　未采用：{'；'.join(handled.refused)}。")
    lines += ["", "本邮件由督办系统自动发送。"]
    out.set_content("\n".join(lines) + "\n", charset="utf-8")
    return out


def _confirm(handled: Handled, email: EmailSettings) -> None:
    assert handled.confirmation is not None
    delivery = EmailChannel(email).deliver(handled.confirmation, [handled.sender])
    if not delivery.ok:
        logger.warning(
            "回复邮件 {} 的确认邮件未能发给 {}：{}", handled.message_id, handled.sender,
            delivery.detail,
        )


def _log(handled: Handled) -> None:
    message_id = handled.message_id or "（无 Message-ID）"
    where = f"回复邮件 {message_id}（发件人 {handled.sender or '无'}）"
    if handled.outcome == RECORDED:
        extra = f"，佐证材料 {'、'.join(handled.evidence)}" if handled.evidence else ""
        logger.info("{}：{}{}", where, handled.reason, extra)
        for why in handled.refused:
            logger.warning("{}：未采用 {}", where, why)
    elif handled.outcome == IGNORED:
        logger.warning("{}未采用，未做任何改动：{}", where, handled.reason)
    else:
        logger.info("{}：{}", where, handled.reason)
