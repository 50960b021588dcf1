"""The service instances that run against this database, each with its last heartbeat.

`duban run` registers itself at start, beats on every tick and leaves when it stops; `duban web`
does the same, beating once a minute from a thread of its own; `doctor`
lists the instances alive (a beat within three of their own tick intervals) and the ones that
stopped without leaving (killed), so that an operator running two or three instances on one
PostgreSQL sees which are up. Heartbeats are in real time (UTC), whatever `--now` sets the
business clock to: liveness is about the processes, not the plan's calendar.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine import __version__
from engine.store.database import Database
from engine.store.models import Base, UTCDateTime

RUN, WEB = "run", "web"
_KIND_NAMES = {RUN: "督办服务（duban run）", WEB: "网页端（duban web）"}

# An instance that has not beaten for this long after its last beat is forgotten.
FORGET_AFTER = timedelta(days=7)


class InstanceRecord(Base):
    __tablename__ = "instance"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10), default=RUN)
    """`run` (the service) or `web` (the console)."""
    interval_seconds: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Instance:
    id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    beat_at: datetime
    alive: bool
    kind: str = RUN


def real_now() -> datetime:
    return datetime.now(UTC)


def register(
    db: Database, interval_seconds: int, now: datetime | None = None, *, kind: str = RUN
) -> str:
    """Record this process as a running instance of `kind`; returns its id (host:pid:random)."""
    now = now or real_now()
    host = socket.gethostname()[:200]
    ident = f"{host}:{os.getpid()}:{secrets.token_hex(4)}"
    with db.transaction() as session:
        session.execute(delete(InstanceRecord).where(InstanceRecord.beat_at < now - FORGET_AFTER))
        session.add(
            InstanceRecord(
                id=ident, host=host, pid=os.getpid(), version=__version__, kind=kind,
                interval_seconds=max(int(interval_seconds), 1), started_at=now, beat_at=now,
            )
        )
    return ident


def beat(db: Database, ident: str, now: datetime | None = None) -> None:
    with db.transaction() as session:
        session.execute(
            update(InstanceRecord)
            .where(InstanceRecord.id == ident)
            .values(beat_at=now or real_now())
        )


def leave(db: Database, ident: str) -> None:
    with db.transaction() as session:
        session.execute(delete(InstanceRecord).where(InstanceRecord.id == ident))


def instances(db: Database, now: datetime | None = None) -> list[Instance]:
    with db.read() as session:
        return instances_in(session, now)


def instances_in(session: Session, now: datetime | None = None) -> list[Instance]:
    """Every instance on record, alive first, each newest beat first."""
    now = now or real_now()
    rows = list(session.scalars(select(InstanceRecord)))
    found = [
        Instance(
            r.id, r.host, r.pid, r.version, r.started_at, r.beat_at,
            alive=r.beat_at >= now - timedelta(seconds=3 * r.interval_seconds), kind=r.kind,
        )
        for r in rows
    ]
    return sorted(found, key=lambda i: (not i.alive, -i.beat_at.timestamp()))


def describe(found: list[Instance], now: datetime | None = None) -> list[str]:
    """One line per instance, for `doctor`: alive ones, then those that stopped without leaving."""
    now = now or real_now()
    alive = [i for i in found if i.alive]
    services = [i for i in alive if i.kind == RUN]
    lines = [
        f"运行中的督办实例 {len(alive)} 个（督办服务 {len(services)} 个，网页端 "
        f"{len(alive) - len(services)} 个）" if alive else "没有运行中的督办实例（duban run）"
    ]
    for one in found:
        ago = max(int((now - one.beat_at).total_seconds()), 0)
        state = "运行中" if one.alive else "已无心跳（可能已被终止）"
        lines.append(
            f"  {_KIND_NAMES.get(one.kind, one.kind)} {one.id}（版本 {one.version}，"
            f"{one.started_at:%Y-%m-%d %H:%M} UTC 启动）：{state}，最后心跳 {ago} 秒前"
        )
    return lines
