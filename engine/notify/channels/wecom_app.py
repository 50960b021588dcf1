"""The `wecom_app` channel: 企业微信应用消息, the corp's own application writing to members.

`GET {api_base}/cgi-bin/gettoken?corpid=…&corpsecret=…` gives an `access_token`, kept in this
process's memory (across dispatch passes) until shortly before its `expires_in`, and fetched
again when WeCom says it expired or is invalid (42001, 40014: the message is then sent once more
with the new token). `POST {api_base}/cgi-bin/message/send?access_token=…` sends a `textcard` to
the unit's `wecom_users` (`touser` "a|b"): the card the renderer made from the kind's
`wecom_app.card.j2` (the subject as title, a description of at most 512 bytes, the button from
`_card_button.j2`), opening the notice's link (the unit's page, or the console for the
coordinator); a message built without a card gets one from its date and first lines.
`enable_duplicate_check` is on: WeCom itself drops the same card to the same members within
`duplicate_check_seconds`, so a repeat after a crash between sending and recording reaches nobody
twice: the card is the same, since a unit's personal link is signed at the row's `send_at` (see
`engine.notify.compose.signing_moment`), not at the moment of rendering.

Only `errcode == 0` is success. -1 (busy), 45009 and 45033 (too many calls), HTTP 5xx, timeouts
and refused connections are transient, as for the robots; 40001/40013/40056/60020 (secret, corp,
agent or IP refused), 81013 (no valid member), 40058/44004 (bad content) and any other code are
permanent. An answer with `invaliduser` was delivered to the others: the notice counts as sent and
the detail names the members WeCom did not know (a warning in the log, for the coordinator to
correct `wecom_users`). Each member takes at most 30 messages a minute and 1,000 an hour from the
application, counted in the database across instances; a notice waits until every member has room.
"""

from __future__ import annotations

import hashlib
import html
import os
import threading
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from loguru import logger

from engine.config import Settings, WecomAppSettings
from engine.errors import UserError
from engine.notify.channels.base import Delivery, Message, Outcome
from engine.notify.channels.common import (
    Sessions,
    deferred_off_round,
    off_round,
    post_json,
    send_parts,
    split_text,
)
from engine.notify.channels.hosts import check_url
from engine.notify.channels.pacing import Pace, Pacer, memory_pacer
from engine.notify.context import site_url
from engine.notify.directory import contact_of
from engine.notify.render import cn_date
from engine.notify.secrets import blank_variable, mask, remember

NAME = "wecom_app"
PROVIDER = "企业微信应用"
SECTION = "channels.wecom_app"
TRANSIENT_CODES = frozenset({-1, 45009, 45033})
TOKEN_CODES = frozenset({42001, 40014})
"""The access_token expired or is not valid (any more): fetch another and send again."""
TITLE_BYTES = 128
DESCRIPTION_BYTES = 512
TEXT_BYTES = 2000
"""A text message (for a notice without a link) is at most 2,048 bytes."""
BUTTON = "查看详情"
_EARLY = 300
"""Seconds before `expires_in` at which a token is fetched anew rather than risk 42001."""


_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
"""The access_tokens of this process, by (api_base, corp_id, sha256 of the Secret), with the
monotonic moment each is to be fetched anew: the service builds its channels every tick, and
WeCom limits how often `gettoken` may be called, so a token must outlive one channel."""
_tokens_lock = threading.Lock()


def secret_of(config: WecomAppSettings, settings: Settings) -> str:
    """The application's Secret; a missing one is the operator's mistake (exit 2, names the key)."""
    why = blank_variable("${" + config.secret_env + "}")
    if why:
        where = f"配置文件 {settings.source}：" if settings.source else ""
        raise UserError(f"{where}键 {SECTION}.secret_env 指定的{why}，无法发送企业微信应用消息")
    secret = os.environ[config.secret_env]
    remember(secret)
    return secret


