"""Commands on notices: see one before it goes out, test a unit's channel, send a dead one again.

`preview KIND` renders a notice from the real data (a task's title, deadline, status, light, the
plan's coordinator) as it would be sent now; `send-test` sends a short test message to one unit on
one channel and prints the provider's answer in one line; `retry ID` puts a notice back in the
queue.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import TYPE_CHECKING

import click

from engine.cli.context import AppContext
from engine.cli.main import cli
from engine.cli.output import NUMBER, info
from engine.errors import UserError
from engine.notify.kinds import CHANNEL_LABELS, CHANNELS, KINDS

if TYPE_CHECKING:
    from engine.notify.channels.base import Message
    from engine.notify.context import NoticeContext

_COORDINATOR_KINDS = {"escalation", "approval_request", "digest", "delivery_failure"}
_CHANNEL_LABELS = CHANNEL_LABELS
_CHANNEL_HELP = "渠道：" + "、".join(CHANNELS)
_MESSENGER_LABELS = {"wecom": "企业微信消息", "dingtalk": "钉钉消息", "feishu": "飞书消息"}


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UserError(f"通知类型“{kind}”无效，应为 {'、'.join(KINDS)} 之一")
    return kind


def _check_channel(channel: str, where: str = "--channel") -> str:
    if channel not in CHANNELS:
        raise UserError(f"{where} 的值“{channel}”无效，应为 {'、'.join(CHANNELS)} 之一")
    return channel


def _next_report_day(today: date, day: int) -> date:
    this_month = today.replace(day=day)
    if this_month >= today:
        return this_month
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, day)


@cli.command("preview")
@click.argument("kind")
@click.option(
    "--task", "task_no", type=NUMBER, metavar="NO", help="任务序号（默认：自动选取）"
)
@click.option(
    "--channel", default="email", show_default=True, metavar="C", help=_CHANNEL_HELP
)
@click.option("--plan", "plan_id", metavar="ID", help="计划标识（库中只有一个计划时可省略）")
@click.option("--html", "show_html", is_flag=True, help="邮件/文件渠道：输出 HTML 正文")
@click.pass_obj
def preview_command(
    app: AppContext,
    kind: str,
    task_no: int | None,
    channel: str,
    plan_id: str | None,
    show_html: bool,
) -> None:
    """预览一条通知（按当前数据渲染，不发送）。"""
    from engine.notify.render import environment_for, render_notice

    _check_kind(kind)
    _check_channel(channel)
    ctx = _preview_context(app, kind, task_no, channel, plan_id)
    rendered = render_notice(ctx, environment_for(app.settings))
    if channel in _MESSENGER_LABELS:
        total = len(rendered.markdown)
        for number, body in enumerate(rendered.markdown, start=1):
            size = len(body.encode("utf-8"))
            click.echo(f"—— {_MESSENGER_LABELS[channel]} 第 {number}/{total} 条（{size} 字节）——")
            if channel == "dingtalk" or channel == "feishu":
                click.echo(f"标题：{rendered.subject}")
            click.echo(body)
        return
    if channel == "wecom_app" and rendered.card is not None:
        card = rendered.card
        size = len(card.description.encode("utf-8"))
        click.echo(f"—— 企业微信应用消息 卡片（描述 {size} 字节）——")
        click.echo(f"标题：{card.title}")
        click.echo(f"描述：{card.description}")
        click.echo(f"按钮：{card.button}")
        return
    click.echo(f"主题：{rendered.subject}")
    click.echo("")
    click.echo(rendered.html if show_html else rendered.text, nl=False)


def _preview_context(
    app: AppContext, kind: str, task_no: int | None, channel: str, plan_id: str | None
) -> NoticeContext:
    from engine.notify.compose import NoticeSpec, build_context
    from engine.notify.samples import _extra, sample_context
    from engine.store.models import Plan, Task
    from engine.store.repository import choose_plan, get_task, lead_of, plan_ids, tasks_of_plan

    now = app.now()
    with app.database.read() as session:
        if plan_id is None and task_no is None and not plan_ids(session):
            info("数据库中还没有计划，以下为示例数据渲染的通知（载入计划后将按实际数据渲染）")
            sample = sample_context(kind, channel, web=app.settings.web)
            return dataclasses.replace(sample, notice_date=now.date())
        plan: Plan = choose_plan(session, plan_id)
        tasks = tasks_of_plan(session, plan.id)
        if task_no is not None:
            chosen: list[Task] = [get_task(session, plan, task_no)]
        else:
            open_tasks = [t for no, t in sorted(tasks.items()) if t.status != "completed"]
            chosen = open_tasks or [t for _, t in sorted(tasks.items())]
            if kind not in ("digest",):
                lead = next((lead_of(t) for t in chosen if lead_of(t)), None)
                chosen = [t for t in chosen if lead_of(t) == lead][:5] if lead else chosen[:1]
        if not chosen:
            raise UserError(f"计划 {plan.id} 中没有任务，无法预览")
        coordinator = plan.coordinator.name if plan.coordinator else ""
        lead = lead_of(chosen[0]) or coordinator or "（未明确牵头单位）"
        recipient = coordinator if kind in _COORDINATOR_KINDS and coordinator else lead
        context: dict[str, object] = dict(_extra(kind))
        if kind in ("approval_request", "approval_decision"):
            context.update(unit=lead, by=coordinator or "统筹单位")
        if kind == "delivery_failure":
            context.update(failed_recipient=lead)
        if kind == "progress_request":
            day = _next_report_day(now.date(), app.settings.policy.report_day)
            context["report_day"] = day.isoformat()
        numbers = tuple(t.no for t in chosen)
        if kind == "digest":  # the plan's figures now, as the service would store them
            from engine.ledger.query import digest_of

            figures = digest_of(session, plan_id=plan.id, now=now, settings=app.settings)
            context, numbers = figures, tuple(row["no"] for row in figures["overdue"])
        spec = NoticeSpec(
            kind=kind,
            recipient=recipient,
            channel=channel,
            plan_id=plan.id,
            tasks=numbers,
            level=1 if kind == "escalation" else 0,
            send_at=now,
            context=context,
        )
        return build_context(session, spec, app.settings, now)


@cli.command("send-test")
@click.option("--unit", required=True, metavar="U", help="单位名称（或其别名）")
@click.option("--channel", required=True, metavar="C", help=_CHANNEL_HELP)
@click.pass_obj
def send_test_command(app: AppContext, unit: str, channel: str) -> None:
    """立即向一个单位发送一条测试通知，并报告结果。"""
    from engine.notify.directory import canonical_unit, contact_of
    from engine.notify.dispatcher import build_channels
    from engine.notify.secrets import collect, mask

    _check_channel(channel)
    settings = app.settings
    collect(settings)
    name = canonical_unit(unit, settings)
    if name not in settings.units:
        # neither in the contact directory nor a unit of a loaded plan: a typo, not a recipient
        from engine.store.board import unit_id

        with app.database.read() as session:
            unit_id(session, name, where="--unit")
    contact = contact_of(name, settings)
    if channel == "email":
        if settings.channels.email is None:
            raise UserError("配置文件中没有 [channels.email]，无法发送电子邮件")
        if not contact or not contact.email:
            raise UserError(f'单位“{name}”未配置电子邮箱（配置文件 [units."{name}"] 的 email）')
    if channel == "wecom" and (not contact or not contact.wecom):
        raise UserError(f'单位“{name}”未配置企业微信群机器人（配置文件 [units."{name}"] 的 wecom）')
    if channel == "wecom_app":
        if settings.channels.wecom_app is None:
            raise UserError("配置文件中没有 [channels.wecom_app]，无法发送企业微信应用消息")
        if not contact or not contact.wecom_users:
            raise UserError(
                f'单位“{name}”未配置企业微信成员账号（配置文件 [units."{name}"] 的 wecom_users）'
            )
    if channel == "dingtalk" and (not contact or not contact.dingtalk):
        raise UserError(f'单位“{name}”未配置钉钉群机器人（配置文件 [units."{name}"] 的 dingtalk）')
    if channel == "feishu" and (not contact or not contact.feishu):
        raise UserError(f'单位“{name}”未配置飞书群机器人（配置文件 [units."{name}"] 的 feishu）')
    now = app.now()
    message = _test_message(name, channel, now)
    message = dataclasses.replace(
        message,
        emails=tuple(contact.email) if contact else (),
        webhook=contact.wecom if contact else None,
        mobiles=tuple(contact.mobiles) if contact else (),
    )
    channels = build_channels(settings)
    try:
        delivery = channels[channel].send(message, now)
    finally:
        for each in channels.values():
            each.close()
    if delivery.ok:
        click.echo(
            f"测试通知已发送至 {name}（{_CHANNEL_LABELS[channel]}）：{mask(delivery.detail)}"
        )
        return
    click.echo(
        f"duban: 测试通知发送失败（{_CHANNEL_LABELS[channel]}，{name}）：{mask(delivery.detail)}",
        err=True,
    )
    raise SystemExit(1)


def _test_message(unit: str, channel: str, now: datetime) -> Message:
    from html import escape

    from engine.notify.channels.base import Message
    from engine.notify.render import cn_date, md_escape

    day = cn_date(now)
    sentence = (
        f"这是督办系统发出的测试通知，用于确认贵单位能够通过{_CHANNEL_LABELS[channel]}"
        "正常接收督办通知，无需回复。"
    )
    text = f"{unit}：\n\n　　{sentence}\n\n督办系统\n{day}\n"
    html = (
        f'<p>{escape(unit)}：</p><p style="text-indent:2em">{sentence}</p>'
        f'<p style="text-align:right">督办系统<br>{day}</p>'
    )
    markdown = {  # each messenger's own markup: WeCom's colours, DingTalk's plain markdown
        "wecom": (
            f"### 督办系统测试通知\n**{md_escape(unit)}**：\n{sentence}\n"
            f'<font color="comment">督办系统　{day}</font>'
        ),
        "dingtalk": (
            f"### 督办系统测试通知\n**{md_escape(unit)}**：\n\n{sentence}\n\n督办系统　{day}"
        ),
        "feishu": f"{md_escape(unit)}：\n{sentence}\n\n督办系统　{day}",
    }.get(channel)
    return Message(
        notice_id=None,
        kind="test",
        recipient=unit,
        subject="【测试】督办系统通知渠道测试",
        text=text,
        html=html,
        markdown=(markdown,) if markdown else (),
        send_date=now.date(),
    )


@cli.command("retry")
@click.argument("notice_id", metavar="ID")
@click.pass_obj
def retry_command(app: AppContext, notice_id: str) -> None:
    """将一条发送失败的通知重新排队发送。"""
    from engine.notify.queue import requeue
    from engine.store.outbox import PENDING, SENT, OutboxNotice

    try:
        number = int(notice_id)
    except ValueError:
        raise UserError(f"通知编号“{notice_id}”无效，应为整数（见 duban outbox）") from None
    if not 1 <= number <= NUMBER.LARGEST:
        raise UserError(f"通知 #{number} 不存在；可用 duban outbox 查看全部通知")
    now = app.now()
    with app.database.transaction() as session:
        row = session.get(OutboxNotice, number)
        if row is None:
            raise UserError(f"通知 #{number} 不存在；可用 duban outbox 查看全部通知")
        if row.status == SENT:
            when = row.sent_at.isoformat(timespec="seconds") if row.sent_at else "此前"
            raise UserError(f"通知 #{number} 已于 {when} 发送成功，无需重发")
        if row.status == PENDING:
            # Requeueing it would pull a later send time forward and free a dispatcher's claim.
            raise UserError(
                f"通知 #{number} 尚在等待发送，无需重发；只有发送失败（dead）"
                "或等待重试（failed）的通知可以重发"
            )
        previous = row.status
        requeue(session, number, now)
    click.echo(f"通知 #{number}（原状态：{previous}）已重新排队，将在下一次发送时送出")
