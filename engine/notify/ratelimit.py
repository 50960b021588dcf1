"""A token bucket per WeCom robot: at most N messages in any minute, without ever sleeping.

`take(robot, now)` either takes a token or says when the next one will be there, so that the
dispatcher can put the notice back in the queue for that moment instead of blocking a thread.
Time is an argument: the tests pass literal datetimes.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class RobotLimiter:
    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self._buckets: dict[str, tuple[float, datetime]] = {}
        self._lock = threading.Lock()

    def take(self, robot: str, now: datetime) -> datetime | None:
        """Take one token for `robot`: None when taken, else the moment one becomes free."""
        with self._lock:
            tokens, at = self._buckets.get(robot, (self.capacity, now))
            elapsed = max(0.0, (now - at).total_seconds())
            tokens = min(self.capacity, tokens + elapsed * self.per_second)
            latest = max(at, now)
            if tokens >= 1.0:
                self._buckets[robot] = (tokens - 1.0, latest)
                return None
            self._buckets[robot] = (tokens, latest)
            return latest + timedelta(seconds=(1.0 - tokens) / self.per_second)
