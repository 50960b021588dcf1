"""A sliding window per WeCom robot: at most N messages in any 60 seconds, without ever sleeping.

WeCom refuses a robot's 21st message within a minute. A token bucket (20, refilled at 20 a minute)
lets 39 through in some 60 s; the window keeps the last N send moments and allows a message only
while fewer than N lie within the last minute.

`take(robot)` either takes a place or says when, in real time, the next one will be there, so that
the channel can put the notice back in the queue instead of blocking a thread; `wait(robot)` says
the same as a duration, which the channel adds to the business `now` (fixed by `--now` in a trial)
to get the notice's retry moment. Windows move in real elapsed time, read from an injectable
clock (the tests pass literal datetimes), never from the business clock.

Two kinds, one arithmetic (`admit`):

- `DatabaseRobotLimiter`: the window is a row of the database, so that every instance on one
  PostgreSQL shares it (20 a minute for all of them together). The row is keyed by the sha256 of
  the robot's URL: the URL holds the webhook key, a secret, and is never stored.
- `RobotLimiter`: the window in this process's memory, for sending without a database
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
class Window:
    sent: tuple[datetime, ...]
    """The real moments of the last messages (at most N), oldest first."""


def admit(window: Window | None, now: datetime, per_minute: int) -> tuple[Window, datetime | None]:
    """Send one message at real moment `now`? The window afterwards, and None (sent) or the
    real moment a place is free: when the oldest of the last N leaves the minute.

    A moment more than a minute ahead of `now` (another instance's clock that was wrong) counts as
    `now`, so that it cannot stall the robot for longer than a minute.
    """
    sent = [min(at, now) for at in (window.sent if window else ())]
    recent = sorted(at for at in sent if at > now - WINDOW)
    if len(recent) < per_minute:
        return Window((*recent, now)[-per_minute:]), None
    return Window(tuple(recent[-per_minute:])), recent[-per_minute] + WINDOW


class Limiter:
    """What the WeCom channel asks before each message: a window per robot, in real time."""

    per_minute: int
    clock: RealClock

    def take(self, robot: str, now: datetime | None = None) -> datetime | None:
        """Take a place for one message to `robot` at real moment `now` (default: the clock):
        None when taken, else the real moment one becomes free."""
        raise NotImplementedError

    def wait(self, robot: str) -> timedelta | None:
        """Take a place for `robot` now: None when taken, else how long until one is free."""
        now = self.clock()
        free_at = self.take(robot, now)
        return None if free_at is None else max(timedelta(0), free_at - now)


class RobotLimiter(Limiter):
    """The windows in this process's memory."""

    def __init__(self, per_minute: int, clock: RealClock = real_now) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._windows: dict[str, Window] = {}
        self._lock = threading.Lock()

    def take(self, robot: str, now: datetime | None = None) -> datetime | None:
        now = now or self.clock()
        with self._lock:
            self._windows[robot], free_at = admit(self._windows.get(robot), now, self.per_minute)
            return free_at


class DatabaseRobotLimiter(Limiter):
    """The windows in the database, shared by every instance that uses it.

    Each `take` is a short transaction of its own, on a Core connection (no session: it runs
    for every message), whose commit does not wait for the disk (`Database.write(relaxed=True)`).
    The row is read and locked (SELECT … FOR UPDATE on PostgreSQL), inserted first if missing
    (ON CONFLICT DO NOTHING), so that instances sending to one robot at once queue on that row;
    on SQLite the write transaction (BEGIN IMMEDIATE) serialises them.
    """

    def __init__(self, db: Database, per_minute: int, clock: RealClock = real_now) -> None:
        self.db = db
        self.per_minute = per_minute
        self.clock = clock

    def take(self, robot: str, now: datetime | None = None) -> datetime | None:
        from engine.store.robot_buckets import locked_windows, store_windows

        now = now or self.clock()
        key = robot_key(robot)
        # relaxed: a power cut of the database host may forget the last moments, so that a robot
        # gets a few more in that minute (WeCom then refuses them, and they are tried again)
        with self.db.write(relaxed=True) as conn:
            (moments,) = locked_windows(conn, [key]).values()
            after, free_at = admit(Window(moments), now, self.per_minute)
            store_windows(conn, {key: after.sent})
            return free_at
