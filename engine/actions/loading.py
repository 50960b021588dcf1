"""Loading a plan file into the store: create, or update what the file changed.

Re-loading is idempotent. It updates texts, units and any deadline the file changed (recorded in
the history) and keeps status, progress, history and approved extensions: an extension stands
until the file itself changes that task's deadline. A task the file no longer lists is kept and
marked, never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.config import Settings
from engine.deadlines.deadline import Deadline
from engine.model import plan as model
from engine.store import Database
from engine.store.models import Plan, Section, Task, TaskUnit
from engine.store.repository import SYSTEM, UnitDirectory, add_history, tasks_of_plan


@dataclass
class LoadReport:
    """What one load did, task numbers per outcome."""

    plan_id: str
    plan_created: bool
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    deadline_changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    """Tasks in the database that the file no longer lists: kept, marked, reported."""


def deadline_record(deadline: Deadline) -> dict[str, Any]:
    """A deadline as plain JSON, to store and to compare with the next load."""
    return {
        "text": deadline.text,
        "kind": str(deadline.kind),
        "due": deadline.due.isoformat() if deadline.due else None,
        "milestones": [{"text": m.text, "due": m.due.isoformat()} for m in deadline.milestones],
        "rrule": deadline.rrule,
        "start": deadline.start.isoformat() if deadline.start else None,
    }


def describe_deadline(text: str, due: object) -> str:
    return f"{text}（{due}）" if due and str(due) not in text else (text or str(due or "无"))


def _apply_deadline(task: Task, deadline: Deadline) -> None:
    record = deadline_record(deadline)
    task.deadline_text = deadline.text
    task.deadline_kind = record["kind"]
    task.due = deadline.due
    task.milestones = record["milestones"]
    task.rrule = deadline.rrule
    task.start = deadline.start
    task.file_deadline = record
    task.original_due = None


def _by_load(
    session: Session,
    task: Task,
    now: datetime,
    action: str,
    reason: str,
    *,
    from_value: str | None = None,
    to_value: str | None = None,
) -> None:
    """A history entry that the load itself writes: the actor is the system, not a unit."""
    add_history(
        session,
        task,
        at=now,
        actor=SYSTEM,
        action=action,
        from_value=from_value,
        to_value=to_value,
        reason=reason,
    )


def _set_units(
    session: Session, task: Task, lead: str | None, co_units: list[str], units: UnitDirectory
) -> bool:
    """Make the task's units these ones; True when they changed."""
    wanted: list[tuple[str, str]] = []
    for role, name in [("lead", lead)] * bool(lead) + [("co", n) for n in co_units]:
        assert name is not None
        canonical = units.canonical(name)
        if canonical and all(canonical != n for _, n in wanted):
            wanted.append((role, canonical))
    current = [(tu.role, tu.unit.name) for tu in task.units]
    if current == wanted:
        return False
    if current:
        task.units.clear()
        session.flush()  # delete the old rows before the same (task, unit) keys come back
    for position, (role, name) in enumerate(wanted):
        task.units.append(TaskUnit(unit=units.ensure(session, name), role=role, position=position))
    return True


def _aliases(
    session: Session, plan: model.Plan, settings: Settings, units: UnitDirectory, where: str
) -> None:
    for canonical, contact in settings.units.items():
        for alias in contact.aliases:
            units.add_alias(session, alias, canonical, where=f'配置文件 [units."{canonical}"]')
    for alias, canonical in plan.aliases.items():
        units.add_alias(session, alias, canonical, where=f"{where} aliases")


def _sections(session: Session, row: Plan, sections: list[model.Section]) -> None:
    by_no = {s.no: s for s in row.sections}
    keep = []
    for position, section in enumerate(sections):
        existing = by_no.get(section.no) or Section(no=section.no)
        existing.title, existing.position = section.title, position
        keep.append(existing)
    row.sections = keep


def _texts(task: Task, source: model.Task, position: int) -> bool:
    changed = False
    for attr, value in (
        ("section_no", source.section),
        ("title", source.title),
        ("content", source.content),
        ("units_text", source.units_text),
        ("position", position),
    ):
        if getattr(task, attr) != value:
            setattr(task, attr, value)
            changed = True
    return changed


def load_plan(
    db: Database, plan: model.Plan, settings: Settings, now: datetime, *, path: str | None = None
) -> LoadReport:
    """Create or update `plan` in the store, in one transaction."""
    where = f"计划文件 {path}" if path else f"计划 {plan.id}"
    with db.transaction() as session:
        units = UnitDirectory.read(session)
        _aliases(session, plan, settings, units, where)
        row = session.get(Plan, plan.id)
        report = LoadReport(plan_id=plan.id, plan_created=row is None)
        if row is None:
            row = Plan(id=plan.id, loaded_at=now)
            session.add(row)
        row.title = plan.title
        row.timezone = plan.timezone
        row.coordinator = units.ensure(session, plan.coordinator) if plan.coordinator else None
        row.source_file = plan.source.file if plan.source else None
        row.source_sha256 = plan.source.sha256 if plan.source else None
        row.columns = list(plan.columns)
        row.file_path = path
        row.loaded_at = now
        _sections(session, row, plan.sections)
        session.flush()

        existing = tasks_of_plan(session, plan.id)
        created = []
        for position, source in enumerate(plan.tasks):
            task = existing.pop(source.no, None)
            if task is None:
                created.append(_create_task(session, row, source, position, units, now))
                report.created.append(source.no)
                continue
            _update_task(session, task, source, position, units, now, where, report)
        session.flush()  # one flush for every new task: their ids for the history
        for task in created:
            _by_load(session, task, now, "created", f"载入{where}", to_value=task.status)
        for no, task in sorted(existing.items()):
            report.missing.append(no)
            if task.in_plan:
                task.in_plan = False
                task.updated_at = now
                reason = f"重新载入{where}时，文件中已无此任务；任务保留"
                _by_load(session, task, now, "missing_from_plan", reason)
        return report


def _create_task(
    session: Session,
    plan: Plan,
    source: model.Task,
    position: int,
    units: UnitDirectory,
    now: datetime,
) -> Task:
    task = Task(
        plan_id=plan.id,
        no=source.no,
        status=str(source.status),
        progress=source.progress,
        in_plan=True,
        created_at=now,
        updated_at=now,
    )
    _texts(task, source, position)
    _apply_deadline(task, source.deadline)
    task.units = []
    session.add(task)
    _set_units(session, task, source.lead, source.co_units, units)
    return task


def _update_task(
    session: Session,
    task: Task,
    source: model.Task,
    position: int,
    units: UnitDirectory,
    now: datetime,
    where: str,
    report: LoadReport,
) -> None:
    changed = _texts(task, source, position)
    if _set_units(session, task, source.lead, source.co_units, units):
        changed = True
        names = "、".join(tu.unit.name for tu in task.units)
        _by_load(session, task, now, "units_changed", f"{where}修改了责任单位", to_value=names)
    if not task.in_plan:
        task.in_plan = True
        changed = True
        _by_load(session, task, now, "back_in_plan", f"{where}重新列入此任务")
    if deadline_record(source.deadline) != task.file_deadline:
        before = describe_deadline(task.deadline_text, task.due)
        _apply_deadline(task, source.deadline)
        _by_load(
            session,
            task,
            now,
            "deadline_changed",
            f"{where}修改了完成时限",
            from_value=before,
            to_value=describe_deadline(task.deadline_text, task.due),
        )
        report.deadline_changed.append(task.no)
        changed = True
    if changed:
        task.updated_at = now
        report.updated.append(task.no)
    else:
        report.unchanged.append(task.no)
