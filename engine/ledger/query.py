"""Reading a plan from the store for the ledger, the figures and the digest: one read each.

The only module of `engine.ledger` that touches the store; everything it returns is plain data for
the pure builders (`build_ledger`, `stats`, `digest`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.deadlines.deadline import Deadline, DeadlineKind
from engine.ledger.build import TaskState, build_ledger
from engine.ledger.digest import digest_content
from engine.ledger.model import Ledger
from engine.ledger.stats import PendingRequest, PlanSnapshot, TaskRecord
from engine.model import plan as domain
from engine.model.lights import light
from engine.model.plan import Status
from engine.store import Database
from engine.store.models import (
    History,
    Plan,
    ProgressReport,
    Request,
    Task,
    Unit,
)
from engine.store.repository import UnitDirectory, choose_plan, tasks_of_plan


def _tasks(session: Session, plan: Plan) -> list[Task]:
    """The plan's tasks in the plan's order; tasks the plan file no longer lists are left out."""
    tasks = [t for t in tasks_of_plan(session, plan.id).values() if t.in_plan]
    return sorted(tasks, key=lambda t: (t.position, t.no))


def _lead(task: Task) -> str | None:
    return next((tu.unit.name for tu in task.units if tu.role == "lead"), None)


def _co_units(task: Task) -> list[str]:
    return [tu.unit.name for tu in task.units if tu.role != "lead"]


def _deadline(task: Task) -> Deadline:
    return Deadline(
        text=task.deadline_text,
        kind=DeadlineKind(task.deadline_kind),
        due=task.due,
        rrule=task.rrule,
        start=task.start,
    )


def read_ledger(
    db: Database, *, plan_id: str | None, unit: str | None, now: datetime, settings: Settings
) -> Ledger:
    """The ledger of a plan (or the only plan) at `now`; with `unit`, that unit's tasks only."""
    yellow = settings.policy.yellow_within_days
    with db.read() as session:
        plan = choose_plan(session, plan_id)
        wanted = UnitDirectory.read(session).find(unit).name if unit else None
        zone = ZoneInfo(plan.timezone)
        tasks = _tasks(session, plan)
        model = domain.Plan(
            id=plan.id,
            title=plan.title,
            coordinator=plan.coordinator.name if plan.coordinator else "",
            timezone=plan.timezone,
            sections=[domain.Section(s.no, s.title) for s in plan.sections],
            columns=list(plan.columns or []),
            tasks=[
                domain.Task(
                    no=t.no,
                    section=t.section_no,
                    title=t.title,
                    content=t.content,
                    lead=_lead(t),
                    co_units=_co_units(t),
                    units_text=t.units_text,
                    deadline=_deadline(t),
                    status=Status(t.status),
                    progress=t.progress,
                )
                for t in tasks
            ],
        )
        states = {
            t.no: TaskState(
                status=Status(t.status),
                light=str(light(t.status, t.due, now, yellow, plan.timezone, kind=t.deadline_kind)),
                report_text=t.progress if t.progress_at else None,
                report_at=t.progress_at,
                extended_due=t.due if t.original_due is not None else None,
            )
            for t in tasks
        }
    return build_ledger(
        model,
        states,
        as_of=now.astimezone(zone).date(),
        tz=zone,
        yellow_within_days=yellow,
        unit=wanted,
    )


def _completion_times(session: Session, plan_id: str) -> dict[int, datetime]:
    """When each task last became completed: the request's time if it was approved on request."""
    query = (
        select(History.task_id, History.at, Request.created_at)
        .join(Task, Task.id == History.task_id)
        .outerjoin(Request, Request.id == History.request_id)
        .where(Task.plan_id == plan_id, History.action == "status",
               History.to_value == Status.COMPLETED.value)
        .order_by(History.at, History.id)
    )
    return {task_id: asked or at for task_id, at, asked in session.execute(query)}


def _latest_reports(session: Session, plan_id: str) -> dict[tuple[int, int], datetime]:
    """The latest progress report of each (task, unit)."""
    query = (
        select(ProgressReport.task_id, ProgressReport.unit_id, func.max(ProgressReport.at))
        .join(Task, Task.id == ProgressReport.task_id)
        .where(Task.plan_id == plan_id)
        .group_by(ProgressReport.task_id, ProgressReport.unit_id)
    )
    out: dict[tuple[int, int], datetime] = {}
    for task_id, unit_id, at in session.execute(query):
        # an aggregate bypasses the column type: SQLite hands back naive UTC (or even text)
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        out[(task_id, unit_id)] = at if at.tzinfo else at.replace(tzinfo=ZoneInfo("UTC"))
    return out


def _pending(session: Session, plan_id: str) -> list[PendingRequest]:
    query = (
        select(Request, Task.no, Unit.name)
        .join(Task, Task.id == Request.task_id)
        .join(Unit, Unit.id == Request.unit_id)
        .where(Task.plan_id == plan_id, Request.state == "pending")
        .order_by(Request.created_at, Request.id)
    )
    return [
        PendingRequest(
            id=r.id, no=no, unit=unit, type=r.type, to=r.to_status, until=r.until,
            reason=r.reason, at=r.created_at,
        )
        for r, no, unit in session.execute(query)
    ]


def read_snapshot(
    db: Database, *, plan_id: str | None, now: datetime, settings: Settings
) -> PlanSnapshot:
    """A plan (or the only plan) as the figures and the digest see it at `now`."""
    with db.read() as session:
        return snapshot_of(session, plan_id=plan_id, now=now, settings=settings)


def snapshot_of(
    session: Session, *, plan_id: str | None, now: datetime, settings: Settings
) -> PlanSnapshot:
    """`read_snapshot` in the caller's session (the service reads it where it enqueues)."""
    policy = settings.policy
    plan = choose_plan(session, plan_id)
    zone = ZoneInfo(plan.timezone)
    completed = _completion_times(session, plan.id)
    reports = _latest_reports(session, plan.id)
    records = []
    for t in _tasks(session, plan):
        lead = next((tu for tu in t.units if tu.role == "lead"), None)
        records.append(
            TaskRecord(
                no=t.no,
                title=t.title,
                lead=lead.unit.name if lead else None,
                co_units=tuple(_co_units(t)),
                status=t.status,
                deadline_text=t.deadline_text,
                kind=t.deadline_kind,
                due=t.due,
                completed_at=completed.get(t.id) if t.status == Status.COMPLETED else None,
                tracked_since=t.created_at.astimezone(zone).date(),
                lead_reported_at=reports.get((t.id, lead.unit_id)) if lead else None,
                progress=t.progress,
            )
        )
    return PlanSnapshot(
        plan_id=plan.id,
        title=plan.title,
        coordinator=plan.coordinator.name if plan.coordinator else None,
        timezone=zone,
        now=now,
        tasks=tuple(records),
        requests=tuple(_pending(session, plan.id)),
        yellow_within_days=policy.yellow_within_days,
        report_every=policy.report_every,
        report_day=policy.report_day,
    )


def read_digest(
    db: Database, *, plan_id: str | None, now: datetime, settings: Settings
) -> dict[str, Any]:
    """The weekly digest's content for a plan at `now` (see `engine.ledger.digest`)."""
    return digest_content(read_snapshot(db, plan_id=plan_id, now=now, settings=settings))


def digest_of(
    session: Session, *, plan_id: str, now: datetime, settings: Settings
) -> dict[str, Any]:
    """`read_digest` in the caller's session: the service stores it with the digest notice."""
    return digest_content(snapshot_of(session, plan_id=plan_id, now=now, settings=settings))
