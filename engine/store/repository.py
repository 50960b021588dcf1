"""The store's queries: units and aliases, plans, tasks, requests, history, the board.

Everything here takes an open session and leaves committing to the caller, so that a use case
is one transaction. Lookups a user can get wrong raise UserError naming what was given and what
exists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    RowMapping,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, selectinload

from engine.errors import UserError
from engine.store.board import BoardTask, board_tasks, unknown_unit, unplanned
from engine.store.members import one_of
from engine.store.models import (
    Base,
    History,
    Plan,
    ProgressReport,
    Request,
    Task,
    TaskUnit,
    Unit,
    UnitAlias,
)
from engine.store.revision import stamp

# --- units -----------------------------------------------------------------------------------


@dataclass
class UnitDirectory:
    """Every unit name and alias known to the database."""

    units: dict[str, Unit]
    aliases: dict[str, str]

    @classmethod
    def read(cls, session: Session) -> UnitDirectory:
        units = {u.name: u for u in session.scalars(select(Unit))}
        aliases = {
            a.alias: name
            for a, name in session.execute(
                select(UnitAlias, Unit.name).join(Unit, Unit.id == UnitAlias.unit_id)
            )
        }
        return cls(units, aliases)

    def canonical(self, name: str) -> str:
        """The unit's own name for `name` (an alias or the name itself)."""
        seen: set[str] = set()
        while name in self.aliases and name not in seen:
            seen.add(name)
            name = self.aliases[name]
        return name

    def find(self, name: str, *, where: str = "--unit") -> Unit:
        """The unit called `name` (or one of its aliases); else a UserError with near names."""
        wanted = name.strip()
        unit = self.units.get(self.canonical(wanted))
        if unit is not None:
            return unit
        raise unknown_unit(name, list(self.units), list(self.aliases), where=where)

    def ensure(self, session: Session, name: str) -> Unit:
        """The unit called `name`, created when new."""
        canonical = self.canonical(name.strip())
        unit = self.units.get(canonical)
        if unit is None:
            unit = Unit(name=canonical)
            session.add(unit)
            session.flush()
            self.units[canonical] = unit
        return unit

    def ensure_all(self, session: Session, names: Iterable[str]) -> dict[str, int]:
        """The id of each unit named (canonical names), the new ones created with one flush."""
        wanted = {self.canonical(name.strip()) for name in names} - {""}
        new = [Unit(name=name) for name in sorted(wanted - self.units.keys())]
        if new:
            session.add_all(new)
            session.flush()
            self.units.update((unit.name, unit) for unit in new)
        return {name: self.units[name].id for name in wanted}

    def add_alias(self, session: Session, alias: str, canonical: str, *, where: str) -> None:
        """Record that `alias` is another name of `canonical`.

        A unit loaded earlier under the alias (before the directory named it one) is merged
        into `canonical`: its duties, requests, reports and other names move over. The history
        keeps the name each actor had at the time.
        """
        alias, canonical = alias.strip(), self.canonical(canonical.strip())
        if not alias or alias == canonical or self.aliases.get(alias) == canonical:
            return
        if alias in self.aliases:
            raise UserError(
                f"{where}：“{alias}”已是“{self.canonical(alias)}”的别名，不能再作为“{canonical}”的别名"
            )
        unit = self.ensure(session, canonical)
        if alias in self.units:
            self._merge(session, self.units.pop(alias), into=unit)
        session.add(UnitAlias(alias=alias, unit_id=unit.id))
        self.aliases[alias] = canonical

    def _merge(self, session: Session, old: Unit, *, into: Unit) -> None:
        session.flush()
        shared = select(TaskUnit.task_id).where(TaskUnit.unit_id == into.id)
        session.execute(
            delete(TaskUnit)
            .where(TaskUnit.unit_id == old.id, TaskUnit.task_id.in_(shared))
            .execution_options(synchronize_session=False)
        )
        for model, attr in (
            (TaskUnit, TaskUnit.unit_id),
            (Request, Request.unit_id),
            (ProgressReport, ProgressReport.unit_id),
            (Plan, Plan.coordinator_id),
            (UnitAlias, UnitAlias.unit_id),
        ):
            session.execute(
                update(model)
                .where(attr == old.id)
                .values({attr.key: into.id})
                .execution_options(synchronize_session=False)
            )
        session.execute(delete(Unit).where(Unit.id == old.id))
        session.expire_all()
        for name, alias_of in list(self.aliases.items()):
            if alias_of == old.name:
                self.aliases[name] = into.name


