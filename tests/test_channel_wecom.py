"""The WeCom channel against a loopback server speaking the group-robot webhook protocol."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support.slowpeer import SlowPeer, http_answer
from support.wecom import Answer, WecomServer, closed_port

from engine.clock import FixedClock
from engine.config import WecomSettings
from engine.notify.channels.base import Message, Outcome
from engine.notify.channels.wecom import WecomChannel, check_robot_url
from engine.notify.ratelimit import RobotLimiter

NOW = datetime(2021, 6, 23, 1, 0, tzinfo=UTC)
KEY = "0f3c9d2a-5e1b-4b7a-9c8d-secretkey42"


@pytest.fixture
def server():
    with WecomServer() as srv:
        yield srv


@pytest.fixture
def channel():
    settings = WecomSettings(
        allowed_hosts=["127.0.0.1"], per_robot_per_minute=20, timeout_seconds=0.5
    )
    ch = WecomChannel(settings, RobotLimiter(20))
    yield ch
    ch.close()


def message(url: str, *bodies: str, mobiles: tuple[str, ...] = (), first: int = 0) -> Message:
    return Message(
        notice_id=7,
        kind="reminder",
        recipient="市发改局",
        subject="提醒",
        markdown=bodies or ("### 任务到期提醒\n**市发改局**：",),
        webhook=url,
        mobiles=mobiles,
        first_part=first,
    )


def test_errcode_zero_is_success_and_the_body_is_markdown(server, channel):
    delivery = channel.send(message(server.url(KEY)), NOW)
    assert delivery.outcome is Outcome.SENT and delivery.parts_sent == 1
    assert "errcode=0" in delivery.detail
    (got,) = server.received
    assert got.key == KEY
    assert got.payload == {
        "msgtype": "markdown",
        "markdown": {"content": "### 任务到期提醒\n**市发改局**："},
    }


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (45009, Outcome.TRANSIENT),
        (-1, Outcome.TRANSIENT),
        (93000, Outcome.PERMANENT),
        (40058, Outcome.PERMANENT),
        (44004, Outcome.PERMANENT),
        (Answer(http_status=500), Outcome.TRANSIENT),
        (Answer(http_status=502), Outcome.TRANSIENT),
        (Answer(http_status=404), Outcome.PERMANENT),
    ],
)
def test_errors_are_classified(server, channel, answer, outcome):
    server.answer(answer)
    delivery = channel.send(message(server.url(KEY)), NOW)
    assert delivery.outcome is outcome
    assert delivery.parts_sent == 0
    assert KEY not in delivery.detail
    if isinstance(answer, int):
        assert f"errcode={answer}" in delivery.detail  # HTTP 200 with an error is not success


def test_a_slow_server_times_out_as_transient(server, channel):
    server.answer(Answer(slow=True))
    delivery = channel.send(message(server.url(KEY)), NOW)
    assert delivery.outcome is Outcome.TRANSIENT
    assert "超时" in delivery.detail


def test_a_refused_connection_is_transient_and_the_key_is_masked(channel):
    url = f"http://127.0.0.1:{closed_port()}/cgi-bin/webhook/send?key={KEY}"
    delivery = channel.send(message(url), NOW)
    assert delivery.outcome is Outcome.TRANSIENT
    assert "无法连接" in delivery.detail
    assert KEY not in delivery.detail


def test_a_host_not_allowed_is_refused_before_any_request(server):
    ch = WecomChannel(WecomSettings(allowed_hosts=["qyapi.weixin.qq.com"], timeout_seconds=0.5))
    delivery = ch.send(message(server.url(KEY)), NOW)
    ch.close()
    assert delivery.outcome is Outcome.PERMANENT
    assert "127.0.0.1 不在 channels.wecom.allowed_hosts 中" in delivery.detail
    assert server.received == []


def test_plain_http_only_to_a_listed_loopback_host():
    assert (
        check_robot_url("http://127.0.0.1:8080/cgi-bin/webhook/send?key=k", ["127.0.0.1"]) is None
    )
    refused = check_robot_url(
        "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", ["qyapi.weixin.qq.com"]
    )
    assert refused and "https" in refused
    assert check_robot_url("https://qyapi.weixin.qq.com/x?key=k", ["qyapi.weixin.qq.com"]) is None


def test_the_url_is_expanded_from_the_environment_when_sending(server, channel, monkeypatch):
    monkeypatch.setenv("DUBAN_TEST_WECOM_KEY", KEY)
    template = server.url("${DUBAN_TEST_WECOM_KEY}")
    delivery = channel.send(message(template), NOW)
    assert delivery.ok and server.received[0].key == KEY
    monkeypatch.delenv("DUBAN_TEST_WECOM_KEY")
    missing = channel.send(message(template), NOW)
    assert missing.outcome is Outcome.PERMANENT and "DUBAN_TEST_WECOM_KEY 未设置" in missing.detail


def test_mobiles_are_mentioned_in_a_text_message_after_the_markdown(server, channel):
    overdue = replace(message(server.url(KEY), mobiles=("13800000000",)), kind="overdue")
    delivery = channel.send(overdue, NOW)
    assert delivery.ok and delivery.parts_sent == 2
    markdown, mention = server.received
    assert markdown.payload["msgtype"] == "markdown"
    assert mention.payload["msgtype"] == "text"
    assert mention.payload["text"]["mentioned_mobile_list"] == ["13800000000"]


def test_a_notice_of_several_messages_resumes_after_the_last_accepted(server, channel):
    url = server.url(KEY)
    server.answer(0, 45009)
    first = channel.send(message(url, "第一条", "第二条", "第三条"), NOW)
    assert first.outcome is Outcome.TRANSIENT and first.parts_sent == 1
    again = channel.send(message(url, "第一条", "第二条", "第三条", first=first.parts_sent), NOW)
    assert again.ok and again.parts_sent == 3
    assert [r.content for r in server.received] == ["第一条", "第二条", "第三条"]


def test_the_rate_limit_defers_instead_of_sleeping(server):
    real = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # the limiter's real time
    ch = WecomChannel(
        WecomSettings(allowed_hosts=["127.0.0.1"], per_robot_per_minute=2, timeout_seconds=0.5),
        RobotLimiter(2, clock=real.now),
    )
    url = server.url(KEY)
    other = server.url("another-robot")
    try:
        assert ch.send(message(url), NOW).ok
        assert ch.send(message(url), NOW).ok
        third = ch.send(message(url), NOW)
        assert third.outcome is Outcome.DEFERRED
        # free when the first leaves the minute of real time, due that long after the business
        # `now`
        assert third.retry_at == NOW + timedelta(minutes=1)
        assert ch.send(message(other), NOW).ok  # each robot has its own window
        real.set(real.now() + timedelta(seconds=30))
        assert ch.send(message(url), NOW).outcome is Outcome.DEFERRED  # not half a minute on
        real.set(real.now() + timedelta(seconds=30))
        assert ch.send(message(url), NOW).ok
    finally:
        ch.close()
    assert len(server.received) == 4


def test_rate_limiter_allows_per_minute_in_any_sixty_seconds():
    limiter = RobotLimiter(20)
    assert all(limiter.take("r", NOW + timedelta(seconds=n)) is None for n in range(20))
    # the 21st waits until the first (at NOW) has left the minute, then each in its turn
    assert limiter.take("r", NOW + timedelta(seconds=30)) == NOW + timedelta(minutes=1)
    assert limiter.take("r", NOW + timedelta(minutes=1)) is None
    assert limiter.take("r", NOW + timedelta(minutes=1)) == NOW + timedelta(minutes=1, seconds=1)


@pytest.mark.parametrize("value", ["", "  "])
def test_a_blank_key_variable_fails_for_good_without_calling_the_robot(
    server, channel, monkeypatch, value
):
    monkeypatch.setenv("DUBAN_TEST_WECOM_KEY", value)
    delivery = channel.send(message(server.url("${DUBAN_TEST_WECOM_KEY}")), NOW)
    assert delivery.outcome is Outcome.PERMANENT
    assert delivery.detail == (
        "单位“市发改局”的企业微信群机器人地址引用的环境变量 DUBAN_TEST_WECOM_KEY 为空，无法发送"
    )
    assert server.received == []  # never a request to `key=`


# --- issue 15: the key goes only to the host that was checked, and never for long ----------------


@pytest.fixture
def foreign():
    """A robot on another loopback address (127.0.0.2), not in allowed_hosts."""
    with WecomServer(host="127.0.0.2") as srv:
        yield srv


def _smuggling_url(foreign: WecomServer, server: WecomServer, between: str) -> str:
    # `urlsplit` reads the host after the "@", requests the one before the backslash
    return (f"http://127.0.0.2:{foreign.port}{between}127.0.0.1:{server.port}"
            f"/cgi-bin/webhook/send?key={KEY}")


@pytest.mark.parametrize("between", ["\\@", "${DUBAN_TEST_WECOM_SEP}"])
def test_a_backslash_before_an_at_cannot_send_the_key_to_another_host(
    server, foreign, channel, monkeypatch, between
):
    # also when the backslash comes from a variable: the URL is checked again once expanded
    monkeypatch.setenv("DUBAN_TEST_WECOM_SEP", "\\@")
    delivery = channel.send(message(_smuggling_url(foreign, server, between)), NOW)
    assert delivery.outcome is Outcome.PERMANENT
    assert "反斜杠" in delivery.detail and "未发送" in delivery.detail
    assert KEY not in delivery.detail
    assert foreign.connections == 0 and server.connections == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2:81\\@127.0.0.1:80/cgi-bin/webhook/send?key=k",  # backslash
        "http://duban@127.0.0.1:80/cgi-bin/webhook/send?key=k",  # userinfo
        "http://127.0.0.2:81@127.0.0.1:80/cgi-bin/webhook/send?key=k",  # userinfo, no backslash
        "http://127.0.0.1:80/cgi-bin/webhook/send?key=k k",  # a blank
        "http://127.0.0.1:80/cgi-bin/webhook/send?key=k\n",  # a line break
        "http://127.0.0.1:80/cgi-bin/webhook/send?key=k\t",  # a tab
        "http://127.0.0.1:80/cgi-bin/webhook/send?key=k\u200b",  # a zero-width space
        "http://127.0.0.1:80:81/cgi-bin/webhook/send?key=k",  # parsers disagree on the port
    ],
)
def test_urls_two_parsers_may_read_differently_are_refused(url):
    refused = check_robot_url(url, ["127.0.0.1"])
    assert refused and ("拒绝使用" in refused or "无法解析" in refused)
    assert "key=" not in refused  # the reason never quotes the URL


def test_a_control_character_from_a_variable_is_refused(server, channel, monkeypatch):
    monkeypatch.setenv("DUBAN_TEST_WECOM_KEY", KEY + "\r\nX-Injected: 1")
    delivery = channel.send(message(server.url("${DUBAN_TEST_WECOM_KEY}")), NOW)
    assert delivery.outcome is Outcome.PERMANENT
    assert "控制字符" in delivery.detail and "展开环境变量后" in delivery.detail
    assert KEY not in delivery.detail
    assert server.connections == 0


def test_a_redirect_is_not_followed(channel):
    """The answer of the checked host is the answer: a 307 to elsewhere sends nothing there."""
    with WecomServer(host="127.0.0.2") as elsewhere:
        target = elsewhere.url(KEY)

        class Redirect(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                return

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(307)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

        redirecting = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        thread = threading.Thread(target=redirecting.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{redirecting.server_address[1]}/cgi-bin/webhook/send?key={KEY}"
            delivery = channel.send(message(url), NOW)
        finally:
            redirecting.shutdown()
            redirecting.server_close()
            thread.join(timeout=5)
        assert delivery.outcome is Outcome.PERMANENT and "HTTP 307" in delivery.detail
        assert elsewhere.connections == 0


SLOW_BODY = b'{"errcode":0,"errmsg":"' + b"o" * 80 + b'"}'


@pytest.mark.parametrize(
    "answer",
    [http_answer(pad=90), http_answer(SLOW_BODY, pad=0)],
    ids=["slow-headers", "slow-body"],
)
def test_a_peer_dribbling_its_answer_is_cut_off_at_the_timeout(answer):
    """A byte every 0.2 s never trips a per-read timeout of 1 s; the whole answer takes ~25 s.

    The send must give up at its total deadline: the peer sees the connection closed after a few
    bytes, long before its answer is out.
    """
    ch = WecomChannel(WecomSettings(allowed_hosts=["127.0.0.1"], timeout_seconds=1))
    with SlowPeer(answer, interval=0.2) as peer:
        url = f"http://127.0.0.1:{peer.port}/cgi-bin/webhook/send?key={KEY}"
        delivery = ch.send(message(url), NOW)
        ch.close()
        assert peer.finished.wait(timeout=30)
    assert delivery.outcome is Outcome.TRANSIENT
    assert "超时" in delivery.detail and KEY not in delivery.detail
    (written,) = peer.written
    assert written < len(answer) // 4, (written, len(answer))


def test_with_shift_minutes_the_robot_keeps_off_the_hour_and_half_hour(server):
    settings = WecomSettings(allowed_hosts=["127.0.0.1"], timeout_seconds=0.5, shift_minutes=4)
    ch = WecomChannel(settings, RobotLimiter(20), "Asia/Shanghai")
    on_the_hour = ch.send(message(server.url(KEY)), NOW)  # 09:00 Beijing time
    assert on_the_hour.outcome is Outcome.DEFERRED
    assert on_the_hour.retry_at == NOW + timedelta(minutes=4)
    half = ch.send(message(server.url(KEY), first=0), NOW + timedelta(minutes=31))
    assert half.retry_at == NOW + timedelta(minutes=34)
    assert server.received == []
    assert ch.send(message(server.url(KEY)), NOW + timedelta(minutes=4)).ok
    assert len(server.received) == 1
    ch.close()
