"""The outbox: every notice decided, one row per message, and its delivery state.

The planner's notices are written here in the transaction that decided them; the dispatcher
(engine.notify.dispatcher) sends `pending` rows whose `send_at` has come and records the outcome.
`notice_key` holds one row per task share of a notice (plan, task, recipient, channel, kind, level,
occurrence), so that a task is never notified twice even when a later pass groups differently.

Status: `pending` (not tried yet) · `sent` · `failed` (a transient failure, tried again at
`next_attempt_at`) · `dead` (a permanent failure; `duban retry` puts it back) · `dropped` (no
longer to be sent, the reason in `error`: a 请示 whose request was decided before it went).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    delete,
    select,
    text,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import (
    Mapped,
    Session,
    aliased,
    make_transient_to_detached,
    mapped_column,
    relationship,
)

from engine.planner.notices import PLAN_WIDE
from engine.store.members import one_of
from engine.store.models import Base, UTCDateTime
from engine.store.repository import insert_many

if TYPE_CHECKING:
    from engine.planner import PlannedNotice

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
DEAD = "dead"
DROPPED = "dropped"
STATUSES = (PENDING, SENT, FAILED, DEAD, DROPPED)


class OutboxNotice(Base):
    """One message to one recipient on one channel, listing the tasks it concerns."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_send_at", "status", "send_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(Integer, default=0)
    is_copy: Mapped[bool] = mapped_column(Boolean, default=False)
    tasks: Mapped[list[int]] = mapped_column(JSON, default=list)
    occurrence: Mapped[str] = mapped_column(String(200), default="")
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    provider_response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The dispatcher's claim (migration 0003): who sends the row now and until when; a claim
    # whose lease has passed belongs to a dispatcher that died, and the row is due again.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """WeCom messages of this notice already accepted (a long notice is several messages)."""

    keys: Mapped[list[NoticeKeyRecord]] = relationship(
        back_populates="notice", cascade="all, delete-orphan"
    )


def _task_default(context: Any) -> str:
    return task_ref(context.get_current_parameters()["key"])


def key_series(key: str) -> str:
    """The key without its occurrence: one task's notices to one recipient, on one channel, of
    one kind and level, of which each occurrence is a key."""
    return key.rpartition("|")[0]


_DATED = re.compile(r"\d{4}-\d{2}-\d{2}(?:/|$)")
"""An occurrence that is a day (a chase, a report day) or a deadline (a reminder: 2021-06-30/T-3);
others (request/12, failed/…, a digest's week) are kept: they are few, one per event."""


def key_day(key: str) -> date | None:
    """The day of the key's occurrence, when it is a day or a deadline (else None: never pruned)."""
    occurrence = key.rpartition("|")[2]
    if not _DATED.match(occurrence):
        return None
    try:
        return date.fromisoformat(occurrence[:10])
    except ValueError:
        return None


def _series_default(context: Any) -> str:
    return key_series(context.get_current_parameters()["key"])


def _day_default(context: Any) -> date | None:
    return key_day(context.get_current_parameters()["key"])


