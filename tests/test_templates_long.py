"""A notice longer than WeCom's 4,096 bytes goes on in continuation messages: nothing is cut away,
whatever makes it long (many tasks, many lead units, one long text)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from engine.notify.render import (
    DINGTALK_LIMIT,
    FEISHU_LIMIT,
    WECOM_LIMIT,
    environment,
    render_notice,
)
from engine.notify.samples import SAMPLE_TASKS, sample_context

ROBOTS = [("dingtalk", DINGTALK_LIMIT), ("feishu", FEISHU_LIMIT)]


def _escalation(units: int):
    base = SAMPLE_TASKS[0]
    tasks = tuple(
        dataclasses.replace(base, no=n, lead=f"第{n}牵头单位", title=f"第{n}项任务", days_left=-30)
        for n in range(1, units + 1)
    )
    ctx = sample_context("escalation", "wecom", tasks=tasks, recipient="市司法局")
    return dataclasses.replace(ctx, level=1)


@pytest.mark.parametrize("units", [121, 321])
def test_an_escalation_over_hundreds_of_lead_units_lists_every_one(units: int) -> None:
    messages = render_notice(_escalation(units), environment(None)).markdown
    whole = "\n".join(messages)
    assert all(len(body.encode("utf-8")) <= WECOM_LIMIT for body in messages)
    # the summary of lead units names each of them, once, in order
    summary = re.findall(r"^> (第\d+牵头单位)：第(\d+)项$", whole, re.M)
    assert [unit for unit, _ in summary] == [f"第{n}牵头单位" for n in range(1, units + 1)]
    assert [int(no) for _, no in summary] == list(range(1, units + 1))
    # and every task is listed
    listed = [int(n) for n in re.findall(r"^> \*\*(\d+)\. ", whole, re.M)]
    assert listed == list(range(1, units + 1))
    # the closing request and the sender close the last message
    assert "建议督促上述牵头单位限期整改" in messages[-1]
    assert "市司法局（督办系统）" in messages[-1]
    assert "截断" not in whole


def test_continuation_headings_are_numbered_in_order() -> None:
    messages = render_notice(_escalation(321), environment(None)).markdown
    assert len(messages) > 3
    assert not re.search("（续\\d+）", messages[0].splitlines()[0])
    for i, body in enumerate(messages[1:], start=1):
        assert body.splitlines()[0] == f"### 逾期任务升级督办报告（续{i}）"


def test_a_single_line_longer_than_a_message_is_split_not_cut() -> None:
    long_progress = "；".join(f"第{i}阶段工作已按计划完成并形成书面材料" for i in range(400))
    task = dataclasses.replace(SAMPLE_TASKS[0], progress=long_progress)
    ctx = sample_context("reminder", "wecom", tasks=(task,))
    ctx = dataclasses.replace(ctx, plan_title="方案" + "十" * 3000)
    messages = render_notice(ctx, environment(None)).markdown
    assert len(messages) > 1
    assert all(len(body.encode("utf-8")) <= WECOM_LIMIT for body in messages)
    assert "".join(messages).count("十") == 3000


def test_the_email_of_a_long_notice_is_one_message_with_everything() -> None:
    ctx = dataclasses.replace(_escalation(321), channel="email")
    rendered = render_notice(ctx, environment(None))
    assert rendered.text.count("牵头单位：") >= 321 and "截断" not in rendered.text


@pytest.mark.parametrize(("channel", "limit"), ROBOTS)
@pytest.mark.parametrize("units", [121, 800])
def test_a_long_notice_to_a_robot_goes_on_in_messages_of_its_size(
    channel: str, limit: int, units: int
) -> None:
    ctx = dataclasses.replace(_escalation(units), channel=channel)
    messages = render_notice(ctx, environment(None)).markdown
    whole = "\n".join(messages)
    assert all(len(body.encode("utf-8")) <= limit for body in messages)
    assert len(messages) > (1 if units == 800 else 0)
    numbered = r"^\*\*(\d+)\. " if channel == "dingtalk" else r"^(\d+)\. "
    assert [int(n) for n in re.findall(numbered, whole, re.M)] == list(range(1, units + 1))
    assert "建议督促上述牵头单位限期整改" in messages[-1] and "截断" not in whole
    # each message ends with the notice's link
    assert all(body.endswith("[进入督办系统](http://127.0.0.1:8080/)") for body in messages)


@pytest.mark.parametrize(("channel", "limit"), ROBOTS)
def test_a_single_line_longer_than_a_robot_message_is_split_not_cut(
    channel: str, limit: int
) -> None:
    task = dataclasses.replace(SAMPLE_TASKS[0])
    ctx = sample_context("reminder", channel, tasks=(task,))
    ctx = dataclasses.replace(ctx, plan_title="方案" + "十" * 9000)
    messages = render_notice(ctx, environment(None)).markdown
    assert len(messages) > 1
    assert all(len(body.encode("utf-8")) <= limit for body in messages)
    assert "".join(messages).count("十") == 9000
