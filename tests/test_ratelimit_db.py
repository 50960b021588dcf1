"""The WeCom robot limit counted in the database: 20 a minute across instances, in real time.

Each "instance" is a Database of its own (its own engine and pool) in a thread, released together
by a barrier, as separate processes would be. Real time is injected: the limiter's clock is a
FixedClock the test moves, so nothing sleeps; the business `now` is another, fixed one.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from support.concurrency import at_once
from support.notices import NOW, database_with_plan, queue, row, settings_for
from support.postgres import scratch_database
from support.wecom import WecomServer

from engine.clock import FixedClock
from engine.config import WecomSettings
from engine.notify.channels.base import Message, Outcome
from engine.notify.channels.file import FileChannel
from engine.notify.channels.wecom import WecomChannel
from engine.notify.dispatcher import dispatch_due
from engine.notify.ratelimit import DatabaseRobotLimiter
from engine.store import Database, open_database
from engine.store.outbox import PENDING, SENT
from engine.store.robot_buckets import RobotBucketRecord

REAL = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # the limiter's real time, unrelated to NOW
KEY = "5d1e7a90-3c2b-4f6e-8a1d-robotsecret77"
ROBOT = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
INSTANCES = 3


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'duban.db'}"
        return
    with scratch_database("duban_ratelimit") as pg_url:
        yield pg_url


@pytest.fixture
def instances(url) -> Iterator[list[Database]]:
    # opened one after another: the first brings the schema up, the others find it there
    found = [open_database(url) for _ in range(INSTANCES)]
    yield found
    for db in found:
        db.close()


def taken_at_once(limiters: list[DatabaseRobotLimiter], tries: int) -> tuple[int, list[Any]]:
    """Every instance tries `tries` tokens for ROBOT at once: how many were taken, and the rest."""
    outcomes = at_once(len(limiters), lambda i: [limiters[i].take(ROBOT) for _ in range(tries)])
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert not errors, errors
    flat = [answer for each in outcomes for answer in each]
    return sum(answer is None for answer in flat), [a for a in flat if a is not None]


def dump(db: Database) -> str:
    """Every row of every table, as text."""
    with db.connect() as conn:
        names = inspect(conn).get_table_names()
        return "\n".join(
            repr(tuple(r)) for name in names for r in conn.execute(text(f'SELECT * FROM "{name}"'))
        )


def test_instances_sending_at_once_share_twenty_in_any_minute(instances):
    real = FixedClock(REAL)
    limiters = [DatabaseRobotLimiter(db, 20, clock=real.now) for db in instances]

    taken, refused = taken_at_once(limiters, 10)
    assert taken == 20  # not 20 each: one window for the three
    assert set(refused) == {REAL + timedelta(minutes=1)}  # when the first 20 leave the minute

    real.set(REAL + timedelta(seconds=59))  # still within the minute: nothing
    taken, refused = taken_at_once(limiters, 2)
    assert taken == 0 and set(refused) == {REAL + timedelta(minutes=1)}

    real.set(REAL + timedelta(minutes=1))  # the first 20 have left the window
    taken, refused = taken_at_once(limiters, 10)
    assert taken == 20 and set(refused) == {REAL + timedelta(minutes=2)}

    real.set(REAL + timedelta(hours=1))  # a quiet hour: 20 again, no more
    taken, _ = taken_at_once(limiters, 10)
    assert taken == 20


def test_no_sixty_seconds_ever_hold_more_than_twenty(instances):
    """Sending whenever allowed, at moments a second apart, over five minutes: in every window of
    60 s there are at most 20 (a token bucket of 20 let 39 through in one)."""
    real = FixedClock(REAL)
    limiter = DatabaseRobotLimiter(instances[0], 20, clock=real.now)
    sent: list[int] = []
    for second in range(0, 300):
        real.set(REAL + timedelta(seconds=second))
        while limiter.take(ROBOT) is None:
            sent.append(second)
    assert len(sent) == 100
    assert max(sum(1 for t in sent if start <= t < start + 60) for start in range(300)) == 20


def test_the_bucket_row_holds_a_hash_of_the_url_never_its_key(instances):
    limiter = DatabaseRobotLimiter(instances[0], 20, clock=FixedClock(REAL).now)
    assert limiter.take(ROBOT) is None
    everything = dump(instances[0])
    assert hashlib.sha256(ROBOT.encode()).hexdigest() in everything
    assert KEY not in everything and "qyapi" not in everything


def message(url: str) -> Message:
    return Message(
        notice_id=7,
        kind="reminder",
        recipient="市发改局",
        subject="提醒",
        markdown=("### 任务到期提醒",),
        webhook=url,
    )


def test_a_fixed_business_clock_does_not_move_the_window_real_time_does(instances):
    db = instances[0]
    real = FixedClock(REAL)
    settings = WecomSettings(allowed_hosts=["127.0.0.1"], timeout_seconds=0.5)
    with WecomServer() as server:
        channel = WecomChannel(settings, DatabaseRobotLimiter(db, 20, clock=real.now))
        try:
            robot = server.url(KEY)
            assert all(channel.send(message(robot), NOW).ok for _ in range(20))
            deferred = channel.send(message(robot), NOW)
            assert deferred.outcome is Outcome.DEFERRED
            assert deferred.retry_at == NOW + timedelta(minutes=1)  # on the business clock
            # business time may stand still (--now) or jump: the window follows real time only
            assert channel.send(message(robot), NOW).outcome is Outcome.DEFERRED
            later = channel.send(message(robot), NOW + timedelta(hours=2))
            assert later.outcome is Outcome.DEFERRED
            assert later.retry_at == NOW + timedelta(hours=2, minutes=1)
            real.set(REAL + timedelta(minutes=1))
            assert channel.send(message(robot), NOW).ok
        finally:
            channel.close()
        assert len(server.received) == 21
        assert KEY not in dump(db)


def test_the_dispatcher_defers_on_the_shared_window_and_sends_when_real_time_allows(tmp_path):
    with WecomServer() as server:
        settings = settings_for(tmp_path, {"市发改局": {"wecom": server.url(KEY)}})
        db = database_with_plan(tmp_path, settings)
        real = FixedClock(REAL)
        ids = [
            notice
            for n in range(3)
            for notice in queue(db, settings, occurrence=f"2021-06-30/T-{n}")
        ]
        channels = {
            "wecom": WecomChannel(
                settings.channels.wecom, DatabaseRobotLimiter(db, 2, clock=real.now)
            ),
            "file": FileChannel(settings.resolve_path(settings.channels.file.dir)),
        }
        try:
            first = dispatch_due(db, settings, NOW, channels=channels, rng=random.Random(1))
            assert (first.sent, first.deferred) == (2, 1)
            (waiting,) = [i for i in ids if row(db, i).status == PENDING]
            assert row(db, waiting).next_attempt_at == NOW + timedelta(minutes=1)
            # a minute of real time passes, and the business clock reaches the retry moment
            real.set(REAL + timedelta(minutes=1))
            again = dispatch_due(
                db,
                settings,
                NOW + timedelta(minutes=1),
                channels=channels,
                rng=random.Random(1),
            )
            assert (again.sent, again.deferred) == (1, 0)
            assert row(db, waiting).status == SENT
        finally:
            for channel in channels.values():
                channel.close()
            db.close()


def test_the_service_dispatcher_counts_robots_in_the_database(tmp_path):
    with WecomServer() as server:
        robot = server.url(KEY)
        settings = settings_for(tmp_path, {"市发改局": {"wecom": robot}})
        db = database_with_plan(tmp_path, settings)
        try:
            queue(db, settings)
            assert dispatch_due(db, settings, NOW).sent == 1  # its own channels, as the service
            with db.connect() as conn:
                stored = conn.execute(text("SELECT robot FROM robot_bucket")).all()
            assert [tuple(r) for r in stored] == [(hashlib.sha256(robot.encode()).hexdigest(),)]
            with db.read() as session:
                (window,) = session.scalars(select(RobotBucketRecord)).all()
                assert len(window.sent) == 1  # the one message, its real moment
            assert KEY not in dump(db)
        finally:
            db.close()


def test_an_instance_whose_clock_ran_ahead_stalls_a_robot_for_a_minute_at_most(instances):
    ahead = DatabaseRobotLimiter(instances[0], 20, clock=FixedClock(REAL + timedelta(hours=1)).now)
    right = DatabaseRobotLimiter(instances[1], 20, clock=FixedClock(REAL).now)
    assert all(ahead.take(ROBOT) is None for _ in range(20))
    # its twenty count as sent now, by the right clock: free again a minute later, not an hour
    assert right.take(ROBOT) == REAL + timedelta(minutes=1)
