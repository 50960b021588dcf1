"""A sample notice of every kind, for `duban preview` without data and for the template tests."""

from __future__ import annotations

import dataclasses
from datetime import date

from engine.config import WebSettings
from engine.notify.context import NoticeContext, TaskLine

SAMPLE_PLAN_TITLE = (
    "珠海市人民政府落实《珠海市人民代表大会常务委员会关于促进市人民政府建设粤港澳大湾区"
    "优质公共法律服务体系的决定》实施方案分工推进情况汇总表"
)

SAMPLE_TASKS: tuple[TaskLine, ...] = (
    TaskLine(
        no=1,
        title="宽视野高标准统筹谋划公共法律服务体系建设",
        deadline_text="2021年6月30日前",
        due=date(2021, 6, 30),
        status="in_progress",
        status_label="推进中",
        light="yellow",
        lead="市发改局",
        co_units=("市财政局", "市司法局"),
        progress="已起草《关于加快推进公共法律服务体系建设的意见》征求意见稿。",
        days_left=7,
    ),
    TaskLine(
        no=3,
        title="将仲裁、公证、调解、律师、法律援助等纳入涉及粤港澳大湾区和“一带一路”建设的工作体系",
        deadline_text="2021年6月30日前",
        due=date(2021, 6, 30),
        status="not_started",
        status_label="未启动",
        light="yellow",
        lead="市发改局",
        co_units=("市人社局", "市司法局"),
        days_left=7,
    ),
)


def missing_contact_extra() -> dict[str, object]:
    """What the planner puts in a delivery_failure notice for units without any contact."""
    return {
        "reason": "missing_contact",
        "missing_contacts": ["珠海仲裁委"],
        "missing_kinds": {"珠海仲裁委": ["reminder", "overdue"]},
        "failed_kind": "reminder",
    }


def digest_extra(tasks: tuple[TaskLine, ...], as_of: date = date(2021, 6, 23)) -> dict[str, object]:
    """A digest's figures, the shape engine.ledger.digest.digest_content gives, with `tasks` as
    its overdue tasks (the notice lists those, so that WeCom can cut between them)."""
    overdue = [
        {
            "no": t.no,
            "title": t.title,
            "lead": t.lead,
            "deadline_text": t.deadline_text,
            "due": t.due.isoformat() if t.due else None,
            "days_overdue": t.days_overdue,
        }
        for t in tasks
    ]
    totals = {"red": len(overdue), "yellow": 3, "green": 6, "done": 3, "none": 2}
    return {
        "plan_id": "zhuhai-gba-legal-services",
        "plan_title": SAMPLE_PLAN_TITLE,
        "as_of": as_of.isoformat(),
        "total": sum(totals.values()),
        "totals": totals,
        "overdue": overdue,
        "report_period": {"start": "2021-04-25", "end": "2021-05-25"},
        "missing_reports": [
            {"unit": "市发改局", "tasks": [1, 3], "count": 2},
            {"unit": "市人社局", "tasks": [15], "count": 1},
        ],
        "pending_requests": [
            {
                "id": 12,
                "no": 1,
                "title": SAMPLE_TASKS[0].title,
                "unit": "市发改局",
                "type": "extension",
                "type_label": "延期",
                "to": None,
                "to_label": "",
                "until": "2021-09-30",
                "reason": "意见稿需提请市政府常务会议审议，会期安排在9月。",
                "at": "2021-06-18",
                "days_waiting": 5,
            }
        ],
    }


def _overdue(tasks: tuple[TaskLine, ...]) -> tuple[TaskLine, ...]:
    """The sample tasks as overdue on the sample day."""
    return tuple(
        dataclasses.replace(
            t, light="red", days_left=-12, due=date(2021, 6, 11), deadline_text="2021年6月11日前"
        )
        for t in tasks
    )


def _extra(kind: str) -> dict[str, object]:
    if kind == "digest":
        return digest_extra(_overdue(SAMPLE_TASKS))
    if kind == "approval_request":
        return {
            "request_id": 12,
            "type": "extension",
            "unit": "市发改局",
            "to_label": "",
            "until": date(2021, 9, 30),
            "request_reason": "意见稿需提请市政府常务会议审议，会期安排在9月。",
        }
    if kind == "approval_decision":
        return {
            "request_id": 12,
            "type": "extension",
            "decision": "approved",
            "to_label": "",
            "until": date(2021, 9, 30),
            "decision_reason": "同意延期，请确保9月底前完成。",
            "by": "市司法局",
        }
    if kind == "delivery_failure":
        return {
            "failed_id": 57,
            "failed_kind": "reminder",
            "failed_recipient": "市发改局",
            "failed_channel_label": "企业微信",
            "error": "企业微信返回 93000：invalid webhook url",
            "attempts": 1,
        }
    return {}


def sample_extra(kind: str, tasks: tuple[TaskLine, ...] = SAMPLE_TASKS) -> dict[str, object]:
    """The kind-specific data of the sample notice of `kind` (a digest's figures over `tasks`)."""
    return digest_extra(tasks) if kind == "digest" else _extra(kind)


_TO_COORDINATOR = {"escalation", "approval_request", "digest", "delivery_failure"}

SAMPLE_TOKEN = "sample-link-token"
"""Stands for the signed token of a real notice (`engine.actions.people.link_token`)."""


def sample_context(
    kind: str,
    channel: str = "file",
    *,
    tasks: tuple[TaskLine, ...] = SAMPLE_TASKS,
    recipient: str | None = None,
    is_copy: bool = False,
    web: WebSettings | None = None,
) -> NoticeContext:
    """A notice of `kind` as it would go out on 2021-06-23 about tasks 1 and 3 of the seed plan,
    with the link it would carry (`web`: the `[web]` settings, the defaults if not given)."""
    coordinator = "市司法局"
    if kind in ("overdue", "escalation", "digest") and tasks is SAMPLE_TASKS:
        tasks = _overdue(tasks)
    if recipient is None:
        recipient = coordinator if kind in _TO_COORDINATOR else "市发改局"
    ctx = NoticeContext(
        kind=kind,
        recipient=recipient,
        channel=channel,
        level=1 if kind == "escalation" else 0,
        is_copy=is_copy,
        plan_id="zhuhai-gba-legal-services",
        plan_title=SAMPLE_PLAN_TITLE,
        coordinator=coordinator,
        notice_date=date(2021, 6, 23),
        tasks=tasks,
        notice_id=None,
        occurrence="2021-W25" if kind == "digest" else "2021-06-23",
        reply_by=date(2021, 6, 25) if kind == "progress_request" else None,
        extra=sample_extra(kind, tasks),
    )
    web = web or WebSettings()
    link = ctx.link_for(web.base_url, web.link_days, lambda _unit: SAMPLE_TOKEN)
    return dataclasses.replace(ctx, link=link)
