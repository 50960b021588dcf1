"""`duban doctor [--network]`: check what the service needs before it has to send anything.

Checks, in order: the config; the plan files and what the importer flagged; the database
(reachable, schema at the newest migration); a contact for every unit a plan makes responsible
(only with a config: without one every unit uses the file channel); robot URLs usable (host
allowed, read alike by every parser, before and after `${NAME}` expansion); no SMTP login over a
plain connection; every `${NAME}` and `password_env` set; the file channel's folder writable; the
official holiday calendar (the package, the notices `duban calendar import` stored) for every year
with a due date. With `--network`: an SMTP handshake and a request that sends no message to every
robot whose URL passed the check (no other host is contacted), each within its own total deadline.

One line per problem ("问题：…") on stdout and nothing else there, exit 1 when there is any; the
verdict ("共发现 N 个问题" or "检查通过") and notes that are not problems go to stderr. `--json`:
{"problems": [...], "notes": [...]}.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import click

from engine.cli.context import AppContext
from engine.cli.main import cli
from engine.cli.output import emit_json, info, json_option
from engine.config import Settings
from engine.errors import DubanError, UserError
from engine.notify.channels.checks import check_messengers, probe_messengers

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NETWORK_TIMEOUT = 10.0  # doctor waits less than a delivery would


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)


@dataclass
class Duty:
    """One unit made responsible by one plan: as lead, co-unit or coordinator."""

    plan: str
    unit: str
    role: str
    task: int | None = None


@dataclass
class PlanView:
    """What doctor needs of a plan, from its file or from the database."""

    id: str
    where: str
    duties: list[Duty]
    due_years: set[int]
    attention: list[str]


@cli.command("doctor")
@click.option(
    "--network", is_flag=True, help="同时测试邮件服务器和企业微信机器人能否连通（不发送消息）"
)
@json_option
@click.pass_obj
def doctor_command(app: AppContext, network: bool, as_json: bool) -> None:
    """检查配置、通讯录、数据库、日历和通道，每个问题一行。"""
    findings = Findings()
    try:
        settings = app.settings
    except UserError as exc:
        findings.problem(str(exc))
    else:
        run_checks(app, settings, findings, network=network)
    for note in findings.notes:
        info(f"提示：{note}")
    # stdout holds exactly one line per problem (or the JSON document); the verdict is for a person
    if as_json:
        emit_json({"problems": findings.problems, "notes": findings.notes})
    else:
        for problem in findings.problems:
            click.echo(f"问题：{problem}")
    if findings.problems:
        info(f"共发现 {len(findings.problems)} 个问题")
        sys.exit(1)
    info("检查通过")


def run_checks(app: AppContext, settings: Settings, findings: Findings, *, network: bool) -> None:
    if settings.configured:
        findings.notes.append(f"配置文件 {settings.source}")
    else:
        findings.notes.append("未指定配置文件（--config 或 DUBAN_CONFIG），使用内置默认值，"
                              "所有单位的通知写入文件通道")
    plans = plan_views(app, settings, findings)
    if settings.configured:
        check_contacts(settings, plans, findings)
    check_robot_hosts(settings, findings)
    check_messengers(settings, findings.problem)
    check_email_security(settings, findings)
    check_email_addresses(settings, findings)
    check_imap_ca(settings, findings)
    check_env(settings, findings)
    check_outbox(settings, findings)
    check_templates(settings, findings)
    check_calendar(app, settings, plans, findings)
    check_fonts(findings)
    for plan in plans:
        for line in plan.attention:
            findings.problem(line)
    if network:
        check_smtp(settings, findings)
        check_imap(settings, findings)
        check_robots(settings, findings)
        probe_messengers(settings, findings.problem, _NETWORK_TIMEOUT)


# --- plans and database -----------------------------------------------------------------------


def plan_views(app: AppContext, settings: Settings, findings: Findings) -> list[PlanView]:
    """The plans the service runs: its plan files, and plans only the database holds."""
    from engine.planfile import read_plan
    from engine.plans import NONE, plan_files, plans_folder

    views: list[PlanView] = []
    try:
        folder = plans_folder(settings)
    except UserError as exc:
        findings.problem(str(exc))
    else:
        if folder.origin == NONE:
            findings.notes.append("配置文件未设置 service.plans_dir：只检查数据库中已载入的计划")
        else:
            findings.notes.append(f"计划文件来自{folder.label}")
        for path in plan_files(folder.path) if folder.path.is_dir() else []:
            try:
                views.append(_file_view(read_plan(path), path))
            except UserError as exc:
                findings.problem(str(exc))
    known = {v.id for v in views}
    views += [v for v in database_views(app, findings) if v.id not in known]
    return views


def _file_view(plan: Any, path: Path) -> PlanView:
    def name(unit: str) -> str:
        return plan.aliases.get(unit, unit)

    duties = [Duty(plan.id, name(plan.coordinator), "coordinator")] if plan.coordinator else []
    years: set[int] = set()
    attention = []
    where = f"计划 {plan.id}（{path}）"
    if not plan.coordinator:
        attention.append(f"{where}未填写统筹单位（plan.coordinator），状态变更和延期申请无法审批")
    flagged = {w.task for w in plan.warnings}
    for task in plan.tasks:
        if task.lead:
            duties.append(Duty(plan.id, name(task.lead), "lead", task.no))
        duties += [Duty(plan.id, name(u), "co", task.no) for u in task.co_units if u != task.lead]
        deadline = task.deadline
        years.update(d.year for d in [deadline.due, *(m.due for m in deadline.milestones)] if d)
        if task.no in flagged:
            continue
        reasons = _attention(task.lead, str(deadline.kind), deadline.text)
        if reasons:
            attention.append(f"{where}任务 {task.no}：{'，'.join(reasons)}")
    for warning in plan.warnings:
        task_part = f"任务 {warning.task}：" if warning.task is not None else ""
        attention.append(f"{where}{task_part}{warning.message}"
                         "（导入时的警告：核对并修改计划文件后，删除其 warnings 中的这一条）")
    return PlanView(plan.id, where, duties, years, attention)


def _attention(lead: str | None, kind: str, deadline_text: str) -> list[str]:
    from engine.model.lights import attention

    return attention(lead=lead, kind=kind, deadline_text=deadline_text)


def database_views(app: AppContext, findings: Findings) -> list[PlanView]:
    """Check the database without creating or upgrading it; its plans when it is up to date."""
    from sqlalchemy.engine import make_url

    from engine.store.database import shown_url

    url = app.database_url
    try:
        parsed = make_url(url)
    except Exception:  # any parse failure is the same mistake
        findings.problem(f"数据库地址“{shown_url(url)}”无效，例如 sqlite:///var/duban.db")
        return []
    shown = shown_url(url)  # the password hidden, also when an unescaped @ cuts it in two
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.exists() and not path.parent.parent.is_dir():
            # the store makes only the file's own folder, so such a URL cannot work
            findings.problem(f"数据库 {shown} 所在的目录 {path.parent.parent} 不存在，请检查路径")
            return []
        if not path.exists():
            folder = next((p for p in [path.parent, *path.parent.parents] if p.exists()), Path("."))
            if not os.access(folder, os.W_OK):
                findings.problem(f"数据库 {shown} 尚不存在，且目录 {folder} 不可写，服务无法创建它")
            else:
                findings.notes.append(f"数据库 {shown} 尚不存在，服务首次启动时自动创建")
            return []
    return _read_database(url, shown, findings)


def _read_database(url: str, shown: str, findings: Findings) -> list[PlanView]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    from engine.store.database import MIGRATIONS, create_database_engine, describe_failure

    try:
        engine = create_database_engine(url)
    except DubanError as exc:
        findings.problem(str(exc))
        return []
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
        heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
        if current != heads:
            have = "、".join(sorted(current)) or "空库"
            want = "、".join(sorted(heads))
            findings.problem(
                f"数据库 {shown} 的结构不是最新版本（当前 {have}，应为 {want}）；"
                "运行 duban run 或 duban run --once 时自动升级"
            )
            return []
        findings.notes.append(f"数据库 {shown} 可以连接，结构为最新版本")
        _instances(engine, findings)
        return _database_plans(engine)
    except SQLAlchemyError as exc:
        findings.problem(describe_failure(shown, exc))
        return []
    finally:
        engine.dispose()


def _instances(engine: Any, findings: Findings) -> None:
    from sqlalchemy.orm import Session

    from engine.store.instances import describe, instances_in

    with Session(engine) as session:
        findings.notes.extend(describe(instances_in(session)))


def _database_plans(engine: Any) -> list[PlanView]:
    from sqlalchemy.orm import Session

    from engine.store.models import Plan
    from engine.store.repository import board_tasks

    views: dict[str, PlanView] = {}
    with Session(engine) as session:
        for plan in session.query(Plan).all():
            where = f"计划 {plan.id}（数据库）"
            coordinator = plan.coordinator.name if plan.coordinator else None
            duties = [Duty(plan.id, coordinator, "coordinator")] if coordinator else []
            attention = [] if coordinator else [f"{where}未填写统筹单位"]
            views[plan.id] = PlanView(plan.id, where, duties, set(), attention)
        for row in board_tasks(session):
            view = views[row.plan_id]
            if row.lead:
                view.duties.append(Duty(row.plan_id, row.lead, "lead", row.no))
            view.duties += [Duty(row.plan_id, u, "co", row.no) for u in row.co_units or []]
            if isinstance(row.due, date):
                view.due_years.add(row.due.year)
            if row.in_plan:
                reasons = _attention(row.lead, row.kind, row.deadline_text)
                if reasons:
                    view.attention.append(f"{view.where}任务 {row.no}：{'，'.join(reasons)}")
    return list(views.values())


# --- contacts and channels ------------------------------------------------------------------------

_ROLES = {"lead": "牵头", "co": "配合", "coordinator": "统筹"}


def check_contacts(settings: Settings, plans: list[PlanView], findings: Findings) -> None:
    from engine.notify.directory import canonical_unit, contact_of, reach

    uses: dict[str, list[Duty]] = {}
    for plan in plans:
        for duty in plan.duties:
            uses.setdefault(canonical_unit(duty.unit, settings), []).append(duty)
    # Named recipients of a higher escalation level (a leader's office) are reached like units.
    for level, step in enumerate(settings.policy.escalation):
        if "leader" in step.notify:
            for name in step.recipients:
                duty = Duty("policy.escalation", name, "leader", task=level)
                uses.setdefault(canonical_unit(name, settings), []).append(duty)
    for unit, duties in uses.items():
        found = reach(unit, settings)
        if not found.missing:
            continue
        contact = contact_of(unit, settings)
        if found.reasons:  # configured, but a secret variable is unset or blank
            why = "的联系方式不可用（" + "；".join(found.reasons) + "）"
        elif contact is not None and contact.email and settings.channels.email is None:
            why = "只配置了邮箱，但配置文件中没有 [channels.email]"
        else:
            why = "没有联系方式（在通讯录 [units.\"…\"] 中配置 email 或 wecom）"
        findings.problem(f"单位“{unit}”{why}；其通知将只写入文件通道。涉及：{_duties(duties)}")


def _duties(duties: list[Duty]) -> str:
    parts: dict[tuple[str, str], list[str]] = {}
    for duty in duties:
        parts.setdefault((duty.plan, duty.role), [])
        if duty.task is not None:
            parts[(duty.plan, duty.role)].append(str(duty.task))
    out = []
    for (plan, role), tasks in parts.items():
        if role == "leader":  # `tasks` holds escalation levels here
            out += [f"第 {n} 级升级通知（配置键 policy.escalation[{n}].recipients）" for n in tasks]
        elif tasks:
            out.append(f"计划 {plan} 任务 {'、'.join(dict.fromkeys(tasks))}（{_ROLES[role]}）")
        else:
            out.append(f"计划 {plan} 的{_ROLES[role]}单位")
    return "；".join(out)


def check_robot_hosts(settings: Settings, findings: Findings) -> None:
    from engine.notify.channels.wecom import check_robot_url, checked_robot_url

    allowed = settings.channels.wecom.allowed_hosts
    for unit, contact in settings.units.items():
        if not contact.wecom:
            continue
        # First the configured text (a ${…} in the key does not matter here), then, when every
        # variable is set, the URL as it would be sent: a value can bring in a "\\" or an "@".
        why = check_robot_url(_ENV_REF.sub("x", contact.wecom), allowed)
        if not why and _expandable(contact.wecom):
            try:
                checked_robot_url(contact.wecom, allowed, where=f'units."{unit}".wecom')
            except UserError as exc:
                why = str(exc)
        if why:
            findings.problem(f'units."{unit}".wecom：{why}')


def _expandable(value: str) -> bool:
    return all(m.group(1) in os.environ for m in _ENV_REF.finditer(value))


def check_email_security(settings: Settings, findings: Findings) -> None:
    from engine.notify.channels.email import plaintext_login_problem

    email = settings.channels.email
    why = plaintext_login_problem(email) if email else None
    if why:
        findings.problem(why)


def check_email_addresses(settings: Settings, findings: Findings) -> None:
    """Every address in the directory and the sender's: a bad one would only fail when sending."""
    from email.utils import parseaddr

    from engine.notify.channels.email import address_problem

    for unit, contact in settings.units.items():
        for index, address in enumerate(contact.email):
            why = address_problem(address)
            if why:
                findings.problem(
                    f'单位“{unit}”的电子邮箱“{address}”不是有效的地址（配置键 units."{unit}"'
                    f".email[{index}]）：{why}，应形如 name@example.gov.cn"
                )
    email = settings.channels.email
    if email is None:
        return
    values = [("from", email.from_), ("reply_to", email.reply_to)]
    for key, value in values:
        spec = parseaddr(value)[1] if value is not None else None
        why = address_problem(spec) if spec is not None else None
        if why:
            findings.problem(
                f"电子邮件通道的地址“{value}”不是有效的地址（配置键 channels.email.{key}）：{why}"
            )


