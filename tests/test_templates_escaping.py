"""Text that people or a plan file wrote is escaped in every HTML notice, neutralised in WeCom and
kept as written in plain text — for every kind and every field that can carry such text.

Each case puts one hostile value into one field and renders the notice; the escaped value must be
in the HTML (which also proves the field is rendered there), the raw tags must not.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.notify import kinds
from engine.notify.context import NoticeContext
from engine.notify.render import environment, render_notice
from engine.notify.samples import missing_contact_extra, sample_context
from engine.paths import templates_dir

PAYLOAD = "<script>alert(1)</script><b>x</b>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;"
MARKDOWN = "[点我](http://evil.example/x) <@zhangsan> @all **粗** <b>x</b>"

Change = Callable[[NoticeContext, str], NoticeContext]


def notice_field(name: str) -> Change:
    return lambda ctx, value: dataclasses.replace(ctx, **{name: value})


def task_field(name: str) -> Change:
    def change(ctx: NoticeContext, value: str) -> NoticeContext:
        first = dataclasses.replace(ctx.tasks[0], **{name: value})
        return dataclasses.replace(ctx, tasks=(first, *ctx.tasks[1:]))

    return change


def extra_field(name: str) -> Change:
    return lambda ctx, value: dataclasses.replace(ctx, extra={**ctx.extra, name: value})


def extra_list(name: str) -> Change:
    return lambda ctx, value: dataclasses.replace(ctx, extra={**ctx.extra, name: [value]})


def extra_row(rows: str, name: str) -> Change:
    def change(ctx: NoticeContext, value: str) -> NoticeContext:
        first = {**ctx.extra[rows][0], name: value}
        return dataclasses.replace(ctx, extra={**ctx.extra, rows: [first, *ctx.extra[rows][1:]]})

    return change


def variant(kind: str, channel: str, name: str) -> NoticeContext:
    """The sample notice of `kind`, or one of its other shapes where a field shows only there."""
    if name == "copy":  # a co-unit's copy shows each task's lead unit
        return sample_context(kind, channel, is_copy=True)
    if name == "units":  # the coordinator's progress_missing lists units
        return dataclasses.replace(sample_context(kind, channel, recipient="市司法局"), level=1)
    ctx = sample_context(kind, channel)
    if name == "missing_contact":
        return dataclasses.replace(ctx, extra=missing_contact_extra())
    if name == "invalid_members":  # sent, but WeCom knew some of the unit's members not
        extra = {
            **ctx.extra,
            "reason": "invalid_members",
            "failed_channel_label": "企业微信应用消息",
            "invalid_members": ["ghost"],
        }
        return dataclasses.replace(ctx, extra=extra)
    if name == "transition":
        extra = {**ctx.extra, "type": "transition", "to": "completed", "to_label": "已完成"}
        return dataclasses.replace(ctx, extra=extra)
    return ctx


TASK_KINDS = tuple(k for k in kinds.KINDS if k != "digest")
PLAN_TITLE_KINDS = ("reminder", "overdue", "escalation", "progress_request", "progress_missing")
PROGRESS_KINDS = (
    "overdue",
    "escalation",
    "progress_request",
    "progress_missing",
    "approval_request",
)

CASES: list[tuple[str, str, str, Change]] = [
    *[(k, "", "recipient", notice_field("recipient")) for k in kinds.KINDS],
    *[(k, "", "coordinator", notice_field("coordinator")) for k in kinds.KINDS],
    *[(k, "", "task title", task_field("title")) for k in TASK_KINDS],
    *[(k, "", "deadline text", task_field("deadline_text")) for k in TASK_KINDS],
    *[(k, "", "plan title", notice_field("plan_title")) for k in PLAN_TITLE_KINDS],
    *[(k, "", "progress text", task_field("progress")) for k in PROGRESS_KINDS],
    *[
        (k, "", "lead unit", task_field("lead"))
        for k in ("escalation", "approval_request", "delivery_failure")
    ],
    *[(k, "copy", "lead unit", task_field("lead")) for k in ("reminder", "overdue")],
    ("progress_missing", "units", "lead unit", task_field("lead")),
    ("progress_missing", "units", "task title", task_field("title")),
    ("progress_missing", "units", "deadline text", task_field("deadline_text")),
    ("progress_missing", "units", "plan title", notice_field("plan_title")),
    ("approval_request", "", "requesting unit", extra_field("unit")),
    ("approval_request", "", "request reason", extra_field("request_reason")),
    ("approval_request", "transition", "requested status", extra_field("to_label")),
    ("approval_decision", "", "decision reason", extra_field("decision_reason")),
    ("approval_decision", "", "deciding office", extra_field("by")),
    ("approval_decision", "transition", "decided status", extra_field("to_label")),
    ("delivery_failure", "", "error text", extra_field("error")),
    ("delivery_failure", "", "failed recipient", extra_field("failed_recipient")),
    ("delivery_failure", "missing_contact", "unit without contact", extra_list("missing_contacts")),
    ("delivery_failure", "invalid_members", "unknown member", extra_list("invalid_members")),
    ("delivery_failure", "invalid_members", "failed recipient", extra_field("failed_recipient")),
    ("digest", "", "plan title", extra_field("plan_title")),
    ("digest", "", "overdue task title", extra_row("overdue", "title")),
    ("digest", "", "overdue task lead unit", extra_row("overdue", "lead")),
    ("digest", "", "unit not reported", extra_row("missing_reports", "unit")),
    ("digest", "", "request task title", extra_row("pending_requests", "title")),
    ("digest", "", "requesting unit", extra_row("pending_requests", "unit")),
    ("digest", "", "request reason", extra_row("pending_requests", "reason")),
]
IDS = [f"{kind}{'-' + shape if shape else ''}-{field}" for kind, shape, field, _ in CASES]
# the coordinator's WeCom list of units names each task without its deadline, to stay short
NOT_IN_WECOM = {("progress_missing", "units", "deadline text")}


def without_link(message: str, url: str) -> str:
    """`message` without the link line that ends it, which must be the notice's own link."""
    rest, _, last = message.rpartition("\n\n")
    words, note = r"\[(点击办理|点击审批|进入督办系统)\]", r"(（\d+天内有效，请勿转发）)?"
    pattern = words + r"\(" + re.escape(url) + r"\)" + note
    assert re.fullmatch(pattern, last), last
    return rest


