"""Sliding windows of any length, several per message, taken all or none, never sleeping.

The WeCom robot's window (`engine.notify.ratelimit`: N a minute) generalised for the messenger
channels: DingTalk 20 a minute per robot; Feishu 100 a minute and 5 a second per robot; a WeCom
application member 30 a minute and 1,000 an hour. A message goes only when every window it counts
against has room; then it takes a place in each. Otherwise nothing is taken and the answer is the
real moment the last of them has room again, so that the channel defers the notice.

The windows are rows of the `robot_bucket` table (`engine.store.robot_buckets`), shared by every
instance on one database, keyed by the sha256 of "scope|key" (a robot URL holds its key, a secret;
it is never stored). Without a database they live in this process's memory. Time is real elapsed
time from an injectable clock, never the business clock.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from engine.notify.ratelimit import RealClock, real_now

if TYPE_CHECKING:
    from engine.store import Database


@dataclass(frozen=True)
class Pace:
    """At most `limit` messages in any `window`."""

    limit: int
    window: timedelta
    scope: str
    """Names the limit in the bucket key, e.g. "dingtalk/minute"."""

    def bucket(self, key: str) -> str:
        return hashlib.sha256(f"{self.scope}|{key}".encode()).hexdigest()


def admit(
    sent: Sequence[datetime], now: datetime, pace: Pace
) -> tuple[tuple[datetime, ...], datetime | None]:
    """The window's moments if one message goes at `now`, and None, or the kept moments and the
    real moment a place is free. A moment ahead of `now` (a wrong clock) counts as `now`."""
    recent = sorted(at for at in (min(at, now) for at in sent) if at > now - pace.window)
    if len(recent) < pace.limit:
        return (*recent, now)[-pace.limit :], None
    return tuple(recent[-pace.limit :]), recent[-pace.limit] + pace.window


class Pacer:
    """Asked before each message: may it go now against every window it counts against?"""

    clock: RealClock

    def take(self, checks: Sequence[tuple[Pace, str]], now: datetime) -> datetime | None:
        raise NotImplementedError

    def wait(self, checks: Sequence[tuple[Pace, str]]) -> timedelta | None:
        """None: a place was taken in every window; else how long until all have room."""
        now = self.clock()
        free_at = self.take(checks, now)
        return None if free_at is None else max(timedelta(0), free_at - now)


def _decide(
    windows: dict[str, tuple[datetime, ...]], checks: Sequence[tuple[Pace, str]], now: datetime
) -> tuple[dict[str, tuple[datetime, ...]], datetime | None]:
    after: dict[str, tuple[datetime, ...]] = {}
    free: list[datetime] = []
    for pace, key in checks:
        bucket = pace.bucket(key)
        moments, free_at = admit(windows.get(bucket, ()), now, pace)
        after[bucket] = moments
        if free_at is not None:
            free.append(free_at)
    return after, (max(free) if free else None)


class MemoryPacer(Pacer):
    def __init__(self, clock: RealClock = real_now) -> None:
        self.clock = clock
        self._windows: dict[str, tuple[datetime, ...]] = {}
        self._lock = threading.Lock()

    def take(self, checks: Sequence[tuple[Pace, str]], now: datetime) -> datetime | None:
        with self._lock:
            after, free_at = _decide(self._windows, checks, now)
            if free_at is None:
                self._windows.update(after)
            return free_at


class DatabasePacer(Pacer):
    """The windows in the database: one short transaction (Core statements, a relaxed commit)
    locks every row the message counts against (in a fixed order, so that two instances cannot
    deadlock) and updates them together."""

    def __init__(self, db: Database, clock: RealClock = real_now) -> None:
        self.db = db
        self.clock = clock

    def take(self, checks: Sequence[tuple[Pace, str]], now: datetime) -> datetime | None:
        from engine.store.robot_buckets import locked_windows, store_windows

        buckets = {pace.bucket(key) for pace, key in checks}
        # relaxed, as the WeCom robots' limiter (engine.notify.ratelimit.DatabaseRobotLimiter):
        # a power cut of the database host may forget the last moments of a window
        with self.db.write(relaxed=True) as conn:
            windows = locked_windows(conn, buckets)
            after, free_at = _decide(windows, checks, now)
            if free_at is None:
                store_windows(conn, after)
            return free_at


_memory: dict[str, MemoryPacer] = {}


def memory_pacer(channel: str) -> MemoryPacer:
    """The process's windows for one channel, for sending without a database: they must
    outlive one dispatch pass to count a minute."""
    return _memory.setdefault(channel, MemoryPacer())


def pacer_for(channel: str, db: Database | None, clock: RealClock | None) -> Pacer:
    if db is not None:
        return DatabasePacer(db, clock or real_now)
    if clock is not None:
        return MemoryPacer(clock)
    return memory_pacer(channel)
