"""What units and the coordinator do to a task: report progress, ask, decide.

These are the use cases that the command line, the web console, the units' links and the API all
call. Each function is one transaction: it checks everything first, changes the task, writes the
history (actor, person, via, time, reason) and, for requests and decisions, queues the approval
notices in the same transaction (`engine.actions.notices`), with the settings it is given. A
refusal is a UserError and leaves the database as it was.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from engine.actions import notices
from engine.clock import check_year
from engine.config import Settings
from engine.deadlines.deadline import DeadlineKind
from engine.errors import NotAllowed, UserError
from engine.model.plan import Status
from engine.model.states import (
    Role,
    auto_start,
    check_decider,
    check_request,
    find_transition,
    roles_of,
)
from engine.store import Database
from engine.store.models import Evidence, Plan, ProgressReport, Request, Task, Unit
from engine.store.repository import (
    SYSTEM,
    UnitDirectory,
    add_history,
    choose_plan,
    claim_decision,
    co_units_of,
    get_request,
    get_task,
    lead_of,
    pending_request,
)

_DATE = re.compile(r"^\s*(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*(?:-|/|\.|月)\s*(\d{1,2})\s*日?\s*$")


def parse_date(value: str, *, where: str) -> date:
    """A date a person typed: 2021-09-30, 2021/9/30, 2021.9.30 or 2021年9月30日."""
    found = _DATE.match(value)
    if not found:
        raise UserError(f"{where} 的值“{value}”不是日期，应为 YYYY-MM-DD，例如 2021-09-30")
    year, month, day = (int(g) for g in found.groups())
    try:
        typed = date(year, month, day)
    except ValueError:
        raise UserError(
            f"{where} 的值“{value}”不是有效的日期：{year}年{month}月没有{day}日"
        ) from None
    return check_year(typed, where, value)


def _required(text: str | None, where: str) -> str:
    if text is None or not text.strip():
        raise UserError(f"{where} 不能为空，请写明理由或内容")
    return text.strip()


VIAS = ("cli", "web", "link", "api", "email", "system")


@dataclass(frozen=True)
class Via:
    """How an action reached duban, and the person behind it where one is known."""

    via: str = "cli"
    """`cli`, `web` (a console login), `link` (a unit's personal link), `api` (a token) or
    `email` (a reply to a notice, engine.notify.replies)."""
    person: str | None = None
    """The console user's or the API token's name; None for a link or the command line."""


CLI = Via()


@dataclass(frozen=True)
class Upload:
    """A file attached to a progress report (佐证材料), already checked for size and type."""

    filename: str
    content_type: str
    content: bytes


@dataclass
class Acting:
    """A task and the unit acting on it, looked up and checked inside one transaction."""

    plan: Plan
    task: Task
    unit: Unit
    roles: frozenset[Role]
    via: Via


def _acting(
    session: Session, plan_id: str | None, no: int, unit_name: str, via: Via
) -> Acting:
    plan = choose_plan(session, plan_id)
    unit = UnitDirectory.read(session).find(unit_name, where="--unit")
    task = get_task(session, plan, no, lock=True)
    coordinator = plan.coordinator.name if plan.coordinator else None
    roles = roles_of(
        unit.name, lead=lead_of(task), co_units=co_units_of(task), coordinator=coordinator
    )
    return Acting(plan, task, unit, roles, via)


def _history(session: Session, acting: Acting, **fields: object) -> None:
    """A history entry for what `acting.unit` did, through `acting.via`."""
    add_history(
        session,
        acting.task,
        actor=acting.unit.name,
        person=acting.via.person,
        via=acting.via.via,
        **fields,  # type: ignore[arg-type]
    )


def _refuse_stranger(acting: Acting, what: str) -> None:
    if Role.STRANGER in acting.roles:
        raise NotAllowed(
            f"{acting.unit.name}不是任务 {acting.task.no} 的牵头单位、配合单位或统筹单位，"
            f"不能{what}"
        )


@dataclass
class ProgressResult:
    no: int
    started: bool


def record_progress(
    db: Database,
    *,
    plan_id: str | None,
    no: int,
    unit: str,
    text: str,
    now: datetime,
    settings: Settings,
    via: Via = CLI,
    evidence: tuple[Upload, ...] = (),
) -> ProgressResult:
    """Record a progress report, with its evidence; the lead unit's first one starts a task not
    yet started."""
    body = _required(text, "--text")
    with db.transaction() as session:
        return report_progress(
            session, plan_id=plan_id, no=no, unit=unit, text=body, now=now, settings=settings,
            via=via, evidence=evidence,
        )


def report_progress(
    session: Session,
    *,
    plan_id: str | None,
    no: int,
    unit: str,
    text: str,
    now: datetime,
    settings: Settings,
    via: Via = CLI,
    evidence: tuple[Upload, ...] = (),
) -> ProgressResult:
    """`record_progress` in the caller's transaction: a reply by e-mail records its reports on
    every task of its notice and that the reply was read, all or nothing."""
    body = _required(text, "--text")
    acting = _acting(session, plan_id, no, unit, via)
    _refuse_stranger(acting, "报送进展")
    task = acting.task
    report = ProgressReport(task_id=task.id, unit_id=acting.unit.id, text=body, at=now)
    session.add(report)
    session.flush()
    for upload in evidence:
        session.add(
            Evidence(
                task_id=task.id,
                unit_id=acting.unit.id,
                progress_id=report.id,
                filename=upload.filename,
                content_type=upload.content_type,
                size=len(upload.content),
                sha256=hashlib.sha256(upload.content).hexdigest(),
                content=upload.content,
                at=now,
            )
        )
    task.progress, task.progress_at, task.updated_at = body, now, now
    reason = body
    if evidence:
        reason += "（佐证材料：" + "、".join(u.filename for u in evidence) + "）"
    _history(session, acting, at=now, action="progress", reason=reason)
    start = auto_start(
        Status(task.status), acting.roles, enabled=settings.policy.auto_start_on_progress
    )
    if start is not None:
        task.status = str(start.target)
        add_history(
            session,
            task,
            at=now,
            actor=SYSTEM,
            action="status",
            from_value=str(start.source),
            to_value=str(start.target),
            reason="牵头单位首次报送进展，任务自动启动",
            via="system",
        )
    return ProgressResult(no=task.no, started=start is not None)


def request_transition(
    db: Database,
    *,
    plan_id: str | None,
    no: int,
    unit: str,
    to: Status,
    reason: str,
    now: datetime,
    settings: Settings,
    via: Via = CLI,
) -> int:
    """Ask the coordinator for a state change; returns the request's id."""
    why = _required(reason, "--reason")
    with db.transaction() as session:
        acting = _acting(session, plan_id, no, unit, via)
        task = acting.task
        current = Status(task.status)
        check_request(current, to, acting.roles, unit=acting.unit.name)
        waiting = pending_request(session, task, "transition", str(to))
        if waiting is not None:
            raise UserError(
                f"任务 {task.no} 已有变更为“{to.label}”的待审批申请 #{waiting.id}，请勿重复申请"
            )
        return _create_request(
            session,
            settings,
            acting,
            now,
            "transition",
            why,
            str(current),
            str(to),
            to_status=str(to),
        )


def request_extension(
    db: Database,
    *,
    plan_id: str | None,
    no: int,
    unit: str,
    until: date,
    reason: str,
    now: datetime,
    settings: Settings,
    via: Via = CLI,
) -> int:
    """Ask the coordinator for a later deadline; returns the request's id."""
    why = _required(reason, "--reason")
    with db.transaction() as session:
        acting = _acting(session, plan_id, no, unit, via)
        _refuse_stranger(acting, "申请延期")
        task = acting.task
        today = now.astimezone(ZoneInfo(acting.plan.timezone)).date()
        if until <= today:
            raise UserError(f"--until 的新完成时限 {until} 应晚于今天（{today}）")
        if task.status == Status.COMPLETED:
            raise UserError(f"任务 {task.no} 已完成，无需延期")
        if task.due is None or task.deadline_kind not in (
            DeadlineKind.DATE,
            DeadlineKind.MILESTONES,
        ):
            raise UserError(
                f"任务 {task.no} 的完成时限“{task.deadline_text or '无'}”不是具体日期，"
                "不能申请延期；"
                "如需设定时限，请修改计划文件后重新载入"
            )
        if until <= task.due:
            raise UserError(f"--until 的新完成时限 {until} 应晚于现有完成时限 {task.due}")
        waiting = pending_request(session, task, "extension")
        if waiting is not None:
            raise UserError(f"任务 {task.no} 已有待审批的延期申请 #{waiting.id}，请勿重复申请")
        before, after = task.due.isoformat(), until.isoformat()
        return _create_request(
            session, settings, acting, now, "extension", why, before, after, until=until
        )


def _create_request(
    session: Session,
    settings: Settings,
    acting: Acting,
    now: datetime,
    type: str,
    reason: str,
    before: str,
    after: str,
    *,
    to_status: str | None = None,
    until: date | None = None,
) -> int:
    """Store a pending request of `acting.unit`, its history entry, and its notice."""
    request = Request(
        task_id=acting.task.id,
        type=type,
        to_status=to_status,
        until=until,
        reason=reason,
        unit_id=acting.unit.id,
        state="pending",
        created_at=now,
    )
    session.add(request)
    session.flush()
    action = "request_extension" if request.type == "extension" else "request"
    _history(
        session,
        acting,
        at=now,
        action=action,
        from_value=before,
        to_value=after,
        reason=request.reason,
        request=request,
    )
    request.task, request.unit = acting.task, acting.unit
    notices.request_created(session, settings, request, now)
    return request.id


_STATE_LABELS = {"approved": "批准", "rejected": "驳回", "pending": "待审批"}


@dataclass
class Decision:
    request_id: int
    plan_id: str
    no: int
    state: str
    type: str
    to: str | None


def decide(
    db: Database,
    *,
    request_id: int,
    by: str,
    approve: bool,
    reason: str | None,
    now: datetime,
    settings: Settings,
    via: Via = CLI,
) -> Decision:
    """Approve or reject a pending request; only the plan's coordinator may."""
    if not approve:
        reason = _required(reason, "--reason")
    reason = reason.strip() if reason and reason.strip() else None
    with db.transaction() as session:
        request = get_request(session, request_id)
        task, plan = request.task, request.task.plan
        unit = UnitDirectory.read(session).find(by, where="--by")
        if plan.coordinator is None:
            raise UserError(
                f"计划 {plan.id} 未设置统筹单位，无法审批；"
                "请在计划文件的 plan.coordinator 中填写后重新载入"
            )
        check_decider(
            roles_of(unit.name, lead=None, co_units=(), coordinator=plan.coordinator.name),
            unit=unit.name,
        )
        # Hold the task's row first, so that two decisions on one task (PostgreSQL, READ
        # COMMITTED) check its status one after the other; SQLite's BEGIN IMMEDIATE already does.
        task = get_task(session, plan, task.no, lock=True)
        _refuse_decided(request)
        if approve:
            _check_still_applicable(request, task)
        state = "approved" if approve else "rejected"
        if not claim_decision(session, request, state=state, by=unit.name, at=now, reason=reason):
            _refuse_decided(request)
        before, after = _effect_values(request, task)
        acting = Acting(plan, task, unit, frozenset({Role.COORDINATOR}), via)
        _history(
            session,
            acting,
            at=now,
            action="approve" if approve else "reject",
            from_value=before,
            to_value=after,
            reason=reason or "",
            request=request,
        )
        if approve:
            _apply(session, request, acting, now, reason)
        notices.request_decided(session, settings, request, now)
        return Decision(
            request.id,
            plan.id,
            task.no,
            state,
            request.type,
            request.to_status or (request.until.isoformat() if request.until else None),
        )


def _refuse_decided(request: Request) -> None:
    if request.state != "pending":
        when = request.decided_at.date().isoformat() if request.decided_at else ""
        raise UserError(
            f"申请 #{request.id} 已于 {when} 由{request.decided_by}"
            f"{_STATE_LABELS.get(request.state, request.state)}，不能重复审批"
        )


def _check_still_applicable(request: Request, task: Task) -> None:
    current = Status(task.status)
    if request.type == "transition":
        target = Status(request.to_status or "")
        if find_transition(current, target) is None:
            raise UserError(
                f"任务 {task.no} 当前状态为“{current.label}”，申请 #{request.id} 要求的"
                f"“{target.label}”已不适用，请驳回该申请"
            )
    elif current is Status.COMPLETED:
        raise UserError(f"任务 {task.no} 已完成，延期申请 #{request.id} 已不适用，请驳回该申请")


def _effect_values(request: Request, task: Task) -> tuple[str | None, str | None]:
    if request.type == "transition":
        return task.status, request.to_status
    return (
        task.due.isoformat() if task.due else None,
        request.until.isoformat() if request.until else None,
    )


def _apply(
    session: Session, request: Request, acting: Acting, now: datetime, reason: str | None
) -> None:
    task = acting.task
    before, after = _effect_values(request, task)
    if request.type == "transition":
        task.status = request.to_status or task.status
        action = "status"
    else:
        if task.original_due is None:
            task.original_due = task.due
        task.due = request.until
        action = "extension"
    task.updated_at = now
    _history(
        session,
        acting,
        at=now,
        action=action,
        from_value=before,
        to_value=after,
        reason=reason or request.reason,
        request=request,
    )