class NoticeKeyRecord(Base):
    """One task's share of a notice: the key the planner never plans again."""

    __tablename__ = "notice_key"
    __table_args__ = (Index("ix_notice_key_series_id", "series", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(600), unique=True)
    task: Mapped[str] = mapped_column(String(400), index=True, default=_task_default)
    """`plan id|task number` of the key: a pass reads only the keys of the tasks it looks at."""
    series: Mapped[str] = mapped_column(String(600), default=_series_default)
    """The key without its occurrence (key_series): a later key of the series supersedes it."""
    occurs_on: Mapped[date | None] = mapped_column(Date, default=_day_default, index=True)
    """The occurrence's day (key_day), or None when it is no day: what pruning looks at."""
    notice_id: Mapped[int] = mapped_column(
        ForeignKey("outbox.id", ondelete="CASCADE"), index=True
    )

    notice: Mapped[OutboxNotice] = relationship(back_populates="keys")


def task_ref(key: str) -> str:
    """The task a key belongs to, as `plan id|task number` (engine.planner.snapshot.task_key)."""
    plan_id, no, _ = key.split("|", 2)
    return f"{plan_id}|{no}"


def _task_of(key: str) -> int:
    return int(key.split("|", 2)[1])


def enqueue(
    session: Session, notices: Iterable[PlannedNotice], now: datetime
) -> list[OutboxNotice]:
    """Insert the notices not yet in the outbox, in the caller's transaction.

    A task share whose key exists already is left out of its notice; a notice left with no task
    is not inserted. Returns the rows inserted (flushed, with their ids).
    """
    notices = list(notices)
    wanted = [key for notice in notices for key in notice.keys]
    existing = _existing(session, wanted)
    values: list[dict[str, Any]] = []
    shares: list[list[str]] = []
    for notice in notices:
        keys = [k for k in dict.fromkeys(notice.keys) if k not in existing]
        if not keys:
            continue
        tasks = sorted({no for k in keys if (no := _task_of(k)) != PLAN_WIDE})
        dedupe = notice.dedupe_key if len(keys) == len(notice.keys) else f"{notice.dedupe_key}~"
        values.append({
            "plan_id": notice.plan_id,
            "kind": notice.kind,
            "recipient": notice.recipient,
            "channel": notice.channel,
            "level": notice.level,
            "is_copy": notice.is_copy,
            "tasks": tasks,
            "occurrence": notice.occurrence,
            "dedupe_key": dedupe,
            "context": notice.context,
            "send_at": notice.send_at,
            "status": PENDING,
            "attempts": 0,
            "created_at": now,
            "parts_sent": 0,
            **_UNSET,
        })
        existing.update(keys)
        shares.append(keys)
    added = _insert_notices(session, values)
    # The keys at once (COPY on PostgreSQL), not as objects of the session: a pass that reminds
    # 10,000 tasks writes some 40,000 keys, and the unit of work took most of that pass's time.
    rows = [
        {"key": k, "notice_id": row.id, "task": task_ref(k), "series": key_series(k),
         "occurs_on": key_day(k)}
        for row, keys in zip(added, shares, strict=True)
        for k in keys
    ]
    if rows:
        insert_many(session, NoticeKeyRecord.__table__, rows)  # type: ignore[arg-type]
    return added


_UNSET = dict.fromkeys(
    ("next_attempt_at", "sent_at", "error", "provider_response", "claimed_by", "lease_until")
)
"""A new row's columns that hold nothing yet, given as such so that its object has them all."""


def _insert_notices(session: Session, values: list[dict[str, Any]]) -> list[OutboxNotice]:
    """The rows `values` inserted, as objects of the session with their ids.

    On PostgreSQL (psycopg) the ids are drawn from the table's sequence and the rows go in by
    COPY; their objects are then added to the session as already stored (no second INSERT), so
    that what a caller changes on them is written as for any loaded row. Elsewhere the session
    inserts them (one INSERT … RETURNING a batch).
    """
    if not values:
        return []
    if session.connection().dialect.driver != "psycopg":
        rows = [OutboxNotice(**v) for v in values]
        session.add_all(rows)
        session.flush()
        return rows
    ids = sorted(session.scalars(
        text("SELECT nextval(pg_get_serial_sequence('outbox', 'id')) FROM generate_series(1, :n)"),
        {"n": len(values)},
    ))
    values = [{"id": notice_id, **v} for notice_id, v in zip(ids, values, strict=True)]
    insert_many(session, OutboxNotice.__table__, values)  # type: ignore[arg-type]
    rows = []
    for v in values:
        row = OutboxNotice(**v)
        make_transient_to_detached(row)
        session.add(row)
        rows.append(row)
    return rows


def _existing(session: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for condition in one_of(session, NoticeKeyRecord.key, keys):
        found.update(session.scalars(select(NoticeKeyRecord.key).where(condition)))
    return found


def sent_keys(session: Session, tasks: Sequence[str] | None = None) -> list[str]:
    """The keys already in the outbox, whatever their delivery state: the planner's memory.
    Every key, or only those of `tasks` (`plan id|task number`)."""
    if tasks is None:
        return list(session.scalars(select(NoticeKeyRecord.key)))
    found: list[str] = []
    for condition in one_of(session, NoticeKeyRecord.task, tasks):
        found.extend(session.scalars(select(NoticeKeyRecord.key).where(condition)))
    return found


def list_notices(session: Session, status: str | None = None) -> list[OutboxNotice]:
    """The outbox, oldest first, optionally only one delivery state."""
    query = select(OutboxNotice).order_by(OutboxNotice.send_at, OutboxNotice.id)
    if status:
        query = query.where(OutboxNotice.status == status)
    return list(session.scalars(query))


def mark_sent(session: Session, rows: Iterable[OutboxNotice], at: datetime) -> None:
    """Record rows as delivered without sending them (the simulator's copy of the outbox)."""
    for row in rows:
        row.status = SENT
        row.sent_at = at


# --- forgetting keys that can no longer matter -------------------------------------------------

KEY_RETENTION_DAYS = 400
"""How long a superseded key is kept after its occurrence (see `prune_keys`)."""


def prune_keys(session: Session, today: date, retention_days: int = KEY_RETENTION_DAYS) -> int:
    """Delete the dedupe keys that can no longer stop a notice; returns how many.

    The rule: a key whose occurrence is a day is deleted when (1) a later key of the same task,
    recipient, channel, kind and level exists — the planner plans only the latest occurrence of
    each that fell due, so an earlier one is superseded — and (2) its occurrence day lies more
    than `retention_days` before today, so that a deadline moved back (a reloaded plan file)
    still finds its recent keys. The latest key of each is always kept: the table grows with the
    tasks, not with the days. The notices themselves stay in the outbox.
    """
    # One statement, in the database: the keys whose day is before the cutoff (an index) that
    # have a later key in their series (an index on series and id). The pass that runs it reads
    # no key; the database looks at the old keys only.
    later = aliased(NoticeKeyRecord)
    superseded = (
        select(later.id)
        .where(later.series == NoticeKeyRecord.series, later.id > NoticeKeyRecord.id)
        .exists()
    )
    result = session.execute(
        delete(NoticeKeyRecord)
        .where(NoticeKeyRecord.occurs_on < today - timedelta(days=retention_days), superseded)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount or 0)
