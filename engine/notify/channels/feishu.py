"""The `feishu` channel: a Feishu (飞书) group robot, through its webhook.

POST `{"msg_type": "post", "content": {"post": {"zh_cn": {"title": …, "content": [[…], …]}}}}` to
the unit's robot URL (`[units.*] feishu`, `…/open-apis/bot/v2/hook/${NAME}`): a rich text with the
notice's subject as title and one paragraph of plain text per line of the kind's `feishu.txt.j2`
(the renderer cuts a long notice into posts); the closing link line (`[点击办理](…)…`) becomes a
link. A post rather than an interactive card: a card's markdown would need its own escaping and
its layout differs between clients, while a post's text paragraphs are shown as written. A message
built without rendered lines goes as `{"msg_type": "text", …}`.

A robot that signs (签名校验) takes `timestamp` (seconds, real time: Feishu refuses one more than an
hour off) and `sign` in the body: base64 of HMAC-SHA256 keyed with "timestamp\\nsecret" over an
empty message; the secret comes from the variable `feishu_secret_env` names. Every message carries
one of the robot's `keywords` when it has some.

Only `code == 0` is success. 11232 (frequency limited) and 9499 when it says the robot is sending
too fast, HTTP 5xx, timeouts and refused connections are transient; 19021 (signature or timestamp
refused), 19024 (keyword missing), 19022 (IP not allowed), 9499 (bad request) and any other code
are permanent. A body is at most 20 KB: a longer notice goes as continuation messages, each
recorded when accepted. Each robot takes at most 100 messages a minute and 5 a second, counted in
the database across instances; with `shift_minutes`, nothing goes in the first minutes of a full
or half hour, when every robot in the country is posting.

Feishu's custom robots mention people by their Feishu user id (`<at user_id="ou_…">`), not by
mobile number, and the directory holds mobiles: this channel mentions no one.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from typing import Any

from engine.config import FeishuSettings, Settings
from engine.errors import UserError
from engine.notify.channels.base import Delivery, Message
from engine.notify.channels.common import (
    Sessions,
    body_bytes,
    deferred_off_round,
    hmac_base64,
    off_round,
    post_json,
    send_parts,
    split_text,
    with_keyword,
)
from engine.notify.channels.hosts import checked_url
from engine.notify.channels.pacing import Pace, Pacer, memory_pacer
from engine.notify.directory import contact_of, secret_problem
from engine.notify.ratelimit import RealClock, real_now
from engine.notify.secrets import mask, remember

NAME = "feishu"
PROVIDER = "飞书"
LABEL = "飞书机器人地址"
SECTION = "channels.feishu"
BODY_LIMIT = 20 * 1024
"""Bytes of one request body, Feishu's limit."""
_ENVELOPE = 200
"""Room in the body for everything but the text: timestamp, sign, msg_type and the JSON."""
TRANSIENT_CODES = frozenset({11232})
TITLE_CHARS = 60
_LINK_LINE = re.compile(r"\[([^\[\]]+)\]\((https?://[^\s()]+)\)(.*)")
"""The renderer's link line (`_link.md.j2`): the data, neutralised, has no "[" or "(" of its own."""
_TOO_FAST = ("too many", "frequency", "rate limit", "频率")


def sign(secret: str, timestamp: str) -> str:
    return hmac_base64(f"{timestamp}\n{secret}", "")