def check_imap_ca(settings: Settings, findings: Findings) -> None:
    email = settings.channels.email
    if email is None or not email.imap_host or not email.imap_ca_file:
        return
    path = settings.resolve_path(email.imap_ca_file)
    if not path.is_file():
        findings.problem(
            f"回复邮箱的 CA 证书文件 {path} 不存在（配置键 channels.email.imap_ca_file）"
        )


def check_imap(settings: Settings, findings: Findings) -> None:
    """Log in to the mailbox replies are read from, read-only: nothing is read or marked."""
    from engine.notify.replies import mailbox_problem

    why = mailbox_problem(settings, timeout=_NETWORK_TIMEOUT)
    if why:
        findings.problem(why)


def env_references(settings: Settings) -> Iterator[tuple[str, str]]:
    """(variable, config key) for every ${NAME} and for channels.email.password_env."""

    def walk(value: Any, key: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, str):
            for match in _ENV_REF.finditer(value):
                yield match.group(1), key
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, f"{key}[{i}]")

    yield from walk(settings.model_dump(by_alias=True), "")
    email = settings.channels.email
    if email and email.password_env:
        yield email.password_env, "channels.email.password_env"
    if email and email.imap_password_env:
        yield email.imap_password_env, "channels.email.imap_password_env"


def check_env(settings: Settings, findings: Findings) -> None:
    for name, key in env_references(settings):
        if name not in os.environ:
            findings.problem(f"环境变量 {name} 未设置（配置键 {key} 需要它）")
        elif not os.environ[name]:
            findings.problem(f"环境变量 {name} 为空（配置键 {key} 需要它）")


