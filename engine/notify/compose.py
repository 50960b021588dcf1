"""Building a notice's render context from an outbox row and the store.

The row says who, which kind, which tasks and carries the planner's per-task facts (`context`);
the store gives each task's title, deadline, status and progress as they are now, and the plan's
title and coordinator. Lights are computed at `now`, the moment the notice goes out.

Only the tasks a notice lists are read, in column queries (their row, their units), and each once
per StoreView: a dispatch batch costs what its notices list, whatever the size of the plan.

Links are made here too, at render time, with the secret and the generation of the unit's links
read once per StoreView, that is once per dispatch batch. A unit's personal link is signed at
`signing_moment`: the row's `send_at`, moved on by whole hours while the notice is late. The same
row rendered again within the hour (a retry after a crash between sending and recording) carries
the same URL, so the same card or message, and WeCom's duplicate check drops the repeat; a notice
sent a day late is still valid `[web] link_days` days from its send, less at most an hour.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping, select
from sqlalchemy.orm import Session, selectinload

from engine.actions import people
from engine.config import Settings
from engine.model.lights import light
from engine.model.plan import status_label
from engine.notify.context import NoticeContext, TaskLine
from engine.store.models import Plan
from engine.store.outbox import OutboxNotice
from engine.store.repository import UnitDirectory, listed_task_rows, units_of_tasks


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


SIGNING_STEP = timedelta(hours=1)
"""How far a late notice's link signing moment may lag its actual send (see `signing_moment`)."""


def signing_moment(send_at: datetime | None, now: datetime) -> datetime:
    """When a notice's personal link is signed: `send_at`, plus the whole hours it is late.

    Signing at `now` would make every re-rendering differ; signing at `send_at` alone would cut the
    validity of a notice sent days late (a long outage, retries) by as much. This moment is stable
    within each hour after `send_at` and never more than an hour before the send; a notice rendered
    before its time (`duban preview`) is signed at `now`.
    """
    if send_at is None:
        return now
    if send_at.tzinfo is None:  # a naive moment is UTC, as the store keeps it
        send_at = send_at.replace(tzinfo=UTC)
    if now < send_at:
        return now
    late = (now - send_at) // SIGNING_STEP
    return send_at + late * SIGNING_STEP


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


@dataclass(frozen=True)
class StoredTask:
    """One task as notices read it: the columns they show, and its units."""

    no: int
    title: str
    deadline_text: str
    deadline_kind: str
    due: date | None
    status: str
    progress: str
    progress_at: datetime | None
    lead: str
    co_units: tuple[str, ...]


_TASK_COLUMNS = (
    "title", "deadline_text", "deadline_kind", "due", "status", "progress", "progress_at",
)


