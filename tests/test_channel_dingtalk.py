"""The dingtalk channel against a loopback robot that verifies the signature, the timestamp
window and the keywords as DingTalk does."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.dispatch import dispatch_to_the_end, kill_when_reached, start_dispatcher
from support.messengers import Answer, DingtalkServer
from support.notices import NOW, database_with_plan, queue, rows, settings_for
from support.wecom import closed_port

from engine.config import load_settings
from engine.notify.channels.base import Message, Outcome
from engine.notify.channels.dingtalk import LIMIT, DingtalkChannel
from engine.notify.channels.pacing import MemoryPacer
from engine.notify.queue import LEASE
from engine.store.outbox import SENT

SECRET_ENV = "TEST_DINGTALK_SECRET"
TOKEN_ENV = "TEST_DINGTALK_TOKEN"
REAL = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def server():
    with DingtalkServer() as srv:
        yield srv


@pytest.fixture
def env(server, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, server.secret)
    monkeypatch.setenv(TOKEN_ENV, server.token)


def channel_for(tmp_path: Path, url: str, *, secret_env: str | None = SECRET_ENV, **config):
    unit: dict[str, object] = {"dingtalk": url, "mobiles": ["13800000000"]}
    if secret_env:
        unit["dingtalk_secret_env"] = secret_env
    settings = settings_for(
        tmp_path,
        {"市发改局": unit},
        dingtalk={"allowed_hosts": ["127.0.0.1"], "timeout_seconds": 0.5, **config},
    )
    return DingtalkChannel(settings, MemoryPacer(lambda: REAL))


def message(
    text: str = "市发改局：\n\n　　请按期办理第1项任务。", kind: str = "reminder"
) -> Message:
    return Message(notice_id=7, kind=kind, recipient="市发改局", subject="督办提醒", text=text)


def test_a_signed_message_is_accepted_and_only_errcode_zero_is_success(tmp_path, server, env):
    ch = channel_for(tmp_path, server.url("${" + TOKEN_ENV + "}"))
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.SENT and "errcode=0" in delivery.detail
    (got,) = server.received
    assert got["msgtype"] == "text"
    assert got["text"]["content"].startswith("督办提醒\n\n市发改局：")
    assert got["at"] == {"atMobiles": [], "isAtAll": False}  # a reminder mentions nobody
    assert server.token not in delivery.detail


def test_a_wrong_secret_is_refused_by_the_robot_and_permanent(tmp_path, server, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "SECwrong-secret-0000")
    ch = channel_for(tmp_path, server.url())
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.PERMANENT
    assert "310000" in delivery.detail and "sign not match" in delivery.detail
    assert server.received == []


def test_a_timestamp_outside_the_hour_is_refused(tmp_path, server, env):
    ch = channel_for(tmp_path, server.url())
    ch.real_clock = lambda: datetime.now(UTC) - timedelta(hours=2)
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.PERMANENT and "invalid timestamp" in delivery.detail
    assert server.received == []


def test_the_signature_uses_real_time_not_the_business_clock(tmp_path, server, env):
    ch = channel_for(tmp_path, server.url())
    delivery = ch.send(message(), datetime(2021, 6, 23, 9, 0, tzinfo=UTC))  # a --now in 2021
    ch.close()
    assert delivery.ok


def test_a_robot_without_a_secret_is_sent_unsigned(tmp_path, monkeypatch):
    with DingtalkServer(secret=None) as srv:
        ch = channel_for(tmp_path, srv.url(), secret_env=None)
        assert ch.send(message(), NOW).ok
        ch.close()


def test_a_missing_secret_variable_fails_for_good_without_calling(tmp_path, server, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    ch = channel_for(tmp_path, server.url())
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.PERMANENT
    assert f"环境变量 {SECRET_ENV} 未设置" in delivery.detail
    assert 'units."市发改局".dingtalk_secret_env' in delivery.detail
    assert server.requests == 0


def test_keywords_are_carried_by_every_message(tmp_path, env):
    with DingtalkServer(keywords=["督办"]) as srv:
        srv.secret = None
        ch = channel_for(tmp_path, srv.url(), secret_env=None, keywords=["督办"])
        assert ch.send(replace(message(), subject="提醒"), NOW).ok
        assert srv.received[0]["text"]["content"].startswith("【督办】提醒")
        ch.close()
    with DingtalkServer(keywords=["督办"], secret=None) as srv:
        ch = channel_for(tmp_path, srv.url(), secret_env=None)  # the robot's keyword not known
        refused = ch.send(replace(message(), subject="提醒", text="请办理"), NOW)
        ch.close()
        assert refused.outcome is Outcome.PERMANENT and "keywords not in content" in refused.detail


def test_overdue_notices_mention_the_units_mobiles(tmp_path, server, env):
    ch = channel_for(tmp_path, server.url())
    assert ch.send(message(kind="overdue"), NOW).ok
    ch.close()
    (got,) = server.received
    assert got["at"]["atMobiles"] == ["13800000000"]
    assert "@13800000000" in got["text"]["content"]


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (-1, Outcome.TRANSIENT),
        (130101, Outcome.TRANSIENT),
        (410100, Outcome.TRANSIENT),
        (310000, Outcome.PERMANENT),
        (460101, Outcome.PERMANENT),
        (300001, Outcome.PERMANENT),
        (400102, Outcome.PERMANENT),
        (88888, Outcome.PERMANENT),
        (Answer(http_status=500), Outcome.TRANSIENT),
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
        assert f"errcode={answer}" in delivery.detail


def test_a_slow_robot_times_out_as_transient(tmp_path, server, env):
    server.answer(Answer(slow=True))
    ch = channel_for(tmp_path, server.url())
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.TRANSIENT and "超时" in delivery.detail


def test_a_refused_connection_is_transient_and_the_token_masked(tmp_path, env):
    url = f"http://127.0.0.1:{closed_port()}/robot/send?access_token=secret-token-1234"
    ch = channel_for(tmp_path, url)
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.TRANSIENT and "secret-token-1234" not in delivery.detail


def test_a_host_not_allowed_is_refused_before_any_request(tmp_path, env):
    with DingtalkServer(host="127.0.0.2") as srv:
        ch = channel_for(tmp_path, srv.url())
        delivery = ch.send(message(), NOW)
        ch.close()
        assert delivery.outcome is Outcome.PERMANENT
        assert "127.0.0.2 不在 channels.dingtalk.allowed_hosts 中" in delivery.detail
        assert srv.connections == 0


def test_a_long_notice_goes_as_continuations_each_within_the_limit(tmp_path, server, env):
    lines = [f"（{i}）第{i}项任务　" + "推进情况" * 40 for i in range(1, 200)]
    accepted: list[int] = []
    long = replace(message("\n".join(lines)), on_part=accepted.append)
    ch = channel_for(tmp_path, server.url())
    delivery = ch.send(long, NOW)
    ch.close()
    assert delivery.ok and delivery.parts_sent == len(server.received) > 1
    assert accepted == list(range(1, delivery.parts_sent + 1))  # each part recorded as it went
    contents = [r["text"]["content"] for r in server.received]
    assert all(len(c.encode()) <= LIMIT for c in contents)
    assert contents[1].startswith("督办提醒（续1）")
    joined = "\n".join(contents)
    assert all(line in joined for line in lines)  # nothing cut away


def test_twenty_a_minute_then_deferred_without_sleeping(tmp_path, server, env):
    moment = [REAL]
    ch = channel_for(tmp_path, server.url())
    ch.pacer = MemoryPacer(lambda: moment[0])
    for _ in range(20):
        assert ch.send(message(), NOW).ok
    deferred = ch.send(message(), NOW)
    assert deferred.outcome is Outcome.DEFERRED and deferred.retry_at == NOW + timedelta(minutes=1)
    moment[0] = REAL + timedelta(minutes=1, seconds=1)
    assert ch.send(message(), NOW).ok
    ch.close()
    assert len(server.received) == 21


# --- through the dispatcher and the command line ---------------------------------------------


def _config(folder: Path, server: DingtalkServer) -> Path:
    path = folder / "duban.toml"
    units = "".join(
        f'[units."{unit}"]\ndingtalk = "{server.url()}"\ndingtalk_secret_env = "{SECRET_ENV}"\n'
        for unit in ("市发改局", "市市场监管局", "市司法局", "市商务局")
    )
    path.write_text(
        '[channels.dingtalk]\nallowed_hosts = ["127.0.0.1"]\ntimeout_seconds = 30\n'
        f'[channels.file]\ndir = "{folder / "outbox"}"\n' + units,
        encoding="utf-8",
    )
    return path


def test_outcomes_show_in_outbox_json(tmp_path, server, env, duban):
    config = _config(tmp_path, server)
    db = database_with_plan(tmp_path, load_settings(config))
    settings = load_settings(config)
    queue(db, settings, "市发改局", tasks=(1,), occurrence="a")
    queue(db, settings, "市商务局", tasks=(4,), occurrence="b")
    server.answer(Answer(), 460101)
    dispatch_to_the_end(config, tmp_path, NOW)
    out = duban(
        "--config", str(config), "--db", f"sqlite:///{tmp_path / 'duban.db'}", "outbox", "--json"
    )
    assert out.code == 0, out.err
    listed = {r["recipient"]: r for r in json.loads(out.out)}
    assert server.secret not in out.out and server.token not in out.out  # secrets stay out
    assert listed["市发改局"]["channel"] == "dingtalk" and listed["市发改局"]["status"] == "sent"
    assert listed["市商务局"]["status"] == "dead"
    assert "errcode=460101" in listed["市商务局"]["error"]
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
    first = start_dispatcher(config, tmp_path, NOW)
    kill_when_reached(first, server.holding)
    server.released.set()  # the robot posts the message in flight after the dispatcher died
    dispatch_to_the_end(config, tmp_path, NOW + LEASE + timedelta(seconds=1))
    assert all(r.status == SENT for r in rows(db))
    got = Counter(r["markdown"]["text"].split("\n")[1] for r in server.received)
    assert sorted(got.values()) == [1, 1, 2]  # nothing lost; only the one in flight twice
    db.close()


def test_doctor_names_a_host_not_allowed_and_a_missing_secret(tmp_path, duban, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    config = tmp_path / "duban.toml"
    config.write_text(
        '[units."市发改局"]\ndingtalk = "https://oapi.example.com/robot/send?access_token=t"\n'
        '[units."市商务局"]\n'
        'dingtalk = "https://oapi.dingtalk.com/robot/send?access_token=t"\n'
        f'dingtalk_secret_env = "{SECRET_ENV}"\n',
        encoding="utf-8",
    )
    result = duban("--config", str(config), "doctor")
    assert result.code == 1
    assert any(
        'units."市发改局".dingtalk' in line
        and "oapi.example.com 不在 channels.dingtalk.allowed_hosts 中" in line
        for line in result.out.splitlines()
    )
    assert any(
        'units."市商务局".dingtalk_secret_env' in line and SECRET_ENV in line
        for line in result.out.splitlines()
    )


def test_a_bad_secret_variable_name_is_one_line_exit_2(tmp_path, duban):
    config = tmp_path / "duban.toml"
    config.write_text('[units."市发改局"]\ndingtalk_secret_env = "1-bad"\n', encoding="utf-8")
    result = duban("--config", str(config), "outbox", "--json")
    assert result.code == 2
    assert "units.市发改局.dingtalk_secret_env" in result.err or "dingtalk_secret_env" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_doctor_network_probes_each_robot_without_posting(tmp_path, duban, server, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, server.secret)
    config = tmp_path / "duban.toml"
    config.write_text(
        '[channels.dingtalk]\nallowed_hosts = ["127.0.0.1"]\n'
        f'[units."市发改局"]\ndingtalk = "{server.url()}"\ndingtalk_secret_env = "{SECRET_ENV}"\n'
        f'[units."市商务局"]\ndingtalk = "{server.url("no-such-robot")}"\n',
        encoding="utf-8",
    )
    result = duban("--config", str(config), "doctor", "--network")
    problems = [line for line in result.out.splitlines() if "dingtalk" in line]
    assert len(problems) == 1 and 'units."市商务局".dingtalk' in problems[0]
    assert "300001" in problems[0] and "no-such-robot" not in problems[0]
    monkeypatch.setenv(SECRET_ENV, "SECwrong")
    again = duban("--config", str(config), "doctor", "--network")
    assert any(
        'units."市发改局".dingtalk' in line and "310000" in line for line in again.out.splitlines()
    )
    assert server.received == [] and server.requests == 4


def test_the_directory_reaches_a_unit_through_a_usable_robot_only(tmp_path, server, env):
    from engine.notify.directory import reach

    good = {"dingtalk": server.url(), "dingtalk_secret_env": SECRET_ENV}
    bad_host = {"dingtalk": "https://oapi.example.com/robot/send?access_token=t"}
    settings = settings_for(
        tmp_path,
        {
            "市发改局": good,
            "市商务局": bad_host,
            "市财政局": {**good, "email": ["c@example.gov.cn"]},
        },
        dingtalk={"allowed_hosts": ["127.0.0.1"]},
    )
    assert reach("市发改局", settings).channels == ("dingtalk",)
    refused = reach("市商务局", settings)
    assert refused.missing and refused.channels == ("file",)  # nothing dropped: the file channel
    assert "钉钉：" in refused.reasons[0] and "oapi.example.com" in refused.reasons[0]


# --- the rendered notice: markdown -----------------------------------------------------------


def rendered(kind: str, **kw) -> Message:
    from engine.notify.render import environment, render_notice
    from engine.notify.samples import sample_context

    got = render_notice(sample_context(kind, "dingtalk", **kw), environment(None))
    assert got.markdown and not got.text
    return Message(
        notice_id=7, kind=kind, recipient="市发改局", subject=got.subject, markdown=got.markdown
    )


def test_a_rendered_notice_goes_as_markdown_with_the_subject_as_title(tmp_path, server, env):
    ch = channel_for(tmp_path, server.url())
    notice = rendered("reminder")
    assert ch.send(notice, NOW).ok
    ch.close()
    (got,) = server.received
    assert got["msgtype"] == "markdown"
    assert got["markdown"]["title"] == notice.subject[:60]
    assert got["markdown"]["text"] == notice.markdown[0]
    assert got["markdown"]["text"].startswith("### 任务到期提醒\n**市发改局**：")
    assert got["at"] == {"atMobiles": [], "isAtAll": False}


def test_a_markdown_mention_names_each_mobile_in_the_text_of_the_last_message(
    tmp_path, server, env
):
    from engine.notify.samples import SAMPLE_TASKS

    many = tuple(replace(SAMPLE_TASKS[0], no=n, progress="推" * 900) for n in range(1, 60))
    notice = rendered("overdue", tasks=many)
    assert len(notice.markdown) > 1
    ch = channel_for(tmp_path, server.url())
    assert ch.send(notice, NOW).ok
    ch.close()
    assert len(server.received) == len(notice.markdown)
    *before, last = server.received
    assert all(r["at"]["atMobiles"] == [] and "@" not in r["markdown"]["text"] for r in before)
    assert last["at"]["atMobiles"] == ["13800000000"]
    assert last["markdown"]["text"].endswith("请以上同志及时查阅并办理督办通知。 @13800000000")
    titles = [r["markdown"]["title"] for r in server.received]
    assert titles[1] == notice.subject[:60] + "（续1）"


def test_a_keyword_goes_after_the_markdown_heading(tmp_path, env):
    with DingtalkServer(keywords=["政务督办"], secret=None) as srv:
        ch = channel_for(tmp_path, srv.url(), secret_env=None, keywords=["政务督办"])
        assert ch.send(rendered("reminder"), NOW).ok
        ch.close()
        assert srv.received[0]["markdown"]["text"].startswith("### 任务到期提醒【政务督办】\n")
