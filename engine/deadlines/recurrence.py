"""The due dates a deadline names within a window, for the planner. Pure: no I/O, no clock."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache

from dateutil.rrule import rrulestr

from engine.deadlines.deadline import Deadline, DeadlineKind


def occurrences(deadline: Deadline, start: date, end: date) -> list[date]:
    """The due dates of `deadline` from `start` to `end`, both included, in order.

    A recurring deadline gives each occurrence of its rule on or after its own `start`; a dated
    one its due date; milestones each milestone's date; long-term and unknown ones nothing.
    Raises ValueError if a recurring deadline's `rrule` is not a valid rule.
    """
    if deadline.kind is DeadlineKind.RECURRING and deadline.rrule is not None:
        if deadline.start is not None and deadline.start > start:
            start = deadline.start
        if end < start:
            return []
        return list(_rule_occurrences(deadline.rrule, start, end))
    if deadline.kind is DeadlineKind.MILESTONES:
        dues = sorted({milestone.due for milestone in deadline.milestones})
    elif deadline.kind is DeadlineKind.DATE and deadline.due is not None:
        dues = [deadline.due]
    else:
        dues = []
    return [due for due in dues if start <= due <= end]


# The planner asks the same few rules about the same window for many tasks in one tick.
@lru_cache(maxsize=4096)
def _rule_occurrences(rule: str, start: date, end: date) -> tuple[date, ...]:
    first = datetime.combine(start, time())
    recurrence = rrulestr(rule, dtstart=first)
    last = datetime.combine(end, time())
    return tuple(moment.date() for moment in recurrence.between(first, last, inc=True))