# --- plans and tasks -------------------------------------------------------------------------


def plan_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Plan.id).order_by(Plan.id)))


def choose_plan(session: Session, plan_id: str | None) -> Plan:
    """The plan named by --plan, or the only plan in the database."""
    ids = plan_ids(session)
    if plan_id is not None:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise unplanned(plan_id, ids)
        return plan
    if not ids:
        raise UserError("数据库中还没有计划，请先用 duban load 载入计划文件")
    if len(ids) > 1:
        raise UserError(f"数据库中有多个计划，请用 --plan 指定其一：{'、'.join(ids)}")
    plan = session.get(Plan, ids[0])
    assert plan is not None
    return plan


def get_task(session: Session, plan: Plan, no: int, *, lock: bool = False) -> Task:
    """Task `no` of `plan`, its units loaded; `lock` holds its row until the transaction ends."""
    query = (
        select(Task)
        .where(Task.plan_id == plan.id, Task.no == no)
        .options(selectinload(Task.units).selectinload(TaskUnit.unit))
    )
    if lock:
        # The task counter first, then the row (engine.store.revision: one lock order for every
        # writer). Re-read under the lock: an object already in the session may hold older values.
        stamp(session)
        query = query.with_for_update().execution_options(populate_existing=True)
    task = session.scalars(query).one_or_none()
    if task is None:
        numbers = list(session.scalars(select(Task.no).where(Task.plan_id == plan.id)))
        span = f"{min(numbers)}–{max(numbers)}" if numbers else "无"
        raise UserError(f"计划 {plan.id} 中没有序号为 {no} 的任务（现有序号：{span}）")
    return task


def lead_of(task: Task) -> str | None:
    return next((tu.unit.name for tu in task.units if tu.role == "lead"), None)


def co_units_of(task: Task) -> list[str]:
    return [tu.unit.name for tu in task.units if tu.role != "lead"]


def tasks_of_plan(session: Session, plan_id: str) -> dict[int, Task]:
    query = (
        select(Task)
        .where(Task.plan_id == plan_id)
        .options(selectinload(Task.units).selectinload(TaskUnit.unit))
    )
    return {t.no: t for t in session.scalars(query)}


def listed_task_rows(
    session: Session, plan_id: str, numbers: Iterable[int], *columns: str
) -> dict[int, RowMapping]:
    """The tasks of the plan with these numbers, as rows of these columns (and `id`, `no`), by
    task number: column queries that read only the tasks asked for (`one_of`: one on
    PostgreSQL, one per 500 numbers on SQLite)."""
    table = _table(Task)
    chosen = [table.c.id, table.c.no, *(table.c[c] for c in columns if c not in ("id", "no"))]
    wanted = sorted({int(no) for no in numbers})
    out: dict[int, RowMapping] = {}
    for among in one_of(session, table.c.no, wanted):
        query = select(*chosen).where(table.c.plan_id == plan_id, among)
        out.update((row["no"], row) for row in session.execute(query).mappings())
    return out


