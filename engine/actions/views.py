"""What a task's page and the request list show, in the JSON shapes of DESIGN.md.

Only reads. A row's `at` is given in the plan's time zone, with its offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.actions.board import board_row, board_rows
from engine.clock import local_iso
from engine.config import Settings
from engine.store import Database
from engine.store.board import BoardTask, plan_zones
from engine.store.repository import (
    choose_plan,
    co_units_of,
    get_task,
    history_of,
    lead_of,
    pending_requests,
    progress_reports_of,
)


def _zones(session: Any) -> dict[str, ZoneInfo]:
    return {pid: ZoneInfo(tz) for pid, tz in plan_zones(session).items()}


@dataclass
class TaskDetail:
    """One task: the board's fields, its history, and what a person reading it wants besides."""

    row: dict[str, Any]
    history: list[dict[str, Any]]
    content: str = ""
    section: str | None = None
    original_due: str | None = None
    reports: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {**self.row, "history": self.history}


def task_detail(
    db: Database, *, plan_id: str | None, no: int, now: datetime, settings: Settings
) -> TaskDetail:
    with db.read() as session:
        plan = choose_plan(session, plan_id)
        zone = ZoneInfo(plan.timezone)
        task = get_task(session, plan, no)
        board = BoardTask.of(task, lead_of(task), co_units_of(task))
        history = [
            {
                "at": local_iso(h.at, zone),
                "actor": h.actor,
                "action": h.action,
                "from": h.from_value,
                "to": h.to_value,
                "reason": h.reason,
                "person": h.person,
                "via": h.via or ("system" if h.actor == "system" else "cli"),
            }
            for h in history_of(session, task)
        ]
        reports = [
            {"at": local_iso(r.at, zone), "unit": r.unit.name, "text": r.text}
            for r in progress_reports_of(session, task)
        ]
        pending = [r for r in _request_rows(session) if r["plan"] == plan.id and r["no"] == no]
        return TaskDetail(
            row=board_row(board, now, settings, plan.timezone),
            history=history,
            content=task.content,
            section=task.section_no,
            original_due=task.original_due.isoformat() if task.original_due else None,
            reports=reports,
            pending=pending,
        )


def _request_rows(session: Any) -> list[dict[str, Any]]:
    zones = _zones(session)
    return [
        {
            "id": request.id,
            "plan": plan_id,
            "no": no,
            "unit": unit,
            "type": request.type,
            "to": request.to_status,
            "until": request.until.isoformat() if request.until else None,
            "reason": request.reason,
            "at": local_iso(request.created_at, zones[plan_id]),
        }
        for request, plan_id, no, unit in pending_requests(session)
    ]


def pending_request_rows(db: Database) -> list[dict[str, Any]]:
    """Requests waiting for the coordinator, oldest first."""
    with db.read() as session:
        return _request_rows(session)


__all__ = ["TaskDetail", "board_rows", "pending_request_rows", "task_detail"]
