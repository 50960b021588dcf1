"""Under a fixed business clock (`--now`), the outbox still moves in real time.

A trial service run with `duban --now … run` plans as of that day, but what is mechanical —
a notice the robot's rate limit put off, a retry, a dead instance's lease — comes due as real
time passes (DESIGN.md, "Several instances on PostgreSQL": mechanical time is real elapsed time).
Real time is injected: a FixedClock the test moves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from support.notices import NOW, database_with_plan, queue, row, settings_for
from support.wecom import WecomServer

from engine.clock import FixedClock
from engine.service import Service
from engine.store.outbox import PENDING, SENT

REAL = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
EARLY = NOW - timedelta(hours=1)  # before the day's send time: the planner adds nothing
KEY = "real-time-robot"


def test_a_notice_put_off_by_the_rate_limit_goes_once_real_time_allows(tmp_path):
    with WecomServer() as server:
        settings = settings_for(
            tmp_path,
            {"市发改局": {"wecom": server.url(KEY)}},
            wecom={
                "allowed_hosts": ["127.0.0.1"],
                "timeout_seconds": 0.5,
                "per_robot_per_minute": 2,
            },
        )
        db = database_with_plan(tmp_path, settings)
        real = FixedClock(REAL)
        try:
            ids = [
                notice
                for n in range(3)
                for notice in queue(
                    db, settings, occurrence=f"2021-06-30/T-{n + 10}", at=EARLY - timedelta(hours=1)
                )
            ]
            service = Service(settings, db, FixedClock(EARLY), real=real)
            first = service.tick()
            assert first.planned == []
            assert (first.dispatch.sent, first.dispatch.deferred) == (2, 1), first.dispatch
            (waiting,) = [i for i in ids if row(db, i).status == PENDING]
            # business time stands still; real time moves on a minute: the notice goes
            assert service.tick().dispatch.deferred == 0
            assert row(db, waiting).status == PENDING  # not before its minute is over
            real.set(REAL + timedelta(seconds=61))
            again = service.tick()
            assert row(db, waiting).status == SENT, again.dispatch
            assert sum(1 for m in server.received if m.key == KEY) == 3
        finally:
            db.close()


def test_a_clock_that_runs_is_not_moved_on_twice():
    service = Service.__new__(Service)
    service.clock = FixedClock(NOW)
    service.real = FixedClock(REAL)
    service._real_start = REAL
    service.real.set(REAL + timedelta(minutes=5))
    assert service.queue_now(NOW) == NOW + timedelta(minutes=5)

    class Running:
        def now(self) -> datetime:
            return NOW

    service.clock = Running()  # the wall clock: it moves by itself
    assert service.queue_now(NOW) == NOW
