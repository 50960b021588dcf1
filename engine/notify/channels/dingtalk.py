"""The `dingtalk` channel: a DingTalk (钉钉) group robot, through its webhook.

POST `{"msgtype": "markdown", "markdown": {"title": …, "text": …}, "at": {"atMobiles": […]}}` to
the unit's robot URL (`[units.*] dingtalk`, `…/robot/send?access_token=${NAME}`): the notice's
subject as title, the kind's `dingtalk.md.j2` as text (the renderer cuts a long notice into
messages). DingTalk's rule for a markdown mention is that the text itself names `@mobile`: the last
message ends with the mention line and every mobile, and `atMobiles` lists them. A message built
without markdown (none rendered) goes as `{"msgtype": "text", …}`, mentions likewise.

A robot that signs (加签) takes `timestamp` (milliseconds, real time: DingTalk refuses one more than
an hour off) and `sign`, base64 of HMAC-SHA256 keyed with the secret over "timestamp\\nsecret", in
the query; the secret comes from the variable `dingtalk_secret_env` names. Every message carries one
of the robot's `keywords` when it has some. Only `errcode == 0` is success; -1 (busy), 130101 and
410100 (sending too fast), HTTP 5xx, timeouts and refused connections are transient; 310000
(keyword, signature or IP refused), 460101 (message too large), 300001/400101/400102 (no such or
stopped robot) and any other code are permanent.

A notice longer than `LIMIT` bytes goes as continuation messages, each recorded when accepted (the
dispatcher's `on_part`), like the WeCom robot's. Each robot takes at most `per_robot_per_minute`
(20) messages in any minute, counted in the database across instances.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

from engine.config import DingtalkSettings, Settings
from engine.errors import UserError
from engine.notify.channels.base import Delivery, Message
from engine.notify.channels.common import (
    TEST_KIND,
    Sessions,
    hmac_base64,
    post_json,
    send_parts,
    split_text,
    with_keyword,
)
from engine.notify.channels.hosts import checked_url
from engine.notify.channels.pacing import Pace, Pacer, memory_pacer
from engine.notify.directory import contact_of, secret_problem
from engine.notify.ratelimit import RealClock, real_now
from engine.notify.render import clip
from engine.notify.secrets import mask, remember

NAME = "dingtalk"
PROVIDER = "钉钉"
LABEL = "钉钉机器人地址"
SECTION = "channels.dingtalk"
LIMIT = 18000
"""Bytes of one text message's content: DingTalk's limit is 20,000; room left for the mentions."""
TRANSIENT_CODES = frozenset({-1, 130101, 410100})
MENTION_TEXT = "请以上同志及时查阅并办理督办通知。"
TITLE_CHARS = 60
"""A markdown message's title is what the conversation list shows: the subject, shortened."""


def sign(secret: str, timestamp: str) -> str:
    return hmac_base64(secret, f"{timestamp}\n{secret}")


