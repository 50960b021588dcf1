"""The board (`duban tasks`): one row per task, in the JSON shape of DESIGN.md.

Reads through SQLAlchemy Core only (see engine/store/board.py), so that a cold `duban tasks`
does not pay for importing the ORM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.config import Settings
from engine.model.lights import attention, light
from engine.model.states import parse_status
from engine.store import Database
from engine.store.board import BoardTask, board_tasks, plan_zones, unit_id, unplanned


def board_row(task: BoardTask, now: datetime, settings: Settings, timezone: str) -> dict[str, Any]:
    """One task as the board and `tasks --json` show it."""
    return {
        "plan": task.plan_id,
        "no": task.no,
        "title": task.title,
        "lead": task.lead,
        "co_units": list(task.co_units or []),
        "deadline_text": task.deadline_text,
        "kind": task.kind,
        "due": task.due.isoformat() if task.due else None,
        "status": task.status,
        "light": str(
            light(
                task.status,
                task.due,
                now,
                settings.policy.yellow_within_days,
                timezone,
                kind=task.kind,
            )
        ),
        "progress": task.progress,
        "attention": attention(
            lead=task.lead,
            kind=task.kind,
            deadline_text=task.deadline_text,
            in_plan=task.in_plan,
        ),
    }


def board_rows(
    db: Database,
    *,
    plan_id: str | None,
    unit: str | None,
    status: str | None,
    now: datetime,
    settings: Settings,
) -> list[dict[str, Any]]:
    """The board: one row per task, every plan unless `plan_id` names one."""
    wanted_status = str(parse_status(status, where="--status")) if status else None
    with db.connect() as conn:
        zones = plan_zones(conn)
        if plan_id is not None and plan_id not in zones:
            raise unplanned(plan_id, sorted(zones))
        wanted_unit = unit_id(conn, unit) if unit else None
        tasks = board_tasks(conn, plan_id=plan_id, unit_id=wanted_unit, status=wanted_status)
        return [board_row(t, now, settings, zones[t.plan_id]) for t in tasks]
