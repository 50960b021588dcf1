"""The value a deadline cell resolves to (see DESIGN.md, Deadline grammar)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class DeadlineKind(StrEnum):
    DATE = "date"
    MILESTONES = "milestones"
    RECURRING = "recurring"
    LONG_TERM = "long_term"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Milestone:
    text: str
    due: date


@dataclass(frozen=True)
class Deadline:
    """A deadline cell: the original text and what it means.

    `due` is the final due date (for `milestones`, the last milestone); None for recurring,
    long-term and unknown deadlines.
    """

    text: str
    kind: DeadlineKind
    due: date | None = None
    milestones: tuple[Milestone, ...] = field(default_factory=tuple)
    rrule: str | None = None
    start: date | None = None
