"""Where notices attach to approvals: called inside the transaction that creates or decides.

The notify side fills these in: it writes an `approval_request` / `approval_decision` row into
the outbox with the given session, so that the notice commits (or rolls back) together with the
request or decision it announces. Until then they do nothing. They must not commit the session.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.store.models import Request


def on_request_created(session: Session, request: Request, now: datetime) -> None:
    """A unit asked for a transition or an extension; tell the plan's coordinator.

    `request.task` (with `.plan`, `.plan.coordinator`) and `request.unit` are loaded.
    """


def on_request_decided(session: Session, request: Request, now: datetime) -> None:
    """The coordinator approved or rejected `request` (`request.state`, `.decided_by`,
    `.decision_reason`); tell the requesting unit (`request.unit`)."""
