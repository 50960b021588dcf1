"""What a notice template sees: the recipient, the plan, the tasks concerned, what is asked.

The values are plain data built from an outbox row and the store (see `compose.py`), or the sample
used by `duban preview` and the template tests. `escaped()` returns a copy in which every text is
passed through a function: the WeCom renderer uses it so that nothing a unit or a plan file wrote
can become markdown (links, @-mentions, headings) whatever the template does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.model.lights import LIGHT_LABELS

SYSTEM_NAME = "督办系统"

# Codes that templates compare (`light == "red"`); they never hold anyone's text, so they are not
# escaped. Anything a person wrote goes into other names.
CODE_NAMES = frozenset(
    {"kind", "channel", "status", "light", "type", "decision", "to", "failed_kind", "reason"}
)


@dataclass(frozen=True)
class TaskLine:
    """One task as a notice lists it."""

    no: int
    title: str
    deadline_text: str
    due: date | None
    status: str
    """The status code (`not_started`, …)."""
    status_label: str
    light: str
    lead: str
    co_units: tuple[str, ...] = ()
    progress: str = ""
    progress_at: date | None = None
    days_left: int | None = None
    """Calendar days from the notice's date to the due date (negative once overdue)."""

    @property
    def light_label(self) -> str:
        return LIGHT_LABELS.get(self.light, self.light)  # type: ignore[call-overload]

    @property
    def days_overdue(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0


def lead_name(task: TaskLine) -> str:
    return task.lead or "（未明确牵头单位）"


def group_by_lead(tasks: Iterable[TaskLine]) -> list[tuple[str, list[TaskLine]]]:
    """(unit, its tasks) in the order units first appear, for templates that list units."""
    grouped: dict[str, list[TaskLine]] = {}
    for task in tasks:
        grouped.setdefault(lead_name(task), []).append(task)
    return list(grouped.items())


@dataclass(frozen=True)
class NoticeContext:
    """Everything one notice's templates may use; a missing name is an error (StrictUndefined)."""

    kind: str
    recipient: str
    channel: str
    level: int
    is_copy: bool
    plan_id: str
    plan_title: str
    coordinator: str
    notice_date: date
    tasks: tuple[TaskLine, ...]
    notice_id: int | None = None
    occurrence: str = ""
    reply_by: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Kind-specific data: the request and its decision, the failed notice, the digest's figures."""

    @property
    def sender(self) -> str:
        """Who signs: the plan's coordinating office, through the system."""
        return f"{self.coordinator}（{SYSTEM_NAME}）" if self.coordinator else SYSTEM_NAME

    @property
    def to_coordinator(self) -> bool:
        return bool(self.coordinator) and self.recipient == self.coordinator

    @property
    def light_counts(self) -> dict[str, int]:
        """How many of the notice's tasks show each light (every light present, zero included)."""
        counts: dict[str, int] = {str(light): 0 for light in LIGHT_LABELS}
        for task in self.tasks:
            counts[task.light] = counts.get(task.light, 0) + 1
        return counts

    @property
    def by_lead(self) -> dict[str, list[int]]:
        """Task numbers per lead unit, in the order units first appear."""
        grouped: dict[str, list[int]] = {}
        for task in self.tasks:
            grouped.setdefault(lead_name(task), []).append(task.no)
        return grouped

    @property
    def lists_units(self) -> bool:
        """The notice lists units, each with its tasks: the coordinator's `progress_missing`
        (DESIGN.md: "one progress_missing notice listing those units")."""
        return self.kind == "progress_missing" and (self.to_coordinator or self.level >= 1)

    def grouped_by_lead(self) -> NoticeContext:
        """A copy whose tasks are ordered unit by unit (units in the order they first appear)."""
        first: dict[str, int] = {}
        for i, task in enumerate(self.tasks):
            first.setdefault(lead_name(task), i)
        ordered = sorted(self.tasks, key=lambda t: first[lead_name(t)])
        return dataclasses.replace(self, tasks=tuple(ordered))

    def template_vars(
        self, *, tasks: tuple[TaskLine, ...] | None = None, part: int = 1, more: int = 0
    ) -> dict[str, Any]:
        """The names templates see.

        `notice.tasks` holds every task of the notice; `tasks` those listed in this message (a
        WeCom message may carry only some), `part` counts the messages and `more` is how many tasks
        are left for the next ones.
        """
        return {
            "notice": self,
            "tasks": list(self.tasks if tasks is None else tasks),
            "extra": self.extra,
            "part": part,
            "more": more,
        }

    def escaped(self, escape: Callable[[str], str]) -> NoticeContext:
        """A copy with every text (tasks, names, extra) passed through `escape`."""
        return _escape_value(self, escape)


def _escape_value(value: Any, escape: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, (date, datetime, int, float, bool)) or value is None:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _escape_value(getattr(value, f.name), escape)
            for f in dataclasses.fields(value)
            if f.name not in CODE_NAMES
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, dict):
        return {k: v if k in CODE_NAMES else _escape_value(v, escape) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_escape_value(v, escape) for v in value)
    return value
