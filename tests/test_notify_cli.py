"""duban preview, send-test and retry, run as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.plans import write_small_plan
from support.wecom import WecomServer, channel_toml

KEY = "cli-robot-key-0d9e"


@pytest.fixture
def server():
    with WecomServer() as srv:
        yield srv


@pytest.fixture
def config(workdir: Path, server: WecomServer) -> Path:
    path = workdir / "duban.toml"
    path.write_text(
        channel_toml(timeout_seconds=2) + '[units."市发改局"]\n'
        'aliases = ["珠海市发展和改革局"]\n'
        'wecom = "' + server.url("${DUBAN_TEST_FGJ_KEY}") + '"\n'
        'mobiles = ["13800000000"]\n'
        '[units."市司法局"]\n'
        "file = true\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def loaded(duban, workdir: Path) -> None:
    plan = write_small_plan(workdir / "trial.yaml")
    assert duban("load", str(plan)).code == 0


def test_preview_without_a_plan_shows_a_sample(duban):
    r = duban("preview", "reminder")
    assert r.code == 0
    assert r.out.startswith("主题：关于")
    assert "示例数据" in r.err


def test_preview_renders_the_real_task(duban, loaded):
    r = duban("--now", "2021-06-23T09:00:00+08:00", "preview", "overdue", "--task", "1")
    assert r.code == 0, r.err
    assert "主题：关于“统筹谋划体系建设”任务逾期未完成的督办通知" in r.out
    assert "市发改局：" in r.out and "《试点分工方案》" in r.out
    assert "完成时限：2021年6月30日前，距完成时限还有7天" in r.out
    assert "市司法局（督办系统）\n2021年6月23日" in r.out


def test_preview_on_wecom_shows_each_message_and_its_size(duban, loaded):
    r = duban("--now", "2021-07-20T09:00:00+08:00", "preview", "escalation", "--channel", "wecom")
    assert r.code == 0, r.err
    assert "—— 企业微信消息 第 1/1 条（" in r.out and "字节）——" in r.out
    assert "**市司法局**" in r.out and "已逾期20天" in r.out


@pytest.mark.parametrize(
    ("channel", "heading", "shown"),
    [
        ("dingtalk", "—— 钉钉消息 第 1/1 条（", "- 完成时限：2021年6月30日前，已逾期20天"),
        ("feishu", "—— 飞书消息 第 1/1 条（", "　　完成时限：2021年6月30日前，已逾期20天"),
    ],
)
def test_preview_on_a_robot_shows_its_own_layout(duban, loaded, channel, heading, shown):
    r = duban("--now", "2021-07-20T09:00:00+08:00", "preview", "escalation", "--channel", channel)
    assert r.code == 0, r.err
    assert heading in r.out and "标题：关于“统筹谋划体系建设”" in r.out
    assert shown in r.out and "<font" not in r.out


def test_preview_on_wecom_app_shows_the_card(duban, loaded):
    r = duban("--now", "2021-07-20T09:00:00+08:00", "preview", "overdue", "--channel", "wecom_app")
    assert r.code == 0, r.err
    assert "—— 企业微信应用消息 卡片（描述 " in r.out
    assert '描述：<div class="gray">2021年7月20日　市司法局（督办系统）</div>' in r.out
    assert "按钮：前往报送" in r.out


def test_run_names_the_messenger_channels_at_start(duban, workdir):
    config = workdir / "duban.toml"
    config.write_text(
        '[channels.dingtalk]\nallowed_hosts = ["127.0.0.1"]\n'
        '[channels.feishu]\nallowed_hosts = ["127.0.0.1"]\n'
        '[units."市发改局"]\n'
        'dingtalk = "http://127.0.0.1:9/robot/send?access_token=t"\n'
        'feishu = "http://127.0.0.1:9/open-apis/bot/v2/hook/t"\n',
        encoding="utf-8",
    )
    r = duban("--config", str(config), "--now", "2021-06-26T10:00:00+08:00", "run", "--once")
    assert r.code == 0, r.err
    (line,) = [line for line in r.err.splitlines() if "通知渠道：" in line]
    assert line.endswith("var/outbox）、钉钉群机器人、飞书群机器人")


def test_preview_html(duban, loaded):
    r = duban("preview", "digest", "--html")
    assert r.code == 0 and "<table" in r.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["preview", "remind"], "通知类型“remind”无效，应为 reminder、"),
        (
            ["preview", "reminder", "--channel", "sms"],
            "--channel 的值“sms”无效，应为 email、wecom、wecom_app、dingtalk、feishu、file",
        ),
        (["preview", "reminder", "--task", "99"], "计划 trial-plan 中没有序号为 99 的任务"),
        (["preview", "reminder", "--plan", "nope"], "--plan 的值“nope”不是已载入的计划"),
        (["retry", "999"], "通知 #999 不存在"),
        (["retry", "abc"], "通知编号“abc”无效，应为整数"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(duban, loaded, args, message):
    r = duban(*args)
    assert r.code == 2
    assert r.err.count("\n") == 1 and message in r.err
    assert "Traceback" not in r.err


def test_send_test_to_wecom_reports_success(duban, config, server, monkeypatch):
    monkeypatch.setenv("DUBAN_TEST_FGJ_KEY", KEY)
    r = duban(
        "--config", str(config), "send-test", "--unit", "珠海市发展和改革局", "--channel", "wecom"
    )
    assert r.code == 0, r.err
    assert r.out.startswith("测试通知已发送至 市发改局（企业微信）")
    assert r.out.count("\n") == 1 and KEY not in r.out
    markdown, mention = server.received
    assert "督办系统测试通知" in markdown.content
    assert mention.payload["text"]["mentioned_mobile_list"] == ["13800000000"]


def test_send_test_to_the_robots_reports_success(duban, workdir):
    from support.messengers import DingtalkServer, FeishuServer

    with DingtalkServer(secret=None) as ding, FeishuServer(secret=None) as fei:
        config = workdir / "duban.toml"
        config.write_text(
            '[channels.dingtalk]\nallowed_hosts = ["127.0.0.1"]\n'
            '[channels.feishu]\nallowed_hosts = ["127.0.0.1"]\n'
            f'[units."市发改局"]\ndingtalk = "{ding.url()}"\nfeishu = "{fei.url()}"\n'
            'mobiles = ["13800000000"]\n',
            encoding="utf-8",
        )
        for channel, label in (("dingtalk", "钉钉"), ("feishu", "飞书")):
            args = ("send-test", "--unit", "市发改局", "--channel", channel)
            r = duban("--config", str(config), *args)
            assert r.code == 0, r.err
            assert r.out.startswith(f"测试通知已发送至 市发改局（{label}）")
    (sent,) = ding.received
    assert sent["msgtype"] == "markdown" and sent["at"]["atMobiles"] == ["13800000000"]
    assert sent["markdown"]["text"].startswith("### 督办系统测试通知\n")
    assert sent["markdown"]["text"].endswith("@13800000000") and "<font" not in str(sent)
    (post,) = fei.received
    assert post["msg_type"] == "post"
    assert post["content"]["post"]["zh_cn"]["title"] == "【测试】督办系统通知渠道测试"


def test_send_test_reports_the_provider_error_in_one_line(duban, config, server, monkeypatch):
    monkeypatch.setenv("DUBAN_TEST_FGJ_KEY", KEY)
    server.answer(93000)
    r = duban("--config", str(config), "send-test", "--unit", "市发改局", "--channel", "wecom")
    assert r.code == 1
    assert r.err.count("\n") == 1
    assert "企业微信返回 errcode=93000 errmsg=invalid webhook url" in r.err
    assert KEY not in r.err


def test_send_test_to_the_file_channel(duban, config, workdir):
    r = duban("--config", str(config), "send-test", "--unit", "市司法局", "--channel", "file")
    assert r.code == 0, r.err
    (written,) = (workdir / "var" / "outbox").rglob("*.txt")
    assert "这是督办系统发出的测试通知" in written.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("unit", "channel", "message"),
    [
        ("市司法局", "wecom", "单位“市司法局”未配置企业微信群机器人"),
        ("市发改局", "email", "配置文件中没有 [channels.email]"),
        ("市发改局", "fax", "--channel 的值“fax”无效"),
        ("市发改局", "dingtalk", "单位“市发改局”未配置钉钉群机器人"),
        ("市发改局", "feishu", "单位“市发改局”未配置飞书群机器人"),
        ("市发改局", "wecom_app", "配置文件中没有 [channels.wecom_app]"),
    ],
)
def test_send_test_without_that_contact_is_a_user_error(duban, config, unit, channel, message):
    r = duban("--config", str(config), "send-test", "--unit", unit, "--channel", channel)
    assert r.code == 2 and message in r.err and r.err.count("\n") == 1


def test_retry_puts_a_dead_notice_back_in_the_queue(duban, loaded, workdir):
    from support.notices import NOW

    from engine.config import Settings
    from engine.notify.queue import notify_unit
    from engine.store import open_database
    from engine.store.outbox import DEAD, OutboxNotice

    db = open_database("sqlite:///var/duban.db")
    with db.transaction() as session:
        (row,) = notify_unit(
            session,
            Settings(),
            plan_id="trial-plan",
            unit="市发改局",
            kind="reminder",
            tasks=(1,),
            occurrence="x",
            now=NOW,
            context={},
        )
        row.status, row.error, row.attempts = DEAD, "企业微信返回 errcode=93000", 1
        notice_id = row.id
    r = duban("--now", "2021-06-24T10:00:00+08:00", "retry", str(notice_id))
    assert r.code == 0, r.err
    assert f"通知 #{notice_id}（原状态：dead）已重新排队" in r.out
    with db.read() as session:
        again = session.get(OutboxNotice, notice_id)
        assert again.status == "pending" and again.attempts == 0
        assert again.next_attempt_at.isoformat() == "2021-06-24T02:00:00+00:00"
    r = duban("--now", "2021-06-24T10:00:00+08:00", "run", "--once")
    assert r.code == 0, r.err
    listed = json.loads(duban("outbox", "--json").out)
    assert [n["status"] for n in listed if n["id"] == notice_id] == ["sent"]
    r = duban("retry", str(notice_id))
    assert r.code == 2 and "发送成功，无需重发" in r.err
    db.close()
