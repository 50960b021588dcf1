"""The task state machine: the one table of transitions, who may ask, who decides.

Pure: no I/O, no clock. A unit *requests* a transition; the plan's coordinator *decides*. The
lead unit's first progress report starts a task that has not started (when the policy says so);
only the coordinator may reopen a completed task.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from engine.errors import NotAllowed, UserError
from engine.model.plan import STATUS_LABELS, Status


class Role(StrEnum):
    """What an acting unit is to a task."""

    LEAD = "lead"
    CO_UNIT = "co_unit"
    COORDINATOR = "coordinator"
    STRANGER = "stranger"


ROLE_LABELS: dict[Role, str] = {
    Role.LEAD: "牵头单位",
    Role.CO_UNIT: "配合单位",
    Role.COORDINATOR: "统筹单位",
    Role.STRANGER: "非责任单位",
}

RESPONSIBLE = frozenset({Role.LEAD, Role.CO_UNIT, Role.COORDINATOR})
"""Who may report progress and ask for a change: a unit of the task, or the coordinator."""

DECIDERS = frozenset({Role.COORDINATOR})
"""Who approves or rejects a request: the plan's coordinator only."""


@dataclass(frozen=True)
class Transition:
    source: Status
    target: Status
    requesters: frozenset[Role]
    auto_on_lead_progress: bool = False
    """Approved without a request when the lead unit first reports progress (policy permitting)."""
    label: str = ""


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Status.NOT_STARTED, Status.IN_PROGRESS, RESPONSIBLE, True, "启动"),
    Transition(Status.IN_PROGRESS, Status.COMPLETED, RESPONSIBLE, label="办结"),
    Transition(Status.IN_PROGRESS, Status.LONG_TERM, RESPONSIBLE, label="转为长期推进"),
    Transition(Status.LONG_TERM, Status.COMPLETED, RESPONSIBLE, label="办结"),
    Transition(
        Status.COMPLETED, Status.IN_PROGRESS, frozenset({Role.COORDINATOR}), label="重新打开"
    ),
)


def label(status: Status | str) -> str:
    return STATUS_LABELS[Status(status)]


def parse_status(value: str, *, where: str = "--to") -> Status:
    """A status given by a person: the English code or the Chinese label."""
    text = value.strip()
    for status in Status:
        if text in (status.value, status.label):
            return status
    choices = "、".join(f"{s.value}（{s.label}）" for s in Status)
    raise UserError(f"{where} 的值“{value}”不是有效的状态，应为 {choices} 之一")


def roles_of(
    unit: str, *, lead: str | None, co_units: Iterable[str], coordinator: str | None
) -> frozenset[Role]:
    """Every role `unit` plays for a task (the coordinator may also lead a task)."""
    roles = set()
    if lead and unit == lead:
        roles.add(Role.LEAD)
    if unit in set(co_units) and unit != lead:
        roles.add(Role.CO_UNIT)
    if coordinator and unit == coordinator:
        roles.add(Role.COORDINATOR)
    return frozenset(roles) or frozenset({Role.STRANGER})


def transitions_from(source: Status) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source is source]


def find_transition(source: Status, target: Status) -> Transition | None:
    return next((t for t in TRANSITIONS if t.source is source and t.target is target), None)


def _targets_text(source: Status) -> str:
    targets = transitions_from(source)
    if not targets:
        return "该状态不能再变更"
    return "可变更为：" + "、".join(f"{t.target.label}（{t.target.value}）" for t in targets)


def check_request(
    source: Status, target: Status, roles: frozenset[Role], *, unit: str = "该单位"
) -> Transition:
    """The transition `roles` may ask for, or a UserError saying why not and what is valid."""
    if not roles & RESPONSIBLE:
        raise NotAllowed(f"{unit}不是该任务的牵头单位、配合单位或统筹单位，不能申请变更状态")
    transition = find_transition(source, target)
    if transition is None:
        raise UserError(
            f"任务当前状态为“{source.label}”，不能变更为“{target.label}”；{_targets_text(source)}"
        )
    if not roles & transition.requesters:
        who = "、".join(ROLE_LABELS[r] for r in sorted(transition.requesters))
        raise NotAllowed(f"“{source.label}”变更为“{target.label}”只能由{who}提出，{unit}无权申请")
    return transition


def check_decider(roles: frozenset[Role], *, unit: str = "该单位") -> None:
    """Only the plan's coordinator approves or rejects."""
    if not roles & DECIDERS:
        raise NotAllowed(f"{unit}不是该计划的统筹单位，无权审批；审批只能由统筹单位进行")


def auto_start(source: Status, roles: frozenset[Role], *, enabled: bool) -> Transition | None:
    """The transition a progress report by `roles` sets off by itself, if any."""
    if not enabled or Role.LEAD not in roles:
        return None
    return next((t for t in transitions_from(source) if t.auto_on_lead_progress), None)
