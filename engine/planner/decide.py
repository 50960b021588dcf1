"""The planner: which notices are due at `now`. Pure: no I/O, no clock, no store, no channels.

See DESIGN.md, "Reminder and escalation policy". One pass looks at today only: for each task,
recipient, kind and level it finds the latest occurrence that fell due by today and plans it unless
its key was already sent. After downtime that is one notice per task, not the backlog; a second
pass on the same day finds every key sent and plans nothing.

Choices where DESIGN.md is silent:
- A notice's key is (plan, task, recipient, channel, kind, level, occurrence); the occurrence of a
  reminder is `due/T-n` (the deadline and the days before it), of a chase or an escalation the day
  that level fired, of a progress notice the report day. A grouped notice is stored once, with one
  key per task, so a task is never told twice whatever the grouping of a later pass.
- Grouping is per plan as well: task numbers are only unique within a plan.
- The coordinator's `progress_missing` list has level 1 (the unit's own notice level 0).
- The coordinator's weekly `digest` is about a plan, not its tasks: `plan_digests`
  (engine.planner.digest) decides it, next to this pass (the service runs both).
- "The first start" of the progress cadence is, per task, the day duban first loaded it: a period
  whose report day came before is not chased.
- A unit without a contact gets its notices on the `file` channel, and the plan's coordinator a
  `delivery_failure` notice (reason `missing_contact`: 单位联系方式缺失报告) at most once a week,
  on its first channel, naming each unit and the kinds of notice that fell back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from itertools import filterfalse
from typing import Any

from engine.deadlines.calendar import WorkCalendar
from engine.planner.days import DayTable
from engine.planner.digest import PLAN_WIDE, digest_occurrence
from engine.planner.notices import (
    DELIVERY_FAILURE,
    REMINDER,
    Item,
    NoticeKey,
    PlannedNotice,
    SentIndex,
    group,
)
from engine.planner.policy import EscalationStep, Policy
from engine.planner.progress import progress_items
from engine.planner.snapshot import Snapshot, TaskKey, TaskState

Recipient = tuple[str, bool, str | None]
"""(unit, is a copy, the coordinator it stands in for)"""


def is_planning_time(now: datetime, policy: Policy, calendar: WorkCalendar) -> bool:
    """Notices are decided only on working days, at or after `send_at`."""
    local = now.astimezone(policy.timezone)
    return calendar.is_workday(local.date()) and local.time() >= policy.send_at


def plan_notices(
    snapshot: Snapshot,
    now: datetime,
    policy: Policy,
    calendar: WorkCalendar,
    already_sent: SentIndex | Iterable[str] = (),
) -> list[PlannedNotice]:
    """The notices due at `now` that were not sent before, grouped into messages."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not is_planning_time(now, policy, calendar):
        return []
    sent = already_sent if isinstance(already_sent, SentIndex) else SentIndex(already_sent)
    today = now.astimezone(policy.timezone).date()
    days = DayTable(today, policy, calendar)
    items = [
        *_reminders(snapshot, days, sent),
        *_escalations(snapshot, days, sent),
        *progress_items(snapshot, days, sent),
    ]
    items = [item for item in items if item.key not in sent]
    items.extend(_missing_contacts(snapshot, items, sent, today))
    return group(items, policy.send_time(today))


# --- reminders ---------------------------------------------------------------------------------


def _reminders(snapshot: Snapshot, days: DayTable, sent: SentIndex) -> Iterator[Item]:
    today = days.today
    # Tasks with one due date: every task due on one day shares its reminder, so skip at once
    # those whose reminder for that day is already in the outbox.
    due = today
    while due <= days.horizon:
        bucket = snapshot.by_final_due.get(due)
        hit = days.latest_reminder(due) if bucket else None
        if bucket and hit:
            occurrence = _reminder_occurrence(due, hit[1])
            for key in unsent(bucket, sent.tasks(REMINDER, 0, occurrence)):
                if key not in snapshot.several_dues:
                    yield from _deadline_items(snapshot, bucket[key], REMINDER, 0, occurrence,
                                               _unit_recipients(bucket[key]),
                                               _reminder_detail(today, due, hit[1]))
        due += timedelta(days=1)
    # Milestones and recurring deadlines: the latest reminder across all their dates.
    for task in snapshot.several_dues.values():
        yield from _several_dues_reminder(snapshot, task, days)


def _several_dues_reminder(snapshot: Snapshot, task: TaskState, days: DayTable) -> Iterator[Item]:
    dues = days.dues_ahead(task.deadline)
    hits = [(hit, due) for due in dues if (hit := days.latest_reminder(due))]
    if not hits:
        return
    latest = max(hit[0] for hit, _ in hits)
    for (day, days_before), due in hits:
        if day == latest:
            occurrence = _reminder_occurrence(due, days_before)
            detail = _reminder_detail(days.today, due, days_before)
            yield from _deadline_items(snapshot, task, REMINDER, 0, occurrence,
                                       _unit_recipients(task), detail)


def _reminder_occurrence(due: date, days_before: int) -> str:
    return f"{due.isoformat()}/T-{days_before}"


def _reminder_detail(today: date, due: date, days_before: int) -> dict[str, Any]:
    return {"due": due.isoformat(), "days_left": (due - today).days, "days_before": days_before}


# --- overdue chase and escalation ------------------------------------------------------------