def check_outbox(settings: Settings, findings: Findings) -> None:
    folder = settings.resolve_path(settings.channels.file.dir)
    existing = next((p for p in [folder, *folder.parents] if p.exists()), None)
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        findings.problem(f"文件通道目录 {folder} 不可写（配置键 channels.file.dir）")


def check_templates(settings: Settings, findings: Findings) -> None:
    if settings.templates.dir and not settings.resolve_path(settings.templates.dir).is_dir():
        path = settings.resolve_path(settings.templates.dir)
        findings.problem(f"自定义模板目录 {path} 不存在（配置键 templates.dir）")


def check_fonts(findings: Findings) -> None:
    """A note when no font covers Chinese: the pages of a PDF that does not embed its fonts are
    then read by pdfminer, slower (engine.importers.pdf). Not a problem: most plans are no such
    PDF."""
    from engine.importers.fonts import chinese_font_installed

    if not chinese_font_installed():
        findings.notes.append(
            "本机没有覆盖中文的字体：未嵌入字体的 PDF 页面将改用较慢的方式读取，"
            "建议安装中文字体（如 apt install fonts-noto-cjk）"
        )


def check_calendar(
    app: AppContext, settings: Settings, plans: list[PlanView], findings: Findings
) -> None:
    from engine.cli.cmd_calendar import notice_file_name
    from engine.deadlines.calendar import WorkCalendar

    try:
        calendar = WorkCalendar(settings.calendar.extra_holidays, settings.calendar.extra_workdays,
                                official=_imported_notices(app))
    except UserError as exc:
        findings.problem(str(exc))
        return
    years: dict[int, list[str]] = {}
    for plan in plans:
        for year in plan.due_years:
            years.setdefault(year, []).append(plan.id)
    years.setdefault(app.now().year, [])
    supplied = {d.year for d in settings.calendar.extra_holidays}
    for year in calendar.uncovered_years(years):
        if year in supplied:
            findings.notes.append(f"{year} 年的节假日安排由 [calendar] extra_holidays 补充")
            continue
        plan_ids = "、".join(sorted(set(years[year])))
        why = f"计划 {plan_ids} 有该年的截止日期" if plan_ids else "今年"
        findings.problem(
            f"节假日日历缺少 {year} 年的官方安排（{why}），该年将只按周末计算工作日；"
            f"请导入国务院办公厅该年的节假日安排通知：duban calendar import "
            f"{notice_file_name(year)}（或在 [calendar] extra_holidays/extra_workdays 中补充）"
        )


