"""The notice kinds and the one place that names their templates.

Every kind has four templates under `templates/notifications/<kind>/`: the email subject, the plain
text body, the HTML body and the WeCom markdown body. The `file` channel writes the subject, the
text and the HTML, like an email. A config `templates.dir` may override any single file.
"""

from __future__ import annotations

KINDS: tuple[str, ...] = (
    "reminder",
    "overdue",
    "escalation",
    "progress_request",
    "progress_missing",
    "approval_request",
    "approval_decision",
    "digest",
    "delivery_failure",
)

KIND_LABELS: dict[str, str] = {
    "reminder": "到期提醒",
    "overdue": "逾期督办",
    "escalation": "逾期升级督办",
    "progress_request": "推进情况报送通知",
    "progress_missing": "推进情况催报",
    "approval_request": "审批请示",
    "approval_decision": "审批结果",
    "digest": "督办周报",
    "delivery_failure": "通知发送失败报告",
}

SUBJECT = "subject.txt.j2"
TEXT = "body.txt.j2"
HTML = "body.html.j2"
WECOM = "wecom.md.j2"
PARTS: tuple[str, ...] = (SUBJECT, TEXT, HTML, WECOM)

CHANNELS: tuple[str, ...] = ("email", "wecom", "file")
CHANNEL_PARTS: dict[str, tuple[str, ...]] = {
    "email": (SUBJECT, TEXT, HTML),
    "file": (SUBJECT, TEXT, HTML),
    "wecom": (WECOM,),
}


def template_name(kind: str, part: str) -> str:
    """The loader name of one template, e.g. `reminder/subject.txt.j2`."""
    return f"{kind}/{part}"
