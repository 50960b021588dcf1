"""The progress cadence: ask lead units for their report, chase those who did not report.

A period ends on `report_day` of every month (or of every quarter's last month). On the
`report_notice_working_days`-th working day before it each lead unit gets a `progress_request`
listing its open tasks; on the first working day after it a lead unit that has not reported on a
task since the previous report day gets a `progress_missing` notice, and the plan's coordinator
one `progress_missing` notice listing those units. A period that ended before duban knew the task
is not chased.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import filterfalse
from typing import Any

from engine.planner.days import DayTable
from engine.planner.notices import PROGRESS_MISSING, PROGRESS_REQUEST, Item, NoticeKey, SentIndex
from engine.planner.snapshot import Snapshot, TaskState

_MONTHS = {"monthly": tuple(range(1, 13)), "quarterly": (3, 6, 9, 12)}


def report_days(around: date, report_every: str, report_day: int) -> list[date]:
    """The report days from about four months before `around` to about three months after."""
    months = _MONTHS.get(report_every)
    if not months:
        return []
    found = []
    for offset in range(-5, 5):
        index = around.year * 12 + around.month - 1 + offset
        year, month = divmod(index, 12)
        if month + 1 in months:
            found.append(date(year, month + 1, report_day))
    return found


def progress_occurrences(days: DayTable) -> tuple[date | None, tuple[date, date] | None]:
    """The report day whose request is due today (the latest that fell due for a report day not
    yet passed), and the period whose chase is due (the latest whose first working day after
    its report day has come), as (start, report day); None where there is none."""
    policy = days.policy
    report = report_days(days.today, policy.report_every, policy.report_day)
    if not report:
        return None, None
    asks = [
        (ask, day) for day in report
        if day >= days.today
        and (ask := days.workdays_before(day, policy.report_notice_working_days)) <= days.today
    ]
    request = max(asks)[1] if asks else None
    chases = [
        (i, day) for i, day in enumerate(report)
        if i > 0 and days.calendar.next_workday(day) <= days.today
    ]
    chase = None
    if chases:
        i, report_day = max(chases)
        chase = (report[i - 1], report_day)
    return request, chase


def progress_items(snapshot: Snapshot, days: DayTable, sent: SentIndex) -> Iterator[Item]:
    request, chase = progress_occurrences(days)
    if request:
        yield from _requests(snapshot, request, sent)
    if chase:
        yield from _missing(snapshot, days, chase[0], chase[1], sent)


def _requests(snapshot: Snapshot, report_day: date, sent: SentIndex) -> Iterator[Item]:
    occurrence = report_day.isoformat()
    detail = {"report_day": occurrence}
    tasks = snapshot.open_with_lead
    asked = sent.tasks(PROGRESS_REQUEST, 0, occurrence)
    for key in sorted(filterfalse(asked.__contains__, tasks)):
        task = tasks[key]
        assert task.lead
        yield from _to(snapshot, task, task.lead, PROGRESS_REQUEST, 0, occurrence, detail)


def _missing(
    snapshot: Snapshot, days: DayTable, period_start: date, report_day: date, sent: SentIndex
) -> Iterator[Item]:
    occurrence = report_day.isoformat()
    # A report made on the previous report day belongs to that period; one made after it counts.
    since = datetime.combine(period_start + timedelta(days=1), time(), days.policy.timezone)
    tasks = snapshot.open_with_lead
    chased = sent.tasks(PROGRESS_MISSING, 0, occurrence)
    candidates = filterfalse(chased.__contains__, snapshot.unreported_since(since))
    missing: dict[str, list[TaskState]] = {}
    for key in sorted(candidates):
        task = tasks[key]
        if task.tracked_since and task.tracked_since > report_day:
            continue  # the period ended before duban knew the task
        missing.setdefault(task.plan_id, []).append(task)
    base = {"report_day": occurrence, "period_start": period_start.isoformat()}
    for plan_id, plan_tasks in missing.items():
        units: dict[str, list[int]] = {}
        for task in plan_tasks:
            assert task.lead
            units.setdefault(task.lead, []).append(task.no)
            reported = task.lead_reported_at
            detail = dict(base, last_report=reported.isoformat() if reported else None)
            yield from _to(snapshot, task, task.lead, PROGRESS_MISSING, 0, occurrence, detail)
        coordinator = snapshot.coordinator(plan_id)
        if coordinator:
            summary = dict(base, missing_units=units)
            for task in plan_tasks:
                yield from _to(snapshot, task, coordinator, PROGRESS_MISSING, 1, occurrence,
                               summary)


def _to(
    snapshot: Snapshot, task: TaskState, unit: str, kind: str, level: int, occurrence: str,
    detail: dict[str, Any],
) -> Iterator[Item]:
    for channel in snapshot.contact(unit).channels:
        key = NoticeKey(task.plan_id, task.no, unit, channel, kind, level, occurrence)
        yield Item(key, False, detail)
