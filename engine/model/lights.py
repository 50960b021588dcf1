"""Lights (红黄绿灯) and the reasons a task needs attention. Pure: takes `now`.

A deadline date means the end of that day in the plan's time zone: a task due today is not yet
overdue at 23:59 and is red from the next midnight.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from engine.deadlines.deadline import DeadlineKind
from engine.model.plan import Status


class Light(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    DONE = "done"
    NONE = "none"

    @property
    def label(self) -> str:
        return LIGHT_LABELS[self]


LIGHT_LABELS: dict[Light, str] = {
    Light.RED: "红灯",
    Light.YELLOW: "黄灯",
    Light.GREEN: "绿灯",
    Light.DONE: "已完成",
    Light.NONE: "无时限",
}

_ALWAYS_GREEN = frozenset({DeadlineKind.LONG_TERM, DeadlineKind.RECURRING})
# A status or a kind by its value (or itself: a StrEnum member hashes as its value), without
# the enum's call, ~1 µs: the ledger and the notices light every task they list.
_STATUSES: dict[str, Status] = {status.value: status for status in Status}
_KINDS: dict[str, DeadlineKind] = {kind.value: kind for kind in DeadlineKind}


def light(
    status: Status | str,
    due: date | None,
    now: datetime,
    yellow_within_days: int = 30,
    timezone: str = "Asia/Shanghai",
    *,
    kind: DeadlineKind | str | None = None,
) -> Light:
    """The light of one task at `now`."""
    status = _STATUSES.get(status) or Status(status)  # an unknown one raises ValueError
    if status is Status.COMPLETED:
        return Light.DONE
    if status is Status.LONG_TERM or (
        kind is not None and (_KINDS.get(kind) or DeadlineKind(kind)) in _ALWAYS_GREEN
    ):
        return Light.GREEN
    if due is None:
        return Light.NONE
    today = now.astimezone(ZoneInfo(timezone)).date()
    if today > due:
        return Light.RED
    if (due - today).days <= yellow_within_days:
        return Light.YELLOW
    return Light.GREEN


def attention(
    *,
    lead: str | None,
    kind: DeadlineKind | str,
    deadline_text: str,
    in_plan: bool = True,
) -> list[str]:
    """Why a task needs the coordinator's attention; empty when it does not."""
    reasons = []
    if not lead:
        reasons.append("缺少牵头单位")
    if DeadlineKind(kind) is DeadlineKind.UNKNOWN:
        reasons.append("完成时限无法识别" if deadline_text.strip() else "缺少完成时限")
    if not in_plan:
        reasons.append("计划文件中已无此任务")
    return reasons
