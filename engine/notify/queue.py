"""The dispatcher's side of the outbox: claim due rows, record outcomes, requeue, report failures.

A claim is a conditional UPDATE that sets `claimed_by` and a lease: of two dispatchers racing for
a row exactly one gets it, and a row claimed by a dispatcher that died is due again once its lease
has passed. An outcome is recorded only by the dispatcher that still holds the claim.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from loguru import logger
from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    Update,
    and_,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.notify.directory import reach
from engine.notify.kinds import CHANNEL_LABELS, KIND_LABELS
from engine.planner.notices import direct_notice
from engine.store import Database
from engine.store.models import Plan
from engine.store.outbox import DEAD, FAILED, PENDING, SENT, OutboxNotice, enqueue

LEASE = timedelta(minutes=10)
"""Longer than any one send can take (every network call has a timeout well below it)."""


def due(now: datetime) -> ColumnElement[bool]:
    """Rows that should be sent at `now` and that nobody holds."""
    o = OutboxNotice
    return and_(
        o.status.in_((PENDING, FAILED)),
        o.send_at <= now,
        or_(o.next_attempt_at.is_(None), o.next_attempt_at <= now),
        or_(o.lease_until.is_(None), o.lease_until <= now),
    )


def new_token() -> str:
    return uuid.uuid4().hex


def claim(
    db: Database, now: datetime, *, limit: int, token: str, lease: timedelta = LEASE
) -> list[int]:
    """Claim up to `limit` due rows for `token`, oldest first; counts an attempt on each."""
    with db.transaction() as session:
        ids = list(
            session.scalars(
                select(OutboxNotice.id)
                .where(due(now))
                .order_by(OutboxNotice.send_at, OutboxNotice.id)
                .limit(limit)
                # PostgreSQL: rows another instance is claiming are passed over, not waited for
                # (SQLite has one writer at a time and renders no FOR UPDATE)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return []
        session.execute(
            update(OutboxNotice)
            .where(OutboxNotice.id.in_(ids), due(now))
            .values(claimed_by=token, lease_until=now + lease, attempts=OutboxNotice.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return list(
            session.scalars(
                select(OutboxNotice.id)
                .where(OutboxNotice.id.in_(ids), OutboxNotice.claimed_by == token)
                .order_by(OutboxNotice.send_at, OutboxNotice.id)
            )
        )


def held(session: Session, notice_id: int, token: str) -> OutboxNotice | None:
    """The row if `token` still holds it (its lease may not have been taken over)."""
    return session.scalars(
        select(OutboxNotice).where(OutboxNotice.id == notice_id, OutboxNotice.claimed_by == token)
    ).one_or_none()


def held_rows(session: Session, ids: list[int], token: str) -> dict[int, OutboxNotice]:
    """The rows among `ids` that `token` still holds, by id."""
    found = session.scalars(
        select(OutboxNotice).where(OutboxNotice.id.in_(ids), OutboxNotice.claimed_by == token)
    )
    return {row.id: row for row in found}


@cache
def _sent_statement() -> Update:
    o = cast(Table, OutboxNotice.__table__)
    return (
        update(o)
        .where(o.c.id == bindparam("notice_id"), o.c.claimed_by == bindparam("token"))
        .values(
            status=SENT,
            sent_at=bindparam("now"),
            provider_response=bindparam("answer"),
            parts_sent=bindparam("parts"),
            error=None,
            next_attempt_at=None,
            claimed_by=None,
            lease_until=None,
        )
    )


def record_sent(
    conn: Connection, outcomes: list[tuple[int, str, int]], token: str, now: datetime
) -> int:
    """Record (id, provider answer, parts sent) as sent where `token` still holds the row;
    returns how many were recorded."""
    result = conn.execute(
        _sent_statement(),
        [
            {"notice_id": i, "answer": answer, "parts": parts, "token": token, "now": now}
            for i, answer, parts in outcomes
        ],
    )
    counted = int(result.rowcount)
    # some drivers cannot count an executemany (-1): the rows are recorded all the same
    return counted if 0 <= counted <= len(outcomes) else len(outcomes)


def record_part(db: Database, notice_id: int, token: str, parts: int) -> None:
    """Record that the first `parts` messages of a notice were accepted, while `token` holds it:
    a dispatcher that dies before the rest resumes after them instead of from the first."""
    o = cast(Table, OutboxNotice.__table__)
    with db.write(relaxed=True) as conn:  # lost only in a power cut: those parts go again
        conn.execute(
            update(o)
            .where(o.c.id == notice_id, o.c.claimed_by == token, o.c.parts_sent < parts)
            .values(parts_sent=parts)
        )


def release(row: OutboxNotice) -> None:
    row.claimed_by = None
    row.lease_until = None


def requeue(session: Session, notice_id: int, now: datetime) -> OutboxNotice | None:
    """Put a notice back in the queue to be sent at once (`duban retry`); None if unknown."""
    row = session.get(OutboxNotice, notice_id)
    if row is None:
        return None
    row.status = PENDING
    row.next_attempt_at = now
    row.send_at = min(row.send_at, now)
    row.attempts = 0
    release(row)
    return row


def notify_unit(
    session: Session,
    settings: Settings,
    *,
    plan_id: str,
    unit: str,
    kind: str,
    tasks: tuple[int, ...],
    occurrence: str,
    now: datetime,
    context: dict[str, Any],
) -> list[OutboxNotice]:
    """Queue one notice to `unit` on each of its channels, in the caller's transaction."""
    notices = [
        direct_notice(
            plan_id=plan_id,
            kind=kind,
            recipient=unit,
            channel=channel,
            tasks=tasks,
            occurrence=occurrence,
            send_at=now,
            context=context,
        )
        for channel in reach(unit, settings).channels
    ]
    return enqueue(session, notices, now)