@pytest.fixture(scope="module")
def env():
    return environment(None)


def hostile(kind: str, shape: str, change: Change, channel: str, value: str) -> NoticeContext:
    return change(variant(kind, channel, shape), value)


@pytest.mark.parametrize(("kind", "shape", "field", "change"), CASES, ids=IDS)
def test_html_escapes_the_field(env: Any, kind: str, shape: str, field: str, change: Change):
    html = render_notice(hostile(kind, shape, change, "email", PAYLOAD), env).html
    assert ESCAPED in html, f"{field} is not in the HTML, escaped"
    assert "<script" not in html and "<b>" not in html and "</b>" not in html
    assert "&amp;lt;" not in html  # escaped once, not twice


@pytest.mark.parametrize(("kind", "shape", "field", "change"), CASES, ids=IDS)
def test_plain_text_keeps_the_field_as_written(
    env: Any, kind: str, shape: str, field: str, change: Change
):
    rendered = render_notice(hostile(kind, shape, change, "file", PAYLOAD), env)
    assert PAYLOAD in rendered.text, f"{field} is not in the text as written"
    assert "&lt;" not in rendered.text and "&lt;" not in rendered.subject


@pytest.mark.parametrize("channel", ["wecom", "dingtalk", "feishu"])
@pytest.mark.parametrize("value", [PAYLOAD, MARKDOWN], ids=["html", "markdown"])
@pytest.mark.parametrize(("kind", "shape", "field", "change"), CASES, ids=IDS)
def test_messengers_neutralise_the_field(
    env: Any, kind: str, shape: str, field: str, change: Change, value: str, channel: str
):
    ctx = hostile(kind, shape, change, channel, value)
    assert ctx.link is not None
    messages = render_notice(ctx, env).markdown
    # the only link is the notice's own, closing each message
    body = "\n".join(without_link(message, ctx.link.url) for message in messages)
    words = "alert" if value is PAYLOAD else "点我"
    if (kind, shape, field) not in NOT_IN_WECOM:
        assert words in body, f"{field} is not in the WeCom message"
    assert "[" not in body and "](" not in body and "http://" not in body
    assert "<@" not in body and "@all" not in body and "**粗**" not in body
    assert "&lt;" not in body and "&amp;" not in body
    for line in body.splitlines():
        # the only tags are the template's own colours (WeCom's only: DingTalk shows them as
        # written, Feishu's lines are plain text); no heading comes from the data
        tags = r'<font color="\w+">|</font>' if channel == "wecom" else r"$^"
        assert re.sub(tags, "", line).count("<") == 0, line
        assert not line.startswith("#") or line.startswith("### ")


@pytest.mark.parametrize("value", [PAYLOAD, MARKDOWN], ids=["html", "markdown"])
@pytest.mark.parametrize(("kind", "shape", "field", "change"), CASES, ids=IDS)
def test_the_wecom_app_card_neutralises_the_field(
    env: Any, kind: str, shape: str, field: str, change: Change, value: str
):
    ctx = hostile(kind, shape, change, "wecom_app", value)
    card = render_notice(ctx, env).card
    assert card is not None
    if field == "recipient":
        assert ("alert" if value is PAYLOAD else "点我") in card.description
    # the only tags are the card's own three classes
    rest = re.sub(r'<div class="(gray|normal|highlight)">|</div>', "", card.description)
    assert "<" not in rest and ">" not in rest
    assert "[" not in rest and "](" not in rest and "http://" not in rest
    assert "@all" not in rest and "&lt;" not in rest and "&amp;" not in rest
    assert len(card.description.encode()) <= 512


@pytest.mark.parametrize("kind", kinds.KINDS)
def test_the_templates_own_markup_stays_markup(env: Any, kind: str):
    """Escaping the data leaves the wording and the layout alone: nothing is escaped twice."""
    rendered = render_notice(sample_context(kind, "email"), env)
    assert "&lt;" not in rendered.html and "&amp;" not in rendered.html
    assert "<table" in rendered.html or "<p" in rendered.html
    assert "&" not in rendered.text


def test_an_overriding_wording_escapes_in_html_too(tmp_path: Path):
    """An office's own wording file is shared by every format like the bundled one, and escapes."""
    (tmp_path / "reminder").mkdir()
    bundled = (templates_dir() / "reminder" / "wording.j2").read_text(encoding="utf-8")
    own = bundled.replace("现予提醒。", "（{{ tasks[0].title }}）现予提醒。")
    (tmp_path / "reminder" / "wording.j2").write_text(own, encoding="utf-8")
    ctx = task_field("title")(sample_context("reminder", "email"), PAYLOAD)
    rendered = render_notice(ctx, environment(str(tmp_path)))
    assert f"（{ESCAPED}）现予提醒。" in rendered.html and "<script" not in rendered.html
    assert f"（{PAYLOAD}）现予提醒。" in rendered.text
