"""The feishu channel against a loopback robot that verifies the signature in the body, the
timestamp window, the keywords and the 20 KB body, as Feishu does."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.dispatch import dispatch_to_the_end, kill_when_reached, start_dispatcher
from support.messengers import Answer, FeishuServer
from support.notices import NOW, ZONE, database_with_plan, queue, rows, settings_for
from support.wecom import closed_port

from engine.config import load_settings
from engine.notify.channels.base import Message, Outcome
from engine.notify.channels.feishu import BODY_LIMIT, FeishuChannel
from engine.notify.channels.pacing import MemoryPacer
from engine.notify.queue import LEASE
from engine.store.outbox import SENT

SECRET_ENV = "TEST_FEISHU_SECRET"
REAL = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TEXT = "市发改局：\n\n　　请按期办理第1项任务。"
AFTER_THE_HOUR = NOW + timedelta(minutes=7)


@pytest.fixture
def server():
    with FeishuServer() as srv:
        yield srv


@pytest.fixture
def env(server, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, server.secret)


def channel_for(tmp_path: Path, url: str, *, secret_env: str | None = SECRET_ENV, **config):
    unit: dict[str, object] = {"feishu": url}
    if secret_env:
        unit["feishu_secret_env"] = secret_env
    settings = settings_for(
        tmp_path,
        {"市发改局": unit},
        feishu={"allowed_hosts": ["127.0.0.1"], "timeout_seconds": 0.5, **config},
    )
    return FeishuChannel(settings, MemoryPacer(lambda: REAL))


def message(text: str = TEXT, kind: str = "reminder") -> Message:
    return Message(notice_id=7, kind=kind, recipient="市发改局", subject="督办提醒", text=text)


def test_a_signed_message_is_accepted_and_only_code_zero_is_success(tmp_path, server, env):
    ch = channel_for(tmp_path, server.url())
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.SENT and "code=0" in delivery.detail
    (got,) = server.received
    assert got["msg_type"] == "text"
    assert got["content"]["text"].startswith("督办提醒\n\n市发改局：")
    assert set(got) == {"timestamp", "sign", "msg_type", "content"}


def test_a_wrong_secret_is_refused_by_the_robot_and_permanent(tmp_path, server, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "wrong-secret-0000")
    ch = channel_for(tmp_path, server.url())
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.PERMANENT and "code=19021" in delivery.detail
    assert server.received == []


def test_a_timestamp_outside_the_hour_is_refused(tmp_path, server, env):
    ch = channel_for(tmp_path, server.url())
    ch.real_clock = lambda: datetime.now(UTC) + timedelta(hours=2)
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.PERMANENT and "code=19021" in delivery.detail


def test_the_signature_uses_real_time_not_the_business_clock(tmp_path, server, env):
    ch = channel_for(tmp_path, server.url())
    assert ch.send(message(), datetime(2021, 6, 23, 9, 17, tzinfo=UTC)).ok
    ch.close()


def test_a_robot_without_a_secret_is_sent_unsigned(tmp_path):
    with FeishuServer(secret=None) as srv:
        ch = channel_for(tmp_path, srv.url(), secret_env=None)
        assert ch.send(message(), NOW).ok
        ch.close()
        assert "sign" not in srv.received[0]


def test_a_missing_secret_variable_fails_for_good_without_calling(tmp_path, server, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    ch = channel_for(tmp_path, server.url())
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.PERMANENT
    assert f"环境变量 {SECRET_ENV} 未设置" in delivery.detail
    assert 'units."市发改局".feishu_secret_env' in delivery.detail
    assert server.requests == 0


def test_keywords_are_carried_and_a_missing_one_is_refused(tmp_path):
    with FeishuServer(keywords=["督办"], secret=None) as srv:
        ch = channel_for(tmp_path, srv.url(), secret_env=None, keywords=["督办"])
        assert ch.send(replace(message("请办理"), subject="提醒"), NOW).ok
        assert srv.received[0]["content"]["text"].startswith("【督办】提醒")
        ch.close()
        unknown = channel_for(tmp_path, srv.url(), secret_env=None)
        refused = unknown.send(replace(message("请办理"), subject="提醒"), NOW)
        unknown.close()
        assert refused.outcome is Outcome.PERMANENT and "code=19024" in refused.detail


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (11232, Outcome.TRANSIENT),
        (Answer(code=9499, msg="too many request"), Outcome.TRANSIENT),
        (Answer(code=9499, msg="Bad Request"), Outcome.PERMANENT),
        (19021, Outcome.PERMANENT),
        (19024, Outcome.PERMANENT),
        (19022, Outcome.PERMANENT),
        (19007, Outcome.PERMANENT),
        (Answer(http_status=503), Outcome.TRANSIENT),
        (Answer(http_status=429), Outcome.TRANSIENT),
        (Answer(http_status=404), Outcome.PERMANENT),
    ],
)
def test_errors_are_classified(tmp_path, server, env, answer, outcome):
    server.answer(answer)
    ch = channel_for(tmp_path, server.url())
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is outcome, delivery.detail
    if isinstance(answer, int):
        assert f"code={answer}" in delivery.detail


def test_a_wrong_hook_token_is_permanent(tmp_path, server, env):
    ch = channel_for(tmp_path, server.url("not-the-token"))
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.PERMANENT and "code=19001" in delivery.detail


def test_a_slow_robot_times_out_as_transient(tmp_path, server, env):
    server.answer(Answer(slow=True))
    ch = channel_for(tmp_path, server.url())
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.TRANSIENT and "超时" in delivery.detail


def test_a_refused_connection_is_transient(tmp_path, env):
    ch = channel_for(tmp_path, f"http://127.0.0.1:{closed_port()}/open-apis/bot/v2/hook/x")
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.TRANSIENT and "无法连接" in delivery.detail


def test_a_host_not_allowed_is_refused_before_any_request(tmp_path, env):
    with FeishuServer(host="127.0.0.2") as srv:
        ch = channel_for(tmp_path, srv.url())
        delivery = ch.send(message(), NOW)
        ch.close()
        assert delivery.outcome is Outcome.PERMANENT
        assert "127.0.0.2 不在 channels.feishu.allowed_hosts 中" in delivery.detail
        assert srv.connections == 0


def test_a_notice_over_20_kb_goes_as_continuations_each_body_within_it(tmp_path, server, env):
    # quotes and backslashes grow when JSON escapes them: the limit counts the body as sent
    lines = [f'（{i}）第{i}项 "任务" \\ ' + "推进情况" * 30 for i in range(1, 120)]
    accepted: list[int] = []
    long = replace(message("\n".join(lines)), on_part=accepted.append)
    ch = channel_for(tmp_path, server.url())
    delivery = ch.send(long, NOW)
    ch.close()
    assert delivery.ok and delivery.parts_sent == len(server.received) > 1
    assert accepted == list(range(1, delivery.parts_sent + 1))
    assert server.largest <= BODY_LIMIT
    joined = "\n".join(r["content"]["text"] for r in server.received)
    assert all(line in joined for line in lines)


def test_five_a_second_and_a_hundred_a_minute_then_deferred(tmp_path, server, env):
    moment = [REAL]
    ch = channel_for(tmp_path, server.url())
    ch.pacer = MemoryPacer(lambda: moment[0])
    for _ in range(5):
        assert ch.send(message(), NOW).ok
    second = ch.send(message(), NOW)
    assert second.outcome is Outcome.DEFERRED and second.retry_at == NOW + timedelta(seconds=1)
    for step in range(1, 20):  # 5 a second for 19 more seconds: 100 in all
        moment[0] = REAL + timedelta(seconds=step)
        for _ in range(5):
            assert ch.send(message(), NOW).ok
    moment[0] = REAL + timedelta(seconds=20)
    minute = ch.send(message(), NOW)
    assert minute.outcome is Outcome.DEFERRED
    assert minute.retry_at == NOW + timedelta(seconds=40)  # when the first of the 100 leaves
    ch.close()
    assert len(server.received) == 100


def test_with_shift_minutes_nothing_goes_on_the_hour_or_half_hour(tmp_path, server, env):
    ch = channel_for(tmp_path, server.url(), shift_minutes=3)
    on_the_hour = ch.send(message(), NOW)  # 09:00 Beijing time
    assert on_the_hour.outcome is Outcome.DEFERRED
    assert on_the_hour.retry_at == NOW + timedelta(minutes=3)
    half = ch.send(message(), datetime(2021, 6, 23, 9, 31, 20, tzinfo=ZONE))
    assert half.retry_at == datetime(2021, 6, 23, 9, 33, tzinfo=ZONE)
    assert server.requests == 0
    assert ch.send(message(), NOW + timedelta(minutes=3)).ok
    ch.close()


# --- through the dispatcher and the command line ---------------------------------------------


def _config(folder: Path, server: FeishuServer, extra: str = "") -> Path:
    path = folder / "duban.toml"
    units = "".join(
        f'[units."{unit}"]\nfeishu = "{server.url()}"\nfeishu_secret_env = "{SECRET_ENV}"\n'
        for unit in ("市发改局", "市市场监管局", "市司法局", "市商务局")
    )
    path.write_text(
        '[channels.feishu]\nallowed_hosts = ["127.0.0.1"]\ntimeout_seconds = 30\n'
        + extra
        + f'[channels.file]\ndir = "{folder / "outbox"}"\n'
        + units,
        encoding="utf-8",
    )
    return path


def test_outcomes_show_in_outbox_json_and_the_shift_defers_without_an_attempt(
    tmp_path, server, env, duban
):
    config = _config(tmp_path, server, "shift_minutes = 5\n")
    settings = load_settings(config)
    db = database_with_plan(tmp_path, settings)
    queue(db, settings, "市发改局", tasks=(1,), occurrence="a")
    queue(db, settings, "市商务局", tasks=(4,), occurrence="b")
    dispatch_to_the_end(config, tmp_path, NOW)
    assert server.requests == 0 and all(r.attempts == 0 for r in rows(db))
    server.answer(Answer(), 19024)
    dispatch_to_the_end(config, tmp_path, NOW + timedelta(minutes=5))
    out = duban(
        "--config", str(config), "--db", f"sqlite:///{tmp_path / 'duban.db'}", "outbox", "--json"
    )
    assert out.code == 0, out.err
    listed = {r["recipient"]: r for r in json.loads(out.out)}
    assert server.secret not in out.out and server.token not in out.out  # secrets stay out
    assert listed["市发改局"]["channel"] == "feishu" and listed["市发改局"]["status"] == "sent"
    assert listed["市商务局"]["status"] == "dead" and "code=19024" in listed["市商务局"]["error"]
    db.close()


def test_a_kill_between_sending_and_recording_repeats_only_the_message_in_flight(
    tmp_path, server, env
):
    config = _config(tmp_path, server)
    settings = load_settings(config)
    db = database_with_plan(tmp_path, settings)
    for no, unit in {1: "市发改局", 2: "市市场监管局", 4: "市商务局"}.items():
        queue(db, settings, unit, tasks=(no,), occurrence=f"crash-{no}")
    server.answer(Answer(), Answer(hold=True))
    first = start_dispatcher(config, tmp_path, AFTER_THE_HOUR)
    kill_when_reached(first, server.holding)
    server.released.set()
    dispatch_to_the_end(config, tmp_path, AFTER_THE_HOUR + LEASE + timedelta(seconds=1))
    assert all(r.status == SENT for r in rows(db))
    got = Counter(
        r["content"]["post"]["zh_cn"]["content"][0][0]["text"] for r in server.received
    )
    assert sorted(got.values()) == [1, 1, 2]  # nothing lost; only the one in flight twice
    db.close()


def test_doctor_names_a_host_not_allowed_and_a_missing_secret(tmp_path, duban, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    config = tmp_path / "duban.toml"
    config.write_text(
        '[units."市发改局"]\nfeishu = "https://open.example.com/open-apis/bot/v2/hook/t"\n'
        '[units."市商务局"]\nfeishu = "https://open.feishu.cn/open-apis/bot/v2/hook/t"\n'
        f'feishu_secret_env = "{SECRET_ENV}"\n',
        encoding="utf-8",
    )
    result = duban("--config", str(config), "doctor")
    assert result.code == 1
    lines = result.out.splitlines()
    assert any('units."市发改局".feishu' in line and "open.example.com" in line for line in lines)
    assert any('units."市商务局".feishu_secret_env' in line for line in lines)


def test_doctor_network_probes_without_sending_anything(tmp_path, duban, server, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, server.secret)
    config = tmp_path / "duban.toml"
    config.write_text(
        '[channels.feishu]\nallowed_hosts = ["127.0.0.1"]\n'
        f'[units."市发改局"]\nfeishu = "{server.url()}"\nfeishu_secret_env = "{SECRET_ENV}"\n'
        f'[units."市商务局"]\nfeishu = "{server.url("wrong")}"\n',
        encoding="utf-8",
    )
    result = duban("--config", str(config), "doctor", "--network")
    assert server.requests == 2 and server.received == []  # reached, nothing posted
    problems = [line for line in result.out.splitlines() if "feishu" in line]
    assert len(problems) == 1 and 'units."市商务局".feishu' in problems[0]
    monkeypatch.setenv(SECRET_ENV, "wrong-secret")
    again = duban("--config", str(config), "doctor", "--network")
    assert any(
        'units."市发改局".feishu' in line and "19021" in line for line in again.out.splitlines()
    )
    assert server.received == []


# --- the rendered notice: a rich text post ---------------------------------------------------


def rendered(kind: str, **kw) -> Message:
    from engine.notify.render import environment, render_notice
    from engine.notify.samples import sample_context

    got = render_notice(sample_context(kind, "feishu", **kw), environment(None))
    assert got.markdown and not got.text
    return Message(
        notice_id=7, kind=kind, recipient="市发改局", subject=got.subject, markdown=got.markdown
    )


def test_a_rendered_notice_goes_as_a_post_with_a_link_paragraph(tmp_path, server, env):
    ch = channel_for(tmp_path, server.url())
    notice = rendered("reminder")
    assert ch.send(notice, NOW).ok
    ch.close()
    (got,) = server.received
    assert got["msg_type"] == "post"
    post = got["content"]["post"]["zh_cn"]
    assert post["title"] == notice.subject[:60]
    assert post["content"][0] == [{"tag": "text", "text": "市发改局："}]
    assert post["content"][-1] == [
        {"tag": "a", "text": "点击办理", "href": "http://127.0.0.1:8080/u/sample-link-token"},
        {"tag": "text", "text": "（30天内有效，请勿转发）"},
    ]
    # every other paragraph is one plain text, the lines as rendered
    lines = notice.markdown[0].split("\n")
    assert [p[0]["text"] for p in post["content"][:-1]] == lines[:-1]


def test_a_long_rendered_notice_goes_as_posts_within_20_kb_and_nothing_is_lost(
    tmp_path, server, env
):
    from engine.notify.samples import SAMPLE_TASKS

    many = tuple(replace(SAMPLE_TASKS[0], no=n, progress="推" * 140) for n in range(1, 200))
    notice = rendered("progress_missing", tasks=many)
    assert len(notice.markdown) > 1
    ch = channel_for(tmp_path, server.url(), per_robot_per_second=50)
    assert ch.send(notice, NOW).ok
    ch.close()
    assert len(server.received) == len(notice.markdown) and server.largest <= 20 * 1024
    titles = [r["content"]["post"]["zh_cn"]["title"] for r in server.received]
    assert titles[1:] == [f"{notice.subject[:60]}（续{i}）" for i in range(1, len(titles))]
    text = "\n".join(
        "".join(e["text"] for e in p)
        for r in server.received
        for p in r["content"]["post"]["zh_cn"]["content"]
    )
    assert [int(n) for n in re.findall(r"^(\d+)\. ", text, re.M)] == list(range(1, 200))


def test_a_keyword_missing_from_a_post_heads_its_title(tmp_path, env):
    with FeishuServer(keywords=["政务督办"], secret=None) as srv:
        ch = channel_for(tmp_path, srv.url(), secret_env=None, keywords=["政务督办"])
        assert ch.send(rendered("reminder"), NOW).ok
        ch.close()
        assert srv.received[0]["content"]["post"]["zh_cn"]["title"].startswith("【政务督办】")