def _imported_notices(app: AppContext) -> dict[int, Any]:
    """The notices `duban calendar import` stored, read without creating or upgrading the
    database; none where it does not exist or is not at the newest schema (said elsewhere)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from engine.store.calendar_days import official_in
    from engine.store.database import create_database_engine

    try:
        parsed = make_url(app.database_url)
    except Exception:  # reported by the database check
        return {}
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return {}
    try:
        engine = create_database_engine(app.database_url)
    except DubanError:
        return {}
    try:
        with Session(engine) as session:
            return dict(official_in(session))
    except SQLAlchemyError:
        return {}
    finally:
        engine.dispose()


# --- network --------------------------------------------------------------------------------------


def check_smtp(settings: Settings, findings: Findings) -> None:
    """Connect, EHLO, STARTTLS when configured, log in when configured, QUIT: no message."""
    from engine.notify.channels.email import SMTPClient, SMTPSSLClient
    from engine.notify.deadline import Watchdog
    from engine.notify.secrets import mask, remember

    email = settings.channels.email
    if email is None:
        return
    where = f"{email.host}:{email.port}"
    timeout = min(email.timeout_seconds, _NETWORK_TIMEOUT)
    password = os.environ.get(email.password_env) if email.password_env else None
    remember(password)
    dog = Watchdog(timeout)  # the whole handshake, however slowly the server answers
    try:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        with dog:
            if email.security == "ssl":
                smtp = SMTPSSLClient(email.host, email.port, timeout=timeout, context=context)
            else:
                smtp = SMTPClient(email.host, email.port, timeout=timeout)
            with smtp:
                smtp.ehlo()
                if email.security == "starttls":
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if email.username and password:
                    smtp.login(email.username, password)
    except (smtplib.SMTPException, OSError) as exc:
        if dog.fired:
            findings.problem(f"邮件服务器 {where} 在 {timeout:g} 秒内未完成握手（channels.email）")
        elif isinstance(exc, smtplib.SMTPAuthenticationError):
            findings.problem(
                f"邮件服务器 {where} 拒绝登录（用户 {email.username}）：{exc.smtp_code}"
            )
        elif isinstance(exc, ssl.SSLCertVerificationError):
            findings.problem(f"邮件服务器 {where} 的证书校验失败：{exc.verify_message}")
        else:
            detail = mask(f"{type(exc).__name__}: {exc}")
            findings.problem(f"无法连接邮件服务器 {where}（channels.email）：{detail}")
    else:
        findings.notes.append(f"邮件服务器 {where} 握手成功")


def check_robots(settings: Settings, findings: Findings) -> None:
    """POST an empty body to each robot: WeCom answers an error and sends nothing.

    Only URLs that pass `check_robot_url` are contacted (the others are reported by
    `check_robot_hosts`), each exactly as checked and within a total deadline.
    """
    import requests

    from engine.notify.channels.wecom import checked_robot_url
    from engine.notify.deadline import DeadlineExceeded, deadline_session, post, target
    from engine.notify.secrets import mask

    allowed = settings.channels.wecom.allowed_hosts
    timeout = min(settings.channels.wecom.timeout_seconds, _NETWORK_TIMEOUT)
    tried: set[str] = set()
    with deadline_session() as session:
        for unit, contact in settings.units.items():
            if not contact.wecom:
                continue
            try:
                url = checked_robot_url(contact.wecom, allowed, where=f'units."{unit}".wecom')
            except UserError:
                continue  # already reported by check_robot_hosts or check_env; never dialled
            if url in tried:
                continue
            tried.add(url)
            _, host, port = target(url)
            shown = f"{host}:{port}" if port else host
            try:
                answer = post(session, url, timeout, data=b"")
            except DeadlineExceeded:
                findings.problem(f'企业微信机器人 {shown}（units."{unit}"）在 {timeout:g} 秒内'
                                 "没有完成应答")
                continue
            except requests.RequestException as exc:
                findings.problem(mask(f'无法连接企业微信机器人 {shown}（units."{unit}"）：'
                                      f"{type(exc).__name__}"))
                continue
            try:
                errcode = json.loads(answer.body).get("errcode")
            except (ValueError, AttributeError):
                errcode = None
            if errcode == 93000:
                findings.problem(
                    f'units."{unit}" 的企业微信机器人地址无效（errcode 93000），请核对 key'
                )
