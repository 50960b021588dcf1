"""The board's read path in SQLAlchemy Core only: no ORM import, for a fast cold `duban tasks`.

The board is what a person runs most often, as a fresh process each time; the ORM costs about a
tenth of a second to import and map. These lightweight table views name only the columns the
board reads (the tables themselves are defined in `models` and created by the migrations).
`conn` may be a Core connection or an ORM session: both execute Core statements.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Boolean, Date, Integer, String, column, select, table

from engine.errors import UserError
from engine.model.unit_names import near_names

_plan = table("plan", column("id", String), column("timezone", String))
_unit = table("unit", column("id", Integer), column("name", String))
_alias = table("unit_alias", column("alias", String), column("unit_id", Integer))
_task_unit = table(
    "task_unit",
    column("task_id", Integer),
    column("unit_id", Integer),
    column("role", String),
    column("position", Integer),
)
_task = table(
    "task",
    column("id", Integer),
    column("plan_id", String),
    column("no", Integer),
    column("position", Integer),
    column("title", String),
    column("deadline_text", String),
    column("deadline_kind", String),
    column("due", Date),
    column("status", String),
    column("progress", String),
    column("in_plan", Boolean),
    column("original_due", Date),
)


def unknown_unit(name: str, units: list[str], aliases: list[str], *, where: str) -> UserError:
    """The error for a unit name nobody knows, with the known names really close to it."""
    near = near_names(name, sorted({*units, *aliases}))
    if near:
        hint = "，您是否指：" + "、".join(near) + "？"
    elif units:
        listed = sorted(units)
        hint = "；已知的单位有：" + "、".join(listed[:8]) + (" 等" if len(listed) > 8 else "")
    else:
        hint = "；数据库中还没有任何单位，请先用 duban load 载入计划"
    return UserError(f"{where} 的值“{name}”不是已知的单位{hint}")


def unplanned(plan_id: str, ids: list[str]) -> UserError:
    listed = "、".join(ids) if ids else "（无，请先用 duban load 载入计划）"
    return UserError(f"--plan 的值“{plan_id}”不是已载入的计划；已载入的计划：{listed}")


def plan_zones(conn: Any) -> dict[str, str]:
    """Each plan's id and time zone."""
    return {pid: tz for pid, tz in conn.execute(select(_plan.c.id, _plan.c.timezone))}


def unit_id(conn: Any, name: str, *, where: str = "--unit") -> int:
    """The id of the unit called `name` or one of its aliases."""
    wanted = name.strip()
    units = {n: i for i, n in conn.execute(select(_unit.c.id, _unit.c.name))}
    aliases = {a: i for a, i in conn.execute(select(_alias.c.alias, _alias.c.unit_id))}
    found = units.get(wanted, aliases.get(wanted))
    if found is None:
        raise unknown_unit(name, list(units), list(aliases), where=where)
    return found


@dataclass
class BoardTask:
    """What one board row needs, read without loading whole task objects."""

    plan_id: str
    no: int
    title: str
    deadline_text: str
    kind: str
    due: date | None
    status: str
    progress: str
    in_plan: bool
    original_due: date | None
    lead: str | None = None
    co_units: list[str] | None = None

    @classmethod
    def of(cls, task: Any, lead: str | None, co_units: list[str]) -> BoardTask:
        """From anything with the task table's column names: a Core row or an ORM task."""
        return cls(
            plan_id=task.plan_id,
            no=task.no,
            title=task.title,
            deadline_text=task.deadline_text,
            kind=task.deadline_kind,
            due=task.due,
            status=task.status,
            progress=task.progress,
            in_plan=bool(task.in_plan),
            original_due=task.original_due,
            lead=lead,
            co_units=co_units,
        )


def board_tasks(
    conn: Any,
    *,
    plan_id: str | None = None,
    unit_id: int | None = None,
    status: str | None = None,
) -> list[BoardTask]:
    """The tasks of the board, in plan order, with their units' names."""
    t = _task.c
    query = select(
        t.id,
        t.plan_id,
        t.no,
        t.title,
        t.deadline_text,
        t.deadline_kind,
        t.due,
        t.status,
        t.progress,
        t.in_plan,
        t.original_due,
    ).order_by(t.plan_id, t.position, t.no)
    if plan_id is not None:
        query = query.where(t.plan_id == plan_id)
    if status is not None:
        query = query.where(t.status == status)
    if unit_id is not None:
        query = query.where(
            t.id.in_(select(_task_unit.c.task_id).where(_task_unit.c.unit_id == unit_id))
        )
    rows = conn.execute(query).all()
    units = _units_by_task(conn, plan_id, unit_id)
    none: tuple[str | None, list[str]] = (None, [])
    out = []
    # positional unpacking: a Row's attribute access costs more than the rest of the row
    for task_id, plan, no, title, text, kind, due, state, progress, in_plan, original in rows:
        lead, co = units.get(task_id, none)
        out.append(
            BoardTask(
                plan, no, title, text, kind, due, state, progress, bool(in_plan), original,
                lead, list(co),
            )
        )
    return out


def _units_by_task(
    conn: Any, plan_id: str | None, unit_id: int | None = None
) -> dict[int, tuple[str | None, list[str]]]:
    tu = _task_unit.c
    query = (
        select(tu.task_id, tu.role, _unit.c.name)
        .join_from(_task_unit, _unit, _unit.c.id == tu.unit_id)
        .order_by(tu.task_id, tu.position)
    )
    if plan_id is not None:
        query = query.join(_task, _task.c.id == tu.task_id).where(_task.c.plan_id == plan_id)
    if unit_id is not None:  # only the tasks of the board: those this unit shares
        query = query.where(
            tu.task_id.in_(select(_task_unit.c.task_id).where(_task_unit.c.unit_id == unit_id))
        )
    leads: dict[int, str | None] = {}
    cos: dict[int, list[str]] = defaultdict(list)
    for task_id, role, name in conn.execute(query):
        if role == "lead":
            leads[task_id] = name
        else:
            cos[task_id].append(name)
    return {tid: (leads.get(tid), cos.get(tid, [])) for tid in {*leads, *cos}}


def responsible_units(conn: Any) -> list[str]:
    """The names of every unit some task makes responsible, sorted (the board's unit filter)."""
    query = (
        select(_unit.c.name)
        .where(_unit.c.id.in_(select(_task_unit.c.unit_id)))
        .order_by(_unit.c.name)
    )
    return list(conn.execute(query).scalars())
