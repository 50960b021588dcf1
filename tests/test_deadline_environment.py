"""Proxies and CA bundles from the environment: worked out once per target and environment
(`deadline.environment_settings`), yet a variable changed between two requests of one session
takes effect on the second, as it does when requests reads the environment itself.

Two loopback peers: the "robot" and a plain-HTTP "proxy" (a request through a proxy names the
whole URL on its request line); each records the request lines it was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from support.loopback import JsonHandler, serve, shut

from engine.notify.deadline import deadline_session, environment_settings, post

VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
             "no_proxy", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")  # fmt: skip


class Peer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.connections = 0
        owner = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                owner.lines.append(self.requestline)
                self.body()
                self._reply(200, {"errcode": 0, "errmsg": "ok"})

        Handler.owner = self
        self.server, self.thread = serve("127.0.0.1", Handler)
        self.port = self.server.server_address[1]


@pytest.fixture
def peers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Peer, Peer]]:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    robot, proxy = Peer(), Peer()
    yield robot, proxy
    shut(robot.server, robot.thread)
    shut(proxy.server, proxy.thread)


def test_a_proxy_set_or_bypassed_between_two_requests_takes_effect_on_the_next(
    peers: tuple[Peer, Peer], monkeypatch: pytest.MonkeyPatch
) -> None:
    robot, proxy = peers
    url = f"http://127.0.0.1:{robot.port}/cgi-bin/webhook/send?key=k"
    with deadline_session() as session:
        assert post(session, url, 10, json={"n": 1}).status == 200
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        assert post(session, url, 10, json={"n": 2}).status == 200
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert post(session, url, 10, json={"n": 3}).status == 200
        monkeypatch.delenv("NO_PROXY")
        assert post(session, url, 10, json={"n": 4}).status == 200
    assert robot.lines == ["POST /cgi-bin/webhook/send?key=k HTTP/1.1"] * 2
    assert proxy.lines == [f"POST {url} HTTP/1.1"] * 2


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"HTTPS_PROXY": "http://proxy.example:3128"},
        {"https_proxy": "http://lower.example:3128", "HTTPS_PROXY": "http://upper.example:3128"},
        {"ALL_PROXY": "http://all.example:3128", "NO_PROXY": "qyapi.weixin.qq.com"},
        {"HTTP_PROXY": "http://plain.example:3128"},
        {"all_proxy": "socks5://socks.example:1080", "no_proxy": ".qq.com"},
        {"REQUESTS_CA_BUNDLE": "/etc/ssl/bundle.pem"},
        {"CURL_CA_BUNDLE": "/etc/ssl/curl.pem"},
    ],
)
def test_the_settings_are_what_requests_itself_reads_from_the_environment(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    urls = ["https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
            "https://oapi.dingtalk.com/robot/send", "http://127.0.0.1:8080/x"]  # fmt: skip
    with requests.Session() as session:
        for url in urls:  # the first read of each target fills the cache, the second uses it
            assert environment_settings(session, url) == _requests_own(session, url)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        for url in urls * 2:
            assert environment_settings(session, url) == _requests_own(session, url)


def _requests_own(session: requests.Session, url: str) -> dict[str, Any]:
    return dict(session.merge_environment_settings(url, {}, True, None, None))