def _coordinator(session: Session, row: OutboxNotice, matter: str) -> str | None:
    """The coordinator of `row`'s plan, who is told of `matter`; None, with a warning that no one
    hears of it, when the plan names none."""
    plan = session.get(Plan, row.plan_id)
    if plan is None or plan.coordinator is None:
        logger.warning(f"计划未设置统筹单位，{matter}一事无人接收", notice=row.id, plan=row.plan_id)
        return None
    return plan.coordinator.name


def report_failure(
    session: Session, row: OutboxNotice, error: str, settings: Settings, now: datetime
) -> list[OutboxNotice]:
    """Tell the plan's coordinator that `row` went dead; never about a failure report itself."""
    if row.kind == "delivery_failure" or not row.plan_id:
        return []
    coordinator = _coordinator(session, row, "通知无法送达")
    if coordinator is None:
        return []
    context = {
        "failed_id": row.id,
        "failed_kind": row.kind,
        "failed_kind_label": KIND_LABELS.get(row.kind, row.kind),
        "failed_recipient": row.recipient,
        "failed_channel": row.channel,
        "failed_channel_label": CHANNEL_LABELS.get(row.channel, row.channel),
        "error": error,
        "attempts": row.attempts,
    }
    return notify_unit(
        session,
        settings,
        plan_id=row.plan_id,
        unit=coordinator,
        kind="delivery_failure",
        tasks=tuple(row.tasks or ()),
        # one report per death: a notice retried by hand and dead again is reported again
        occurrence=f"failed/{row.id}/{now.isoformat()}",
        now=now,
        context=context,
    )


def report_invalid_members(
    session: Session, row: OutboxNotice, members: list[str], settings: Settings, now: datetime
) -> list[OutboxNotice]:
    """Tell the plan's coordinator that `row` was sent but WeCom knew none of `members` (its
    `invaliduser`): a partial delivery, to correct in `units."X".wecom_users`. Once per plan,
    unit and set of members (the occurrence names them, and the key has no task), so that every
    later notice to the unit does not say it again; never about a failure report itself."""
    if row.kind == "delivery_failure" or not row.plan_id or not members:
        return []
    coordinator = _coordinator(session, row, "企业微信成员账号无效")
    if coordinator is None:
        return []
    shown = sorted(set(members))
    digest = hashlib.sha256("|".join(shown).encode("utf-8")).hexdigest()[:16]
    context = {
        "reason": "invalid_members",
        "failed_id": row.id,
        "failed_kind": row.kind,
        "failed_kind_label": KIND_LABELS.get(row.kind, row.kind),
        "failed_recipient": row.recipient,
        "failed_channel": row.channel,
        "failed_channel_label": CHANNEL_LABELS.get(row.channel, row.channel),
        "invalid_members": shown,
    }
    return notify_unit(
        session,
        settings,
        plan_id=row.plan_id,
        unit=coordinator,
        kind="delivery_failure",
        tasks=(),
        occurrence=f"invalid-members/{row.recipient}/{digest}",
        now=now,
        context=context,
    )


def mark_dead(row: OutboxNotice, error: str) -> None:
    row.status = DEAD
    row.error = error
    row.next_attempt_at = None
    release(row)
