"""Planned notices, their dedupe keys, what was already sent, and grouping into messages."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.planner.snapshot import TaskKey, task_key

REMINDER = "reminder"
PROGRESS_REQUEST = "progress_request"
PROGRESS_MISSING = "progress_missing"
DELIVERY_FAILURE = "delivery_failure"
PLAN_WIDE = 0
"""The task number of a key about a whole plan (a digest, the weekly missing-contact report)."""


@dataclass(frozen=True)
class NoticeKey:
    """One task's share of one notice; the same key is never planned twice."""

    plan_id: str
    task_no: int
    recipient: str
    channel: str
    kind: str
    level: int
    occurrence: str

    text: str = field(init=False, repr=False, compare=False)
    """The key as stored in the outbox's `notice_key` table."""

    def __post_init__(self) -> None:
        # Computed once: a pass looks every key up at least twice. (functools.cached_property
        # takes a lock on every access in Python 3.11.)
        text = f"{self.plan_id}|{self.task_no}|{self.recipient}|{self.channel}|{self.kind}|" \
            f"{self.level}|{self.occurrence}"
        object.__setattr__(self, "text", text)

    @classmethod
    def parse(cls, text: str) -> NoticeKey:
        plan_id, no, recipient, channel, kind, level, occurrence = text.split("|", 6)
        return cls(plan_id, int(no), recipient, channel, kind, int(level), occurrence)


class SentIndex:
    """The keys already in the outbox, indexed so that a pass can skip whole groups of tasks."""

    def __init__(self, keys: Iterable[str | NoticeKey] = ()) -> None:
        self._keys: set[str] = set()
        self._tasks: dict[tuple[str, int, str], set[TaskKey]] = {}
        for key in keys:
            self.add(key)

    def add(self, key: str | NoticeKey) -> None:
        if isinstance(key, str):  # split, not parsed into a NoticeKey: an index holds millions
            plan_id, no, _, _, kind, level, occurrence = key.split("|", 6)
            self._keys.add(key)
            bucket = (kind, int(level), occurrence)
            self._tasks.setdefault(bucket, set()).add(f"{plan_id}|{no}")
            return
        self._keys.add(key.text)
        bucket = (key.kind, key.level, key.occurrence)
        self._tasks.setdefault(bucket, set()).add(task_key(key.plan_id, key.task_no))

    def __contains__(self, key: NoticeKey) -> bool:
        return key.text in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def tasks(self, kind: str, level: int, occurrence: str) -> set[TaskKey]:
        """The tasks that already have some notice of this kind, level and occurrence."""
        return self._tasks.get((kind, level, occurrence), _EMPTY)


_EMPTY: set[TaskKey] = set()


@dataclass(frozen=True)
class Item:
    """One task for one recipient on one channel: the unit the planner decides, before grouping."""

    key: NoticeKey
    is_copy: bool
    detail: dict[str, Any] = field(default_factory=dict)
    """Per-task facts for the message (due date, days overdue, …)."""


@dataclass(frozen=True)
class PlannedNotice:
    """One message to one recipient on one channel, listing every task concerned."""

    plan_id: str
    kind: str
    recipient: str
    channel: str
    level: int
    is_copy: bool
    tasks: tuple[int, ...]
    occurrence: str
    keys: tuple[str, ...]
    send_at: datetime
    context: dict[str, Any]

    @property
    def dedupe_key(self) -> str:
        """Stable for the same set of task keys: a second pass cannot insert the row again."""
        digest = hashlib.sha256("\n".join(sorted(self.keys)).encode()).hexdigest()[:24]
        return f"{self.plan_id}|{self.kind}|{self.recipient}|{self.channel}|{digest}"


