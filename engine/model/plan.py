"""The plan as read from a table or a plan file: sections, tasks, units, deadlines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from engine.deadlines.deadline import Deadline


class Status(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    LONG_TERM = "long_term"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[Status, str] = {
    Status.NOT_STARTED: "未启动",
    Status.IN_PROGRESS: "推进中",
    Status.COMPLETED: "已完成",
    Status.LONG_TERM: "长期推进",
}


def status_label(code: str | None) -> str:
    """The label of a status code (a `Status` or its value, which finds the same entry: a
    StrEnum member hashes as its value): the code itself when it is no status, "" for none."""
    if not code:
        return ""
    return STATUS_LABELS.get(code, code)  # type: ignore[call-overload]  # text finds its member


@dataclass(frozen=True)
class Section:
    no: str
    title: str


@dataclass
class Task:
    no: int
    section: str | None
    title: str
    content: str
    lead: str | None
    co_units: list[str]
    units_text: str
    deadline: Deadline
    status: Status = Status.NOT_STARTED
    progress: str = ""
    label: str | None = None
    """The number as the source prints it (（三）, 3.), when it is not `no`; None otherwise."""

    @property
    def units(self) -> list[str]:
        """Every responsible unit, lead first."""
        return ([self.lead] if self.lead else []) + [u for u in self.co_units if u != self.lead]


@dataclass(frozen=True)
class ImportWarning:
    task: int | None
    message: str


@dataclass
class Source:
    file: str
    sha256: str


@dataclass
class Plan:
    id: str
    title: str
    coordinator: str
    timezone: str = "Asia/Shanghai"
    source: Source | None = None
    sections: list[Section] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    warnings: list[ImportWarning] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    """The source table's column names in order (used to export the ledger the same way)."""
    issued: date | None = None
    """The day the plan was issued (印发日期), which relative deadlines (5年内) count from."""

    def task(self, no: int) -> Task | None:
        return next((t for t in self.tasks if t.no == no), None)
