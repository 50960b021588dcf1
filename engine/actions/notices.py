"""The notices an approval writes, from inside the transaction that creates or decides it.

A request writes an `approval_request` notice to the plan's coordinator, a decision an
`approval_decision` notice to the requesting unit, into the outbox with the given session, so that
the notice commits (or rolls back) together with what it announces. They never commit. Which
channels reach a unit comes from the settings the use case was given.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from loguru import logger

from engine.config import Settings
from engine.model.plan import status_label

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.store.models import Request

def _request_facts(request: Request) -> dict[str, Any]:
    return {
        "request_id": request.id,
        "type": request.type,
        "unit": request.unit.name,
        "to": request.to_status or "",
        "to_label": status_label(request.to_status),
        "until": request.until.isoformat() if request.until else "",
        "request_reason": request.reason or "",
    }


def request_created(
    session: Session, settings: Settings, request: Request, now: datetime
) -> None:
    """A unit asked for a transition or an extension; tell the plan's coordinator.

    `request.task` (with `.plan`, `.plan.coordinator`) and `request.unit` are loaded.
    """
    from engine.notify.queue import notify_unit

    plan = request.task.plan
    if plan.coordinator is None:
        logger.warning("计划未设置统筹单位，审批请示无人接收", plan=plan.id, request=request.id)
        return
    notify_unit(
        session,
        settings,
        plan_id=plan.id,
        unit=plan.coordinator.name,
        kind="approval_request",
        tasks=(request.task.no,),
        occurrence=f"request/{request.id}",
        now=now,
        context=_request_facts(request),
    )


def request_decided(
    session: Session, settings: Settings, request: Request, now: datetime
) -> None:
    """The coordinator approved or rejected `request` (`request.state`, `.decided_by`,
    `.decision_reason`); tell the requesting unit (`request.unit`)."""
    from engine.notify.queue import notify_unit

    facts = _request_facts(request)
    facts.update(
        decision=request.state,
        decision_reason=request.decision_reason or "",
        by=request.decided_by or "",
    )
    notify_unit(
        session,
        settings,
        plan_id=request.task.plan.id,
        unit=request.unit.name,
        kind="approval_decision",
        tasks=(request.task.no,),
        occurrence=f"decision/{request.id}",
        now=now,
        context=facts,
    )
