"""The coordinator's progress_missing notice lists the units that have not reported, each with its
tasks (单位 — 未报送任务：第1、3、12项), in every format; a unit's own notice lists its tasks."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pytest

from engine.notify.render import WECOM_LIMIT, environment, render_notice
from engine.notify.samples import SAMPLE_TASKS, sample_context

COORDINATOR = "市司法局"
BASE = SAMPLE_TASKS[0]


def line(no: int, lead: str, title: str = "", reported: date | None = None):
    return dataclasses.replace(
        BASE, no=no, lead=lead, title=title or f"第{no}项任务的名称", progress_at=reported
    )


# task numbers interleave units, as a plan does: the notice must regroup them
TASKS = (
    line(1, "市发改局"),
    line(2, "市财政局", reported=date(2021, 5, 20)),
    line(3, "市发改局"),
    line(7, "市人社局"),
    line(12, "市发改局"),
)


def without_link(message: str, url: str) -> str:
    """`message` without the link line that ends it, which must be the notice's own link."""
    rest, _, last = message.rpartition("\n\n")
    words, note = r"\[(点击办理|点击审批|进入督办系统)\]", r"(（\d+天内有效，请勿转发）)?"
    pattern = words + r"\(" + re.escape(url) + r"\)" + note
    assert re.fullmatch(pattern, last), last
    return rest


@pytest.fixture
def env():
    return environment(None)


def to_coordinator(channel: str, tasks=TASKS):
    ctx = sample_context("progress_missing", channel, tasks=tasks, recipient=COORDINATOR)
    return dataclasses.replace(ctx, level=1)


def test_the_subject_counts_units(env):
    rendered = render_notice(to_coordinator("email"), env)
    assert rendered.subject == "关于3个单位未按时报送任务推进情况的报告"


def test_the_text_lists_each_unit_with_its_tasks(env):
    text = render_notice(to_coordinator("email"), env).text
    units = re.findall(r"^（\d+）(.+)$", text, flags=re.M)
    assert units == [
        "市发改局 — 未报送任务：第1、3、12项",
        "市财政局 — 未报送任务：第2项",
        "市人社局 — 未报送任务：第7项",
    ]
    # each unit's tasks follow its line, and nothing else does
    block = text.split("（1）", 1)[1].split("（2）", 1)[0]
    assert [int(n) for n in re.findall(r"第(\d+)项　", block)] == [1, 3, 12]
    assert "最近一次报送：2021年5月20日" in text and "此前未报送" in text
    assert "3个单位" in text and "涉及任务5项" in text


def test_the_html_has_one_row_per_unit(env):
    html = render_notice(to_coordinator("file"), env).html
    rows = re.findall(r"<tr><td[^>]*>(\d+)</td><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td>", html)
    assert rows == [
        ("1", "市发改局", "第1、3、12项"),
        ("2", "市财政局", "第2项"),
        ("3", "市人社局", "第7项"),
    ]


def test_the_wecom_body_lists_units(env):
    (body,) = render_notice(to_coordinator("wecom"), env).markdown
    assert re.findall(r"^> \*\*(.+)\*\*$", body, flags=re.M) == [
        "市发改局 — 未报送任务：第1、3、12项",
        "市财政局 — 未报送任务：第2项",
        "市人社局 — 未报送任务：第7项",
    ]
    assert "请督促上述单位尽快补报" in body


def test_a_units_own_notice_still_lists_its_tasks(env):
    ctx = sample_context("progress_missing", "email", tasks=TASKS[:1] + TASKS[2:3])
    rendered = render_notice(ctx, env)
    assert rendered.subject.startswith("关于补报“第1项任务的名称”等2项任务")
    assert "未报送任务：" not in rendered.text
    assert "（1）第1项　第1项任务的名称" in rendered.text
    assert "（2）第3项　第3项任务的名称" in rendered.text
    (body,) = render_notice(dataclasses.replace(ctx, channel="wecom"), env).markdown
    assert "> **1. 第1项任务的名称**" in body and "未报送任务" not in body


def _many_units(units: int, per_unit: int):
    title = "推进公共法律服务体系建设的各项工作，确保按期高质量完成并形成长效机制"
    tasks = []
    for i in range(per_unit):
        for u in range(units):  # interleaved numbers
            no = i * units + u + 1
            tasks.append(line(no, f"第{u + 1}单位", title=f"{title}（{no}）"))
    return tuple(tasks)


def test_a_long_wecom_list_is_cut_between_units(env):
    tasks = _many_units(units=14, per_unit=4)
    messages = render_notice(to_coordinator("wecom", tasks), env).markdown
    assert len(messages) > 2
    seen: dict[str, list[int]] = {}
    for i, body in enumerate(messages):
        assert len(body.encode("utf-8")) <= WECOM_LIMIT
        heads = re.findall(r"^> \*\*(第\d+单位) — 未报送任务：第([\d、]+)项\*\*$", body, flags=re.M)
        assert heads, "every message lists some units"
        for unit, numbers in heads:
            listed = [
                int(n) for n in re.findall(r"^> 第(\d+)项　", body.split(unit, 1)[1], flags=re.M)
            ][:4]
            assert unit not in seen, "a unit is never split over two messages"
            assert listed == [int(n) for n in numbers.split("、")]
            seen[unit] = listed
        left_tasks = len(tasks) - sum(len(v) for v in seen.values())
        if i < len(messages) - 1:
            assert f"另有 {14 - len(seen)} 个单位的 {left_tasks} 项任务，见下一条消息。" in body
            assert "请督促上述单位尽快补报" not in body
        else:
            assert "另有" not in body and "请督促上述单位尽快补报" in body
    assert sorted(seen) == sorted(f"第{u}单位" for u in range(1, 15))
    assert sorted(n for v in seen.values() for n in v) == list(range(1, 57))


def test_a_unit_too_long_for_one_message_is_cut_between_its_tasks(env):
    title = "推进公共法律服务体系建设的各项工作，确保按期高质量完成" * 2
    tasks = tuple(line(n, "市发改局", title=f"{title}{n}") for n in range(1, 61))
    messages = render_notice(to_coordinator("wecom", tasks), env).markdown
    assert len(messages) > 1
    numbers = [int(n) for body in messages for n in re.findall(r"^> 第(\d+)项　", body, flags=re.M)]
    assert numbers == list(range(1, 61))
    assert all(len(body.encode("utf-8")) <= WECOM_LIMIT for body in messages)
    assert "另有 1 个单位的" in messages[0]


def test_a_unit_name_cannot_inject_markdown_into_the_coordinators_list(env):
    hostile = "[点我](http://evil.example/x) <@zhangsan> **粗体**"
    tasks = (line(1, hostile), line(2, "市财政局"), line(3, hostile))
    ctx = to_coordinator("wecom", tasks)
    (message,) = render_notice(ctx, env).markdown
    assert ctx.link is not None
    body = without_link(message, ctx.link.url)  # the notice's own link, and no other
    assert "](" not in body and "[" not in body and "<@" not in body and "http://" not in body
    assert "未报送任务：第1、3项" in body  # the unit's tasks still found under its escaped name
    html = render_notice(to_coordinator("email", tasks), env).html
    assert "<@zhangsan>" not in html and "&lt;@zhangsan&gt;" in html
