"""Loading a plan file into the store: create, or update what the file changed.

Re-loading is idempotent. It updates texts, units and any deadline the file changed (recorded in
the history) and keeps status, progress, history and approved extensions: an extension stands
until the file itself changes that task's deadline. A task the file no longer lists is kept and
marked, never deleted.

A plan can hold tens of thousands of tasks, so the load works in bulk: the stored tasks and their
units are read in two queries and compared in memory with the file, and what changed (new tasks,
their units, changed columns, history entries) is written with one executemany per table (the new
tasks' "created" entries with one INSERT … SELECT), all in the one transaction. No ORM object is
built per task and nothing is flushed per row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.deadlines.deadline import Deadline
from engine.model import plan as model
from engine.store import Database
from engine.store.models import History, Plan, Section, Task, TaskUnit
from engine.store.repository import (
    SYSTEM,
    UnitDirectory,
    delete_task_units,
    history_of_new_tasks,
    insert_rows,
    last_task_id,
    task_ids_of_plan,
    task_rows_of_plan,
    task_units_of_plan,
    update_rows,
)

Units = list[tuple[str, str]]
"""A task's units as (role, canonical name), lead first, in the file's order."""


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
    """A deadline as plain JSON, to store and to compare with the next load (a new dict)."""
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


def _deadline_columns(deadline: Deadline, record: dict[str, Any]) -> dict[str, Any]:
    """The task columns a deadline from the file sets; it replaces any approved extension."""
    return {
        "deadline_text": deadline.text,
        "deadline_kind": record["kind"],
        "due": deadline.due,
        "milestones": record["milestones"],
        "rrule": deadline.rrule,
        "start": deadline.start,
        "file_deadline": record,
        "original_due": None,
    }


def _texts(source: model.Task, position: int) -> dict[str, Any]:
    return {
        "section_no": source.section,
        "title": source.title,
        "content": source.content,
        "units_text": source.units_text,
        "position": position,
    }


_COMPARED = (
    "id",
    "in_plan",
    "deadline_text",
    "due",
    "file_deadline",
    "section_no",
    "title",
    "content",
    "units_text",
    "position",
)
"""The stored columns a re-load compares with the file (or quotes in the history)."""


def _wanted_units(
    lead: str | None, co_units: tuple[str, ...], canonical: Callable[[str], str]
) -> Units:
    """A task's units under their canonical names, each once, the lead first."""
    wanted: Units = []
    seen: set[str] = set()
    named = [("lead", lead)] if lead else []
    for role, name in named + [("co", n) for n in co_units]:
        unit = canonical(name)
        if unit and unit not in seen:
            seen.add(unit)
            wanted.append((role, unit))
    return wanted


def _by_load(
    task_id: int,
    now: datetime,
    action: str,
    reason: str,
    *,
    from_value: str | None = None,
    to_value: str | None = None,
) -> dict[str, Any]:
    """A history row that the load itself writes: the actor is the system, not a unit."""
    return {
        "task_id": task_id,
        "at": now,
        "actor": SYSTEM,
        "action": action,
        "from_value": from_value,
        "to_value": to_value,
        "reason": reason,
        "request_id": None,
    }


@dataclass
class _Writes:
    """What the load will write, gathered while comparing the file with the store."""

    new_tasks: list[dict[str, Any]] = field(default_factory=list)
    new_units: dict[int, Units] = field(default_factory=dict)
    """The units of each new task, by task number (its id comes with the insert)."""
    updates: list[dict[str, Any]] = field(default_factory=list)
    """Changed columns of stored tasks, each with the task's `id`."""
    replaced_units: dict[int, Units] = field(default_factory=dict)
    """The new units of stored tasks whose units changed, by task id."""
    history: list[dict[str, Any]] = field(default_factory=list)
    missing_history: list[dict[str, Any]] = field(default_factory=list)

    def unit_names(self) -> set[str]:
        every = [*self.new_units.values(), *self.replaced_units.values()]
        return {name for units in every for _, name in units}


def _aliases(
    session: Session, plan: model.Plan, settings: Settings, units: UnitDirectory, where: str
) -> None:
    for canonical, contact in settings.units.items():
        for alias in contact.aliases:
            units.add_alias(session, alias, canonical, where=f'配置文件 [units."{canonical}"]')
    for alias, canonical in plan.aliases.items():
        units.add_alias(session, alias, canonical, where=f"{where} aliases")


def _sections(row: Plan, sections: list[model.Section]) -> None:
    by_no = {s.no: s for s in row.sections}
    keep = []
    for position, section in enumerate(sections):
        existing = by_no.get(section.no) or Section(no=section.no)
        existing.title, existing.position = section.title, position
        keep.append(existing)
    row.sections = keep


def _plan_row(
    session: Session,
    plan: model.Plan,
    units: UnitDirectory,
    now: datetime,
    path: str | None,
    digest: str | None = None,
) -> bool:
    """Create or update the plan's row from the file; True when created."""
    row = session.get(Plan, plan.id)
    created = row is None
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
    row.load_digest = digest
    row.task_count = len(plan.tasks)
    row.loaded_at = now
    _sections(row, plan.sections)
    return created