class DingtalkChannel:
    name = NAME

    def __init__(
        self,
        settings: Settings,
        pacer: Pacer | None = None,
        real_clock: RealClock | None = None,
    ) -> None:
        self.settings = settings
        self.config: DingtalkSettings = settings.channels.dingtalk
        self.pace = Pace(self.config.per_robot_per_minute, timedelta(minutes=1), "dingtalk/min")
        self.pacer = pacer or memory_pacer(NAME)
        self.real_clock = real_clock or real_now
        self.sessions = Sessions()

    def close(self) -> None:
        self.sessions.close()

    def texts(self, message: Message) -> list[str]:
        """Every message this notice is made of, in order (the same on every try)."""
        if message.markdown:
            return [markdown_keyword(part, self.config.keywords) for part in message.markdown]
        body = f"{message.subject}\n\n{message.text}".strip()
        parts = split_text(body, LIMIT, heading=message.subject[:60])
        return [with_keyword(part, self.config.keywords) for part in parts]

    def payload(
        self, text: str, mobiles: list[str], last: bool, title: str | None = None
    ) -> dict[str, Any]:
        """One message: markdown with `title`, else text; the last one mentions `mobiles`."""
        if last and mobiles:
            text = f"{text}\n\n{MENTION_TEXT}" + "".join(f" @{m}" for m in mobiles)
        at: dict[str, Any] = {"atMobiles": mobiles if last else [], "isAtAll": False}
        if title is not None:
            return {"msgtype": "markdown", "markdown": {"title": title, "text": text}, "at": at}
        return {"msgtype": "text", "text": {"content": text}, "at": at}

    def send(self, message: Message, now: datetime) -> Delivery:
        contact = contact_of(message.recipient, self.settings)
        if contact is None or not contact.dingtalk:
            return Delivery.permanent(f"单位“{message.recipient}”未配置钉钉群机器人地址")
        where = f'units."{message.recipient}".dingtalk'
        try:
            url = checked_url(
                contact.dingtalk,
                self.config.allowed_hosts,
                label=LABEL,
                section=SECTION,
                where=where,
            )
        except UserError as exc:
            return Delivery.permanent(mask(f"{exc}，未发送"))
        secret = None
        if contact.dingtalk_secret_env:
            why = secret_problem(
                message.recipient, "dingtalk_secret_env", contact.dingtalk_secret_env
            )
            if why:
                return Delivery.permanent(why)
            secret = os.environ[contact.dingtalk_secret_env]
            remember(secret)
        mentioned = message.kind in self.config.mention_kinds or message.kind == TEST_KIND
        mobiles = list(contact.mobiles) if mentioned else []
        texts = self.texts(message)

        def post(part: int) -> Delivery:
            title = None
            if message.markdown:
                title = clip(message.subject, TITLE_CHARS) + (f"（续{part}）" if part else "")
            payload = self.payload(texts[part], mobiles, part == len(texts) - 1, title)
            return self._post(url, secret, payload)

        return send_parts(
            message,
            len(texts),
            now,
            lambda: self.pacer.wait([(self.pace, url)]),
            f"钉钉机器人每分钟最多 {self.pace.limit} 条，已推迟",
            post,
        )

    def signed_url(self, url: str, secret: str | None) -> str:
        if secret is None:
            return url
        timestamp = str(int(self.real_clock().timestamp() * 1000))
        joiner = "&" if "?" in url else "?"
        return f"{url}{joiner}timestamp={timestamp}&sign={quote_plus(sign(secret, timestamp))}"

    def _post(self, url: str, secret: str | None, payload: dict[str, Any]) -> Delivery:
        answer = post_json(
            self.sessions.get(),
            self.signed_url(url, secret),
            payload,
            self.config.timeout_seconds,
            PROVIDER,
        )
        if isinstance(answer, Delivery):
            return answer
        return classify(answer)


def markdown_keyword(text: str, keywords: list[str]) -> str:
    """A markdown message carrying one of the robot's keywords: after its heading, when it needs
    one (before it, "【…】### …" would no longer be a heading)."""
    if not keywords or any(word in text for word in keywords):
        return text
    head, sep, rest = text.partition("\n")
    if head.startswith("#"):
        return f"{head}【{keywords[0]}】{sep}{rest}"
    return with_keyword(text, keywords)


def classify(answer: dict[str, Any]) -> Delivery:
    """DingTalk's answer as an outcome: only errcode 0 is success."""
    try:
        code = int(answer.get("errcode"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return Delivery.transient(mask(f"钉钉返回了无法识别的应答：{str(answer)[:200]}"))
    text = mask(f"errcode={code} errmsg={answer.get('errmsg', '')}")
    if code == 0:
        return Delivery.sent(text)
    if code in TRANSIENT_CODES:
        return Delivery.transient(f"钉钉返回 {text}")
    return Delivery.permanent(f"钉钉返回 {text}")
