"""Reading a plan from the store for the ledger, the figures and the digest: one read each.

The only module of `engine.ledger` that touches the store; everything it returns is plain data for
the pure builders (`build_ledger`, `stats`, `digest`). The figures read every task in column
queries (no ORM object per task); the digest reads only what it shows: totals by light from one
GROUP BY, the overdue tasks, the open tasks' leads and their latest reports, pending requests.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.deadlines.deadline import Deadline, DeadlineKind
from engine.ledger.build import TaskState, build_ledger
from engine.ledger.digest import DigestFigures, digest_content, digest_document
from engine.ledger.model import Ledger
from engine.ledger.stats import (
    PendingRequest,
    PlanSnapshot,
    TaskRecord,
    report_period,
)
from engine.model import plan as domain
from engine.model.lights import Light, light
from engine.model.plan import Status
from engine.store import Database
from engine.store.models import (
    History,
    Plan,
    ProgressReport,
    Request,
    Task,
    TaskUnit,
    Unit,
)
from engine.store.repository import (
    UnitDirectory,
    choose_plan,
    tasks_of_plan,
    units_of_tasks,
)


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
        select(
            Request.id, Task.no, Unit.name, Request.type, Request.to_status, Request.until,
            Request.reason, Request.created_at,
        )
        .join(Task, Task.id == Request.task_id)
        .join(Unit, Unit.id == Request.unit_id)
        .where(Task.plan_id == plan_id, Request.state == "pending")
        .order_by(Request.created_at, Request.id)
    )
    return [
        PendingRequest(
            id=r.id, no=r.no, unit=r.name, type=r.type, to=r.to_status, until=r.until,
            reason=r.reason, at=r.created_at,
        )
        for r in session.execute(query)
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
    """`read_snapshot` in the caller's session: every task the plan lists, in column queries."""
    policy = settings.policy
    plan = choose_plan(session, plan_id)
    zone = ZoneInfo(plan.timezone)
    completed = _completion_times(session, plan.id)
    reports = _latest_reports(session, plan.id)
    units = _units_with_ids(session, plan.id)
    query = (
        select(
            Task.id, Task.no, Task.title, Task.status, Task.deadline_text, Task.deadline_kind,
            Task.due, Task.created_at, Task.progress,
        )
        .where(Task.plan_id == plan.id, Task.in_plan.is_(True))
        .order_by(Task.position, Task.no)
    )
    records = []
    for t in session.execute(query):
        mine = units.get(t.id, [])
        lead = next(((unit_id, name) for role, unit_id, name in mine if role == "lead"), None)
        records.append(
            TaskRecord(
                no=t.no,
                title=t.title,
                lead=lead[1] if lead else None,
                co_units=tuple(name for role, _, name in mine if role != "lead"),
                status=t.status,
                deadline_text=t.deadline_text,
                kind=t.deadline_kind,
                due=t.due,
                completed_at=completed.get(t.id) if t.status == Status.COMPLETED else None,
                tracked_since=t.created_at.astimezone(zone).date(),
                lead_reported_at=reports.get((t.id, lead[0])) if lead else None,
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


def _units_with_ids(session: Session, plan_id: str) -> dict[int, list[tuple[str, int, str]]]:
    """Each task's units as (role, unit id, unit name) in position order, by task id."""
    query = (
        select(TaskUnit.task_id, TaskUnit.role, TaskUnit.unit_id, Unit.name)
        .join(Unit, Unit.id == TaskUnit.unit_id)
        .join(Task, Task.id == TaskUnit.task_id)
        .where(Task.plan_id == plan_id)
        .order_by(TaskUnit.task_id, TaskUnit.position)
    )
    units: dict[int, list[tuple[str, int, str]]] = {}
    for task_id, role, unit_id, name in session.execute(query):
        units.setdefault(task_id, []).append((role, unit_id, name))
    return units


def read_digest(
    db: Database, *, plan_id: str | None, now: datetime, settings: Settings
) -> dict[str, Any]:
    """The weekly digest's content for a plan at `now` (see `engine.ledger.digest`)."""
    return digest_content(read_snapshot(db, plan_id=plan_id, now=now, settings=settings))


def digest_of(
    session: Session, *, plan_id: str, now: datetime, settings: Settings
) -> dict[str, Any]:
    """`read_digest` in the caller's session: the service stores it with the digest notice.

    The same content as `digest_content(snapshot_of(…))`, read with aggregate and column queries:
    what it costs grows with the overdue tasks, the open tasks and the units, not with every
    task's text.
    """
    return digest_document(_digest_figures(session, plan_id, now, settings))


def _in_plan(plan_id: str) -> Any:
    return (Task.plan_id == plan_id) & Task.in_plan.is_(True)


def _digest_figures(
    session: Session, plan_id: str, now: datetime, settings: Settings
) -> DigestFigures:
    policy = settings.policy
    yellow = policy.yellow_within_days
    plan = choose_plan(session, plan_id)
    zone = ZoneInfo(plan.timezone)
    today = now.astimezone(zone).date()

    # totals: one row per (status, kind, due), each given its light
    totals = {str(code): 0 for code in Light}
    grouped = (
        select(Task.status, Task.deadline_kind, Task.due, func.count())
        .where(_in_plan(plan.id))
        .group_by(Task.status, Task.deadline_kind, Task.due)
    )
    for status, kind, due, count in session.execute(grouped):
        totals[str(light(status, due, now, yellow, plan.timezone, kind=kind))] += count

    # overdue: a red task is open and past its due day; the light decides among those
    past = select(Task.id, Task.no, Task.title, Task.status, Task.deadline_text,
                  Task.deadline_kind, Task.due).where(
        _in_plan(plan.id), Task.due < today, Task.status != Status.COMPLETED.value
    )
    red = [
        t for t in session.execute(past)
        if light(t.status, t.due, now, yellow, plan.timezone, kind=t.deadline_kind) is Light.RED
    ]
    leads = {
        task_id: next((name for role, name in units if role == "lead"), None)
        for task_id, units in units_of_tasks(session, (t.id for t in red)).items()
    }
    late = tuple(
        (
            (today - t.due).days,
            TaskRecord(
                no=t.no, title=t.title, lead=leads.get(t.id), co_units=(), status=t.status,
                deadline_text=t.deadline_text, kind=t.deadline_kind, due=t.due,
            ),
        )
        for t in red
    )

    period = report_period(today, policy.report_every, policy.report_day)
    requests = tuple(_pending(session, plan.id))
    asked = {r.no for r in requests}
    titles: dict[int, str] = {}
    if asked:
        wanted = select(Task.no, Task.title).where(_in_plan(plan.id), Task.no.in_(sorted(asked)))
        titles = {no: title for no, title in session.execute(wanted)}
    return DigestFigures(
        plan_id=plan.id,
        title=plan.title,
        timezone=zone,
        today=today,
        total=sum(totals.values()),
        totals=totals,
        late=late,
        period=period,
        missing=_missing_reports(session, plan.id, period, zone),
        requests=requests,
        titles=titles,
    )


def _missing_reports(
    session: Session, plan_id: str, period: tuple[date, date] | None, zone: ZoneInfo
) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The units that owe a report for `period` on open tasks they lead, in the order units first
    appear in the plan (as `unit_figures` lists them), each with those tasks in plan order.

    `stats.missing_report` in one query: a task known by the end of the period (duban's first day
    with it, in the plan's zone, not after `end`) whose lead made no report on a day after `start`.
    """
    if period is None:
        return ()
    start, end = period
    known_by = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    counts_from = datetime.combine(start + timedelta(days=1), time(0), tzinfo=zone)
    reported = (
        select(ProgressReport.id)
        .where(
            ProgressReport.task_id == Task.id,
            ProgressReport.unit_id == TaskUnit.unit_id,
            ProgressReport.at >= counts_from,
        )
        .exists()
    )
    owing = (
        select(Task.id, Task.no, Unit.name)
        .join(TaskUnit, TaskUnit.task_id == Task.id)
        .join(Unit, Unit.id == TaskUnit.unit_id)
        .where(
            _in_plan(plan_id),
            Task.status != Status.COMPLETED.value,
            TaskUnit.role == "lead",
            Task.created_at < known_by,
            ~reported,
        )
        .order_by(Task.position, Task.no)
    )
    owed: dict[str, list[int]] = {}
    seen: set[int] = set()
    for task_id, no, unit in session.execute(owing):
        if task_id not in seen:  # a task has one lead (the loader writes one); a guard
            seen.add(task_id)
            owed.setdefault(unit, []).append(no)
    if not owed:
        return ()
    return tuple((unit, tuple(owed[unit])) for unit in _first_appearance(session, plan_id, owed))


def _first_appearance(session: Session, plan_id: str, names: Iterable[str]) -> list[str]:
    """These units in the order they first appear in the plan: task by task in plan order, in
    each task the lead first, then the co-units in their order."""
    wanted = sorted(set(names))
    place = func.row_number().over(
        order_by=(
            Task.position, Task.no, case((TaskUnit.role == "lead", 0), else_=1),
            TaskUnit.position,
        )
    )
    ranked = (
        select(Unit.name.label("unit"), place.label("place"))
        .join(TaskUnit, TaskUnit.unit_id == Unit.id)
        .join(Task, Task.id == TaskUnit.task_id)
        .where(_in_plan(plan_id), Unit.name.in_(wanted))
        .subquery()
    )
    query = select(ranked.c.unit).group_by(ranked.c.unit).order_by(func.min(ranked.c.place))
    return list(session.scalars(query))