def _escalations(snapshot: Snapshot, days: DayTable, sent: SentIndex) -> Iterator[Item]:
    steps = days.policy.escalation
    if snapshot.by_final_due:
        days.cover(min(snapshot.by_final_due))
    for due, bucket in snapshot.by_final_due.items():
        if due >= days.today:
            continue
        for step in steps:
            fired = days.latest_escalation(due, step)
            if fired is None:
                continue
            occurrence = fired.isoformat()
            fresh = unsent(bucket, sent.tasks(step.kind, step.level, occurrence))
            if not fresh:
                continue
            detail = {
                "due": due.isoformat(),
                "days_overdue": (days.today - due).days,
                "working_days_overdue": days.working_days_overdue(due),
            }
            for key in fresh:
                task = bucket[key]
                recipients = _step_recipients(task, step, steps, snapshot.coordinator(task.plan_id))
                yield from _deadline_items(snapshot, task, step.kind, step.level, occurrence,
                                           recipients, detail)


def _step_recipients(
    task: TaskState,
    step: EscalationStep,
    steps: tuple[EscalationStep, ...],
    coordinator: str | None,
) -> list[Recipient]:
    """Whom one level tells about one task.

    Where the lead unit is itself the coordinator, telling the coordinator would only tell the
    lead again: the level goes to the next level's recipients instead, or to nobody.
    """
    found: list[Recipient] = []
    for who in step.notify:
        if who == "lead" and task.lead:
            found.append((task.lead, False, None))
        elif who == "co_units":
            found.extend((unit, True, None) for unit in task.copies)
        elif who == "coordinator" and coordinator:
            if task.lead != coordinator:
                found.append((coordinator, False, None))
            elif step.level + 1 < len(steps):
                nxt = _step_recipients(task, steps[step.level + 1], steps, coordinator)
                found.extend((unit, copy, coordinator) for unit, copy, _ in nxt)
        elif who == "leader":
            found.extend((unit, False, None) for unit in step.recipients)
    unique: dict[str, Recipient] = {}
    for recipient in found:
        unique.setdefault(recipient[0], recipient)
    return list(unique.values())


# --- shared ------------------------------------------------------------------------------------


def unsent(bucket: Mapping[TaskKey, TaskState], done: set[TaskKey]) -> list[TaskKey]:
    """The bucket's tasks not in `done`, looking up each of them (never iterating `done`, which
    holds every task notified on that occurrence and can be far larger)."""
    if done.issuperset(bucket):
        return []
    return list(filterfalse(done.__contains__, bucket))


def _unit_recipients(task: TaskState) -> list[Recipient]:
    """The lead unit, and each co-unit with its own copy."""
    lead: list[Recipient] = [(task.lead, False, None)] if task.lead else []
    return lead + [(unit, True, None) for unit in task.copies]


def _deadline_items(
    snapshot: Snapshot,
    task: TaskState,
    kind: str,
    level: int,
    occurrence: str,
    recipients: list[Recipient],
    detail: dict[str, Any],
) -> Iterator[Item]:
    for unit, is_copy, redirected_from in recipients:
        unit_detail = dict(detail, redirected_from=redirected_from) if redirected_from else detail
        for channel in snapshot.contact(unit).channels:
            key = NoticeKey(task.plan_id, task.no, unit, channel, kind, level, occurrence)
            yield Item(key, is_copy, unit_detail)


def _missing_contacts(
    snapshot: Snapshot, items: list[Item], sent: SentIndex, today: date
) -> Iterator[Item]:
    """Tell the plan's coordinator, once a week, which units have no contact and which kinds of
    notice went to the file archive for them instead.

    The first pass of an ISO week in which a notice falls back writes the report: one notice to
    the coordinator on its first channel, listing every unit and kind that fell back in that
    pass and the tasks concerned. Its plan-wide key (task 0, occurrence `contacts/<week>`) keeps
    the rest of the week quiet; the notices themselves are never lost (the file archive).
    """
    found: dict[str, tuple[dict[str, set[str]], set[int]]] = {}
    for item in items:
        unit = item.key.recipient
        if item.key.kind == DELIVERY_FAILURE or not snapshot.contact(unit).missing:
            continue
        coordinator = snapshot.coordinator(item.key.plan_id)
        if not coordinator or coordinator == unit:
            continue  # nobody to tell, or it would tell itself through the same file channel
        units, tasks = found.setdefault(item.key.plan_id, ({}, set()))
        units.setdefault(unit, set()).add(item.key.kind)
        tasks.add(item.key.task_no)
    occurrence = f"contacts/{digest_occurrence(today)}"
    for plan_id, (units, tasks) in sorted(found.items()):
        coordinator = snapshot.coordinator(plan_id)
        assert coordinator
        channel = snapshot.contact(coordinator).channels[0]
        week = NoticeKey(plan_id, PLAN_WIDE, coordinator, channel, DELIVERY_FAILURE, 0, occurrence)
        if week in sent:
            continue
        detail = {
            "reason": "missing_contact",
            "missing_kinds": {unit: sorted(kinds) for unit, kinds in sorted(units.items())},
        }
        yield Item(week, False, detail)
        for no in sorted(tasks):
            key = NoticeKey(plan_id, no, coordinator, channel, DELIVERY_FAILURE, 0, occurrence)
            yield Item(key, False, detail)
