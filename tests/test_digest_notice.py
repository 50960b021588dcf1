"""The coordinator's weekly `digest` notice: planned once a week per plan, on each channel of the
coordinator, with the plan's figures; rendered in every format; on the seed plan through the CLI."""

from __future__ import annotations

import dataclasses
import json
import re
import socket
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from engine.notify.render import WECOM_LIMIT, environment, render_notice
from engine.notify.samples import sample_context
from tests.conftest import SEED_PLAN
from tests.support.wecom import WecomServer, channel_toml

LOADED = "2021-06-01T10:00:00+08:00"
MONDAY = "2021-07-12T09:30:00+08:00"  # the default digest weekday, after send_at
REASON = "意见稿需提请市政府常务会议审议，会期安排在9月。"


class _Inbox:
    """An SMTP server on loopback that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = BytesParser(policy=default_policy).parsebytes(envelope.original_content)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    with socket.socket() as probe:  # aiosmtpd's start() connects to the port: it must be known
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def wecom() -> Iterator[WecomServer]:
    with WecomServer() as server:
        yield server


def _config(folder: Path, smtp_port: int, wecom_url: str) -> Path:
    """The coordinator on email, WeCom and the file archive; the other units have no contact."""
    path = folder / "duban.toml"
    path.write_text(
        "[channels.email]\n"
        'host = "127.0.0.1"\n'
        f"port = {smtp_port}\n"
        'security = "none"\n'
        'from = "督办系统 <duban@example.org>"\n'
        "timeout_seconds = 5\n"
        + channel_toml(timeout_seconds=5)
        + "[channels.file]\n"
        f'dir = "{folder / "outbox"}"\n'
        '[units."市司法局"]\n'
        'email = "dubanke@example.org"\n'
        f'wecom = "{wecom_url}"\n'
        "file = true\n",
        encoding="utf-8",
    )
    return path


def _ok(r):
    assert r.code == 0, r.err
    return r


def load_seed(duban, *config: str) -> None:
    _ok(duban(*config, "--now", LOADED, "load", str(SEED_PLAN)))


def outbox(duban, *config: str) -> list[dict]:
    return json.loads(_ok(duban(*config, "outbox", "--json")).out)


def digests(duban, *config: str) -> list[dict]:
    return [n for n in outbox(duban, *config) if n["kind"] == "digest"]


def simulate(duban, first: str, last: str, *config: str) -> list[dict]:
    r = _ok(duban(*config, "simulate", "--from", first, "--to", last, "--json"))
    return json.loads(r.out)


def red_tasks(duban, now: str, *config: str) -> dict[int, dict]:
    rows = json.loads(_ok(duban(*config, "--now", now, "tasks", "--json")).out)
    return {row["no"]: row for row in rows if row["light"] == "red"}


# --- on the seed plan, through the CLI ----------------------------------------------------


def test_one_digest_per_channel_to_the_coordinator_with_the_plans_figures(
    duban, workdir: Path, smtp, wecom
) -> None:
    inbox, port = smtp
    cfg = ("--config", str(_config(workdir, port, wecom.url())))
    load_seed(duban, *cfg)
    r = _ok(duban(*cfg, "--now", "2021-07-08T10:00:00+08:00", "extend", "1", "--unit", "市发改局",
                  "--until", "2021-09-30", "--reason", REASON, "--json"))
    request_id = json.loads(r.out)["id"]

    _ok(duban(*cfg, "--now", MONDAY, "run", "--once"))

    rows = digests(duban, *cfg)
    assert sorted(n["channel"] for n in rows) == ["email", "file", "wecom"]
    assert {n["recipient"] for n in rows} == {"市司法局"}
    assert {n["status"] for n in rows} == {"sent"}
    assert {n["send_at"] for n in rows} == {"2021-07-12T09:00:00+08:00"}
    red = red_tasks(duban, MONDAY, *cfg)
    assert red, "the seed has overdue tasks in July 2021"
    for n in rows:
        assert sorted(n["tasks"]) == sorted(red)

    # What was stored is what `stats` and `tasks` say at that moment.
    stats = json.loads(_ok(duban(*cfg, "--now", MONDAY, "stats", "--json")).out)
    board = json.loads(_ok(duban(*cfg, "--now", MONDAY, "tasks", "--json")).out)
    mail = next(m for m in inbox.messages if "督办任务推进情况周报" in str(m["Subject"]))
    # the text as a mail client shows it: MIME's canonical text ends its lines with CRLF
    text = mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    html = mail.get_body(preferencelist=("html",)).get_content()
    totals = stats["totals"]
    assert (
        f"本计划共{len(board)}项任务：红灯{totals['red']}项、黄灯{totals['yellow']}项、"
        f"绿灯{totals['green']}项、已完成{totals['done']}项"
    ) in text
    assert totals["red"] == len(red)
    for no, task in red.items():
        days = (date.fromisoformat(MONDAY[:10]) - date.fromisoformat(task["due"])).days
        assert f"{no}　{task['title']}　{task['lead']}　{days}天" in text
        assert task["title"] in html
    missing = {u["unit"]: u["reports_missing"] for u in stats["units"] if u["reports_missing"]}
    assert missing
    for unit, count in missing.items():
        assert re.search(rf"^{unit}　{count}　第[\d、]+项$", text, flags=re.M), unit
    pending = f"{request_id}　第1项 {board[0]['title']}　市发改局　申请延期至2021年9月30日"
    assert pending in text and "已等待天数" in text and "　4天" in text
    assert "意见稿需提请市政府常务会议审议" in html

    # WeCom: every overdue title (clipped to 60 characters) and the request, one message.
    [message] = [m.content for m in wecom.received if "督办任务推进情况周报" in m.content]
    for task in red.values():
        assert task["title"][:30] in message
    assert f"**#{request_id}** 第1项" in message and "已等待4天" in message
    # the file archive holds the same notice as text and HTML
    written = list((workdir / "outbox").rglob("*digest*市司法局*.txt"))
    assert len(written) == 1
    archived = written[0].read_text("utf-8")
    for task in red.values():
        assert task["title"] in archived


def test_never_twice_the_same_week(duban) -> None:
    load_seed(duban)
    _ok(duban("--now", MONDAY, "run", "--once"))
    assert len(digests(duban)) == 1
    _ok(duban("--now", "2021-07-12T16:00:00+08:00", "run", "--once"))
    _ok(duban("--now", "2021-07-13T09:30:00+08:00", "run", "--once"))
    _ok(duban("--now", "2021-07-16T09:30:00+08:00", "run", "--once"))
    assert len(digests(duban)) == 1
    # the next Monday is a new week
    _ok(duban("--now", "2021-07-19T09:30:00+08:00", "run", "--once"))
    assert [n["send_at"][:10] for n in digests(duban)] == ["2021-07-12", "2021-07-19"]


def test_not_before_send_at_and_caught_up_later_in_the_week_only(duban) -> None:
    load_seed(duban)
    _ok(duban("--now", "2021-07-12T08:59:00+08:00", "run", "--once"))
    assert digests(duban) == []
    # down on Monday, back on Wednesday: this week's digest goes out then, once
    _ok(duban("--now", "2021-07-14T11:00:00+08:00", "run", "--once"))
    assert [n["send_at"] for n in digests(duban)] == ["2021-07-14T09:00:00+08:00"]


def test_a_dragon_boat_monday_moves_it_to_tuesday(duban) -> None:
    load_seed(duban)
    _ok(duban("--now", "2021-06-14T09:30:00+08:00", "run", "--once"))  # 端午节
    assert digests(duban) == []
    _ok(duban("--now", "2021-06-15T09:30:00+08:00", "run", "--once"))
    assert [n["send_at"] for n in digests(duban)] == ["2021-06-15T09:00:00+08:00"]


def test_holiday_weeks_over_simulate(duban) -> None:
    load_seed(duban)
    rows = simulate(duban, "2021-09-13", "2021-10-17")
    days = [r["at"][:10] for r in rows if r["kind"] == "digest"]
    # 中秋节 20–21 Sep: Wednesday; the make-up Sunday 26 Sep adds none to that week;
    # 国庆节 1–7 Oct: Friday 8 Oct, the week's first working day; Saturday 9 Oct adds none.
    assert days == ["2021-09-13", "2021-09-22", "2021-09-27", "2021-10-08", "2021-10-11"]


def test_simulate_over_four_weeks_lists_one_digest_a_week(duban) -> None:
    load_seed(duban)
    rows = [r for r in simulate(duban, "2021-07-05", "2021-08-01") if r["kind"] == "digest"]
    assert [(r["at"], r["recipient"], r["channel"]) for r in rows] == [
        (f"2021-07-{day:02d}T09:00:00+08:00", "市司法局", "file") for day in (5, 12, 19, 26)
    ]
    for r in rows:
        assert sorted(r["tasks"]) == sorted(red_tasks(duban, r["at"]))
    assert digests(duban) == []  # the real outbox is untouched


def test_the_weekday_comes_from_the_policy(duban, workdir: Path) -> None:
    config = workdir / "duban.toml"
    config.write_text("[policy]\ndigest_weekday = 3\n", encoding="utf-8")
    cfg = ("--config", str(config))
    load_seed(duban, *cfg)
    rows = [r for r in simulate(duban, "2021-07-05", "2021-07-18", *cfg) if r["kind"] == "digest"]
    assert [r["at"][:10] for r in rows] == ["2021-07-07", "2021-07-14"]


def test_a_plan_without_coordinator_gets_no_digest(duban, workdir: Path) -> None:
    text = SEED_PLAN.read_text("utf-8")
    assert "  coordinator: 市司法局\n" in text
    (workdir / "plans").mkdir()
    (workdir / "plans" / "plan.yaml").write_text(
        text.replace("  coordinator: 市司法局\n", "", 1), encoding="utf-8"
    )
    config = workdir / "duban.toml"
    config.write_text(f'[service]\nplans_dir = "{workdir / "plans"}"\n', encoding="utf-8")
    _ok(duban("--config", str(config), "--now", MONDAY, "run", "--once"))
    kinds = {n["kind"] for n in outbox(duban, "--config", str(config))}
    assert "overdue" in kinds and "digest" not in kinds


def test_a_plan_with_nothing_overdue_still_gets_its_digest(duban, workdir: Path) -> None:
    # November 2020: no deadline has passed and no report period has closed yet.
    _ok(duban("--now", "2020-11-20T10:00:00+08:00", "load", str(SEED_PLAN)))
    _ok(duban("--now", "2020-11-23T09:30:00+08:00", "run", "--once"))
    [row] = digests(duban)
    assert row["tasks"] == []
    [written] = (workdir / "var" / "outbox").rglob("*digest*.txt")
    body = written.read_text("utf-8")
    assert "截至目前，无逾期任务。" in body and "无待审批的申请。" in body
    assert "红灯0项" in body


def test_preview_digest_reads_the_plans_figures(duban) -> None:
    load_seed(duban)
    red = red_tasks(duban, MONDAY)
    r = _ok(duban("--now", MONDAY, "preview", "digest", "--channel", "wecom"))
    for task in red.values():
        assert task["title"][:30] in r.out
    assert f"红灯{len(red)}项" in r.out


# --- rendering ------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["email", "file", "wecom"])
def test_every_format_says_the_figures(channel: str) -> None:
    ctx = sample_context("digest", channel)
    rendered = render_notice(ctx, environment(None))
    body = "\n".join(rendered.markdown) if channel == "wecom" else rendered.text + rendered.html
    # A coordinator may run several plans: the subject names this one, a long title cut short.
    title = ctx.extra["plan_title"]
    assert rendered.subject.startswith("《" + title.split("《")[0])
    assert rendered.subject.endswith("…》督办任务推进情况周报（截至2021年6月23日）")
    totals = ctx.extra["totals"]
    assert f"红灯{totals['red']}项" in body and f"无时限{totals['none']}项" in body
    for row in ctx.extra["overdue"]:
        assert row["title"][:30] in body and f"{row['days_overdue']}天" in body
    for unit in ctx.extra["missing_reports"]:
        assert unit["unit"] in body
    assert "申请延期至2021年9月30日" in body
    assert "请对逾期任务加强督办" in body


def test_wecom_neutralises_a_request_reason() -> None:
    ctx = sample_context("digest", "wecom")
    requests = [dict(ctx.extra["pending_requests"][0], reason="详见[链接](http://x.cn) <@all>")]
    ctx = dataclasses.replace(ctx, extra=dict(ctx.extra, pending_requests=requests))
    [message] = render_notice(ctx, environment(None)).markdown
    assert message.endswith("\n\n[进入督办系统](http://127.0.0.1:8080/)")  # its own link only
    message = message.removesuffix("\n\n[进入督办系统](http://127.0.0.1:8080/)")
    assert "[链接]" not in message and "http://" not in message and "<@all>" not in message
    assert "［链接］" in message


def test_html_escapes_what_people_wrote() -> None:
    ctx = sample_context("digest", "email")
    requests = [dict(ctx.extra["pending_requests"][0], reason="<b>急</b>", unit="<i>单位</i>")]
    overdue = [dict(ctx.extra["overdue"][0], title="<script>x</script>")]
    extra = dict(ctx.extra, pending_requests=requests, overdue=overdue, plan_title="<u>方案</u>")
    rendered = render_notice(dataclasses.replace(ctx, extra=extra), environment(None))
    for raw in ("<b>", "<i>", "<script>", "<u>"):
        assert raw not in rendered.html
    assert "&lt;script&gt;x&lt;/script&gt;" in rendered.html and "&lt;b&gt;急" in rendered.html
    assert "<script>x</script>" in rendered.text  # plain text stays as written


def test_long_lists_go_on_in_continuation_messages_without_a_row_lost() -> None:
    ctx = sample_context("digest", "wecom")
    units = [{"unit": f"第{i}个单位", "tasks": list(range(1, 30)), "count": 29}
             for i in range(200)]
    ctx = dataclasses.replace(ctx, extra=dict(ctx.extra, missing_reports=units))
    messages = render_notice(ctx, environment(None)).markdown
    for i, body in enumerate(messages):
        assert len(body.encode("utf-8")) <= WECOM_LIMIT
        if i:
            assert body.startswith(f"### 督办任务推进情况周报（续{i}）\n")
    listed = re.findall(r"^> (第\d+个单位)：29项（第[\d、]+项）$", "\n".join(messages), re.M)
    assert listed == [f"第{i}个单位" for i in range(200)]
    # the sections after the list and the closing lines are all there, in the last message
    assert "三、待审批的申请" in messages[-1]
    assert "市司法局（督办系统）" in messages[-1]
    assert "截断" not in "".join(messages)


def test_many_overdue_tasks_are_split_between_rows() -> None:
    base = sample_context("digest", "wecom")
    tasks = tuple(
        dataclasses.replace(base.tasks[0], no=n, title=f"第{n}项任务：推进公共法律服务体系建设" * 3)
        for n in range(1, 81)
    )
    ctx = sample_context("digest", "wecom", tasks=tasks)
    messages = render_notice(ctx, environment(None)).markdown
    assert len(messages) > 1
    seen = [int(n) for body in messages for n in re.findall(r"^> \*\*(\d+)\. ", body, re.M)]
    assert seen == list(range(1, 81))
    assert all(len(b.encode("utf-8")) <= WECOM_LIMIT for b in messages)
    assert "本计划共" in messages[0] and "本计划共" not in messages[1]
    assert "三、待审批的申请" in messages[-1] and "三、待审批的申请" not in messages[0]
