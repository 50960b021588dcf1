"""Service commands: `run` (the service, or one pass with --once), `simulate`, `outbox`."""

from __future__ import annotations

from datetime import date, datetime

import click

from engine.cli.context import AppContext
from engine.cli.main import cli, settled
from engine.cli.output import emit_json, info, json_option
from engine.clock import check_year, local_iso
from engine.errors import UserError

CHANNEL_LABELS = {"email": "电子邮件", "wecom": "企业微信", "wecom_app": "企业微信应用消息",
                  "dingtalk": "钉钉", "feishu": "飞书", "file": "文件"}
STATUS_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "待重试", "dead": "发送失败",
                 "dropped": "不再发送"}


def _kind_label(kind: str) -> str:
    from engine.notify.kinds import KIND_LABELS

    return KIND_LABELS.get(kind, kind)


def _tasks_text(tasks: list[int] | tuple[int, ...]) -> str:
    return "、".join(str(no) for no in tasks)


@cli.command("run")
@click.option("--once", is_flag=True, help="只检查和发送一次，然后退出（供 cron 和测试使用）")
@click.pass_obj
def run_command(ctx: AppContext, once: bool) -> None:
    """运行督办服务：按工作日历生成并发送提醒、催办和升级通知。"""
    from engine.logsetup import configure_logging
    from engine.service import Service

    configure_logging(ctx.settings)
    service = Service(ctx.settings, ctx.database, ctx.clock)
    settled()
    if not once:
        raise SystemExit(service.serve())
    service.start()
    summary = service.tick(ctx.now())
    rows = summary.planned
    click.echo(f"检查时间：{summary.at.isoformat(timespec='seconds')}")
    click.echo(f"生成通知：{len(rows)} 条")
    for row in rows:
        channel = CHANNEL_LABELS.get(row.channel, row.channel)
        tasks = _tasks_text(row.tasks)
        click.echo(f"  {_kind_label(row.kind)} → {row.recipient}（{channel}） 任务 {tasks}")
    if summary.dispatch is not None:
        click.echo(f"发送情况：{summary.dispatch}")


def _parse_day(text: str, option: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"{option} 的值“{text}”不是有效的日期，应为 YYYY-MM-DD，例如 2021-06-01"
        ) from None
    return check_year(day, option, text)


@cli.command("simulate")
@click.option("--from", "first", required=True, metavar="DATE", help="起始日期（YYYY-MM-DD）")
@click.option("--to", "last", required=True, metavar="DATE", help="结束日期（YYYY-MM-DD）")
@json_option
@click.pass_obj
def simulate_command(ctx: AppContext, first: str, last: str, as_json: bool) -> None:
    """在数据副本上模拟运行，列出每个工作日将发出的通知（不改动真实数据库）。"""
    from engine.simulation import simulate

    start, end = _parse_day(first, "--from"), _parse_day(last, "--to")

    def progress(day: date, percent: int) -> None:
        info(f"模拟进度：{day.isoformat()}（已完成 {percent}%）")

    notices = simulate(ctx.database_url, ctx.settings, start, end, progress)
    if as_json:
        emit_json([n.as_json() for n in notices])
        return
    if not notices:
        info(f"{start} 至 {end} 期间没有需要发出的通知")
        return
    from engine.cli.cmd_tasks import render_table

    # Task numbers repeat across plans: name the plan when there is more than one.
    several = len({n.plan_id for n in notices}) > 1
    rows = [
        [*([n.plan_id or ""] if several else []), n.at.isoformat(timespec="minutes"),
         _kind_label(n.kind), n.recipient, CHANNEL_LABELS.get(n.channel, n.channel),
         str(n.level), _tasks_text(n.tasks)]
        for n in notices
    ]
    headers = [*(["计划"] if several else []),
               "发送时间", "类型", "接收单位", "渠道", "级别", "任务"]
    click.echo(render_table(headers, rows))
    info(f"共 {len(notices)} 条通知（模拟，未实际发送）")


def _minute(moment: datetime | None, ctx: AppContext) -> str:
    return moment.astimezone(ctx.timezone).strftime("%Y-%m-%d %H:%M") if moment else "—"


@cli.command("outbox")
@click.option(
    "--status",
    metavar="S",
    help="只列出某一状态：pending/待发送、sent/已发送、failed/待重试、dead/发送失败、"
    "dropped/不再发送",
)
@json_option
@click.pass_obj
def outbox_command(ctx: AppContext, status: str | None, as_json: bool) -> None:
    """列出通知及其发送状态。"""
    from engine.store.outbox import STATUSES, list_notices

    if status is not None:
        # A status may be given as its code or as the label the table shows.
        by_label = {label: code for code, label in STATUS_LABELS.items()}
        status = by_label.get(status.strip(), status.strip())
        if status not in STATUSES:
            choices = "、".join(f"{code}（{STATUS_LABELS.get(code, code)}）" for code in STATUSES)
            raise UserError(f"--status 的值无效，应为 {choices} 之一")
    with ctx.database.read() as session:
        notices = list_notices(session, status)
    documents = [
        {
            "id": n.id,
            "kind": n.kind,
            "recipient": n.recipient,
            "channel": n.channel,
            "level": n.level,
            "tasks": list(n.tasks),
            "status": n.status,
            "attempts": n.attempts,
            "send_at": local_iso(n.send_at, ctx.timezone),
            "sent_at": local_iso(n.sent_at, ctx.timezone),
            "error": n.error,
        }
        for n in notices
    ]
    if as_json:
        emit_json(documents)
        return
    if not documents:
        info("发件箱中没有通知" if status is None else f"没有状态为 {status} 的通知")
        return
    from engine.cli.cmd_tasks import clip, render_table

    rows = [
        [str(n.id), _kind_label(n.kind), n.recipient, CHANNEL_LABELS.get(n.channel, n.channel),
         _tasks_text(n.tasks), STATUS_LABELS.get(n.status, n.status), str(n.attempts),
         _minute(n.send_at, ctx), _minute(n.sent_at, ctx), clip(n.error or "", 40)]
        for n in notices
    ]
    headers = ["编号", "类型", "接收单位", "渠道", "任务", "状态", "尝试次数",
               "应发时间", "实发时间", "错误"]
    click.echo(render_table(headers, rows))
