"""A token bucket per WeCom robot: at most N messages in any minute, without ever sleeping.

`take(robot)` either takes a token or says when, in real time, the next one will be there, so that
the channel can put the notice back in the queue instead of blocking a thread; `wait(robot)` says
the same as a duration, which the channel adds to the business `now` (fixed by `--now` in a trial)
to get the notice's retry moment. Buckets refill in real elapsed time, read from an injectable
clock (the tests pass literal datetimes), never from the business clock.

Two kinds, one arithmetic (`refill`):

- `DatabaseRobotLimiter`: the bucket is a row of the database, so that every instance on one
  PostgreSQL shares it (20 a minute for all of them together). The row is keyed by the sha256 of
  the robot's URL: the URL holds the webhook key, a secret, and is never stored.
- `RobotLimiter`: the bucket in this process's memory, for sending without a database
  (`duban notify send-test`) and for tests.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.store import Database

RealClock = Callable[[], datetime]
"""Returns the current real moment, timezone-aware (UTC)."""

WINDOW = timedelta(minutes=1)


def real_now() -> datetime:
    return datetime.now(UTC)


def robot_key(robot: str) -> str:
    """What identifies a robot's bucket: the sha256 (hex) of its URL, which must not be kept."""
    return hashlib.sha256(robot.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Bucket:
    tokens: float
    refilled_at: datetime


def refill(bucket: Bucket | None, now: datetime, per_minute: int) -> tuple[Bucket, datetime | None]:
    """Take a token at real moment `now`: the bucket afterwards, and None or when one is free.

    A bucket's moment never goes back: a clock behind another instance's refills nothing. One more
    than a minute ahead of `now` (a clock that was wrong) is brought back to `now`, so that it
    cannot stall the robot for longer than a minute.
    """
    capacity = float(per_minute)
    per_second = per_minute / 60.0
    if bucket is None:
        bucket = Bucket(capacity, now)
    at = min(bucket.refilled_at, now + WINDOW)
    elapsed = max(0.0, (now - at).total_seconds())
    tokens = min(capacity, bucket.tokens + elapsed * per_second)
    latest = max(at, now)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, latest), None
    return Bucket(tokens, latest), latest + timedelta(seconds=(1.0 - tokens) / per_second)


class Limiter:
    """What the WeCom channel asks before each message: a bucket per robot, in real time."""

    per_minute: int
    clock: RealClock

    def take(self, robot: str, now: datetime | None = None) -> datetime | None:
        """Take one token for `robot` at real moment `now` (default: the clock): None when
        taken, else the real moment one becomes free."""
        raise NotImplementedError

    def wait(self, robot: str) -> timedelta | None:
        """Take one token for `robot` now: None when taken, else how long until one is free."""
        now = self.clock()
        free_at = self.take(robot, now)
        return None if free_at is None else max(timedelta(0), free_at - now)


class RobotLimiter(Limiter):
    """The buckets in this process's memory."""

    def __init__(self, per_minute: int, clock: RealClock = real_now) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def take(self, robot: str, now: datetime | None = None) -> datetime | None:
        now = now or self.clock()
        with self._lock:
            self._buckets[robot], free_at = refill(self._buckets.get(robot), now, self.per_minute)
            return free_at


class DatabaseRobotLimiter(Limiter):
    """The buckets in the database, shared by every instance that uses it.

    Each `take` is a short transaction of its own. On PostgreSQL the row is inserted if missing
    (ON CONFLICT DO NOTHING) and then locked (SELECT … FOR UPDATE), so that instances taking
    tokens for one robot at once queue on that row; on SQLite the write transaction (BEGIN
    IMMEDIATE) serialises them.
    """

    def __init__(self, db: Database, per_minute: int, clock: RealClock = real_now) -> None:
        self.db = db
        self.per_minute = per_minute
        self.clock = clock

    def take(self, robot: str, now: datetime | None = None) -> datetime | None:
        from engine.store.robot_buckets import locked_bucket

        now = now or self.clock()
        with self.db.transaction() as session:
            row = locked_bucket(session, robot_key(robot), float(self.per_minute), now)
            after, free_at = refill(Bucket(row.tokens, row.refilled_at), now, self.per_minute)
            row.tokens, row.refilled_at = after.tokens, after.refilled_at
            return free_at
