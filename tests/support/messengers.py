"""Loopback HTTP servers speaking the messenger protocols, checking what the real ones check.

- `WecomAppServer`: 企业微信 application API. `gettoken` checks the corp id and Secret and issues
  tokens; `message/send` refuses an unknown token (40014) and an expired one (42001, after
  `expire()`), checks `agentid`, the textcard's sizes and button, answers `invaliduser` for
  members it does not know (81013 when none is known), and drops a repeat within the
  duplicate-check interval when `enable_duplicate_check` is on (it answers ok and delivers nothing,
  as WeCom does).
- `DingtalkServer`: `robot/send?access_token=…&timestamp=…&sign=…`, verifying the signature and the
  one-hour timestamp window (310000), the keywords (310000) and the size (460101).
- `FeishuServer`: `open-apis/bot/v2/hook/<token>` with timestamp and sign in the body (19021),
  keywords (19024), a body of at most 20 KB (9499).

Each can be scripted for the next requests, as `support.wecom.WecomServer`: a code, an HTTP status,
a slow answer (waits until the test ends, beyond any client timeout) or a hold (blocks until
released, to kill a dispatcher while a message is in flight). Nothing sleeps. The timestamp window
is checked against the real clock (`clock`, injectable), as a provider does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from support.loopback import JsonHandler, serve, shut


def real_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Answer:
    code: int | None = None
    """A provider code to answer instead of what the peer would (None: the peer decides)."""
    msg: str = "scripted"
    http_status: int = 200
    slow: bool = False
    hold: bool = False


@dataclass
class Peer:
    host: str = "127.0.0.1"
    script: deque[Answer] = field(default_factory=deque)
    released: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    connections: int = 0
    requests: int = 0
    clock: Callable[[], datetime] = real_now
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *answers: Answer | int) -> None:
        for a in answers:
            self.script.append(a if isinstance(a, Answer) else Answer(code=a))

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def handle(
        self, method: str, path: str, query: dict[str, str], raw: bytes, scripted: Answer | None
    ) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def start(self) -> Any:
        peer = self

        class Handler(JsonHandler):
            owner = peer

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                raw = self.body()
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with peer._lock:
                    peer.requests += 1
                    scripted = peer.script.popleft() if peer.script else None
                if scripted is not None and scripted.hold:
                    peer.holding.set()
                    peer.released.wait()
                if scripted is not None and scripted.slow:
                    peer.released.wait()
                    return
                if scripted is not None and scripted.http_status != 200:
                    self._reply(scripted.http_status, {"error": "upstream failure"})
                    return
                with peer._lock:
                    status, body = peer.handle(method, parts.path, query, raw, scripted)
                self._reply(status, body)

        self._server, self._thread = serve(self.host, Handler)
        return self

    def stop(self) -> None:
        self.released.set()
        shut(self._server, self._thread)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# --- 企业微信应用 ----------------------------------------------------------------------------


@dataclass
class WecomAppServer(Peer):
    corp_id: str = "ww0123456789abcdef"
    secret: str = "app-secret-0123456789abcdefghijklmnop"
    agent_id: int = 1000002
    members: set[str] = field(default_factory=lambda: {"zhangsan", "lisi", "wangwu"})
    tokens: dict[str, bool] = field(default_factory=dict)
    """Issued tokens, True while valid."""
    token_calls: int = 0
    delivered: list[dict[str, Any]] = field(default_factory=list)
    """Messages that reached members (not dropped as repeats), with the members who got them."""
    duplicates: int = 0
    _seen: dict[str, datetime] = field(default_factory=dict)

    def expire(self) -> None:
        """Every token issued so far expires (WeCom then answers 42001)."""
        for token in self.tokens:
            self.tokens[token] = False

    def handle(self, method, path, query, raw, scripted):
        if path == "/cgi-bin/gettoken" and method == "GET":
            return self._gettoken(query, scripted)
        if path == "/cgi-bin/message/send" and method == "POST":
            return self._send(query, raw, scripted)
        return 404, {"errcode": 404, "errmsg": "not found"}

    def _gettoken(self, query, scripted):
        self.token_calls += 1
        if scripted is not None and scripted.code is not None:
            return 200, {"errcode": scripted.code, "errmsg": scripted.msg}
        if query.get("corpid") != self.corp_id:
            return 200, {"errcode": 40013, "errmsg": "invalid corpid"}
        if query.get("corpsecret") != self.secret:
            return 200, {"errcode": 40001, "errmsg": "invalid credential"}
        token = f"tok{self.token_calls:04d}-" + "x" * 40
        self.tokens[token] = True
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def _send(self, query, raw, scripted):
        token = query.get("access_token", "")
        if token not in self.tokens:
            return 200, {"errcode": 40014, "errmsg": "invalid access_token"}
        if not self.tokens[token]:
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        if scripted is not None and scripted.code is not None:
            return 200, {"errcode": scripted.code, "errmsg": scripted.msg}
        payload = _json(raw)
        if payload is None:
            return 200, {"errcode": 40016, "errmsg": "invalid json"}
        if payload.get("agentid") != self.agent_id:
            return 200, {"errcode": 40056, "errmsg": "invalid agentid"}
        problem = _card_problem(payload)
        if problem:
            return 200, {"errcode": 40058, "errmsg": problem}
        users = [u for u in str(payload.get("touser", "")).split("|") if u]
        known = [u for u in users if u in self.members]
        invalid = [u for u in users if u not in self.members]
        if not known:
            return 200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
        answer = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "msgid": "m1"}
        body = json.dumps(
            {k: v for k, v in payload.items() if k != "duplicate_check_interval"},
            sort_keys=True,
            ensure_ascii=False,
        )
        now = self.clock()
        if payload.get("enable_duplicate_check") == 1:
            interval = int(payload.get("duplicate_check_interval", 1800))
            last = self._seen.get(body)
            if last is not None and (now - last).total_seconds() < interval:
                self.duplicates += 1
                return 200, answer
            self._seen[body] = now
        self.delivered.append({**payload, "received_by": known})
        return 200, answer


def _card_problem(payload: dict[str, Any]) -> str | None:
    kind = payload.get("msgtype")
    if kind == "text":
        content = str(payload.get("text", {}).get("content", ""))
        return "content exceed max length" if len(content.encode()) > 2048 else None
    if kind != "textcard":
        return f"invalid message type {kind}"
    card = payload.get("textcard") or {}
    if not card.get("title") or len(str(card["title"]).encode()) > 128:
        return "invalid textcard title"
    if not card.get("description") or len(str(card["description"]).encode()) > 512:
        return "invalid textcard description"
    url = str(card.get("url", ""))
    if not url.startswith(("http://", "https://")) or len(url.encode()) > 2048:
        return "invalid textcard url"
    if len(str(card.get("btntxt", ""))) > 4:
        return "invalid textcard btntxt"
    return None


# --- signed group robots ------------------------------------------------------------------------


def _hmac64(key: str, message: str) -> str:
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass
class DingtalkServer(Peer):
    token: str = "dt-access-token-0123456789abcdef0123456789abcdef"
    secret: str | None = "SEC0123456789abcdef0123456789abcdef0123456789abcdef"
    keywords: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def url(self, token: str | None = None) -> str:
        return f"{self.base}/robot/send?access_token={token or self.token}"

    def handle(self, method, path, query, raw, scripted):
        if path != "/robot/send" or method != "POST":
            return 404, {"errcode": 404, "errmsg": "not found"}
        if query.get("access_token") != self.token:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        if self.secret is not None:
            stamp = query.get("timestamp", "")
            if not stamp.isdigit():
                return 200, {"errcode": 310000, "errmsg": "invalid timestamp"}
            if abs(self.clock().timestamp() * 1000 - int(stamp)) > 3600 * 1000:
                return 200, {"errcode": 310000, "errmsg": "invalid timestamp " + stamp}
            if query.get("sign") != _hmac64(self.secret, f"{stamp}\n{self.secret}"):
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
        if scripted is not None and scripted.code is not None:
            return 200, {"errcode": scripted.code, "errmsg": scripted.msg}
        payload = _json(raw)
        if payload is None:
            return 200, {"errcode": 40035, "errmsg": "缺少参数 json"}
        if payload.get("msgtype") not in ("text", "markdown", "link", "actionCard", "feedCard"):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 msgtype"}
        if payload["msgtype"] == "markdown":
            markdown = payload.get("markdown") or {}
            if not markdown.get("title") or not markdown.get("text"):
                return 200, {"errcode": 40035, "errmsg": "缺少参数 markdown.title 或 text"}
            content = str(markdown["title"]) + "\n" + str(markdown["text"])
        else:
            content = str(payload.get("text", {}).get("content", ""))
        if len(content.encode()) > 20000:
            return 200, {"errcode": 460101, "errmsg": "message too large"}
        if self.keywords and not any(word in content for word in self.keywords):
            return 200, {"errcode": 310000, "errmsg": "keywords not in content"}
        self.received.append(payload)
        return 200, {"errcode": 0, "errmsg": "ok"}


@dataclass
class FeishuServer(Peer):
    token: str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    secret: str | None = "fs-secret-0123456789abcdef"
    keywords: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    largest: int = 0
    """The largest body received, in bytes."""

    def url(self, token: str | None = None) -> str:
        return f"{self.base}/open-apis/bot/v2/hook/{token or self.token}"

    def handle(self, method, path, query, raw, scripted):
        self.largest = max(self.largest, len(raw))
        if path != f"/open-apis/bot/v2/hook/{self.token}" or method != "POST":
            return 200, {
                "code": 19001,
                "msg": "param invalid: incoming webhook access token invalid",
            }
        if len(raw) > 20 * 1024:
            return 200, {"code": 9499, "msg": "Bad Request: request body too large"}
        payload = _json(raw)
        if payload is None:
            return 200, {"code": 9499, "msg": "Bad Request"}
        if self.secret is not None:
            stamp = str(payload.get("timestamp", ""))
            expected = _hmac64(f"{stamp}\n{self.secret}", "")
            fresh = stamp.isdigit() and abs(self.clock().timestamp() - int(stamp)) <= 3600
            if not fresh or payload.get("sign") != expected:
                return 200, {
                    "code": 19021,
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                }
        if scripted is not None and scripted.code is not None:
            return 200, {"code": scripted.code, "msg": scripted.msg}
        if payload.get("msg_type") not in ("text", "post", "image", "share_chat", "interactive"):
            return 200, {"code": 9499, "msg": "Bad Request: msg_type missing"}
        if payload["msg_type"] == "post":
            text = _post_text(payload)
            if text is None:
                return 200, {"code": 9499, "msg": "Bad Request: invalid post content"}
        else:
            text = str((payload.get("content") or {}).get("text", ""))
        if self.keywords and not any(word in text for word in self.keywords):
            return 200, {"code": 19024, "msg": "Key Words Not Found"}
        self.received.append(payload)
        return 200, {
            "StatusCode": 0,
            "StatusMessage": "success",
            "code": 0,
            "data": {},
            "msg": "success",
        }


def _post_text(payload: dict[str, Any]) -> str | None:
    """A Feishu post's title and every paragraph's text, one line each; None for a malformed
    post (a paragraph not a list, a tag Feishu does not know, a link without an http address)."""
    try:
        post = payload["content"]["post"]["zh_cn"]
        lines = [str(post["title"])]
        for paragraph in post["content"]:
            if not isinstance(paragraph, list):
                return None
            line = ""
            for element in paragraph:
                if element["tag"] == "a" and not str(element["href"]).startswith("http"):
                    return None
                if element["tag"] not in ("text", "a"):
                    return None
                line += str(element["text"])
            lines.append(line)
    except (KeyError, TypeError):
        return None
    return "\n".join(lines)
