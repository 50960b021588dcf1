"""What a pass reads to write notices: the digest in aggregate and column queries, saying exactly
what the whole snapshot says; a notice's tasks, and only those, read once per dispatch batch."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event
from support.postgres import scratch_database

from engine.config import PolicySettings, Settings
from engine.ledger.digest import digest_content
from engine.ledger.query import digest_of, snapshot_of
from engine.notify.compose import NoticeSpec, StoreView, build_context
from engine.planfile import read_plan, write_plan
from engine.store import Database, open_database
from tests.conftest import SEED_PLAN
from tests.test_stats import HISTORY

PLAN = "zhuhai-gba-legal-services"
REMOVED = 13
"""A task the plan file drops after a request on it: still in the store, no longer in the plan."""
NOWS = [
    "2021-04-20T09:00:00+08:00",  # the last report period ended before the plan was loaded
    "2021-07-01T09:00:00+08:00",  # tasks due 2021-06-30 are one day overdue
    "2021-07-10T10:00:00+08:00",
    "2021-07-12T09:00:00+08:00",
    "2021-09-01T09:00:00+08:00",
    "2022-03-07T09:00:00+08:00",
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def make_history(duban, workdir: Path, *db: str) -> None:
    for now, *args in HISTORY:
        result = duban(*db, "--now", now, *args)
        assert result.code == 0, (args, result.err)
    # reports on either side of the start of the period before July's digests (2021-05-25, in
    # Shanghai): the first does not count for it, the second does, whatever the day is in UTC
    for when, no, unit in (("2021-05-25T23:30:00+08:00", "10", "市司法局"),
                           ("2021-05-26T00:10:00+08:00", "17", "市发改局")):
        reported = duban(*db, "--now", when, "progress", no, "--unit", unit, "--text", "推进中")
        assert reported.code == 0, reported.err
    asked = duban(*db, "--now", "2021-07-07T10:00:00+08:00", "extend", str(REMOVED), "--unit",
                  "市司法局", "--until", "2021-12-31", "--reason", "待协调")
    assert asked.code == 0, asked.err
    plan = read_plan(SEED_PLAN)
    fewer = workdir / "fewer.yaml"
    write_plan(dataclasses.replace(plan, tasks=[t for t in plan.tasks if t.no != REMOVED]), fewer)
    loaded = duban(*db, "--now", "2021-07-08T10:00:00+08:00", "load", str(fewer))
    assert loaded.code == 0, loaded.err


def both_ways(db: Database, now: datetime, settings: Settings) -> tuple[dict, dict]:
    with db.read() as session:
        queried = digest_of(session, plan_id=PLAN, now=now, settings=settings)
        whole = digest_content(snapshot_of(session, plan_id=PLAN, now=now, settings=settings))
    return queried, whole


def check_same(db: Database) -> None:
    seen_missing = seen_overdue = 0
    for policy in (PolicySettings(), PolicySettings(report_every="quarterly", report_day=20)):
        settings = Settings(policy=policy)
        for now in NOWS:
            queried, whole = both_ways(db, at(now), settings)
            assert queried == whole, now
            seen_missing = max(seen_missing, len(whole["missing_reports"]))
            seen_overdue = max(seen_overdue, len(whole["overdue"]))
            requests = {r["no"]: r for r in whole["pending_requests"]}
            assert requests[REMOVED]["title"] == ""  # no longer in the plan
            assert requests[5]["title"]
    # the comparison covers every part of the digest
    assert seen_missing >= 4 and seen_overdue >= 10


def test_the_digest_read_in_queries_says_what_the_whole_snapshot_says(duban, workdir):
    make_history(duban, workdir)
    db = open_database(f"sqlite:///{workdir / 'var' / 'duban.db'}")
    try:
        check_same(db)
        queried, _ = both_ways(db, at(NOWS[1]), Settings())
        # in the order units first appear in the plan (task 1: 市发改局 leads, 市司法局 helps)
        assert [m["unit"] for m in queried["missing_reports"]][:2] == ["市发改局", "市司法局"]
        assert queried["total"] == 17 and sum(queried["totals"].values()) == 17
    finally:
        db.close()


@pytest.fixture
def pg_url():
    with scratch_database("duban_digest_queries") as url:
        yield url


@pytest.mark.postgres
def test_the_digest_read_in_queries_is_the_same_on_postgresql(duban, workdir, pg_url):
    make_history(duban, workdir, "--db", pg_url)
    db = open_database(pg_url)
    try:
        check_same(db)
    finally:
        db.close()


# --- a notice's tasks ------------------------------------------------------------------------


TASK_TABLE = re.compile(r"\bFROM task\b(?!_)")
PLAN_TABLE = re.compile(r"\bFROM \"?plan\"?(?![_\w])")


@contextmanager
def task_reads(db: Database, table: re.Pattern[str] = TASK_TABLE) -> Iterator[list[str]]:
    """The statements that read the task table (or `table`) while the block runs."""
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if table.search(statement):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def spec(*tasks: int) -> NoticeSpec:
    return NoticeSpec(
        kind="reminder", recipient="市司法局", channel="file", plan_id=PLAN, tasks=tasks
    )


def test_a_notice_reads_only_the_tasks_it_lists_once_per_batch(duban, workdir):
    make_history(duban, workdir)
    db = open_database(f"sqlite:///{workdir / 'var' / 'duban.db'}")
    settings, now = Settings(), at(NOWS[1])
    try:
        with db.read() as session, task_reads(db) as reads:
            view = StoreView(session)
            ctx = build_context(view, spec(11, 4, 99), settings, now)
            # the listed tasks, in the order given; a number the plan lacks is skipped
            assert [t.no for t in ctx.tasks] == [11, 4]
            assert ctx.tasks[0].lead == "市司法局" and ctx.tasks[0].progress == "推进中"
            assert ctx.tasks[1].status == "completed"
            assert len(reads) == 1 and " IN (" in reads[0]
            # the same tasks again in the batch: read no more; a new one: only that one
            build_context(view, spec(4, 11), settings, now)
            assert len(reads) == 1
            again = build_context(view, spec(11, 6), settings, now)
            assert [t.no for t in again.tasks] == [11, 6]
            assert len(reads) == 2
            assert again.tasks[1].lead == "市司法局"
            assert again.tasks[1].co_units == ("横琴新区", "市总工会")
    finally:
        db.close()


def test_a_batch_prefetched_reads_its_tasks_at_once(duban, workdir):
    make_history(duban, workdir)
    db = open_database(f"sqlite:///{workdir / 'var' / 'duban.db'}")
    settings, now = Settings(), at(NOWS[1])
    batch = [spec(11, 4), spec(6), spec(4, 99)]
    try:
        with db.read() as session, task_reads(db) as reads:
            view = StoreView(session)
            view.prefetch(batch)
            assert len(reads) == 1
            contexts = [build_context(view, one, settings, now) for one in batch]
            assert len(reads) == 1
        assert [[t.no for t in ctx.tasks] for ctx in contexts] == [[11, 4], [6], [4]]
        with db.read() as session:  # the same lines as read notice by notice
            view = StoreView(session)
            assert [build_context(view, one, settings, now) for one in batch] == contexts
    finally:
        db.close()


def test_a_batch_prefetched_reads_its_plans_at_once(duban, workdir):
    make_history(duban, workdir)
    db = open_database(f"sqlite:///{workdir / 'var' / 'duban.db'}")
    settings, now = Settings(), at(NOWS[1])
    gone = dataclasses.replace(spec(4), plan_id="a-plan-since-deleted")
    batch = [spec(11, 4), gone, spec(6)]
    try:
        with db.read() as session, task_reads(db, PLAN_TABLE) as reads:
            view = StoreView(session)
            view.prefetch(batch)
            assert len(reads) == 1 and " IN (" in reads[0]
            contexts = [build_context(view, one, settings, now) for one in batch]
            assert len(reads) == 1  # no plan read again, the one not found neither
        assert [ctx.plan_id for ctx in contexts] == [PLAN, "", PLAN]
        assert contexts[0].coordinator == "市司法局" and contexts[1].tasks == ()
        with db.read() as session:  # the same as read notice by notice
            view = StoreView(session)
            assert [build_context(view, one, settings, now) for one in batch] == contexts
    finally:
        db.close()


UNIT_TABLE = re.compile(r"\bFROM task_unit\b")


def several_plans_batch(duban, workdir: Path, *db: str) -> list[NoticeSpec]:
    """A batch listing tasks of the seed plan and of a second plan loaded beside it."""
    second = workdir / "second.yaml"
    plan = read_plan(SEED_PLAN)
    write_plan(dataclasses.replace(plan, id="second-plan", title="第二个方案"), second)
    loaded = duban(*db, "--now", NOWS[0], "load", str(second))
    assert loaded.code == 0, loaded.err
    other = [dataclasses.replace(spec(2, 3), plan_id="second-plan")]
    return [spec(11, 4), *other, spec(6)]


def check_several_plans(db: Database, batch: list[NoticeSpec], dialect: str) -> None:
    settings, now = Settings(), at(NOWS[1])
    with db.read() as session, task_reads(db) as tasks, task_reads(db, UNIT_TABLE) as units:
        view = StoreView(session)
        view.prefetch(batch)
        assert len(tasks) == 2  # one per plan
        assert len(units) == 1  # one for the units of every task of the batch
        if dialect == "postgresql":  # the numbers as one array: the same statement every time
            assert all("ANY" in one and " IN (" not in one for one in tasks + units)
        contexts = [build_context(view, one, settings, now) for one in batch]
        assert len(tasks) == 2 and len(units) == 1
    assert [[t.no for t in ctx.tasks] for ctx in contexts] == [[11, 4], [2, 3], [6]]
    assert contexts[1].plan_id == "second-plan" and contexts[1].tasks[0].lead
    with db.read() as session:  # the same lines as read notice by notice
        view = StoreView(session)
        assert [build_context(view, one, settings, now) for one in batch] == contexts


def test_a_batch_over_several_plans_reads_their_units_at_once(duban, workdir):
    make_history(duban, workdir)
    batch = several_plans_batch(duban, workdir)
    db = open_database(f"sqlite:///{workdir / 'var' / 'duban.db'}")
    try:
        check_several_plans(db, batch, "sqlite")
    finally:
        db.close()


@pytest.mark.postgres
def test_a_batch_over_several_plans_reads_in_array_queries_on_postgresql(duban, workdir, pg_url):
    make_history(duban, workdir, "--db", pg_url)
    batch = several_plans_batch(duban, workdir, "--db", pg_url)
    db = open_database(pg_url)
    try:
        check_several_plans(db, batch, "postgresql")
    finally:
        db.close()
