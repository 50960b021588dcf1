"""The wecom_app channel (企业微信应用消息) against a loopback WeCom application API: gettoken,
token expiry, message/send with a textcard, invaliduser, the duplicate check."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from support.dispatch import dispatch_to_the_end, kill_when_reached, start_dispatcher
from support.messengers import Answer, WecomAppServer
from support.notices import NOW, database_with_plan, queue, rows, settings_for

from engine.config import load_settings
from engine.notify.channels.base import Message, Outcome
from engine.notify.channels.pacing import MemoryPacer
from engine.notify.channels.wecom_app import WecomAppChannel
from engine.notify.queue import LEASE
from engine.store.outbox import SENT

SECRET_ENV = "TEST_WECOM_APP_SECRET"
REAL = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LINK = "https://duban.example.gov.cn/u/token-abc"
AFTER_THE_HOUR = NOW + timedelta(minutes=7)


@pytest.fixture
def server():
    with WecomAppServer() as srv:
        # an application of its own: the process keeps access_tokens by API address, corp and
        # Secret, and a later test's server may get an earlier one's port
        srv.secret = f"app-secret-{uuid.uuid4().hex}"
        yield srv


@pytest.fixture
def env(server, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, server.secret)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def channel_for(tmp_path, server, users=("zhangsan", "lisi"), ticks=None, **config):
    settings = settings_for(
        tmp_path,
        {"市发改局": {"wecom_users": list(users)}},
        wecom_app={
            "corp_id": server.corp_id,
            "agent_id": server.agent_id,
            "secret_env": SECRET_ENV,
            "api_base": server.base,
            "allowed_hosts": [server.host],
            "timeout_seconds": 0.5,
            **config,
        },
    )
    return WecomAppChannel(settings, MemoryPacer(lambda: REAL), monotonic=ticks or Ticks())


def message(**kw) -> Message:
    base = Message(
        notice_id=7,
        kind="reminder",
        recipient="市发改局",
        subject="关于第1项任务到期的提醒",
        text="市发改局：\n\n　　第1项任务将于2021年6月30日到期，请按期办理。\n\n市司法局",
        send_date=date(2021, 6, 23),
        link=LINK,
    )
    return replace(base, **kw)


def test_a_textcard_to_the_members_whose_button_opens_the_link(tmp_path, server, env):
    ch = channel_for(tmp_path, server)
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.SENT and "errcode=0" in delivery.detail
    (got,) = server.delivered
    assert got["touser"] == "zhangsan|lisi" and got["agentid"] == server.agent_id
    assert got["msgtype"] == "textcard"
    card = got["textcard"]
    assert card["title"] == "关于第1项任务到期的提醒"
    assert card["url"] == LINK and card["btntxt"] == "查看详情"
    assert '<div class="gray">2021年6月23日</div>' in card["description"]
    assert "请按期办理" in card["description"]
    assert got["enable_duplicate_check"] == 1 and got["duplicate_check_interval"] == 1800
    assert server.secret not in delivery.detail


def test_the_token_is_fetched_once_and_kept(tmp_path, server, env):
    ch = channel_for(tmp_path, server)
    for i in range(3):
        assert ch.send(message(subject=f"提醒{i}"), NOW).ok
    ch.close()
    assert server.token_calls == 1 and len(server.delivered) == 3


def test_an_expired_token_is_fetched_again_and_the_message_sent(tmp_path, server, env):
    ch = channel_for(tmp_path, server)
    assert ch.send(message(), NOW).ok
    server.expire()  # WeCom answers 42001 to the cached token
    assert ch.send(message(subject="第二条"), NOW).ok
    ch.close()
    assert server.token_calls == 2 and len(server.delivered) == 2


def test_an_unknown_token_40014_is_fetched_again(tmp_path, server, env):
    ch = channel_for(tmp_path, server)
    assert ch.send(message(), NOW).ok
    server.tokens.clear()  # the token is not valid any more (another process fetched one)
    assert ch.send(message(subject="第二条"), NOW).ok
    ch.close()
    assert server.token_calls == 2


def test_a_token_is_fetched_again_before_expires_in_runs_out(tmp_path, server, env):
    ticks = Ticks()
    ch = channel_for(tmp_path, server, ticks=ticks)
    assert ch.send(message(), NOW).ok
    ticks.now += 7200 - 300 + 1
    assert ch.send(message(subject="第二条"), NOW).ok
    ch.close()
    assert server.token_calls == 2


def test_a_wrong_secret_is_permanent_and_never_shown(tmp_path, server, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "not-the-secret-42")
    ch = channel_for(tmp_path, server)
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.PERMANENT and "errcode=40001" in delivery.detail
    assert "not-the-secret-42" not in delivery.detail and server.delivered == []


def test_an_invalid_member_is_named_and_the_others_get_it(tmp_path, server, env):
    ch = channel_for(tmp_path, server, users=("zhangsan", "ghost"))
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.SENT
    assert "以下成员账号无效，未收到：ghost" in delivery.detail
    assert 'units."市发改局".wecom_users' in delivery.detail
    assert delivery.extra["invalid_users"] == ["ghost"]
    assert server.delivered[0]["received_by"] == ["zhangsan"]


def test_no_valid_member_is_permanent(tmp_path, server, env):
    ch = channel_for(tmp_path, server, users=("ghost",))
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.PERMANENT and "errcode=81013" in delivery.detail


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (-1, Outcome.TRANSIENT),
        (45009, Outcome.TRANSIENT),
        (45033, Outcome.TRANSIENT),
        (40058, Outcome.PERMANENT),
        (44004, Outcome.PERMANENT),
        (60020, Outcome.PERMANENT),
        (40056, Outcome.PERMANENT),
        (93000, Outcome.PERMANENT),
        (Answer(http_status=502), Outcome.TRANSIENT),
        (Answer(http_status=403), Outcome.PERMANENT),
    ],
)
def test_send_errors_are_classified_as_for_robots(tmp_path, server, env, answer, outcome):
    ch = channel_for(tmp_path, server)
    assert ch.token() and server.token_calls == 1
    server.answer(answer)
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is outcome, delivery.detail
    if isinstance(answer, int):
        assert f"errcode={answer}" in delivery.detail


@pytest.mark.parametrize(("code", "outcome"), [(-1, Outcome.TRANSIENT), (40013, Outcome.PERMANENT)])
def test_gettoken_errors_are_classified(tmp_path, server, env, code, outcome):
    server.answer(code)
    ch = channel_for(tmp_path, server)
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is outcome and "获取 access_token 失败" in delivery.detail


@pytest.mark.parametrize("at", ["gettoken", "send"])
def test_a_slow_api_times_out_as_transient(tmp_path, server, env, at):
    ch = channel_for(tmp_path, server)
    if at == "send":
        assert ch.token()
    server.answer(Answer(slow=True))
    delivery = ch.send(message(), NOW)
    ch.close()
    assert delivery.outcome is Outcome.TRANSIENT and "超时" in delivery.detail


def test_a_repeat_of_the_same_card_is_dropped_by_the_duplicate_check(tmp_path, server, env):
    ch = channel_for(tmp_path, server)
    assert ch.send(message(), NOW).ok
    assert ch.send(message(), NOW).ok  # e.g. resent after a crash before it was recorded
    ch.close()
    assert len(server.delivered) == 1 and server.duplicates == 1


def test_thirty_a_minute_per_member_then_deferred(tmp_path, server, env):
    moment = [REAL]
    ch = channel_for(tmp_path, server, users=("zhangsan",))
    ch.pacer = MemoryPacer(lambda: moment[0])
    for i in range(30):
        assert ch.send(message(subject=f"提醒{i}"), NOW).ok
    deferred = ch.send(message(subject="第31条"), NOW)
    assert deferred.outcome is Outcome.DEFERRED and deferred.retry_at == NOW + timedelta(minutes=1)
    other = channel_for(tmp_path, server, users=("lisi",))
    other.pacer = ch.pacer
    assert other.send(message(subject="给另一位成员"), NOW).ok  # the limit is per member
    other.close()
    ch.close()


def test_a_thousand_an_hour_per_member(tmp_path, server, env):
    moment = [REAL]
    ch = channel_for(tmp_path, server, users=("zhangsan",), per_member_per_hour=40)
    ch.pacer = MemoryPacer(lambda: moment[0])
    for i in range(40):
        moment[0] = REAL + timedelta(minutes=i)
        assert ch.send(message(subject=f"提醒{i}"), NOW).ok
    moment[0] = REAL + timedelta(minutes=40)
    deferred = ch.send(message(subject="再一条"), NOW)
    assert deferred.outcome is Outcome.DEFERRED
    assert deferred.retry_at == NOW + timedelta(minutes=20)  # the first leaves the hour
    ch.close()
    assert ch.paces[1].window == timedelta(hours=1)
    assert channel_for(tmp_path, server).paces[1].limit == 1000  # WeCom's own figure, by default


def test_shift_minutes_keeps_it_off_the_full_hour(tmp_path, server, env):
    ch = channel_for(tmp_path, server, shift_minutes=4)
    deferred = ch.send(message(), NOW)
    assert deferred.outcome is Outcome.DEFERRED and deferred.retry_at == NOW + timedelta(minutes=4)
    assert server.requests == 0
    assert ch.send(message(), NOW + timedelta(minutes=4)).ok
    ch.close()


def test_without_a_link_the_notice_goes_as_text(tmp_path, server, env):
    ch = channel_for(tmp_path, server)
    ch.settings = ch.settings.model_copy(
        update={"web": ch.settings.web.model_copy(update={"base_url": "not a site"})}
    )
    assert ch.send(message(link=None), NOW).ok
    ch.close()
    assert server.delivered[0]["msgtype"] == "text"


# --- configuration, the dispatcher and the command line ------------------------------------


def _toml(folder: Path, server: WecomAppServer, **override: str) -> Path:
    keys = {
        "corp_id": f'"{server.corp_id}"',
        "agent_id": str(server.agent_id),
        "secret_env": f'"{SECRET_ENV}"',
        "api_base": f'"{server.base}"',
        "allowed_hosts": f'["{server.host}"]',
        "timeout_seconds": "30",
        **override,
    }
    units = "".join(
        f'[units."{unit}"]\nwecom_users = ["zhangsan"]\n'
        for unit in ("市发改局", "市市场监管局", "市司法局", "市商务局")
    )
    path = folder / "duban.toml"
    path.write_text(
        "[channels.wecom_app]\n"
        + "".join(f"{k} = {v}\n" for k, v in keys.items())
        + f'[channels.file]\ndir = "{folder / "outbox"}"\n'
        + units,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"agent_id": '"1000002"'}, "键 channels.wecom_app.agent_id"),
        ({"agent_id": "0"}, "键 channels.wecom_app.agent_id"),
        ({"api_base": '"https://qyapi.example.com"'}, "键 channels.wecom_app.api_base"),
        ({"secret_env": '"TEST_WECOM_APP_UNSET_SECRET"'}, "键 channels.wecom_app.secret_env"),
    ],
)
def test_bad_config_is_one_line_exit_2_naming_the_key(
    tmp_path, server, env, duban, override, named
):
    config = _toml(tmp_path, server, **override)
    result = duban(
        "--config", str(config), "--db", f"sqlite:///{tmp_path / 'd.db'}", "run", "--once"
    )
    assert result.code == 2
    assert named in result.err
    assert len([line for line in result.err.splitlines() if line.startswith("duban:")]) == 1


def test_outcomes_show_in_outbox_json(tmp_path, server, env, duban):
    config = _toml(tmp_path, server)
    settings = load_settings(config)
    db = database_with_plan(tmp_path, settings)
    queue(db, settings, "市发改局", tasks=(1,), occurrence="a")
    queue(db, settings, "市商务局", tasks=(4,), occurrence="b")
    server.answer(Answer(), Answer(), 40058)  # gettoken, the first card, the second refused
    dispatch_to_the_end(config, tmp_path, AFTER_THE_HOUR)
    out = duban(
        "--config", str(config), "--db", f"sqlite:///{tmp_path / 'duban.db'}", "outbox", "--json"
    )
    assert out.code == 0, out.err
    listed = {r["recipient"]: r for r in json.loads(out.out)}
    assert listed["市发改局"]["channel"] == "wecom_app" and listed["市发改局"]["status"] == "sent"
    assert listed["市商务局"]["status"] == "dead" and "errcode=40058" in listed["市商务局"]["error"]
    card = server.delivered[0]["textcard"]
    assert card["url"].startswith("http://127.0.0.1:8080/u/")  # the unit's own page
    db.close()


def test_a_kill_between_sending_and_recording_is_harmless_thanks_to_the_duplicate_check(
    tmp_path, server, env
):
    config = _toml(tmp_path, server)
    settings = load_settings(config)
    db = database_with_plan(tmp_path, settings)
    # notices to the coordinator (市司法局): its card opens a console page, the same on a resend
    for no in (1, 2, 3):
        queue(db, settings, "市司法局", kind="overdue", tasks=(no,), occurrence=f"crash-{no}")
    server.answer(Answer(), Answer(), Answer(hold=True))  # gettoken, card 1, card 2 held
    first = start_dispatcher(config, tmp_path, AFTER_THE_HOUR)
    kill_when_reached(first, server.holding)
    server.released.set()  # WeCom delivers the card in flight after the dispatcher died
    dispatch_to_the_end(config, tmp_path, AFTER_THE_HOUR + LEASE + timedelta(seconds=1))
    assert all(r.status == SENT for r in rows(db))
    titles = [d["textcard"]["title"] for d in server.delivered]
    assert len(titles) == 3 == len(set(titles))  # each reached the member once
    assert server.duplicates == 1  # the resend of the card in flight, dropped by WeCom
    db.close()


def test_a_kill_is_harmless_for_a_units_personal_link_too(tmp_path, server, env):
    """A unit's card opens its personal page: the link is signed at the row's send_at, so the
    card rendered again after the lease is the same card, and WeCom drops the repeat."""
    config = _toml(tmp_path, server)
    settings = load_settings(config)
    db = database_with_plan(tmp_path, settings)
    for no in (1, 2, 3):
        queue(db, settings, "市发改局", tasks=(no,), occurrence=f"crash-{no}")
    server.answer(Answer(), Answer(), Answer(hold=True))  # gettoken, card 1, card 2 held
    first = start_dispatcher(config, tmp_path, AFTER_THE_HOUR)
    kill_when_reached(first, server.holding)
    server.released.set()
    dispatch_to_the_end(config, tmp_path, AFTER_THE_HOUR + LEASE + timedelta(seconds=1))
    assert all(r.status == SENT for r in rows(db))
    urls = [d["textcard"]["url"] for d in server.delivered]
    assert len(urls) == 3 and all("/u/" in url for url in urls)
    assert server.duplicates == 1  # the resend of the card in flight, dropped by WeCom
    db.close()


def test_a_rendered_card_is_sent_as_the_renderer_made_it(tmp_path, server, env):
    from engine.notify.render import environment, render_notice
    from engine.notify.samples import sample_context

    got = render_notice(sample_context("progress_request", "wecom_app"), environment(None))
    assert got.card is not None
    ch = channel_for(tmp_path, server)
    notice = message(kind="progress_request", subject=got.subject, text=got.text, card=got.card)
    assert ch.send(notice, NOW + timedelta(minutes=7)).ok
    ch.close()
    (sent,) = server.delivered
    card = sent["textcard"]
    assert card["title"] == got.card.title and card["btntxt"] == "前往报送"
    assert card["description"] == got.card.description
    assert card["description"].startswith('<div class="gray">2021年6月23日　市司法局（督办系统）')
    assert len(card["description"].encode()) <= 512 and card["url"] == LINK


def test_members_wecom_does_not_know_are_reported_to_the_coordinator_once(tmp_path, server, env):
    config = _toml(tmp_path, server)
    lines = config.read_text("utf-8").replace(
        '[units."市发改局"]\nwecom_users = ["zhangsan"]',
        '[units."市发改局"]\nwecom_users = ["zhangsan", "ghost", "wangwu_x"]',
    )
    config.write_text(lines, "utf-8")
    settings = load_settings(config)
    db = database_with_plan(tmp_path, settings)
    for no in (1, 3):  # two notices to the unit, each partly delivered
        queue(db, settings, "市发改局", tasks=(no,), occurrence=f"partial-{no}")
    dispatch_to_the_end(config, tmp_path, AFTER_THE_HOUR)
    found = rows(db)
    assert all(r.status == SENT for r in found)
    reports = [r for r in found if r.kind == "delivery_failure"]
    assert len(reports) == 1  # once for the unit and its set of unknown members
    (report,) = reports
    assert report.recipient == "市司法局" and report.channel == "wecom_app"
    assert report.context["reason"] == "invalid_members"
    assert report.context["invalid_members"] == ["ghost", "wangwu_x"]
    assert report.context["failed_recipient"] == "市发改局"
    (card,) = [d["textcard"] for d in server.delivered if d["touser"] == "zhangsan" and
               d["textcard"]["title"].startswith("关于市发改局部分企业微信成员账号无效")]
    assert "不能识别以下2个成员账号" in card["description"]
    # another notice with the same unknown members says nothing new; a new one is reported
    queue(db, settings, "市发改局", tasks=(4,), occurrence="partial-4")
    dispatch_to_the_end(config, tmp_path, AFTER_THE_HOUR + timedelta(minutes=1))
    assert len([r for r in rows(db) if r.kind == "delivery_failure"]) == 1
    config.write_text(lines.replace('"wangwu_x"]', '"zhaoliu"]'), "utf-8")
    queue(db, load_settings(config), "市发改局", tasks=(5,), occurrence="partial-5")
    dispatch_to_the_end(config, tmp_path, AFTER_THE_HOUR + timedelta(minutes=2))
    later = [r for r in rows(db) if r.kind == "delivery_failure"]
    assert [r.context["invalid_members"] for r in later] == [
        ["ghost", "wangwu_x"],
        ["ghost", "zhaoliu"],
    ]
    db.close()


def test_the_report_of_unknown_members_names_them_and_the_key(tmp_path):
    from engine.notify.render import environment, render_notice
    from engine.notify.samples import sample_context

    extra = {
        "reason": "invalid_members",
        "failed_id": 7,
        "failed_kind": "reminder",
        "failed_recipient": "市发改局",
        "failed_channel": "wecom_app",
        "failed_channel_label": "企业微信应用消息",
        "invalid_members": ["ghost", "lisi"],
    }
    ctx = replace(sample_context("delivery_failure", "email"), extra=extra, tasks=())
    got = render_notice(ctx, environment(None))
    assert got.subject == "关于市发改局部分企业微信成员账号无效、督办通知未能送达其成员的报告"
    sent = "通过企业微信应用消息向市发改局发送的到期提醒（通知编号7）已送达该单位的其他成员"
    assert sent in got.text
    assert "无效的成员账号：ghost、lisi\n配置位置：units.\"市发改局\".wecom_users" in got.text
    assert "只发送一次" in got.text and "ghost、lisi" in got.html


# --- the pacing counted in the database, across instances ----------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def instances(request, tmp_path):
    from support.postgres import scratch_database

    from engine.store import open_database

    def opened(url: str) -> list:
        return [open_database(url) for _ in range(3)]

    if request.param == "sqlite":
        found = opened(f"sqlite:///{tmp_path / 'duban.db'}")
        yield found
    else:
        with scratch_database("duban_pacing") as url:
            found = opened(url)
            yield found
    for db in found:
        db.close()


def test_instances_share_thirty_a_minute_per_member_and_take_all_windows_or_none(instances):
    from support.concurrency import at_once

    from engine.clock import FixedClock
    from engine.notify.channels.pacing import DatabasePacer, Pace

    real = FixedClock(REAL)
    minute = Pace(30, timedelta(minutes=1), "wecom_app/min")
    hour = Pace(1000, timedelta(hours=1), "wecom_app/hour")
    pacers = [DatabasePacer(db, clock=real.now) for db in instances]
    checks = [(minute, "corp|zhangsan"), (hour, "corp|zhangsan")]
    outcomes = at_once(3, lambda i: [pacers[i].take(checks, REAL) for _ in range(15)])
    flat = [answer for each in outcomes for answer in each]
    assert sum(answer is None for answer in flat) == 30  # of 45 tries at once, across instances
    assert {answer for answer in flat if answer is not None} == {REAL + timedelta(minutes=1)}
    # a message to zhangsan and lisi: zhangsan has no room, so lisi's window is not taken either
    both = [(minute, "corp|zhangsan"), (minute, "corp|lisi")]
    assert pacers[0].take(both, REAL) == REAL + timedelta(minutes=1)
    for _ in range(30):
        assert pacers[1].take([(minute, "corp|lisi")], REAL) is None


def test_doctor_names_an_unset_secret_and_members_without_the_application(
    tmp_path, duban, monkeypatch
):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    config = tmp_path / "duban.toml"
    config.write_text('[units."市发改局"]\nwecom_users = ["zhangsan"]\n', encoding="utf-8")
    result = duban("--config", str(config), "doctor")
    assert result.code == 1
    assert any(
        'units."市发改局".wecom_users' in line and "[channels.wecom_app]" in line
        for line in result.out.splitlines()
    )
    server = WecomAppServer()
    server.start()
    try:
        config = _toml(tmp_path, server)
        result = duban("--config", str(config), "doctor")
        assert any(
            f"channels.wecom_app.secret_env：环境变量 {SECRET_ENV} 未设置" in line
            for line in result.out.splitlines()
        )
    finally:
        server.stop()


def test_doctor_network_fetches_a_token_and_sends_nothing(tmp_path, duban, server, monkeypatch):
    config = _toml(tmp_path, server)
    monkeypatch.setenv(SECRET_ENV, server.secret)
    good = duban("--config", str(config), "doctor", "--network")
    assert not [line for line in good.out.splitlines() if "wecom_app" in line], good.out
    assert server.token_calls == 1 and server.delivered == []
    monkeypatch.setenv(SECRET_ENV, "not-the-secret-42")
    bad = duban("--config", str(config), "doctor", "--network")
    lines = [line for line in bad.out.splitlines() if "channels.wecom_app" in line]
    assert len(lines) == 1 and "errcode=40001" in lines[0]
    assert "not-the-secret-42" not in bad.out + bad.err
    assert server.delivered == []


def test_the_token_outlives_the_channel_as_the_service_builds_one_each_tick(tmp_path, server, env):
    for tick in range(3):
        ch = channel_for(tmp_path, server)
        assert ch.send(message(subject=f"第{tick}次"), NOW).ok
        ch.close()
    assert server.token_calls == 1


def test_run_refuses_to_start_with_the_secret_unset(tmp_path, duban, server, monkeypatch):
    # The application's channel is made at start, though the others wait for their first notice:
    # a missing Secret is the operator's mistake, said before anything is sent, not a dead notice.
    monkeypatch.delenv(SECRET_ENV, raising=False)
    config = _toml(tmp_path, server)
    url = f"sqlite:///{tmp_path / 'duban.db'}"
    result = duban("--config", str(config), "--db", url, "--now", "2021-06-23T10:00:00+08:00",
                   "run", "--once")
    assert result.code == 2
    (line,) = [line for line in result.err.splitlines() if line.startswith("duban:")]
    assert f"channels.wecom_app.secret_env 指定的环境变量 {SECRET_ENV} 未设置" in line
    assert server.token_calls == 0 and server.delivered == []
