"""Per-unit figures and the totals by light, over a snapshot of one plan. Pure: takes `now`.

Figures count the tasks a unit leads (the lead unit answers for a task), except `co`, the tasks it
shares as a co-unit:
- `completed_on_time` / `completed_late`: completed tasks, by whether they were completed by the
  end of their due day in force (after any approved extension). A task is completed when its lead
  asked for it, if the coordinator then approved the request: a slow decision does not make a unit
  late. A completed task without a due date (long-term, recurring) counts as on time.
- `overdue`: open tasks whose due day has passed (their light is red).
- `reports_missing`: open tasks with no report from their lead since the start of the last closed
  report period (see `report_period`), as the planner's `progress_missing` chase counts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from engine.model.lights import Light, light
from engine.model.plan import Status
from engine.planner.progress import report_days


@dataclass(frozen=True)
class TaskRecord:
    """One task as the figures need it."""

    no: int
    title: str
    lead: str | None
    co_units: tuple[str, ...]
    status: str
    deadline_text: str
    kind: str
    due: date | None
    completed_at: datetime | None = None
    """When the task was completed (the request's time when it was approved on request)."""
    tracked_since: date | None = None
    """The day duban first knew the task: report periods that ended before it are not counted."""
    lead_reported_at: datetime | None = None
    """The lead unit's latest progress report on this task."""
    progress: str = ""

    @property
    def is_open(self) -> bool:
        return self.status != Status.COMPLETED.value


@dataclass(frozen=True)
class PendingRequest:
    """A request waiting for the coordinator's decision."""

    id: int
    no: int
    unit: str
    type: str
    to: str | None
    until: date | None
    reason: str
    at: datetime


@dataclass(frozen=True)
class PlanSnapshot:
    """One plan's tasks and pending requests at `now`, with the policy values the figures use."""

    plan_id: str
    title: str
    coordinator: str | None
    timezone: tzinfo
    now: datetime
    tasks: tuple[TaskRecord, ...]
    requests: tuple[PendingRequest, ...] = ()
    yellow_within_days: int = 30
    report_every: str = "monthly"
    report_day: int = 25

    @property
    def today(self) -> date:
        return self.now.astimezone(self.timezone).date()

    def light_of(self, task: TaskRecord) -> Light:
        return light(
            task.status, task.due, self.now, self.yellow_within_days, str(self.timezone),
            kind=task.kind,
        )


@dataclass
class UnitFigures:
    unit: str
    led: int = 0
    co: int = 0
    completed_on_time: int = 0
    completed_late: int = 0
    overdue: int = 0
    reports_missing: int = 0
    missing_tasks: list[int] = field(default_factory=list)
    overdue_tasks: list[int] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "led": self.led,
            "co": self.co,
            "completed_on_time": self.completed_on_time,
            "completed_late": self.completed_late,
            "overdue": self.overdue,
            "reports_missing": self.reports_missing,
        }


def report_period(today: date, report_every: str, report_day: int) -> tuple[date, date] | None:
    """The last closed report period, (start, end]: it ended on the latest report day before today.

    A lead unit owes one report per period on each open task; one made after `start` counts,
    even if it came after `end`. None when the policy asks for no reports.
    """
    # report_days looks a few months around a day; look around a day before too, so that a
    # quarterly cadence always yields the two latest report days.
    around = [*report_days(today, report_every, report_day),
              *report_days(today - timedelta(days=120), report_every, report_day)]
    days = sorted({d for d in around if d < today})
    if len(days) < 2:
        return None
    return days[-2], days[-1]


def completed_late(task: TaskRecord, tz: tzinfo) -> bool:
    """Whether a completed task was completed after the end of its due day."""
    if task.due is None or task.completed_at is None:
        return False
    return task.completed_at.astimezone(tz).date() > task.due


def missing_report(task: TaskRecord, period: tuple[date, date] | None, tz: tzinfo) -> bool:
    """Whether the lead unit owes a report on this task for the last closed period."""
    if period is None or not task.is_open or not task.lead:
        return False
    start, end = period
    if task.tracked_since and task.tracked_since > end:
        return False  # the period ended before duban knew the task
    reported = task.lead_reported_at
    return not (reported and reported.astimezone(tz).date() > start)


def _units_in_order(tasks: Iterable[TaskRecord]) -> list[str]:
    seen: dict[str, None] = {}
    for task in tasks:
        for unit in (task.lead, *task.co_units):
            if unit:
                seen.setdefault(unit)
    return list(seen)


def unit_figures(snapshot: PlanSnapshot) -> list[UnitFigures]:
    """Every unit of the plan, in the order units first appear in it."""
    figures = {unit: UnitFigures(unit) for unit in _units_in_order(snapshot.tasks)}
    period = report_period(snapshot.today, snapshot.report_every, snapshot.report_day)
    tz = snapshot.timezone
    for task in snapshot.tasks:
        for unit in dict.fromkeys(task.co_units):
            if unit != task.lead:
                figures[unit].co += 1
        if not task.lead:
            continue
        mine = figures[task.lead]
        mine.led += 1
        if not task.is_open:
            if completed_late(task, tz):
                mine.completed_late += 1
            else:
                mine.completed_on_time += 1
        elif snapshot.light_of(task) is Light.RED:
            mine.overdue += 1
            mine.overdue_tasks.append(task.no)
        if missing_report(task, period, tz):
            mine.reports_missing += 1
            mine.missing_tasks.append(task.no)
    return list(figures.values())


def light_totals(snapshot: PlanSnapshot) -> dict[str, int]:
    """How many tasks show each light; every light present, zero included."""
    totals = {str(code): 0 for code in Light}
    for task in snapshot.tasks:
        totals[str(snapshot.light_of(task))] += 1
    return totals


def stats_document(snapshot: PlanSnapshot) -> dict[str, Any]:
    """`stats --json`: the shape DESIGN.md fixes, with the `none` total added."""
    return {
        "units": [f.json() for f in unit_figures(snapshot)],
        "totals": light_totals(snapshot),
    }
