"""A loopback HTTP server speaking the WeCom group-robot webhook protocol, for tests.

POST /cgi-bin/webhook/send?key=K with a JSON body answers `{"errcode": 0, "errmsg": "ok"}` unless
the test scripted something else for the next requests: an errcode, an HTTP status, a slow answer
(the handler waits until the test ends, beyond any client timeout — nothing sleeps) or a hold (the
handler blocks until released, to kill a dispatcher while a message is in flight).
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from support.loopback import JsonHandler, serve, shut

ERRMSG = {
    0: "ok",
    -1: "system busy",
    45009: "api freq out of limit",
    93000: "invalid webhook url, hint: [1700000000_1_abc]",
    40058: "markdown.content exceed max length 4096",
    44004: "empty content",
}


@dataclass
class Answer:
    errcode: int = 0
    http_status: int = 200
    slow: bool = False
    hold: bool = False


@dataclass
class Received:
    key: str
    payload: dict[str, Any]

    @property
    def content(self) -> str:
        body = self.payload.get(self.payload.get("msgtype", ""), {})
        return str(body.get("content", ""))


@dataclass
class WecomServer:
    received: list[Received] = field(default_factory=list)
    script: deque[Answer] = field(default_factory=deque)
    released: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    """Set while a held request is waiting (the test may then kill the client)."""
    host: str = "127.0.0.1"
    """Where it listens: any of 127.0.0.0/8 on Linux, e.g. 127.0.0.2 for a host not allowed."""
    connections: int = 0
    """TCP connections accepted, whatever came on them: 0 means nothing reached this server."""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def answer(self, *answers: Answer | int) -> None:
        """Script the next answers: an errcode, or an Answer."""
        for a in answers:
            self.script.append(a if isinstance(a, Answer) else Answer(errcode=a))

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, key: str = "test-key") -> str:
        return f"http://{self.host}:{self.port}/cgi-bin/webhook/send?key={key}"

    def start(self) -> WecomServer:
        sink = self

        class Handler(JsonHandler):
            owner = sink

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                raw = self.body()
                if parts.path != "/cgi-bin/webhook/send":
                    self._reply(404, {"errcode": 404, "errmsg": "not found"})
                    return
                key = parse_qs(parts.query).get("key", [""])[0]
                answer = sink.script.popleft() if sink.script else Answer()
                if answer.hold:
                    sink.holding.set()
                    sink.released.wait()
                if answer.slow:
                    sink.released.wait()
                    return
                try:
                    payload = json.loads(raw)
                except ValueError:
                    self._reply(200, {"errcode": 40016, "errmsg": "invalid json"})
                    return
                if answer.http_status != 200:
                    self._reply(answer.http_status, {"error": "upstream failure"})
                    return
                if answer.errcode == 0:
                    sink.received.append(Received(key, payload))
                code = answer.errcode
                self._reply(200, {"errcode": code, "errmsg": ERRMSG.get(code, "error")})

        self._server, self._thread = serve(self.host, Handler)
        return self

    def stop(self) -> None:
        self.released.set()
        shut(self._server, self._thread)

    # `with WecomServer() as server:` starts it and always stops it: a fixture in three lines.
    def __enter__(self) -> WecomServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def channel_toml(timeout_seconds: float) -> str:
    """The `[channels.wecom]` table of a test's duban.toml: robots on loopback allowed."""
    return f'[channels.wecom]\nallowed_hosts = ["127.0.0.1"]\ntimeout_seconds = {timeout_seconds}\n'


def closed_port() -> int:
    """A loopback port with nothing listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
