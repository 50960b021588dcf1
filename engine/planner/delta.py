"""Which tasks a pass must look at, given the last pass that committed: what fell due since.

Pure, like the rest of the planner. A pass plans, for each task, the latest occurrence of each
notice that fell due by today (engine.planner.decide); an occurrence the last pass already
planned was planned then for every task it concerned (each such task got its key, or had it).
So a task unchanged since the last pass (its revision at or below the one that pass read) needs
looking at again only where today's latest occurrence differs from the last pass's. Those are
found per due date, not per task: every task due on one day shares its reminder and escalation
days (engine.planner.days).

The rule, written down (and tested in tests/test_planner_delta.py):
- A pass reads every task in full when there is no mark, when the mark is from a later day than
  today (the clock was set back), when the policy, the calendar or the planner itself changed
  (the fingerprint differs), or when the progress cadence has a request or a chase that the
  marked pass did not (that is the day every open task is asked: the work that is due).
- Otherwise it reads: the tasks due on the days whose reminder or escalation occurrences today
  are not all among the marked pass's; the tasks changed since the mark (revision above it);
  and every task with several due dates (milestones, recurring deadlines), which are few.
- It reads the dedupe keys of those tasks only, and the plan-wide keys (the digests).

A progress report is no change: it can only make a notice unnecessary, never due.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from engine.deadlines.calendar import WorkCalendar
from engine.planner.days import DayTable
from engine.planner.notices import PROGRESS_MISSING, PROGRESS_REQUEST, REMINDER
from engine.planner.policy import Policy
from engine.planner.progress import progress_occurrences

PLANNER_VERSION = "1"
"""Part of the fingerprint: moved on whenever what a pass plans for the same tasks changes."""

Occurrence = tuple[str, int, str]
"""(kind, level, occurrence) of a notice."""


@dataclass(frozen=True)
class Mark:
    """The last pass that committed: its day, the task revision it read, its fingerprint."""

    day: date
    revision: int
    fingerprint: str


@dataclass(frozen=True)
class Scope:
    """What a pass reads: everything (`full`), or the tasks due on `dues`, those changed after
    revision `changed_after`, and those with several due dates."""

    full: bool
    dues: tuple[date, ...] = ()
    changed_after: int = 0
    reason: str = ""


FULL_NO_MARK = Scope(True, reason="no earlier pass")
EVERY_TASK = Scope(True, reason="every task")


def fingerprint(policy: Policy, calendar: WorkCalendar, first: date, last: date) -> str:
    """The policy, the calendar's working days from `first` to `last`, and the planner's version,
    as one hash: a pass planned with another one cannot vouch for this one's occurrences."""
    digest = hashlib.sha256(f"{PLANNER_VERSION}|{policy!r}|{first}|{last}|".encode())
    span = (last - first).days + 1
    ordinal = first.toordinal()
    digest.update(bytes(calendar.is_workday(date.fromordinal(ordinal + i)) for i in range(span)))
    return digest.hexdigest()


def calendar_span(today: date, dues: Iterable[date]) -> tuple[date, date]:
    """The days a pass's arithmetic can touch: from the earliest due date (overdue counts start
    there) to the end of next year (reminders look ahead at most that far)."""
    first = min(dues, default=today)
    first = date(min(first, today).year, 1, 1)
    return first, date(today.year + 1, 12, 31)


def wanted(days: DayTable, due: date) -> frozenset[Occurrence]:
    """The occurrences a pass on `days.today` plans for a task with one due date, `due`."""
    if due >= days.today:
        hit = days.latest_reminder(due)
        if hit is None:
            return frozenset()
        return frozenset({(REMINDER, 0, f"{due.isoformat()}/T-{hit[1]}")})
    found = set()
    for step in days.policy.escalation:
        fired = days.latest_escalation(due, step)
        if fired is not None:
            found.add((step.kind, step.level, fired.isoformat()))
    return frozenset(found)


def scope(
    mark: Mark | None,
    today: date,
    policy: Policy,
    calendar: WorkCalendar,
    dues: Iterable[date],
    print_: str,
) -> Scope:
    """What the pass on `today` must read, given the marked pass (`print_`: today's fingerprint)."""
    if mark is None:
        return FULL_NO_MARK
    if mark.day > today:
        return Scope(True, reason=f"the last pass was on a later day ({mark.day})")
    if mark.fingerprint != print_:
        return Scope(True, reason="the policy, the calendar or the planner changed")
    now_days = DayTable(today, policy, calendar)
    then_days = DayTable(mark.day, policy, calendar)
    if _progress(now_days) - _progress(then_days):
        return Scope(True, reason="a progress request or chase fell due")
    dues = sorted(set(dues))
    if dues:
        now_days.cover(dues[0])
        then_days.cover(dues[0])
    fresh = tuple(d for d in dues if not wanted(now_days, d) <= wanted(then_days, d))
    return Scope(False, dues=fresh, changed_after=mark.revision)


def _progress(days: DayTable) -> set[Occurrence]:
    request, chase = progress_occurrences(days)
    found = set()
    if request:
        found.add((PROGRESS_REQUEST, 0, request.isoformat()))
    if chase:
        found.add((PROGRESS_MISSING, 0, chase[1].isoformat()))
    return found
