"""The same store on PostgreSQL: migrations, the workflow, and the approval race.

Needs a server: scripts/test.sh starts one on loopback and sets DUBAN_TEST_POSTGRES_URL. Each test
gets a database of its own, dropped afterwards, so that other suites sharing the server are
untouched.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from support.plans import COORDINATOR, race_approvals, small_plan
from support.postgres import scratch_database

from engine.actions.board import board_rows
from engine.actions.loading import load_plan
from engine.actions.tasks import decide, record_progress, request_extension, request_transition
from engine.actions.views import task_detail
from engine.config import Settings
from engine.errors import UserError
from engine.model.plan import Status
from engine.store import open_database

pytestmark = pytest.mark.postgres
NOW = datetime(2021, 6, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SETTINGS = Settings()


@pytest.fixture
def pg_url():
    with scratch_database("duban_store") as url:
        yield url


@pytest.fixture
def db(pg_url):
    database = open_database(pg_url)
    load_plan(database, small_plan(), SETTINGS, NOW)
    yield database
    assert database.engine.pool.checkedout() == 0  # no connection leaked
    database.close()


def test_migrations_run_and_are_not_repeated(pg_url):
    first = open_database(pg_url)
    first.close()
    again = open_database(pg_url)
    with again.read() as session:
        assert session.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    again.close()


def test_the_workflow_on_postgres(db):
    assert record_progress(
        db, plan_id=None, no=1, unit="市发改局", text="已起草", now=NOW, settings=SETTINGS
    ).started
    rid = request_transition(
        db,
        plan_id=None,
        no=1,
        unit="市财政局",
        to=Status.COMPLETED,
        reason="已印发",
        now=NOW,
        settings=SETTINGS,
    )
    decide(
        db, request_id=rid, by=COORDINATOR, approve=True, reason="同意", now=NOW, settings=SETTINGS
    )
    ext = request_extension(
        db,
        plan_id=None,
        no=2,
        unit="市商务局",
        until=date(2023, 3, 31),
        reason="疫情",
        now=NOW,
        settings=SETTINGS,
    )
    decide(
        db, request_id=ext, by=COORDINATOR, approve=True, reason=None, now=NOW, settings=SETTINGS
    )
    rows = {
        r["no"]: r
        for r in board_rows(
            db, plan_id=None, unit="市市场监督管理局", status=None, now=NOW, settings=SETTINGS
        )
    }
    assert rows[2]["due"] == "2023-03-31"
    detail = task_detail(db, plan_id=None, no=1, now=NOW, settings=SETTINGS)
    assert detail.row["status"] == "completed"
    assert detail.history[1]["at"] == "2021-06-10T09:00:00+08:00"
    with pytest.raises(UserError, match="不能重复审批"):
        decide(
            db,
            request_id=rid,
            by=COORDINATOR,
            approve=False,
            reason="r",
            now=NOW,
            settings=SETTINGS,
        )
    # Re-loading keeps what happened.
    load_plan(db, small_plan(), SETTINGS, NOW)
    assert (
        task_detail(db, plan_id=None, no=2, now=NOW, settings=SETTINGS).original_due == "2022-12-31"
    )


def test_two_processes_approving_on_postgres_exactly_one_wins(db, pg_url):
    rid = request_transition(
        db,
        plan_id=None,
        no=1,
        unit="市发改局",
        to=Status.IN_PROGRESS,
        reason="r",
        now=NOW,
        settings=SETTINGS,
    )
    outcomes = race_approvals(pg_url, rid)
    assert [code for code, _, _ in outcomes] == [0, 2], outcomes
    history = task_detail(db, plan_id=None, no=1, now=NOW, settings=SETTINGS).history
    assert [h["action"] for h in history].count("approve") == 1


def _outbox_after_passes(url: str) -> list[tuple]:
    """The seed plan's first pass (a Monday: its digest, every overdue chase), then the next
    working day's, planned on the database at `url`: every outbox row and key, as stored."""
    from engine.planfile import read_plan
    from engine.service import make_calendar, make_policy, plan_pass
    from engine.store.outbox import NoticeKeyRecord, OutboxNotice
    from tests.conftest import SEED_PLAN

    zone = ZoneInfo("Asia/Shanghai")
    database = open_database(url)
    try:
        load_plan(database, read_plan(SEED_PLAN), SETTINGS, datetime(2021, 1, 4, 8, tzinfo=zone))
        calendar, policy = make_calendar(SETTINGS), make_policy(SETTINGS)
        for day in (date(2022, 3, 7), date(2022, 3, 8)):
            moment = datetime.combine(day, datetime.min.time(), zone).replace(hour=10)
            plan_pass(database, SETTINGS, moment, calendar, policy)
        with database.read() as session:
            rows = session.scalars(select(OutboxNotice).order_by(OutboxNotice.id)).all()
            keys = {
                notice_id: sorted(found)
                for notice_id, found in _grouped(session, NoticeKeyRecord)
            }
            return [
                (r.kind, r.recipient, r.channel, r.level, r.is_copy, tuple(r.tasks),
                 r.occurrence, r.dedupe_key, r.context, r.send_at, r.status, r.parts_sent,
                 tuple(keys.get(r.id, ())))
                for r in rows
            ]
    finally:
        database.close()


def _grouped(session, record):
    found: dict[int, list[tuple]] = {}
    query = select(record.notice_id, record.key, record.task, record.series, record.occurs_on)
    for notice_id, *rest in session.execute(query):
        found.setdefault(notice_id, []).append(tuple(rest))
    return found.items()


def test_the_outbox_is_written_the_same_as_on_sqlite(pg_url, tmp_path):
    # PostgreSQL takes the planned rows and their keys by COPY (engine.store.outbox): the rows,
    # the digest's listed tasks set after the insert, and every key's columns are what SQLite
    # stores through the session.
    on_postgres = _outbox_after_passes(pg_url)
    on_sqlite = _outbox_after_passes(f"sqlite:///{tmp_path / 'same.db'}")
    assert len(on_sqlite) > 20
    assert {row[0] for row in on_sqlite} >= {"digest", "overdue", "escalation"}
    digest = next(row for row in on_sqlite if row[0] == "digest")
    assert digest[5]  # the overdue tasks it lists
    assert on_postgres == on_sqlite
