"""The `wecom` channel: a WeCom (企业微信) group robot, through its webhook.

POST `{"msgtype": "markdown", "markdown": {"content": …}}` to the robot's URL. WeCom answers HTTP
200 for errors too: only `errcode == 0` is success. 45009 (too many messages) and -1 (system busy),
HTTP 5xx, timeouts and refused connections are transient; 93000 (invalid robot URL), 40058 (bad
content), 44004 (empty content) and any other code are permanent. A notice may be several messages
(bodies are cut at 4,096 bytes) plus, when the unit lists mobiles and the notice's kind is one of
`mention_kinds` (by default overdue and escalation; always for `send-test`), a text message
@-mentioning them (markdown cannot mention by mobile number); `Message.first_part` skips those
already accepted. With `shift_minutes`, nothing goes in the first minutes of a full or half hour
(in the service's time zone): the notice is deferred to the minute after, as for wecom_app.

The robot key is a secret: the URL is expanded only here, and every error text is masked. A URL
whose `${NAME}` is unset or blank fails permanently, naming the variable (see `directory.py`).
The URL is checked as the HTTP client will connect (`check_robot_url`), before and after `${NAME}`
expansion, and exactly the checked string is sent, without redirects; a request and its answer
together take at most `timeout_seconds` (`engine.notify.deadline`), however slowly a peer dribbles.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any

import requests

from engine.config import WecomSettings
from engine.errors import UserError
from engine.notify.channels.base import Delivery, Message
from engine.notify.channels.common import deferred_off_round, off_round, reason, send_parts
from engine.notify.channels.hosts import check_url, checked_url
from engine.notify.deadline import DeadlineExceeded, RewrittenURL, deadline_session, post
from engine.notify.directory import wecom_url_problem
from engine.notify.ratelimit import Limiter, RobotLimiter
from engine.notify.secrets import mask

TRANSIENT_CODES = frozenset({-1, 45009})
MENTION_TEXT = "请以上单位相关负责同志及时查阅并办理督办通知。"
TEST_KIND = "test"  # `duban send-test`: it checks the mentions too


LABEL = "企业微信机器人地址"
SECTION = "channels.wecom"


def check_robot_url(url: str, allowed_hosts: list[str]) -> str | None:
    """Why this robot URL may not be used, or None (engine.notify.channels.hosts.check_url: one
    reading by every parser, a listed host, plain http only to a listed loopback host)."""
    return check_url(url, allowed_hosts, label=LABEL, section=SECTION)


def checked_robot_url(template: str, allowed_hosts: list[str], *, where: str) -> str:
    """The robot URL to send to: `template` with `${NAME}` expanded, checked before and after.

    Raises UserError with the reason (masked, never the key). The caller sends exactly the
    returned string: nothing re-expands or rebuilds it between this check and the request.
    """
    return checked_url(template, allowed_hosts, label=LABEL, section=SECTION, where=where)


class WecomChannel:
    name = "wecom"

    def __init__(
        self, settings: WecomSettings, limiter: Limiter | None = None, timezone: str = "UTC"
    ) -> None:
        self.settings = settings
        self.timezone = timezone
        self.limiter: Limiter = limiter or RobotLimiter(settings.per_robot_per_minute)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        # one session per thread: connection reuse without sharing a Session across threads
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = deadline_session()
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def payloads(self, message: Message) -> list[dict[str, Any]]:
        """Every message this notice is made of, in order."""
        out: list[dict[str, Any]] = [
            {"msgtype": "markdown", "markdown": {"content": body}} for body in message.markdown
        ]
        mentioned = message.kind in self.settings.mention_kinds or message.kind == TEST_KIND
        if message.mobiles and mentioned:
            out.append(
                {
                    "msgtype": "text",
                    "text": {
                        "content": MENTION_TEXT,
                        "mentioned_mobile_list": list(message.mobiles),
                    },
                }
            )
        return out

    def send(self, message: Message, now: datetime) -> Delivery:
        later = off_round(now, self.settings.shift_minutes, self.timezone)
        if later is not None:
            return deferred_off_round(later, self.settings.shift_minutes, message.first_part)
        if not message.webhook:
            return Delivery.permanent(f"单位“{message.recipient}”未配置企业微信群机器人地址")
        # `key=` with nothing after it can only fail: say which variable, never send
        blank = wecom_url_problem(message.recipient, message.webhook)
        if blank:
            return Delivery.permanent(blank)
        try:
            url = checked_robot_url(
                message.webhook,
                self.settings.allowed_hosts,
                where=f"单位“{message.recipient}”的企业微信地址",
            )
        except UserError as exc:
            return Delivery.permanent(mask(f"{exc}，未发送"))
        payloads = self.payloads(message)
        # the window moves in real time; the retry moment is on the business clock (`now`,
        # fixed by --now in a trial), as the queue's due moments are
        return send_parts(
            message,
            len(payloads),
            now,
            lambda: self.limiter.wait(url),
            f"机器人每分钟最多 {self.limiter.per_minute} 条，已推迟",
            lambda part: self._post(url, payloads[part]),
        )

    def _post(self, url: str, payload: dict[str, Any]) -> Delivery:
        timeout = self.settings.timeout_seconds
        try:
            # exactly the checked URL, no redirects; request and answer within `timeout` in all
            response = post(self.session, url, timeout, json=payload)
        except RewrittenURL:
            return Delivery.permanent("企业微信机器人地址在发送前被改写为其他主机，未发送")
        except DeadlineExceeded:
            return Delivery.transient(f"企业微信请求超时（{timeout:g} 秒内未完成）")
        except requests.Timeout:
            return Delivery.transient(f"企业微信请求超时（{timeout:g} 秒）")
        except requests.ConnectionError as exc:
            return Delivery.transient(mask(f"无法连接企业微信服务器：{reason(exc)}"))
        except requests.RequestException as exc:
            return Delivery.transient(mask(f"企业微信请求失败：{reason(exc)}"))
        if response.status >= 500 or response.status == 429:
            return Delivery.transient(f"企业微信服务器返回 HTTP {response.status}")
        if response.status != 200:
            return Delivery.permanent(f"企业微信服务器返回 HTTP {response.status}")
        try:
            answer = json.loads(response.body)
            code = int(answer.get("errcode"))
        except (ValueError, TypeError, AttributeError):
            return Delivery.transient(mask(f"企业微信返回了无法识别的应答：{response.text[:200]}"))
        text = mask(f"errcode={code} errmsg={answer.get('errmsg', '')}")
        if code == 0:
            return Delivery.sent(text)
        detail = f"企业微信返回 {text}"
        if code in TRANSIENT_CODES:
            return Delivery.transient(detail)
        return Delivery.permanent(detail)


