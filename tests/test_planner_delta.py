"""A pass reads only what fell due or changed since the last pass, and plans exactly what a pass
over every task plans (engine.planner.delta; the rule is written there).

The pure part: which due dates a pass must read, given the marked pass. The store part: a run of
months over several plans, with reports, approvals, an extension and a reloaded plan file between
passes, planned once reading only what the mark allows and once reading every task each day (the
mark deleted before each pass): the same notices on the same days, while most passes read a small
part of the tasks.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from engine.actions.loading import load_plan
from engine.actions.tasks import decide, record_progress, request_extension, request_transition
from engine.config import Settings
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.deadline import Deadline, DeadlineKind
from engine.model.plan import Status
from engine.planfile import read_plan
from engine.planner.days import DayTable
from engine.planner.delta import Mark, calendar_span, fingerprint, scope, wanted
from engine.planner.policy import Policy
from engine.service import make_calendar, make_policy, plan_pass
from engine.store import open_database
from engine.store.revision import PlanningMarkRecord, current_revision, marked_dues
from tests.conftest import SEED_PLAN
from tests.support.plans import big_plan, small_plan, with_task

ZONE = ZoneInfo("Asia/Shanghai")
SETTINGS = Settings()
POLICY = Policy()
CALENDAR = WorkCalendar()


def _print(today: date, dues: list[date], policy: Policy = POLICY,
           calendar: WorkCalendar = CALENDAR) -> str:
    return fingerprint(policy, calendar, *calendar_span(today, dues))


# --- which due dates a pass reads ---------------------------------------------------------------


def _scope(mark_day: date | None, today: date, dues: list[date], **changes):
    printed = _print(today, dues)
    mark = None if mark_day is None else Mark(mark_day, 7, changes.get("fingerprint", printed))
    return scope(mark, today, POLICY, CALENDAR, dues, printed)


def test_without_a_mark_or_after_the_clock_went_back_every_task_is_read():
    dues = [date(2021, 6, 30)]
    assert _scope(None, date(2021, 6, 1), dues).full
    assert _scope(date(2021, 6, 2), date(2021, 6, 1), dues).full


def test_another_policy_or_calendar_reads_every_task():
    dues = [date(2021, 6, 30)]
    assert _scope(date(2021, 6, 1), date(2021, 6, 2), dues, fingerprint="other").full
    today = date(2021, 6, 2)
    assert _print(today, dues) != _print(today, dues, Policy(remind_before_days=(10,)))
    moved = WorkCalendar(extra_holidays=[date(2021, 6, 7)])
    assert _print(today, dues) != _print(today, dues, calendar=moved)


def test_a_reminder_day_reads_its_due_date_and_the_next_day_does_not():
    due = date(2021, 6, 30)  # T-7 reminder on 2021-06-23 (a Wednesday)
    first = _scope(date(2021, 6, 22), date(2021, 6, 23), [due, date(2022, 3, 1)])
    assert not first.full and first.dues == (due,) and first.changed_after == 7
    assert _scope(date(2021, 6, 23), date(2021, 6, 24), [due]).dues == ()
    assert _scope(date(2021, 6, 23), date(2021, 6, 23), [due]).dues == ()  # a second pass


def test_an_overdue_date_is_read_on_the_days_a_level_fires_again():
    due = date(2021, 3, 1)
    days = [date(2021, 3, 1) + timedelta(days=i) for i in range(1, 40)]
    working = [d for d in days if CALENDAR.is_workday(d)]
    read = [today for before, today in pairwise(working)
            if _scope(before, today, [due]).dues == (due,)]
    assert read  # the first chase and each repeat of the levels
    for today in read:  # on each of them some level's latest occurrence is new
        now, then = DayTable(today, POLICY, CALENDAR), DayTable(
            working[working.index(today) - 1], POLICY, CALENDAR)
        assert wanted(now, due) - wanted(then, due)
    assert len(read) < len(working) - 1  # and not on every day


def test_a_progress_request_day_reads_every_task():
    # Monthly reports on the 25th, asked 5 working days before: 2021-06-18 (a Friday).
    assert _scope(date(2021, 6, 17), date(2021, 6, 18), [date(2022, 1, 1)]).full
    assert not _scope(date(2021, 6, 18), date(2021, 6, 21), [date(2022, 1, 1)]).full


# --- the same notices as a pass over every task -------------------------------------------------


def _plans():
    seed = read_plan(SEED_PLAN)
    big = big_plan(120, "big-plan")
    # Due dates on many days of 2021, so that reminders and chases fall on different days.
    tasks = [
        replace(t, deadline=Deadline(f"{due}前", DeadlineKind.DATE, due))
        for t in big.tasks
        for due in [date(2021, 2, 1) + timedelta(days=(t.no * 3) % 200)]
    ]
    return [seed, replace(big, tasks=tasks), small_plan("trial-plan")]


def _working_moments(first: date, last: date):
    calendar = make_calendar(SETTINGS)
    day = first
    while day <= last:
        if calendar.is_workday(day):
            yield day, datetime.combine(day, time(9, 30), ZONE)
        day += timedelta(days=1)


def _events(database, day: date, at: datetime) -> None:
    """What people do between passes, the same in both runs."""
    if day == date(2021, 2, 10):  # the lead of a big-plan task reports; a seed task starts
        record_progress(database, plan_id="big-plan", no=5, unit="市第6局", text="已启动",
                        now=at, settings=SETTINGS)
    if day == date(2021, 3, 3):  # a big-plan task completed, approved by the coordinator
        request = request_transition(database, plan_id="big-plan", no=5, unit="市第6局",
                                     to=Status.COMPLETED, reason="已完成", now=at,
                                     settings=SETTINGS)
        decide(database, request_id=request, by="市司法局", approve=True, reason=None, now=at,
               settings=SETTINGS)
    if day == date(2021, 3, 17):  # an extension approved: the task is due later
        request = request_extension(database, plan_id="big-plan", no=12, unit="市第13局",
                                    until=date(2021, 5, 20), reason="需协调", now=at,
                                    settings=SETTINGS)
        decide(database, request_id=request, by="市司法局", approve=True, reason=None, now=at,
               settings=SETTINGS)
    if day == date(2021, 4, 7):  # the plan file again: a deadline moved, a new task
        big = _plans()[1]
        big = with_task(big, 30, deadline=Deadline("2021年4月20日前", DeadlineKind.DATE,
                                                   date(2021, 4, 20)))
        extra = replace(big.tasks[0], no=121, title="新增任务", deadline=Deadline(
            "2021年4月30日前", DeadlineKind.DATE, date(2021, 4, 30)))
        load_plan(database, replace(big, tasks=[*big.tasks, extra]), SETTINGS, at)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("delta")
    calendar, policy = make_calendar(SETTINGS), make_policy(SETTINGS)
    results = {}
    for name in ("marked", "every-task", "every-task, a plan a piece"):
        database = open_database(f"sqlite:///{folder / f'{name}.db'}")
        pieces = pytest.MonkeyPatch()
        if name.endswith("a piece"):  # a full pass plans each plan in a piece of its own
            pieces.setattr("engine.service.PIECE_TASKS", 1)
        try:
            for plan in _plans():
                load_plan(database, plan, SETTINGS, datetime(2021, 1, 4, 8, tzinfo=ZONE))
            planned, read = [], []
            for day, at in _working_moments(date(2021, 1, 4), date(2021, 5, 31)):
                _events(database, day, at)
                if name.startswith("every-task"):
                    with database.transaction() as session:
                        session.execute(delete(PlanningMarkRecord))
                result = plan_pass(database, SETTINGS, at, calendar, policy, simulated=True)
                planned += sorted(
                    (day, r.plan_id, r.kind, r.recipient, r.channel, r.level, tuple(r.tasks),
                     r.occurrence) for r in result.rows
                )
                read.append((day, result.scope.full, result.tasks_read))
            with database.read() as session:
                revision = current_revision(session)
        finally:
            database.close()
            pieces.undo()
        results[name] = (planned, read, revision)
    return results


def test_reading_what_fell_due_plans_what_reading_every_task_plans(runs):
    marked, every = runs["marked"][0], runs["every-task"][0]
    assert len(every) > 200
    assert marked == every
    # and a full pass read a plan at a time plans what one reading every plan at once plans
    assert runs["every-task, a plan a piece"][0] == every
    kinds = {row[2] for row in every}
    assert {"reminder", "overdue", "escalation", "progress_request", "progress_missing",
            "digest"} <= kinds


def test_most_passes_read_a_small_part_of_the_tasks(runs):
    read = runs["marked"][1]
    total = 18 + 121 + 5
    partial = [n for _, full, n in read if not full]
    assert all(full for _, full, _ in runs["every-task"][1])
    assert len(partial) > len(read) * 2 // 3
    assert sorted(partial)[len(partial) // 2] < total // 5  # the median pass reads few
    # The first pass has no mark; a request day reads everything.
    assert read[0][1]


def test_every_change_between_passes_moved_the_revision_on(runs):
    # Loads (3 + 1), a report's start, two decisions (and their requests' locks).
    assert runs["marked"][2] >= 7


def test_the_marked_due_dates_serve_only_while_no_task_changed(tmp_path):
    # The mark keeps the open tasks' due dates it read; the next pass takes them from there when
    # the task revision is the same, and reads them again (a changed due date included) when not.
    database = open_database(f"sqlite:///{tmp_path / 'dues.db'}")
    calendar, policy = make_calendar(SETTINGS), make_policy(SETTINGS)
    try:
        plan = small_plan("trial-plan")
        load_plan(database, plan, SETTINGS, datetime(2021, 1, 4, 8, tzinfo=ZONE))
        first = datetime(2021, 1, 5, 9, 30, tzinfo=ZONE)
        plan_pass(database, SETTINGS, first, calendar, policy)
        with database.read() as session:
            mark = session.get(PlanningMarkRecord, 1)
            before = list(mark.dues)
            assert before and marked_dues(mark, mark.revision) == [
                date.fromisoformat(d) for d in before
            ]
            assert marked_dues(mark, mark.revision + 1) is None
        dated = next(t for t in plan.tasks if t.deadline.kind is DeadlineKind.DATE)
        moved = Deadline("2021年9月30日前", DeadlineKind.DATE, date(2021, 9, 30))
        load_plan(database, with_task(plan, dated.no, deadline=moved), SETTINGS, first)
        plan_pass(database, SETTINGS, first + timedelta(days=1), calendar, policy)
        with database.read() as session:
            after = session.get(PlanningMarkRecord, 1).dues
        assert "2021-09-30" in after and after != before
    finally:
        database.close()
