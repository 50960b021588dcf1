"""Several instances on one PostgreSQL: each notice is planned once, and claimed by one sender.

Each "instance" here is a Database of its own (its own engine and connection pool) in a thread,
as separate processes would be; the server is the one scripts/test.sh starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from support.concurrency import at_once
from support.postgres import scratch_database

from engine.actions.loading import load_plan
from engine.config import Settings
from engine.notify import queue
from engine.planfile import read_plan
from engine.service import make_calendar, make_policy, plan_and_enqueue
from engine.store import open_database
from engine.store.outbox import NoticeKeyRecord, OutboxNotice
from tests.conftest import SEED_PLAN

pytestmark = pytest.mark.postgres

ZONE = ZoneInfo("Asia/Shanghai")
LOADED = datetime(2021, 6, 1, 9, 0, tzinfo=ZONE)
NOW = datetime(2021, 6, 28, 9, 30, tzinfo=ZONE)  # a catch-up first pass: many notices at once
SETTINGS = Settings()


@pytest.fixture
def pg_url():
    with scratch_database("duban_instances") as url:
        database = open_database(url)
        load_plan(database, read_plan(SEED_PLAN), SETTINGS, LOADED)
        database.close()
        yield url


def counts(url: str) -> tuple[int, int, int]:
    database = open_database(url)
    try:
        with database.read() as session:
            notices = session.scalar(select(func.count()).select_from(OutboxNotice))
            keys = session.scalar(select(func.count()).select_from(NoticeKeyRecord))
            distinct = session.scalar(select(func.count(func.distinct(NoticeKeyRecord.key))))
            return notices or 0, keys or 0, distinct or 0
    finally:
        database.close()


def test_three_instances_planning_at_once_plan_each_notice_once(pg_url, tmp_path):
    # What one instance alone plans at that moment, on a copy of the same data in SQLite
    alone = open_database(f"sqlite:///{tmp_path / 'alone.db'}")
    load_plan(alone, read_plan(SEED_PLAN), SETTINGS, LOADED)
    calendar, policy = make_calendar(SETTINGS), make_policy(SETTINGS)
    expected = len(plan_and_enqueue(alone, SETTINGS, NOW, calendar, policy))
    alone.close()
    assert expected > 20

    instances = [open_database(pg_url) for _ in range(3)]
    try:
        results = at_once(
            3, lambda i: plan_and_enqueue(instances[i], SETTINGS, NOW, calendar, policy)
        )
    finally:
        for database in instances:
            database.close()
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    planned = sorted(len(r) for r in results)
    assert planned == [0, 0, expected], planned  # one planned everything, the others nothing
    notices, keys, distinct = counts(pg_url)
    assert notices == expected and keys == distinct


def test_senders_claim_disjoint_rows_and_pass_over_locked_ones(pg_url):
    calendar, policy = make_calendar(SETTINGS), make_policy(SETTINGS)
    planner = open_database(pg_url)
    total = len(plan_and_enqueue(planner, SETTINGS, NOW, calendar, policy))
    planner.close()

    holder = open_database(pg_url)
    # a claim that waited on the lock would fail after 5 s rather than hang the test
    waiting = f"{pg_url}{'&' if '?' in pg_url else '?'}options=-c%20lock_timeout%3D5000"
    instances = [open_database(waiting) for _ in range(3)]
    try:
        with holder.connect() as conn:
            # Another instance is in the middle of claiming the oldest row: its lock is held.
            locked = conn.execute(
                text("SELECT id FROM outbox ORDER BY send_at, id LIMIT 1 FOR UPDATE")
            ).scalar_one()
            later = NOW + timedelta(minutes=1)

            def claim_all(i: int) -> list[int]:
                mine: list[int] = []
                while ids := queue.claim(
                    instances[i], later, limit=5, token=f"instance-{i}", lease=timedelta(hours=1)
                ):
                    mine.extend(ids)
                return mine

            results = at_once(3, claim_all)  # would wait on the lock without SKIP LOCKED
            conn.rollback()
    finally:
        holder.close()
        for database in instances:
            database.close()
    assert not any(isinstance(r, Exception) for r in results), results
    claimed = [i for r in results for i in r]
    assert len(claimed) == len(set(claimed)), "a row was claimed twice"
    assert locked not in claimed
    assert len(claimed) == total - 1
