"""The notice kinds and the one place that names their templates.

Every kind has seven templates under `templates/notifications/<kind>/`: the email subject, the
plain text body, the HTML body, the WeCom robot's markdown, the DingTalk robot's markdown, the lines
of a Feishu robot's rich text (post) and the description of a wecom_app text card. The `file`
channel writes the subject, the text and the HTML, like an email. A config `templates.dir` may
override any single file.
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
DINGTALK = "dingtalk.md.j2"
FEISHU = "feishu.txt.j2"
WECOM_APP = "wecom_app.card.j2"
PARTS: tuple[str, ...] = (SUBJECT, TEXT, HTML, WECOM, DINGTALK, FEISHU, WECOM_APP)

CHANNELS: tuple[str, ...] = ("email", "wecom", "wecom_app", "dingtalk", "feishu", "file")
CHANNEL_PARTS: dict[str, tuple[str, ...]] = {
    "email": (SUBJECT, TEXT, HTML),
    "file": (SUBJECT, TEXT, HTML),
    "wecom": (SUBJECT, WECOM),
    "wecom_app": (SUBJECT, TEXT, WECOM_APP),
    "dingtalk": (SUBJECT, DINGTALK),
    "feishu": (SUBJECT, FEISHU),
}
"""The templates each channel's notice is rendered from (the messengers' body last)."""

CHANNEL_LABELS: dict[str, str] = {
    "email": "电子邮件",
    "wecom": "企业微信",
    "wecom_app": "企业微信应用消息",
    "dingtalk": "钉钉",
    "feishu": "飞书",
    "file": "文件",
}
"""The channels as notices and command output name them."""


def template_name(kind: str, part: str) -> str:
    """The loader name of one template, e.g. `reminder/subject.txt.j2`."""
    return f"{kind}/{part}"
