"""What a person wrote in a reply to a notice: the new text, without quote, signature or noise.

Pure: takes a parsed message, does no I/O. Mail clients quote the notice in their own ways; the
new text is what comes before the first of them:

- Outlook and Foxmail: a line "-----原始邮件-----" / "-----Original Message-----", a line of
  underscores, or a header block starting "发件人:" / "From:";
- Apple Mail, Gmail, QQ Mail, NetEase: "在 2021年6月23日 09:00，督办系统 <…> 写道：" (wrapped over
  two lines by some), "On … wrote:";
- phones: "发自我的iPhone", "Sent from my iPhone", "发自我的华为手机";
- a signature after a line "--" (the "-- " convention);

and every line quoted with ">" is dropped wherever it stands. An HTML-only reply is read as text,
leaving out its <blockquote> and the quote containers of Outlook and Gmail.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from html.parser import HTMLParser

_STOP = re.compile(
    r"""^\s*(?:
        -{2,}\s*(?:原始邮件|原始郵件|Original\s+Message|转发邮件|Forwarded\s+message)\s*-{2,}
      | _{10,}
      | (?:From|发件人|寄件人|寄件者|發件人)\s*[:：].*
      | 在.{0,160}写道\s*[:：]?
      | On\s.{0,240}wrote\s*:?
      | 发自我的\S{0,20}
      | 发自\s*(?:iPhone|iPad|HUAWEI|华为|小米|荣耀|vivo|OPPO|手机)\S{0,20}
      | 从我的\s*\S{0,20}\s*发送
      | Sent\s+from\s+my\s.{0,60}
      | Get\s+Outlook\s+for\s.{0,40}
      | --\s?
    )\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
# "在 2021年6月23日 09:00，督办系统 <duban@example.gov.cn>" + "写道：" on the next line
_WRAPPED = re.compile(r"^\s*(?:在\s.{0,160}|On\s.{0,240})$", re.IGNORECASE)
_WRAPPED_END = re.compile(r"^\s*.{0,80}(?:写道\s*[:：]?|wrote\s*:?)\s*$", re.IGNORECASE)


def header(mail: EmailMessage, name: str) -> str:
    """A header's value on one line, "" when absent; a header the email package cannot parse
    (it raises on some malformed ones) is read as written."""
    try:
        value = mail.get(name)
    except Exception:  # IndexError, HeaderParseError… from the parser, on a sender's mistake
        raw = next((v for k, v in mail.raw_items() if k.lower() == name.lower()), "")
        return " ".join(str(raw).split())
    return "" if value is None else " ".join(str(value).split())


def new_text(text: str) -> str:
    """The part of a plain-text reply its sender wrote."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _STOP.match(line):
            break
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _WRAPPED.match(line) and _WRAPPED_END.match(following):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    out = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", out)


# Outlook's reply header and Gmail's / QQ Mail's quote containers: what follows is the notice
_QUOTE_IDS = {"divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container"}
_QUOTE_CLASSES = {"gmail_quote", "gmail_attr", "yahoo_quoted", "moz-cite-prefix"}
_BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr"}
_SKIP = {"script", "style", "head", "title"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.depth_skipped = 0
        self.stack: list[str] = []
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        values = dict(attrs)
        classes = set((values.get("class") or "").lower().split())
        if (values.get("id") or "").lower() in _QUOTE_IDS or classes & _QUOTE_CLASSES:
            self.done = True  # the rest is the quoted notice
            return
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag in ("blockquote", *_SKIP) and tag not in ("br", "hr"):
            self.stack.append(tag)
            self.depth_skipped += 1

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
            self.depth_skipped -= 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.done and not self.depth_skipped:
            self.parts.append(data.replace("\xa0", " "))


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    return "\n".join(line for line in lines if line)  # each block one line


def reply_body(mail: EmailMessage) -> str:
    """The reply's own text: its plain part (else its HTML part, read as text), quote cut off."""
    body = mail.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, ValueError):  # an unknown charset: read what can be read
        payload = body.get_payload(decode=True)
        content = payload.decode("gb18030", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if body.get_content_subtype() == "html":
        content = html_text(content)
    return new_text(content)


_AUTO_SUBJECT = re.compile(
    r"自动回复|自動回覆|自动答复|Auto(?:matic)?[\s_-]*(?:Reply|Response)|Out\s+of\s+(?:the\s+)?Office"
    r"|Undeliver|Delivery\s+Status\s+Notification|退信",
    re.IGNORECASE,
)


def automatic_reason(mail: EmailMessage) -> str | None:
    """Why this message was sent by a machine (out of office, a bounce), or None for a person."""
    auto = header(mail, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"自动发送的邮件（Auto-Submitted: {auto}）"
    for name in ("x-autoreply", "x-autorespond", "x-auto-reply"):
        if name in (k.lower() for k in mail):
            return f"自动回复（{name}）"
    precedence = header(mail, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"自动发送的邮件（Precedence: {precedence}）"
    if mail.get_content_type() == "multipart/report":
        return "退信或回执（multipart/report）"
    subject = header(mail, "Subject")
    if _AUTO_SUBJECT.search(subject):
        return f"自动回复（主题“{' '.join(subject.split())[:60]}”）"
    return None


_TASK_NO = re.compile(
    r"任务\s*(?:第\s*)?(\d{1,4}(?:\s*[、,，和及]\s*\d{1,4})*)|第\s*(\d{1,4})\s*[项条]"
)


def named_tasks(text: str, listed: list[int]) -> list[int]:
    """The task numbers a reply names among those its notice listed ("任务3、4", "第 3 项")."""
    named: set[int] = set()
    for match in _TASK_NO.finditer(text):
        named.update(int(n) for n in re.findall(r"\d+", match.group(1) or match.group(2)))
    return [no for no in listed if no in named]
