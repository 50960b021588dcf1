"""Per-pass answers that depend only on a date, computed once per date and pass.

Every task due on the same day shares its reminder day and its escalation days, so a pass asks the
calendar once per distinct date, not once per task.
"""

from __future__ import annotations

from datetime import date, timedelta

from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.deadline import Deadline
from engine.deadlines.recurrence import occurrences
from engine.planner.policy import EscalationStep, Policy


class DayTable:
    """Reminder, escalation and report days as seen from one working day, `today`."""

    def __init__(self, today: date, policy: Policy, calendar: WorkCalendar) -> None:
        self.today = today
        self.policy = policy
        self.calendar = calendar
        self._reminders: dict[date, tuple[date, int] | None] = {}
        self._escalations: dict[tuple[date, int], date | None] = {}
        self._span: WorkdaySpan | None = None
        self.horizon = self._reminder_horizon()

    def cover(self, first: date) -> None:
        """Precompute working-day arithmetic from `first` to today (overdue tasks' due dates)."""
        if first < self.today:
            self._span = _span(self.calendar, first, self.today)

    def _reminder_day(self, due: date, days_before: int) -> date:
        return self.calendar.workday_on_or_before(due - timedelta(days=days_before))

    def _reminder_horizon(self) -> date:
        """The last due date whose earliest reminder day is already today or before."""
        offsets = self.policy.remind_before_days
        if not offsets:
            return self.today - timedelta(days=1)
        longest = max(offsets)
        due = self.today + timedelta(days=longest)
        # A reminder day on a rest day moves back, so a due date a little further out can already
        # have its first reminder today; walk forward until it cannot.
        while self._reminder_day(due + timedelta(days=1), longest) <= self.today:
            due += timedelta(days=1)
        return due

    def latest_reminder(self, due: date) -> tuple[date, int] | None:
        """The latest reminder day for `due` that is today or before, with its days-before.

        None once the deadline has passed (no reminder then: the overdue chase starts) or before
        the first reminder day. When two offsets land on one day, the nearer one names it.
        """
        if due in self._reminders:
            return self._reminders[due]
        found: tuple[date, int] | None = None
        if self.today <= due <= self.horizon:
            for days_before in sorted(self.policy.remind_before_days):
                day = self._reminder_day(due, days_before)
                if day <= self.today and (found is None or day > found[0]):
                    found = (day, days_before)
        self._reminders[due] = found
        return found

    def latest_escalation(self, due: date, step: EscalationStep) -> date | None:
        """The latest day this level fired for a deadline on `due`, today included; None if not yet.

        A level with after_working_days = N first fires on the (N+1)-th working day after the due
        date, then every `every_working_days` working days (once when that is 0).
        """
        memo = (due, step.level)
        if memo in self._escalations:
            return self._escalations[memo]
        found: date | None = None
        elapsed = self.working_days_overdue(due)
        first = step.after_working_days + 1
        if elapsed >= first:
            nth = first
            if step.every_working_days > 0:
                nth += (elapsed - first) // step.every_working_days * step.every_working_days
            span = self._span
            if span and span.start <= due:
                found = span.add(due, nth)
            else:
                found = self.calendar.add_workdays(due, nth)
        self._escalations[memo] = found
        return found

    def working_days_overdue(self, due: date) -> int:
        span = self._span
        if span and span.start <= due:
            return span.between(due, self.today)
        return self.calendar.workdays_between(due, self.today)

    def dues_ahead(self, deadline: Deadline) -> list[date]:
        """A deadline's due dates (milestones, recurring occurrences) from today to the horizon."""
        return occurrences(deadline, self.today, self.horizon)

    def workdays_before(self, day: date, n: int) -> date:
        """The n-th working day before `day` (n = 0: `day` itself, or the working day before)."""
        if n <= 0:
            return self.calendar.workday_on_or_before(day)
        for _ in range(n):
            day = self.calendar.previous_workday(day)
        return day


class WorkdaySpan:
    """Working days from `start` to `end` as arrays: arithmetic in one index per call."""

    def __init__(self, calendar: WorkCalendar, start: date, end: date) -> None:
        self.start = start
        self.end = start - timedelta(days=1)
        self._calendar = calendar
        self._through: list[int] = []  # working days in [start, start + i]
        self._workdays: list[date] = []
        self.extend(end)

    def extend(self, end: date) -> None:
        """Reach `end` too: only the days after the current end are asked of the calendar."""
        day, count = self.end + timedelta(days=1), self._through[-1] if self._through else 0
        while day <= end:
            if self._calendar.is_workday(day):
                count += 1
                self._workdays.append(day)
            self._through.append(count)
            day += timedelta(days=1)
        self.end = max(self.end, end)

    def _count(self, d: date) -> int:
        return self._through[(d - self.start).days]

    def between(self, a: date, b: date) -> int:
        """Working days strictly after `a` up to and including `b` (both within the span)."""
        return max(0, self._count(b) - self._count(a))

    def add(self, d: date, n: int) -> date:
        """The n-th working day after `d` (the result must lie within the span)."""
        return self._workdays[self._count(d) + n - 1]


_SPANS: dict[tuple[int, date], tuple[WorkCalendar, WorkdaySpan]] = {}


def _span(calendar: WorkCalendar, start: date, end: date) -> WorkdaySpan:
    # Every tick asks for a span from the same first due date to today: one span per calendar
    # and start, extended day by day (a simulated year of ticks is linear, not quadratic). Only
    # the calendar's days up to `end` are asked, as before; a few spans are kept.
    found = _SPANS.get((id(calendar), start))
    if found is None or found[0] is not calendar:
        if len(_SPANS) >= 8:
            _SPANS.pop(next(iter(_SPANS)))
        found = _SPANS[(id(calendar), start)] = (calendar, WorkdaySpan(calendar, start, end))
    span = found[1]
    if span.end < end:
        span.extend(end)
    return span
