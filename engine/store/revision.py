"""Task revisions: a counter that every transaction changing what the planner reads about a task
moves on once, and that such a task carries, so that a planning pass can read only the tasks
changed since the last pass (engine.planner.delta) instead of every task.

What counts as a change: a task inserted, any column of a task updated (its status, deadline,
whether it is still in its plan file, …), or its units replaced. A progress report is no change:
a report can only make a notice unnecessary, never due.

The counter is one row (`counter`, name `task`). A transaction takes it (UPDATE, so on PostgreSQL
it holds the row's lock until it commits) before it locks or writes any task row, and stamps the
tasks it changes with the new value. A planner reads the committed value first and remembers it:
every task stamped at or below it was committed before that read, and every later change carries
a higher value. Taking the counter first in every writer keeps the lock order the same
everywhere (counter, then task rows), so writers never deadlock on it.

ORM writes are stamped by a `before_flush` hook; the bulk Core writes of the loader through
`engine.store.repository` (insert_rows, update_rows, delete_task_units) stamp their rows there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Any, cast

from sqlalchemy import JSON, Date, Integer, String, event, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.store.models import Base, Task, TaskUnit, UTCDateTime

TASK_COUNTER = "task"
PRUNED_ON = "pruned_on"
"""The day (as an ordinal) the dedupe keys were last pruned (engine.service.prune_daily)."""
_KEY = "duban.task_revision"


class CounterRecord(Base):
    """Named counters; one so far: `task`, the task revision."""

    __tablename__ = "counter"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


def current_revision(session: Session) -> int:
    """The task revision last committed (0 before any task was written)."""
    value = session.execute(
        select(CounterRecord.value).where(CounterRecord.name == TASK_COUNTER)
    ).scalar_one_or_none()
    return value or 0


def stamp(session: Session) -> int:
    """This transaction's task revision: the counter moved on once per transaction, at the first
    call, which on PostgreSQL also takes the counter's row lock until the transaction ends."""
    transaction = session.get_transaction()
    held = session.info.get(_KEY)
    if held is not None and held[0] is transaction:
        return int(held[1])
    bump = update(CounterRecord).where(CounterRecord.name == TASK_COUNTER).values(
        value=CounterRecord.value + 1
    )
    # The migration writes the row; should it be gone, start it again rather than lose a stamp.
    if cast(CursorResult[Any], session.execute(bump)).rowcount == 0:
        session.execute(insert(CounterRecord).values(name=TASK_COUNTER, value=1))
    value = current_revision(session)
    session.info[_KEY] = (transaction, value)
    return value


@event.listens_for(Session, "before_flush")
def _stamp_changed_tasks(session: Session, _context: Any, _instances: Any) -> None:
    changed: list[Task] = []
    units_of: set[int] = set()
    for entry in (*session.new, *session.dirty, *session.deleted):
        if isinstance(entry, Task) and entry not in session.deleted:
            if entry in session.new or session.is_modified(entry, include_collections=False):
                changed.append(entry)
        elif isinstance(entry, TaskUnit):
            if entry.task is not None and entry.task not in session.deleted:
                changed.append(entry.task)
            elif entry.task_id is not None:
                units_of.add(entry.task_id)
    if not changed and not units_of:
        return
    revision = stamp(session)
    for task in changed:
        task.revision = revision
    if units_of:
        session.execute(
            update(Task).where(Task.id.in_(units_of)).values(revision=revision)
        )


class PlanningMarkRecord(Base):
    """The last planning pass that committed: its day, the task revision it had read, and the
    fingerprint of the policy and calendar it planned with (engine.planner.delta). One row."""

    __tablename__ = "planning_mark"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The pass's business moment (`run` refuses to plan before it: engine.cli)."""
    revision: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    dues: Mapped[list[str] | None] = mapped_column(JSON)
    """The distinct due dates of the open chased tasks at `revision` (ISO dates), or None: a pass
    that finds the task revision unchanged takes them from here (migration 0012)."""


MARK_ID = 1


def read_mark(session: Session) -> PlanningMarkRecord | None:
    return session.get(PlanningMarkRecord, MARK_ID)


def write_mark(session: Session, at: datetime, revision: int, fingerprint: str,
               zone: tzinfo, dues: Sequence[date] | None = None) -> None:
    """Record a pass in the caller's transaction (it commits with what the pass enqueued), with
    the open tasks' due dates it read at `revision`."""
    day = at.astimezone(zone).date()
    stored = None if dues is None else [d.isoformat() for d in dues]
    mark = session.get(PlanningMarkRecord, MARK_ID)
    if mark is None:
        session.add(PlanningMarkRecord(id=MARK_ID, day=day, at=at, revision=revision,
                                       fingerprint=fingerprint, dues=stored))
    else:
        mark.day, mark.at, mark.revision, mark.fingerprint = day, at, revision, fingerprint
        mark.dues = stored


def marked_dues(mark: PlanningMarkRecord | None, revision: int) -> list[date] | None:
    """The due dates the marked pass read, when no task has changed since (the same revision);
    else None, and the pass reads them."""
    if mark is None or mark.revision != revision or mark.dues is None:
        return None
    return [date.fromisoformat(d) for d in mark.dues]


def claim_daily(session: Session, name: str, today: date) -> bool:
    """Whether the daily job `name` is still to run today, claiming it if so (in the caller's
    transaction, which on PostgreSQL holds the row until it ends: one instance runs it)."""
    day = today.toordinal()
    claimed = update(CounterRecord).where(
        CounterRecord.name == name, CounterRecord.value < day
    ).values(value=day)
    if cast(CursorResult[Any], session.execute(claimed)).rowcount:
        return True
    if current_value(session, name) is None:
        session.execute(insert(CounterRecord).values(name=name, value=day))
        return True
    return False


def current_value(session: Session, name: str) -> int | None:
    return session.execute(
        select(CounterRecord.value).where(CounterRecord.name == name)
    ).scalar_one_or_none()