class FeishuChannel:
    name = NAME

    def __init__(
        self,
        settings: Settings,
        pacer: Pacer | None = None,
        real_clock: RealClock | None = None,
    ) -> None:
        self.settings = settings
        self.config: FeishuSettings = settings.channels.feishu
        self.paces = (
            Pace(self.config.per_robot_per_minute, timedelta(minutes=1), "feishu/min"),
            Pace(self.config.per_robot_per_second, timedelta(seconds=1), "feishu/sec"),
        )
        self.pacer = pacer or memory_pacer(NAME)
        self.real_clock = real_clock or real_now
        self.sessions = Sessions()

    def close(self) -> None:
        self.sessions.close()

    def posts(self, message: Message) -> list[tuple[str, str]]:
        """The (title, lines) of every post this notice is made of, in order (the same on every
        try). A post too large in JSON (many short lines) is split further between lines."""
        parts: list[str] = []
        for part in message.markdown:
            pending = [part]
            while pending:
                text = pending.pop(0)
                size = len(body_bytes(self.post_payload(message.subject, text, "0" * 10, "0" * 44)))
                if size <= BODY_LIMIT or len(text.encode("utf-8")) <= 1024:
                    parts.append(text)
                else:
                    pending[:0] = split_text(text, len(text.encode("utf-8")) // 2)
        out = []
        for index, text in enumerate(parts):
            title = message.subject[:TITLE_CHARS] + (f"（续{index}）" if index else "")
            if self.config.keywords and not any(
                word in title or word in text for word in self.config.keywords
            ):
                title = f"【{self.config.keywords[0]}】{title}"
            out.append((title, text))
        return out

    def post_payload(
        self, title: str, text: str, timestamp: str | None, signature: str | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if timestamp is not None:
            out.update(timestamp=timestamp, sign=signature)
        lines = [_paragraph(line) for line in text.split("\n")]
        out.update(msg_type="post", content={"post": {"zh_cn": {"title": title, "content": lines}}})
        return out

    def texts(self, message: Message) -> list[str]:
        """Every text message of a notice without rendered lines, in order (the same on every
        try). JSON escapes quotes, backslashes and control characters, so each text is cut to what
        fits escaped."""
        body = f"{message.subject}\n\n{message.text}".strip()
        limit = BODY_LIMIT - _ENVELOPE
        while True:  # JSON at most sextuples a character (\u0001): a sixth of the room always fits
            parts = [
                with_keyword(part, self.config.keywords)
                for part in split_text(body, limit, heading=message.subject[:60])
            ]
            if (
                all(
                    len(body_bytes(self.payload(p, "0" * 10, "0" * 44))) <= BODY_LIMIT
                    for p in parts
                )
                or limit <= BODY_LIMIT // 6
            ):
                return parts
            limit = max(BODY_LIMIT // 6, limit - 1024)

    def payload(self, text: str, timestamp: str | None, signature: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if timestamp is not None:
            out.update(timestamp=timestamp, sign=signature)
        out.update(msg_type="text", content={"text": text})
        return out

    def send(self, message: Message, now: datetime) -> Delivery:
        later = off_round(now, self.config.shift_minutes, self.settings.service.timezone)
        if later is not None:
            return deferred_off_round(later, self.config.shift_minutes, message.first_part)
        contact = contact_of(message.recipient, self.settings)
        if contact is None or not contact.feishu:
            return Delivery.permanent(f"单位“{message.recipient}”未配置飞书群机器人地址")
        try:
            url = checked_url(
                contact.feishu,
                self.config.allowed_hosts,
                label=LABEL,
                section=SECTION,
                where=f'units."{message.recipient}".feishu',
            )
        except UserError as exc:
            return Delivery.permanent(mask(f"{exc}，未发送"))
        remember(url.rstrip("/").rsplit("/", 1)[-1])  # the hook's token, in the path: a secret
        secret = None
        if contact.feishu_secret_env:
            why = secret_problem(message.recipient, "feishu_secret_env", contact.feishu_secret_env)
            if why:
                return Delivery.permanent(why)
            secret = os.environ[contact.feishu_secret_env]
            remember(secret)
        posts: list[tuple[str | None, str]] = (
            list(self.posts(message))
            if message.markdown
            else [(None, text) for text in self.texts(message)]
        )
        return send_parts(
            message,
            len(posts),
            now,
            lambda: self.pacer.wait([(pace, url) for pace in self.paces]),
            f"飞书机器人每分钟最多 {self.paces[0].limit} 条、每秒最多 "
            f"{self.paces[1].limit} 条，已推迟",
            lambda part: self._post(url, secret, *posts[part]),
        )

    def _post(self, url: str, secret: str | None, title: str | None, text: str) -> Delivery:
        timestamp = signature = None
        if secret is not None:
            timestamp = str(int(self.real_clock().timestamp()))
            signature = sign(secret, timestamp)
        payload = (
            self.payload(text, timestamp, signature)
            if title is None
            else self.post_payload(title, text, timestamp, signature)
        )
        answer = post_json(
            self.sessions.get(),
            url,
            payload,
            self.config.timeout_seconds,
            PROVIDER,
            code_key="code",
        )
        if isinstance(answer, Delivery):
            return answer
        return classify(answer)


def _paragraph(line: str) -> list[dict[str, str]]:
    """One line of a post: plain text, or the notice's link line as a link and its note."""
    found = _LINK_LINE.fullmatch(line)
    if found is None:
        return [{"tag": "text", "text": line}]
    label, href, note = found.groups()
    out = [{"tag": "a", "text": label, "href": href}]
    if note:
        out.append({"tag": "text", "text": note})
    return out


def classify(answer: dict[str, Any]) -> Delivery:
    """Feishu's answer as an outcome: only code 0 is success."""
    try:
        code = int(answer.get("code"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return Delivery.transient(mask(f"飞书返回了无法识别的应答：{str(answer)[:200]}"))
    msg = str(answer.get("msg", ""))
    text = mask(f"code={code} msg={msg}")
    if code == 0:
        return Delivery.sent(text)
    too_fast = code == 9499 and any(word in msg.lower() for word in _TOO_FAST)
    if code in TRANSIENT_CODES or too_fast:
        return Delivery.transient(f"飞书返回 {text}")
    return Delivery.permanent(f"飞书返回 {text}")