def load_plan(
    db: Database,
    plan: model.Plan,
    settings: Settings,
    now: datetime,
    *,
    path: str | None = None,
    digest: str | None = None,
) -> LoadReport:
    """Create or update `plan` in the store, in one transaction.

    `digest`: what the plan was read from (engine.plans.load_digest), kept so that the next start
    need not read an unchanged file again; None (a `duban load`) makes the next start read it.
    """
    where = f"计划文件 {path}" if path else f"计划 {plan.id}"
    with db.transaction() as session:
        units = UnitDirectory.read(session)
        _aliases(session, plan, settings, units, where)
        created = _plan_row(session, plan, units, now, path, digest)
        session.flush()  # the plan row and the merged units, before Core reads and writes

        report = LoadReport(plan_id=plan.id, plan_created=created)
        stored = task_rows_of_plan(session, plan.id, *_COMPARED)
        stored_units = task_units_of_plan(session, plan.id) if stored else {}
        writes = _Writes()
        # Thousands of tasks name the same few units: resolve each name, and each task's list
        # of them, once (the lists are shared, and read only from here on).
        canonical = cache(lambda name: units.canonical(name.strip()))
        units_of = cache(partial(_wanted_units, canonical=canonical))
        # …and a few deadlines: make each one's record once (read-only from here on).
        record_of = cache(deadline_record)
        for position, source in enumerate(plan.tasks):
            wanted = units_of(source.lead, tuple(source.co_units))
            row = stored.pop(source.no, None)
            if row is None:
                record = record_of(source.deadline)
                writes.new_tasks.append(_new_task(plan.id, source, position, now, record))
                writes.new_units[source.no] = wanted
                report.created.append(source.no)
                continue
            current = stored_units.get(row["id"], [])
            record = record_of(source.deadline)
            _compare(row, current, source, position, wanted, record, now, where, report, writes)
        for no, row in sorted(stored.items()):
            report.missing.append(no)
            if row["in_plan"]:
                writes.updates.append({"id": row["id"], "in_plan": False, "updated_at": now})
                reason = f"重新载入{where}时，文件中已无此任务；任务保留"
                writes.missing_history.append(_by_load(row["id"], now, "missing_from_plan", reason))
        _write(session, plan.id, units, writes, now, where)
        return report


def _new_task(
    plan_id: str, source: model.Task, position: int, now: datetime, record: dict[str, Any]
) -> dict[str, Any]:
    return {
        "plan_id": plan_id,
        "no": source.no,
        "status": str(source.status),
        "progress": source.progress,
        "progress_at": None,
        "in_plan": True,
        "created_at": now,
        "updated_at": now,
        **_texts(source, position),
        **_deadline_columns(source.deadline, record),
    }


def _compare(
    row: RowMapping,
    current: Units,
    source: model.Task,
    position: int,
    wanted: Units,
    record: dict[str, Any],
    now: datetime,
    where: str,
    report: LoadReport,
    writes: _Writes,
) -> None:
    """Gather what the file changed in a stored task, and the history entries that say so."""
    task_id = row["id"]
    changes = {k: v for k, v in _texts(source, position).items() if row[k] != v}
    changed = bool(changes)
    if current != wanted:
        writes.replaced_units[task_id] = wanted
        changed = True
        names = "、".join(name for _, name in wanted)
        reason = f"{where}修改了责任单位"
        writes.history.append(_by_load(task_id, now, "units_changed", reason, to_value=names))
    if not row["in_plan"]:
        changes["in_plan"] = True
        changed = True
        writes.history.append(_by_load(task_id, now, "back_in_plan", f"{where}重新列入此任务"))
    if record != row["file_deadline"]:
        changes.update(_deadline_columns(source.deadline, record))
        writes.history.append(
            _by_load(
                task_id,
                now,
                "deadline_changed",
                f"{where}修改了完成时限",
                from_value=describe_deadline(row["deadline_text"], row["due"]),
                to_value=describe_deadline(source.deadline.text, source.deadline.due),
            )
        )
        report.deadline_changed.append(source.no)
        changed = True
    if changed:
        writes.updates.append({"id": task_id, **changes, "updated_at": now})
        report.updated.append(source.no)
    else:
        report.unchanged.append(source.no)


def _write(
    session: Session,
    plan_id: str,
    units: UnitDirectory,
    writes: _Writes,
    now: datetime,
    where: str,
) -> None:
    """Write what the comparison gathered: one executemany per table and kind of change."""
    unit_ids = units.ensure_all(session, writes.unit_names())
    delete_task_units(session, list(writes.replaced_units))
    after_id = last_task_id(session) if writes.new_tasks else 0
    insert_rows(session, Task, writes.new_tasks)
    update_rows(session, Task, writes.updates)
    ids = task_ids_of_plan(session, plan_id) if writes.new_tasks else {}
    task_units = [
        {"task_id": task_id, "unit_id": unit_ids[name], "role": role, "position": position}
        for task_id, wanted in [
            *writes.replaced_units.items(),
            *((ids[no], wanted) for no, wanted in writes.new_units.items()),
        ]
        for position, (role, name) in enumerate(wanted)
    ]
    # Every task here already carries this transaction's revision: inserted just now, or its
    # old units deleted by delete_task_units, which stamped it.
    insert_rows(session, TaskUnit, task_units, restamp=False)
    insert_rows(session, History, writes.history)
    if writes.new_tasks:
        reason = f"载入{where}"
        history_of_new_tasks(
            session, plan_id, after_id=after_id, at=now, action="created", reason=reason
        )
    insert_rows(session, History, writes.missing_history)