def units_of_tasks(session: Session, task_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """Each of these tasks' units as (role, unit name) in position order, by task id (a task
    without units is absent)."""
    wanted = sorted(set(task_ids))
    units: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for among in one_of(session, TaskUnit.task_id, wanted):
        query = (
            select(TaskUnit.task_id, TaskUnit.role, Unit.name)
            .join(Unit, Unit.id == TaskUnit.unit_id)
            .where(among)
            .order_by(TaskUnit.task_id, TaskUnit.position)
        )
        for task_id, role, name in session.execute(query):
            units[task_id].append((role, name))
    return units


SYSTEM = "system"
"""The actor of history entries duban writes itself (a load, an automatic start), not a unit."""


def add_history(
    session: Session,
    task: Task,
    *,
    at: datetime,
    actor: str,
    action: str,
    from_value: str | None = None,
    to_value: str | None = None,
    reason: str = "",
    request: Request | None = None,
    person: str | None = None,
    via: str | None = None,
) -> History:
    entry = History(
        task_id=task.id,
        at=at,
        actor=actor,
        person=person,
        via=via or ("system" if actor == SYSTEM else "cli"),
        action=action,
        from_value=from_value,
        to_value=to_value,
        reason=reason,
        request_id=request.id if request is not None else None,
    )
    session.add(entry)
    return entry


def history_of(session: Session, task: Task) -> Sequence[History]:
    return session.scalars(
        select(History).where(History.task_id == task.id).order_by(History.at, History.id)
    ).all()


def progress_reports_of(session: Session, task: Task) -> Sequence[ProgressReport]:
    return session.scalars(
        select(ProgressReport)
        .where(ProgressReport.task_id == task.id)
        .options(selectinload(ProgressReport.unit))
        .order_by(ProgressReport.at, ProgressReport.id)
    ).all()


# --- requests --------------------------------------------------------------------------------


def get_request(session: Session, request_id: int) -> Request:
    query = (
        select(Request)
        .where(Request.id == request_id)
        .options(
            selectinload(Request.unit),
            selectinload(Request.task).selectinload(Task.plan).selectinload(Plan.coordinator),
        )
    )
    request = session.scalars(query).one_or_none()
    if request is None:
        raise UserError(f"申请 #{request_id} 不存在；待审批的申请可用 duban requests 查看")
    return request


def pending_request(
    session: Session, task: Task, type_: str, to_status: str | None = None
) -> Request | None:
    query = select(Request).where(
        Request.task_id == task.id, Request.type == type_, Request.state == "pending"
    )
    if to_status is not None:
        query = query.where(Request.to_status == to_status)
    return session.scalars(query.order_by(Request.id).limit(1)).first()


def claim_decision(
    session: Session, request: Request, *, state: str, by: str, at: datetime, reason: str | None
) -> bool:
    """Decide `request` if it is still pending; False when another decision got there first.

    A conditional UPDATE, so that of two deciders racing on any back end exactly one wins.
    """
    result = session.execute(
        update(Request)
        .where(Request.id == request.id, Request.state == "pending")
        .values(state=state, decided_by=by, decided_at=at, decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    won = result.rowcount == 1  # type: ignore[attr-defined]
    session.refresh(request)
    return won


def pending_requests(session: Session) -> list[tuple[Request, str, int, str]]:
    """Pending requests, oldest first, each with its task's plan and number and the unit."""
    query = (
        select(Request, Task.plan_id, Task.no, Unit.name)
        .join(Task, Task.id == Request.task_id)
        .join(Unit, Unit.id == Request.unit_id)
        .where(Request.state == "pending")
        .order_by(Request.created_at, Request.id)
    )
    return [(r, plan_id, no, unit) for r, plan_id, no, unit in session.execute(query)]


# --- bulk reads and writes, for loading a plan of thousands of tasks ----------------------------
# Core statements: one query, or one executemany, for every row at once; no ORM object and no
# flush per row. They bypass the session's identity map, so use them only on rows the session
# has not loaded.


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def task_rows_of_plan(session: Session, plan_id: str, *columns: str) -> dict[int, RowMapping]:
    """Every task of the plan as a row of these columns (all without), by task number."""
    table = _table(Task)
    chosen = [table.c.no, *(table.c[c] for c in columns if c != "no")] if columns else [table]
    rows = session.execute(select(*chosen).where(table.c.plan_id == plan_id)).mappings()
    return {row["no"]: row for row in rows}


def task_units_of_plan(session: Session, plan_id: str) -> dict[int, list[tuple[str, str]]]:
    """Each task's units as (role, unit name) in position order, by task id."""
    query = (
        select(TaskUnit.task_id, TaskUnit.role, Unit.name)
        .join(Unit, Unit.id == TaskUnit.unit_id)
        .join(Task, Task.id == TaskUnit.task_id)
        .where(Task.plan_id == plan_id)
        .order_by(TaskUnit.task_id, TaskUnit.position)
    )
    units: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for task_id, role, name in session.execute(query):
        units[task_id].append((role, name))
    return units


def task_ids_of_plan(session: Session, plan_id: str) -> dict[int, int]:
    """Task number → task id."""
    query = select(Task.no, Task.id).where(Task.plan_id == plan_id)
    return {no: task_id for no, task_id in session.execute(query)}


def insert_rows(
    session: Session, model: type[Base], rows: list[dict[str, Any]], *, restamp: bool = True
) -> None:
    """INSERT every row (dicts with the same keys) at once (insert_many). New tasks, and tasks
    given new units, carry this transaction's task revision (engine.store.revision).

    `restamp=False` (units only): the caller knows that every task of these units already
    carries this transaction's revision (inserted in it, or its units deleted in it), so that
    stamping them again would only write the same value once more.
    """
    if not rows:
        return
    if model is Task:
        revision = stamp(session)
        rows = [{**row, "revision": revision} for row in rows]
    insert_many(session, _table(model), rows)
    if model is TaskUnit and restamp:
        _restamp(session, {row["task_id"] for row in rows})


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT rows with the same keys, each value made by its column's own type for this
    database (what SQLAlchemy's executemany would send), without SQLAlchemy's work per row:
    PostgreSQL (psycopg) takes them by COPY, SQLite by one executemany. A table whose columns
    left out have a default made in Python goes through SQLAlchemy's insert, which applies it.
    """
    keys = list(rows[0])
    connection = session.connection()
    dialect = connection.dialect
    columns = [table.c[key] for key in keys]
    if any(c.default is not None or c.onupdate is not None
           for c in table.c if c.key not in rows[0]) or dialect.driver not in ("psycopg",
                                                                             "pysqlite"):
        session.execute(insert(table), rows)
        return
    by_column = []
    for key, column in zip(keys, columns, strict=True):
        given = [row[key] for row in rows]
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            # Thousands of rows share a few values (this load's time, a due date, a deadline):
            # each object is processed once (the processors are pure; every object stays alive).
            done: dict[int, Any] = {}
            for value in given:
                if id(value) not in done:
                    done[id(value)] = process(value)
            given = [done[id(value)] for value in given]
        by_column.append(given)
    values = list(zip(*by_column, strict=True))
    quote = dialect.identifier_preparer
    names = ", ".join(quote.format_column(c) for c in columns)
    if dialect.driver == "psycopg":
        raw = connection.connection.dbapi_connection
        assert raw is not None
        statement = f"COPY {quote.format_table(table)} ({names}) FROM STDIN"
        error = dialect.loaded_dbapi.Error
        try:
            with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
                for value in values:
                    copy.write_row(value)
        except error as exc:  # as SQLAlchemy raises it: IntegrityError and the like
            raise DBAPIError.instance(statement, None, exc, error) from exc
        return
    marks = ", ".join("?" * len(keys))
    connection.exec_driver_sql(
        f"INSERT INTO {quote.format_table(table)} ({names}) VALUES ({marks})", values
    )


def update_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """UPDATE rows by their `id`: each dict sets the other columns it names; one executemany for
    every set of columns."""
    table = _table(model)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    revision = stamp(session) if model is Task and rows else None
    for row in rows:
        values = {key: value for key, value in row.items() if key != "id"}
        if revision is not None:
            values["revision"] = revision
        groups[tuple(sorted(values))].append({"row_id": row["id"], **values})
    for group in groups.values():
        session.execute(update(table).where(table.c.id == bindparam("row_id")), group)


def last_task_id(session: Session) -> int:
    """The highest task id so far (0 when none): tasks inserted afterwards have higher ids."""
    return session.execute(select(func.coalesce(func.max(Task.id), 0))).scalar_one()


def history_of_new_tasks(
    session: Session, plan_id: str, *, after_id: int, at: datetime, action: str, reason: str
) -> None:
    """A history row by the system for each task of the plan above `after_id` (those just
    inserted), in plan order, the task's status as the new value: one INSERT … SELECT."""
    task = _table(Task)
    rows = select(
        task.c.id,
        literal(at, _table(History).c.at.type),
        literal(SYSTEM, String()),
        literal(action, String()),
        task.c.status,
        literal(reason, Text()),
    ).where(task.c.plan_id == plan_id, task.c.id > after_id)
    columns = ["task_id", "at", "actor", "action", "to_value", "reason"]
    session.execute(
        insert(_table(History)).from_select(columns, rows.order_by(task.c.position))
    )


def delete_task_units(session: Session, task_ids: list[int]) -> None:
    """Remove every unit of these tasks (one executemany)."""
    if task_ids:
        table = _table(TaskUnit)
        session.execute(
            delete(table).where(table.c.task_id == bindparam("row_id")),
            [{"row_id": task_id} for task_id in task_ids],
        )
        _restamp(session, set(task_ids))


def _restamp(session: Session, task_ids: set[int]) -> None:
    """Give these tasks this transaction's revision (their units changed)."""
    if task_ids:
        revision = stamp(session)
        table = _table(Task)
        session.execute(
            update(table).where(table.c.id == bindparam("row_id")).values(revision=revision),
            [{"row_id": task_id} for task_id in sorted(task_ids)],
        )


__all__ = ["BoardTask", "board_tasks"]  # the board's Core-only queries, re-exported
