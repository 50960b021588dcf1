"""Dedupe keys that can no longer matter are forgotten, and forgetting them changes nothing.

The rule (engine.store.outbox.prune_keys): a key whose occurrence is a day goes once a later key
of the same task, recipient, channel, kind and level exists and its day is more than the
retention before today. The latest key of each is always kept.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from support.postgres import scratch_database

from engine.actions.loading import load_plan
from engine.config import Settings
from engine.planfile import read_plan
from engine.planner.notices import direct_notice
from engine.service import make_calendar, make_policy, plan_and_enqueue
from engine.store import open_database
from engine.store.outbox import NoticeKeyRecord, enqueue, prune_keys, sent_keys
from tests.conftest import SEED_PLAN

ZONE = ZoneInfo("Asia/Shanghai")
SETTINGS = Settings()


def _notice(no: int, kind: str, occurrence: str, recipient: str = "市发改局"):
    return direct_notice(
        plan_id="p", kind=kind, recipient=recipient, channel="file", tasks=(no,),
        occurrence=occurrence, send_at=datetime(2021, 1, 4, 9, tzinfo=ZONE), context={},
    )


def test_the_rule_on_literal_keys(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    try:
        with database.transaction() as session:
            enqueue(session, [
                _notice(1, "overdue", "2020-01-06"),        # superseded and old: goes
                _notice(1, "overdue", "2020-02-03"),        # superseded and old: goes
                _notice(1, "overdue", "2021-03-01"),        # the latest: stays
                _notice(2, "reminder", "2020-01-31/T-3"),   # superseded and old: goes
                _notice(2, "reminder", "2020-01-31/T-1"),   # the latest of task 2: stays
                _notice(3, "overdue", "2019-05-06"),        # old, but the only one: stays
                _notice(1, "overdue", "2020-01-06", recipient="市司法局"),  # goes, and
                _notice(1, "overdue", "2020-12-28", recipient="市司法局"),  # recent: stays
                _notice(1, "overdue", "2021-01-04", recipient="市司法局"),
                _notice(1, "approval_request", "request/7"),  # no day: kept
                _notice(1, "approval_request", "request/9"),
            ], datetime(2021, 3, 1, 9, tzinfo=ZONE))
        with database.transaction() as session:
            assert prune_keys(session, date(2021, 3, 1), retention_days=365) == 4
            left = sorted(sent_keys(session))
        assert sorted(k.split("|", 2)[1] + "|" + k.rsplit("|", 1)[1] for k in left) == sorted([
            "1|2021-03-01", "2|2020-01-31/T-1", "3|2019-05-06", "1|2020-12-28",
            "1|2021-01-04", "1|request/7", "1|request/9",
        ])
        with database.transaction() as session:  # nothing more to forget the same day
            assert prune_keys(session, date(2021, 3, 1), retention_days=365) == 0
    finally:
        database.close()


def _days(first: date, last: date):
    calendar, policy = make_calendar(SETTINGS), make_policy(SETTINGS)
    day = first
    while day <= last:
        if calendar.is_workday(day):
            yield day, datetime.combine(day, time(9, 30), ZONE), calendar, policy
        day += timedelta(days=1)


def test_pruning_daily_plans_exactly_what_keeping_every_key_plans(tmp_path):
    """The seed over ten months, once keeping every key and once forgetting daily what the rule
    allows (a short retention, so that much is forgotten): the same notices on the same days."""
    runs = {}
    for name in ("kept", "pruned"):
        database = open_database(f"sqlite:///{tmp_path / f'{name}.db'}")
        load_plan(database, read_plan(SEED_PLAN), SETTINGS,
                  datetime(2020, 11, 20, 10, tzinfo=ZONE))
        planned, forgotten = [], 0
        try:
            for day, at, calendar, policy in _days(date(2020, 11, 20), date(2021, 9, 30)):
                rows = plan_and_enqueue(database, SETTINGS, at, calendar, policy, simulated=True)
                planned += [(day, r.kind, r.recipient, r.level, tuple(r.tasks)) for r in rows]
                if name == "pruned":
                    with database.transaction() as session:
                        forgotten += prune_keys(session, day, retention_days=30)
            with database.read() as session:
                keys = session.scalar(select(func.count()).select_from(NoticeKeyRecord))
        finally:
            database.close()
        runs[name] = (planned, forgotten, keys)
    assert runs["pruned"][0] == runs["kept"][0]
    assert len(runs["kept"][0]) > 100
    assert runs["pruned"][1] > 0 and runs["pruned"][2] == runs["kept"][2] - runs["pruned"][1]


def test_the_keys_are_pruned_once_a_day_for_the_database_not_per_process(tmp_path):
    """`run --once` from cron starts a process each time: the daily pruning is claimed in the
    database, so the second process of the day does not read every key again."""
    from engine.clock import FixedClock
    from engine.service import Service

    url = f"sqlite:///{tmp_path / 'd.db'}"
    first_day, noon = date(2021, 3, 1), datetime(2021, 3, 1, 12, tzinfo=ZONE)

    def superseded(occurrence: str) -> None:
        database = open_database(url)
        try:
            with database.transaction() as session:
                enqueue(session, [_notice(1, "overdue", occurrence)], noon)
        finally:
            database.close()

    def keys_after_a_process(at: datetime) -> int:
        database = open_database(url)
        try:
            Service(SETTINGS, database, FixedClock(at)).prune_daily(at)
            with database.read() as session:
                return len(sent_keys(session))
        finally:
            database.close()

    superseded("2019-01-07")
    superseded("2019-02-04")
    assert keys_after_a_process(noon) == 1  # the first process of the day prunes
    superseded("2019-03-04")
    superseded("2019-04-01")  # now 2019-03-04 is superseded and old
    assert keys_after_a_process(noon + timedelta(hours=2)) == 3  # the same day: not again
    next_day = datetime.combine(first_day + timedelta(days=1), time(12), ZONE)
    assert keys_after_a_process(next_day) == 1


def _literal_keys():
    return [
        _notice(1, "overdue", "2020-01-06"),
        _notice(1, "overdue", "2021-03-01"),
        _notice(2, "reminder", "2020-01-31/T-3"),
        _notice(2, "reminder", "2020-01-31/T-1"),
        _notice(3, "overdue", "2019-05-06"),
        _notice(1, "approval_request", "request/7"),
        _notice(1, "approval_request", "request/9"),
    ]


def _pruned_and_left(database) -> tuple[int, list[str]]:
    with database.transaction() as session:
        pruned = prune_keys(session, date(2021, 3, 1), retention_days=365)
        left = sorted(k.split("|", 2)[1] + "|" + k.rsplit("|", 1)[1] for k in sent_keys(session))
    return pruned, left


LEFT = ["1|2021-03-01", "1|request/7", "1|request/9", "2|2020-01-31/T-1", "3|2019-05-06"]


@pytest.mark.postgres
def test_the_rule_on_postgresql():
    with scratch_database("duban_prune") as url:
        database = open_database(url)
        try:
            with database.transaction() as session:
                enqueue(session, _literal_keys(), datetime(2021, 3, 1, 9, tzinfo=ZONE))
            assert _pruned_and_left(database) == (2, LEFT)
        finally:
            database.close()


def test_keys_written_before_the_series_column_are_pruned_by_the_same_rule(tmp_path):
    # A database at revision 0010 with keys in it, then upgraded: migration 0011 fills in each
    # key's series and day from the key itself, and the rule applies to those keys as to new ones.
    from alembic import command
    from alembic.config import Config

    from engine.store.database import MIGRATIONS, create_database_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_database_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0010")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO outbox (id, plan_id, kind, recipient, channel, level, is_copy, tasks,"
            " occurrence, dedupe_key, context, send_at, status, attempts, created_at, parts_sent)"
            " VALUES (1, 'p', 'overdue', '市发改局', 'file', 0, 0, '[1]', '', 'd', '{}',"
            " '2021-01-04 01:00:00', 'sent', 1, '2021-01-04 01:00:00', 0)"
        )
        for n, notice in enumerate(_literal_keys(), start=1):
            (key,) = notice.keys
            conn.exec_driver_sql(
                "INSERT INTO notice_key (id, key, notice_id, task) VALUES (?, ?, 1, ?)",
                (n, key, "|".join(key.split("|", 2)[:2])),
            )
    engine.dispose()
    database = open_database(url)
    try:
        with database.read() as session:
            rows = session.execute(
                select(NoticeKeyRecord.key, NoticeKeyRecord.series, NoticeKeyRecord.occurs_on)
            ).all()
        assert {(key.rpartition("|")[0], day) for key, _, day in rows} == {
            (series, day) for _, series, day in rows
        }
        assert {day for *_, day in rows} == {
            date(2020, 1, 6), date(2021, 3, 1), date(2020, 1, 31), date(2019, 5, 6), None
        }
        assert _pruned_and_left(database) == (2, LEFT)
    finally:
        database.close()
