"""The planner: from tasks, `now`, the policy, the calendar and what was sent, the notices due.

Pure: it does no I/O, never reads the clock and never imports the store, the channels or the CLI.
"""

from engine.planner.decide import is_planning_time, plan_notices
from engine.planner.digest import plan_digests
from engine.planner.notices import NoticeKey, PlannedNotice, SentIndex
from engine.planner.policy import EscalationStep, Policy
from engine.planner.snapshot import Contact, PlanState, Snapshot, TaskState

__all__ = [
    "Contact",
    "EscalationStep",
    "NoticeKey",
    "PlanState",
    "PlannedNotice",
    "Policy",
    "SentIndex",
    "Snapshot",
    "TaskState",
    "is_planning_time",
    "plan_digests",
    "plan_notices",
]