def direct_notice(
    *,
    plan_id: str,
    kind: str,
    recipient: str,
    channel: str,
    tasks: tuple[int, ...],
    occurrence: str,
    send_at: datetime,
    context: dict[str, Any],
) -> PlannedNotice:
    """A notice outside the reminder ladder (digest, failure report, approval): level 0, no copy.

    One key per task (task 0 for a notice about the whole plan), in the planner's format, so that
    it is never queued twice.
    """
    keys = tuple(
        NoticeKey(plan_id, no, recipient, channel, kind, 0, occurrence).text
        for no in (tasks or (0,))
    )
    return PlannedNotice(
        plan_id=plan_id,
        kind=kind,
        recipient=recipient,
        channel=channel,
        level=0,
        is_copy=False,
        tasks=tasks,
        occurrence=occurrence,
        keys=keys,
        send_at=send_at,
        context=context,
    )


def group(items: Iterable[Item], send_at: datetime) -> list[PlannedNotice]:
    """One notice per plan, kind, recipient and channel (one send time per pass), stably ordered."""
    buckets: dict[tuple[str, str, str, str], list[Item]] = {}
    for item in items:
        k = item.key
        buckets.setdefault((k.plan_id, k.kind, k.recipient, k.channel), []).append(item)
    notices = [_notice(bucket, items, send_at) for bucket, items in buckets.items()]
    notices.sort(key=lambda n: (n.plan_id, n.kind, n.recipient, n.channel, n.level))
    return notices


# Facts that many tasks of one notice share, and that the notice keeps once (not per task): the
# coordinator's `progress_missing` lists every unit's missing tasks, and a copy of that map in
# each task's detail would make the stored notice grow with the square of the tasks; the
# missing-contact report's units and kinds (`missing_kinds`), with tasks x units.
_SHARED = ("missing_units", "missing_kinds")


def _own(detail: dict[str, Any], slim: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """A task's detail without the facts the notice keeps once (made once per shared detail)."""
    if not any(name in detail for name in _SHARED):
        return detail
    own = slim.get(id(detail))
    if own is None:
        own = slim[id(detail)] = {k: v for k, v in detail.items() if k not in _SHARED}
    return own


def _notice(
    bucket: tuple[str, str, str, str], items: list[Item], send_at: datetime
) -> PlannedNotice:
    plan_id, kind, recipient, channel = bucket
    items.sort(key=lambda i: (i.key.task_no, i.key.level, i.key.occurrence))
    occurrences = {i.key.occurrence for i in items}
    occurrence = occurrences.pop() if len(occurrences) == 1 else send_at.date().isoformat()
    slim: dict[int, dict[str, Any]] = {}
    listed = [i for i in items if i.key.task_no != PLAN_WIDE]  # a plan-wide key lists no task
    context: dict[str, Any] = {
        "tasks": {str(i.key.task_no): _own(i.detail, slim) for i in listed},
        "copy_tasks": sorted({i.key.task_no for i in listed if i.is_copy}),
        "occurrences": {str(i.key.task_no): i.key.occurrence for i in listed},
    }
    missing_units: dict[str, set[int]] = {}
    seen: set[int] = set()
    for item in items:  # facts shared by the whole notice (redirects, missing units)
        if id(item.detail) in seen:
            continue  # many tasks share one detail: read it once
        seen.add(id(item.detail))
        for name in ("redirected_from", "report_day", "period_start"):
            if name in item.detail:
                context[name] = item.detail[name]
        if item.detail.get("reason") == "missing_contact":
            kinds: dict[str, list[str]] = item.detail["missing_kinds"]
            context["reason"] = "missing_contact"
            context["missing_kinds"] = kinds
            context["missing_contacts"] = list(kinds)
            context["failed_kind"] = next(iter(kinds.values()))[0]
        for unit, nos in item.detail.get("missing_units", {}).items():
            missing_units.setdefault(unit, set()).update(nos)
    if missing_units:
        context["missing_units"] = {unit: sorted(nos) for unit, nos in missing_units.items()}
    return PlannedNotice(
        plan_id=plan_id,
        kind=kind,
        recipient=recipient,
        channel=channel,
        level=max(i.key.level for i in items),
        is_copy=all(i.is_copy for i in items),
        tasks=tuple(sorted({i.key.task_no for i in listed})),
        occurrence=occurrence,
        keys=tuple(i.key.text for i in items),
        send_at=send_at,
        context=context,
    )
