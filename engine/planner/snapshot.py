"""What the planner reads: plans, tasks with their state, and how each unit is reached.

The service builds a `Snapshot` from the store once per pass; tests build one by hand. The indexes
are made once, at construction, so that a pass only looks at the tasks a date makes relevant.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, islice

from engine.deadlines.deadline import Deadline, DeadlineKind
from engine.model.plan import Status

TaskKey = str
"""`plan id|task number`: a string, whose hash Python keeps, so that set lookups stay cheap."""


def task_key(plan_id: str, no: int) -> TaskKey:
    return f"{plan_id}|{no}"

FILE_CHANNEL = "file"
_DEADLINE_STATUSES = frozenset({Status.NOT_STARTED.value, Status.IN_PROGRESS.value})


@dataclass(frozen=True)
class PlanState:
    id: str
    coordinator: str | None = None


@dataclass(frozen=True, eq=False, slots=True)
class TaskState:
    """One task as the planner sees it."""

    plan_id: str
    no: int
    lead: str | None
    co_units: tuple[str, ...]
    status: str
    deadline: Deadline
    tracked_since: date | None = None
    """The day duban first knew the task: report periods that ended before it are not chased."""
    last_reports: Mapping[str, datetime] = field(default_factory=dict)
    """The latest progress report of each unit on this task."""

    key: TaskKey = field(init=False, repr=False)
    copies: tuple[str, ...] = field(init=False, repr=False)
    """The co-units that get their own copy: each once, never the lead."""

    def __post_init__(self) -> None:
        # Computed once (a frozen dataclass: set through object.__setattr__).
        object.__setattr__(self, "key", task_key(self.plan_id, self.no))
        copies = dict.fromkeys(u for u in self.co_units if u and u != self.lead)
        object.__setattr__(self, "copies", tuple(copies))

    @property
    def is_open(self) -> bool:
        return self.status != Status.COMPLETED.value

    @property
    def lead_reported_at(self) -> datetime | None:
        return self.last_reports.get(self.lead) if self.lead else None


@dataclass(frozen=True)
class Contact:
    channels: tuple[str, ...] = (FILE_CHANNEL,)
    missing: bool = False
    """No contact configured: notices fall back to the file channel; the coordinator is told."""


_FILE_ONLY = Contact()


class Snapshot:
    """Plans and tasks at one moment, indexed by the dates that make a task relevant."""

    def __init__(
        self,
        plans: Iterable[PlanState],
        tasks: Iterable[TaskState],
        contacts: Mapping[str, Contact] | None = None,
    ) -> None:
        self.plans: dict[str, PlanState] = {p.id: p for p in plans}
        self.tasks: tuple[TaskState, ...] = tuple(tasks)
        self._contacts = dict(contacts or {})
        self.by_final_due: dict[date, dict[TaskKey, TaskState]] = {}
        """Open tasks whose deadline is chased, by their final due date."""
        self.several_dues: dict[TaskKey, TaskState] = {}
        """Open tasks reminded of several dates (milestones, recurring deadlines): few, so each
        pass looks at all of them to find the latest reminder across their dates."""
        self.open_with_lead: dict[TaskKey, TaskState] = {}
        """Open tasks that have a lead unit: the progress cadence asks them."""
        for task in self.tasks:
            self._index(task)
        reports = sorted(
            (at, key) for key, task in self.open_with_lead.items()
            if (at := task.lead_reported_at) is not None
        )
        self._report_times = [at for at, _ in reports]
        self._report_keys = [key for _, key in reports]
        reported = set(self._report_keys)
        self._never_reported = [key for key in self.open_with_lead if key not in reported]

    def _index(self, task: TaskState) -> None:
        if not task.is_open:
            return
        if task.lead:
            self.open_with_lead[task.key] = task
        if task.status not in _DEADLINE_STATUSES:
            return  # long_term tasks get no deadline notices
        deadline = task.deadline
        if deadline.kind in (DeadlineKind.DATE, DeadlineKind.MILESTONES) and deadline.due:
            self.by_final_due.setdefault(deadline.due, {})[task.key] = task
            if len(deadline.milestones) > 1:
                self.several_dues[task.key] = task
        elif deadline.kind == DeadlineKind.RECURRING and deadline.rrule:
            self.several_dues[task.key] = task

    def unreported_since(self, moment: datetime) -> Iterator[TaskKey]:
        """Open tasks whose lead unit has not reported at `moment` or later."""
        before = bisect_left(self._report_times, moment)
        return chain(self._never_reported, islice(self._report_keys, before))

    def contact(self, unit: str) -> Contact:
        return self._contacts.get(unit, _FILE_ONLY)

    def coordinator(self, plan_id: str) -> str | None:
        plan = self.plans.get(plan_id)
        return plan.coordinator if plan else None
