"""What the messenger channels (wecom_app, dingtalk, feishu) share: HTTP within a deadline,
cutting a long notice into messages, keeping off the full and half hour, signing with HMAC.

`post_json` sends exactly the checked URL (no redirects), the body as UTF-8 JSON, and returns
either the decoded answer or a `Delivery` for a failure of the exchange itself: a timeout, a
refused connection or HTTP 5xx/429 are transient, any other non-200 status without a JSON body
permanent. The provider's own codes are classified by each channel.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from engine.notify.channels.base import Delivery, Message, Outcome
from engine.notify.deadline import (
    DeadlineExceeded,
    RewrittenURL,
    deadline_session,
    get,
    post,
)
from engine.notify.secrets import mask

GOES_ON = "（未完，见下一条消息）"
TEST_KIND = "test"  # `duban send-test` checks the mentions too


def hmac_base64(key: str, message: str) -> str:
    """base64(HMAC-SHA256(key, message)), as DingTalk and Feishu sign."""
    digest = hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class Sessions:
    """One requests session per thread: connections reused, never a Session shared by threads."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()

    def get(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = deadline_session()
            session.headers["Content-Type"] = "application/json; charset=utf-8"
            with self._lock:
                self._all.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._all = self._all, []
        for session in sessions:
            session.close()


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The JSON body as sent: UTF-8, not \\u-escaped (the providers' size limits count bytes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post_json(
    session: requests.Session,
    url: str,
    payload: dict[str, Any] | None,
    timeout: float,
    provider: str,
    *,
    method: str = "POST",
    code_key: str = "errcode",
) -> dict[str, Any] | Delivery:
    """POST `payload` (None: an empty body; with `method="GET"`, no body) and decode the JSON
    answer, or say what failed. An answer other than HTTP 200 counts only when it carries the
    provider's code (`code_key`): Feishu answers some refusals with HTTP 400 and a code."""
    data = body_bytes(payload) if payload is not None else b""
    try:
        if method == "GET":
            response = get(session, url, timeout)
        else:
            response = post(session, url, timeout, data=data)
    except RewrittenURL:
        return Delivery.permanent(f"{provider}地址在发送前被改写为其他主机，未发送")
    except DeadlineExceeded:
        return Delivery.transient(f"{provider}请求超时（{timeout:g} 秒内未完成）")
    except requests.Timeout:
        return Delivery.transient(f"{provider}请求超时（{timeout:g} 秒）")
    except requests.ConnectionError as exc:
        return Delivery.transient(mask(f"无法连接{provider}服务器：{reason(exc)}"))
    except requests.RequestException as exc:
        return Delivery.transient(mask(f"{provider}请求失败：{reason(exc)}"))
    if response.status >= 500 or response.status == 429:
        return Delivery.transient(f"{provider}服务器返回 HTTP {response.status}")
    try:
        answer = json.loads(response.body)
    except ValueError:
        answer = None
    if response.status != 200 and not (isinstance(answer, dict) and code_key in answer):
        return Delivery.permanent(f"{provider}服务器返回 HTTP {response.status}")
    if not isinstance(answer, dict):
        return Delivery.transient(mask(f"{provider}返回了无法识别的应答：{response.text[:200]}"))
    return answer


def reason(exc: Exception) -> str:
    """The root cause of a requests error in a few words (its repr embeds the full URL)."""
    root: BaseException = exc
    while root.__cause__ is not None or root.__context__ is not None:
        root = root.__cause__ or root.__context__  # type: ignore[assignment]
    return type(root).__name__ + (f": {root}" if str(root) else "")


def off_round(now: datetime, shift_minutes: int, timezone: str) -> datetime | None:
    """When a message due at `now` should go instead, to keep `shift_minutes` off the full and
    the half hour (the providers ask senders not to crowd those minutes), or None: go now.

    A notice planned for 09:00 goes at 09:0N; one due at 09:17 goes at once.
    """
    if shift_minutes <= 0:
        return None
    local = now.astimezone(ZoneInfo(timezone))
    into = local.minute % 30
    if into >= shift_minutes:
        return None
    start = local.replace(second=0, microsecond=0) - timedelta(minutes=into)
    return (start + timedelta(minutes=shift_minutes)).astimezone(now.tzinfo)


def deferred_off_round(at: datetime, shift_minutes: int, parts_sent: int) -> Delivery:
    return Delivery(
        Outcome.DEFERRED,
        f"避开整点和半点，推迟 {shift_minutes} 分钟发送",
        retry_at=at,
        parts_sent=parts_sent,
    )


def send_parts(
    message: Message,
    count: int,
    now: datetime,
    wait: Callable[[], timedelta | None],
    deferred: str,
    post: Callable[[int], Delivery],
    nothing: str = "无需发送",
) -> Delivery:
    """Send the parts `message.first_part` … `count - 1` of a notice, in order, as the robots and
    the WeCom application do: before each, `wait()` — the robot's pace, in real time — and a wait
    puts the rest off (`deferred`, retried at `now` plus the wait, on the business clock); a part
    that fails stops there. Each part sent is recorded at once through `message.on_part` (when
    there are several), so that a restart resumes after it. The parts sent so far travel in
    `parts_sent`; the answers, joined, are the detail (`nothing` when no part was left)."""
    sent = message.first_part
    answers: list[str] = []
    while sent < count:
        pause = wait()
        if pause is not None:
            return Delivery(Outcome.DEFERRED, deferred, retry_at=now + pause, parts_sent=sent)
        result = post(sent)
        if not result.ok:
            return Delivery(result.outcome, result.detail, parts_sent=sent)
        answers.append(result.detail)
        sent += 1
        if message.on_part is not None and count > 1:
            message.on_part(sent)
    return Delivery.sent("；".join(answers) or nothing, parts_sent=sent)


def _fits(text: str, limit: int) -> bool:
    return len(text.encode("utf-8")) <= limit


def split_text(text: str, limit: int, heading: str = "") -> list[str]:
    """`text` as messages of at most `limit` bytes of UTF-8 each, together the whole text: cut
    between lines (a line too long itself, between characters), every message but the last
    ending with "（未完，见下一条消息）", every one after the first starting with
    "`heading`（续N）". Nothing is cut away; the same text always gives the same messages, so
    that a notice resumed after a crash skips exactly the messages already accepted."""
    text = text.strip("\n")
    if _fits(text, limit):
        return [text]
    tag = f"{heading}（续0000）\n" if heading else ""
    room = limit - len(f"{tag}\n{GOES_ON}".encode())
    pieces: list[list[str]] = [[]]
    size = 0
    for line in text.split("\n"):
        cost = len(line.encode("utf-8")) + 1
        if size + cost > room and pieces[-1]:  # a line that fits whole goes on in the next
            pieces.append([])
            size = 0
        while cost > room:  # a line longer than a message: cut between characters
            head = line.encode("utf-8")[: room - 1].decode("utf-8", errors="ignore") or line[:1]
            pieces[-1].append(head)
            pieces.append([])
            line = line[len(head) :]
            cost = len(line.encode("utf-8")) + 1
        pieces[-1].append(line)
        size += cost
    bodies = [b for b in ("\n".join(p).strip("\n") for p in pieces) if b]
    out = []
    for index, body in enumerate(bodies):
        if heading and index:
            body = f"{heading}（续{index}）\n{body}"
        if index < len(bodies) - 1:
            body = f"{body}\n{GOES_ON}"
        out.append(body)
    return out


def with_keyword(text: str, keywords: list[str]) -> str:
    """The text carrying one of the robot's security keywords (自定义关键词): as it is when it
    holds one already, else headed by the first, so that the robot does not refuse it."""
    if not keywords or any(word in text for word in keywords):
        return text
    return f"【{keywords[0]}】{text}"
