"""Building a notice's render context from an outbox row and the store.

The row says who, which kind, which tasks and carries the planner's per-task facts (`context`);
the store gives each task's title, deadline, status and progress as they are now, and the plan's
title and coordinator. Lights are computed at `now`, the moment the notice goes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from engine.config import Settings
from engine.model.lights import light
from engine.model.plan import Status
from engine.notify.context import NoticeContext, TaskLine
from engine.store.models import Plan
from engine.store.outbox import OutboxNotice
from engine.store.repository import co_units_of, lead_of, tasks_of_plan


@dataclass(frozen=True)
class NoticeSpec:
    """What a notice is about, whether it comes from an outbox row or from `duban preview`."""

    kind: str
    recipient: str
    channel: str
    plan_id: str | None
    tasks: tuple[int, ...]
    level: int = 0
    is_copy: bool = False
    send_at: datetime | None = None
    notice_id: int | None = None
    occurrence: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of_row(cls, row: OutboxNotice) -> NoticeSpec:
        return cls(
            kind=row.kind,
            recipient=row.recipient,
            channel=row.channel,
            plan_id=row.plan_id,
            tasks=tuple(row.tasks or ()),
            level=row.level,
            is_copy=row.is_copy,
            send_at=row.send_at,
            notice_id=row.id,
            occurrence=row.occurrence,
            context=dict(row.context or {}),
        )


_DIGEST_ORDER = {"red": 0, "yellow": 1, "none": 2, "green": 3, "done": 4}


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _status_label(code: str) -> str:
    try:
        return Status(code).label
    except ValueError:
        return code


def task_lines(
    session: Session,
    plan: Plan,
    numbers: Iterable[int],
    *,
    now: datetime,
    notice_date: date,
    settings: Settings,
    facts: Mapping[str, Any] | None = None,
) -> tuple[TaskLine, ...]:
    """The listed tasks of `plan`, in the order given; a number no longer in the plan is skipped."""
    tasks = tasks_of_plan(session, plan.id)
    facts = facts or {}
    lines = []
    for no in numbers:
        task = tasks.get(int(no))
        if task is None:
            continue
        fact = facts.get(str(no)) or {}
        # a reminder about a milestone or a recurring date names that date, not the final one
        due = _as_date(fact.get("due")) or task.due
        lines.append(
            TaskLine(
                no=task.no,
                title=task.title,
                deadline_text=task.deadline_text,
                due=due,
                status=task.status,
                status_label=_status_label(task.status),
                light=str(
                    light(
                        task.status,
                        task.due,
                        now,
                        settings.policy.yellow_within_days,
                        plan.timezone,
                        kind=task.deadline_kind,
                    )
                ),
                lead=lead_of(task) or "",
                co_units=tuple(co_units_of(task)),
                progress=task.progress or "",
                progress_at=task.progress_at.date() if task.progress_at else None,
                days_left=(due - notice_date).days if due else None,
            )
        )
    return tuple(lines)


def build_context(
    session: Session, spec: NoticeSpec, settings: Settings, now: datetime
) -> NoticeContext:
    """The render context of one notice, from the store as it is at `now`."""
    plan = session.get(Plan, spec.plan_id) if spec.plan_id else None
    zone = ZoneInfo(plan.timezone if plan else settings.service.timezone)
    notice_date = now.astimezone(zone).date()
    facts = spec.context.get("tasks") if isinstance(spec.context.get("tasks"), Mapping) else {}
    lines = (
        task_lines(
            session,
            plan,
            spec.tasks,
            now=now,
            notice_date=notice_date,
            settings=settings,
            facts=facts,
        )
        if plan
        else ()
    )
    if spec.kind == "digest":  # the overview reads worst first
        lines = tuple(sorted(lines, key=lambda t: _DIGEST_ORDER.get(t.light, 9)))
    extra = dict(spec.context)
    return NoticeContext(
        kind=spec.kind,
        recipient=spec.recipient,
        channel=spec.channel,
        level=spec.level,
        is_copy=spec.is_copy,
        plan_id=plan.id if plan else "",
        plan_title=plan.title if plan else "",
        coordinator=plan.coordinator.name if plan and plan.coordinator else "",
        notice_date=notice_date,
        tasks=lines,
        notice_id=spec.notice_id,
        occurrence=spec.occurrence,
        reply_by=_as_date(extra.get("report_day")),
        extra=extra,
    )