def _fit(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


class WecomAppChannel:
    name = NAME

    def __init__(
        self,
        settings: Settings,
        pacer: Pacer | None = None,
        monotonic: Any = time.monotonic,
    ) -> None:
        config = settings.channels.wecom_app
        if config is None:
            raise UserError("未配置 [channels.wecom_app]")
        self.settings = settings
        self.config = config
        self.secret = secret_of(config, settings)
        self.pacer = pacer or memory_pacer(NAME)
        self.paces = (
            Pace(config.per_member_per_minute, timedelta(minutes=1), "wecom_app/min"),
            Pace(config.per_member_per_hour, timedelta(hours=1), "wecom_app/hour"),
        )
        self.monotonic = monotonic
        self.sessions = Sessions()
        digest = hashlib.sha256(self.secret.encode("utf-8")).hexdigest()
        self._token_key = (config.api_base, config.corp_id, digest)

    def close(self) -> None:
        self.sessions.close()

    # -- the message ---------------------------------------------------------------------------

    def payloads(self, message: Message, users: list[str]) -> list[dict[str, Any]]:
        base = {
            "touser": "|".join(users),
            "agentid": self.config.agent_id,
            "enable_duplicate_check": 1,
            "duplicate_check_interval": self.config.duplicate_check_seconds,
        }
        url = message.link or site_url(self.settings.web.base_url)
        if url is None:  # no page to open: the notice as text messages
            body = f"{message.subject}\n\n{message.text}".strip()
            return [
                {**base, "msgtype": "text", "text": {"content": part}}
                for part in split_text(body, TEXT_BYTES, heading=message.subject[:40])
            ]
        if message.card is not None:
            card = {
                "title": message.card.title,
                "description": message.card.description,
                "url": url,
                "btntxt": message.card.button,
            }
        else:
            card = self.textcard(message, url)
        return [{**base, "msgtype": "textcard", "textcard": card}]

    def textcard(self, message: Message, url: str) -> dict[str, str]:
        """Title, a description of at most 512 bytes (WeCom's few HTML classes), the button."""
        day = f'<div class="gray">{cn_date(message.send_date)}</div>' if message.send_date else ""
        lines = [line.strip(" 　") for line in message.text.splitlines()]
        summary = "".join(line for line in lines[1:] if line)[:300] or message.subject
        room = DESCRIPTION_BYTES - len(f'{day}<div class="normal"></div>'.encode())
        text = html.escape(summary, quote=False)
        while len(text.encode("utf-8")) > room:
            summary = summary[: max(1, len(summary) - 10)]
            text = html.escape(summary, quote=False) + "…"
        return {
            "title": _fit(message.subject, TITLE_BYTES),
            "description": f'{day}<div class="normal">{text}</div>',
            "url": url,
            "btntxt": BUTTON,
        }

    def member_checks(self, users: list[str]) -> list[tuple[Pace, str]]:
        return [(pace, f"{self.config.corp_id}|{user}") for user in users for pace in self.paces]

    # -- sending -------------------------------------------------------------------------------

    def send(self, message: Message, now: datetime) -> Delivery:
        later = off_round(now, self.config.shift_minutes, self.settings.service.timezone)
        if later is not None:
            return deferred_off_round(later, self.config.shift_minutes, message.first_part)
        contact = contact_of(message.recipient, self.settings)
        users = list(contact.wecom_users) if contact else []
        if not users:
            return Delivery.permanent(
                f"单位“{message.recipient}”未配置 wecom_users（企业微信成员账号）"
            )
        payloads = self.payloads(message, users)
        invalid: list[str] = []

        def post(part: int) -> Delivery:
            result, rejected = self._send_one(payloads[part])
            if result.ok:
                invalid.extend(u for u in rejected if u not in invalid)
            return result

        delivery = send_parts(
            message,
            len(payloads),
            now,
            lambda: self.pacer.wait(self.member_checks(users)),
            f"企业微信应用每位成员每分钟最多 {self.paces[0].limit} 条、每小时最多 "
            f"{self.paces[1].limit} 条，已推迟",
            post,
            nothing="",
        )
        if not delivery.ok:
            return delivery
        detail, sent = delivery.detail, delivery.parts_sent
        if invalid:
            shown = "、".join(invalid)
            key = f'units."{message.recipient}".wecom_users'
            detail += f"；以下成员账号无效，未收到：{shown}（请核对 {key}）"
            logger.bind(notice=message.notice_id, recipient=message.recipient).warning(
                "企业微信应用消息部分成员未收到：{}", shown
            )
        return Delivery.sent(detail, parts_sent=sent, extra={"invalid_users": invalid})

    def _send_one(self, payload: dict[str, Any]) -> tuple[Delivery, list[str]]:
        for fresh in (False, True):
            token = self.token(fresh=fresh)
            if isinstance(token, Delivery):
                return token, []
            url = f"{self.config.api_base}/cgi-bin/message/send?access_token={quote(token)}"
            answer = self._call(url, payload)
            if isinstance(answer, Delivery):
                return answer, []
            code = _code(answer)
            if code in TOKEN_CODES and not fresh:
                self.forget(token)
                continue
            return classify(answer), _users(answer.get("invaliduser"))
        raise AssertionError("unreachable")

    def _call(self, url: str, payload: dict[str, Any] | None) -> dict[str, Any] | Delivery:
        refused = check_url(
            url, self.config.allowed_hosts, label="企业微信应用接口地址", section=SECTION
        )
        if refused:
            return Delivery.permanent(mask(f"{refused}，未发送"))
        method = "GET" if payload is None else "POST"
        return post_json(
            self.sessions.get(), url, payload, self.config.timeout_seconds, PROVIDER, method=method
        )

    def forget(self, token: str) -> None:
        with _tokens_lock:
            if _tokens.get(self._token_key, ("", 0.0))[0] == token:
                del _tokens[self._token_key]

    def token(self, *, fresh: bool = False) -> str | Delivery:
        """The cached access_token, or a new one from `gettoken` (once at a time)."""
        with _tokens_lock:
            cached = _tokens.get(self._token_key)
            if cached is not None and not fresh and self.monotonic() < cached[1]:
                return cached[0]
            url = (
                f"{self.config.api_base}/cgi-bin/gettoken?corpid={quote(self.config.corp_id)}"
                f"&corpsecret={quote(self.secret)}"
            )
            answer = self._call(url, None)
            if isinstance(answer, Delivery):
                return answer
            result = classify(answer)
            token = answer.get("access_token")
            if not result.ok or not isinstance(token, str) or not token:
                detail = result.detail if not result.ok else "企业微信未返回 access_token"
                return Delivery(
                    result.outcome if not result.ok else Outcome.TRANSIENT,
                    f"获取 access_token 失败：{detail}",
                )
            remember(token)
            try:
                lifetime = max(60, int(answer.get("expires_in", 7200)) - _EARLY)
            except (TypeError, ValueError):
                lifetime = 60
            _tokens[self._token_key] = (token, self.monotonic() + lifetime)
            return token


def _code(answer: dict[str, Any]) -> int | None:
    try:
        return int(answer.get("errcode"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _users(value: object) -> list[str]:
    return [u for u in str(value or "").split("|") if u]


def classify(answer: dict[str, Any]) -> Delivery:
    """WeCom's answer as an outcome: only errcode 0 is success."""
    code = _code(answer)
    if code is None:
        return Delivery.transient(mask(f"企业微信返回了无法识别的应答：{str(answer)[:200]}"))
    text = mask(f"errcode={code} errmsg={answer.get('errmsg', '')}")
    if code == 0:
        return Delivery.sent(text)
    if code in TRANSIENT_CODES or code in TOKEN_CODES:
        return Delivery.transient(f"企业微信返回 {text}")
    return Delivery.permanent(f"企业微信返回 {text}")