class StoreView:
    """Plans and the tasks notices list, read once per session for many notices (a dispatch
    batch): a task is read the first time a notice lists it, and only then."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._plans: dict[str, Plan | None] = {}
        self._tasks: dict[str, dict[int, StoredTask | None]] = {}
        self._secret: str | None = None
        self._units: UnitDirectory | None = None
        self._generations: dict[int, int] | None = None
        self._signed: dict[tuple[int, int, int], str] = {}

    def plan(self, plan_id: str | None) -> Plan | None:
        if not plan_id:
            return None
        if plan_id not in self._plans:
            self._read_plans([plan_id])
        return self._plans[plan_id]

    def prefetch(self, specs: Iterable[NoticeSpec]) -> None:
        """Read the plans of these notices (two queries for them all) and the tasks they list
        (a query per plan, and one for all their units), for the whole batch rather than per
        notice (optional: `plan` and `tasks` read what was not prefetched)."""
        wanted: dict[str, set[int]] = {}
        for spec in specs:
            if spec.plan_id:
                wanted.setdefault(spec.plan_id, set()).update(int(no) for no in spec.tasks)
        unread = [plan_id for plan_id in wanted if plan_id not in self._plans]
        if unread:
            self._read_plans(unread)
        self._read(wanted)

    def _read_plans(self, plan_ids: list[str]) -> None:
        """Read these plans with their coordinators; one no longer stored is kept as None."""
        found = self.session.scalars(
            select(Plan).where(Plan.id.in_(plan_ids)).options(selectinload(Plan.coordinator))
        )
        self._plans.update(dict.fromkeys(plan_ids))
        self._plans.update((plan.id, plan) for plan in found)

    def tasks(self, plan_id: str, numbers: Iterable[int]) -> dict[int, StoredTask]:
        """The plan's tasks with these numbers, by number; a number the plan lacks is absent."""
        wanted = [int(no) for no in numbers]
        self._read({plan_id: set(wanted)})
        known = self._tasks[plan_id]
        return {no: task for no in wanted if (task := known[no]) is not None}

    def _read(self, wanted: dict[str, set[int]]) -> None:
        """Read the tasks of these plans and numbers not read yet, and the units of them all."""
        read: list[tuple[dict[int, StoredTask | None], set[int], dict[int, RowMapping]]] = []
        for plan_id, numbers in wanted.items():
            known = self._tasks.setdefault(plan_id, {})
            missing = {no for no in numbers if no not in known}
            if missing:
                rows = listed_task_rows(self.session, plan_id, missing, *_TASK_COLUMNS)
                read.append((known, missing, rows))
        if not read:
            return
        units = units_of_tasks(
            self.session, (row["id"] for _, _, rows in read for row in rows.values())
        )
        for known, missing, rows in read:
            for no in missing:
                row = rows.get(no)
                known[no] = None if row is None else _stored(row, units.get(row["id"], []))

    def link_token(self, settings: Settings, unit: str, now: datetime) -> str | None:
        """A fresh token for `unit`'s page, signed at `now`; None for a name that is no unit."""
        if self._units is None:
            self._units = UnitDirectory.read(self.session)
            self._generations = people.link_generations(self.session)
            self._secret = people.session_secret(self.session, settings)
        assert self._generations is not None and self._secret is not None
        found = self._units.units.get(self._units.canonical(unit.strip()))
        if found is None:
            return None
        generation = self._generations.get(found.id, 0)
        # one signature per unit and second: a batch's notices to a unit, signed at the same
        # moment, carry the same token (itsdangerous signs the same payload to the same text)
        key = (found.id, generation, int(now.timestamp()))
        token = self._signed.get(key)
        if token is None:
            token = self._signed[key] = people.sign_link(self._secret, *key[:2], now)
        return token


def _stored(row: Any, units: list[tuple[str, str]]) -> StoredTask:
    return StoredTask(
        no=row["no"],
        title=row["title"],
        deadline_text=row["deadline_text"],
        deadline_kind=row["deadline_kind"],
        due=row["due"],
        status=row["status"],
        progress=row["progress"] or "",
        progress_at=row["progress_at"],
        # the lead is the first unit in the lead role; every other unit is a co-unit
        lead=next((name for role, name in units if role == "lead"), ""),
        co_units=tuple(name for role, name in units if role != "lead"),
    )


def task_lines(
    view: StoreView,
    plan: Plan,
    numbers: Iterable[int],
    *,
    now: datetime,
    notice_date: date,
    settings: Settings,
    facts: Mapping[str, Any] | None = None,
) -> tuple[TaskLine, ...]:
    """The listed tasks of `plan`, in the order given; a number no longer in the plan is skipped."""
    numbers = tuple(numbers)
    tasks = view.tasks(plan.id, numbers)
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
                status_label=status_label(task.status),
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
                lead=task.lead,
                co_units=task.co_units,
                progress=task.progress or "",
                progress_at=task.progress_at.date() if task.progress_at else None,
                days_left=(due - notice_date).days if due else None,
            )
        )
    return tuple(lines)


def build_context(
    source: Session | StoreView, spec: NoticeSpec, settings: Settings, now: datetime
) -> NoticeContext:
    """The render context of one notice, from the store as it is at `now`."""
    view = source if isinstance(source, StoreView) else StoreView(source)
    plan = view.plan(spec.plan_id)
    zone = ZoneInfo(plan.timezone if plan else settings.service.timezone)
    notice_date = now.astimezone(zone).date()
    facts = spec.context.get("tasks") if isinstance(spec.context.get("tasks"), Mapping) else {}
    lines = (
        task_lines(
            view,
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
    ctx = NoticeContext(
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
    link = ctx.link_for(
        settings.web.base_url,
        settings.web.link_days,
        lambda unit: view.link_token(settings, unit, signing_moment(spec.send_at, now)),
    )
    return dataclasses.replace(ctx, link=link)
