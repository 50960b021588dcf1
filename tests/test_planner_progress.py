"""The progress cadence on literal dates: the request before report day, the chase after it."""

from __future__ import annotations

import json
from datetime import date, datetime

from engine.deadlines.deadline import Deadline, DeadlineKind
from engine.planner import Policy, TaskState
from tests.test_planner import TZ, Run, at, snap

POLICY = Policy(remind_before_days=(), escalation=())  # monthly on the 25th, 5 working days ahead
LONG = Deadline("长期推进", DeadlineKind.LONG_TERM)


def task(no: int, lead: str, reported: str | None = None, **extra: object) -> TaskState:
    reports = {lead: datetime.fromisoformat(reported).replace(tzinfo=TZ)} if reported else {}
    fields: dict[str, object] = {"status": "in_progress", "tracked_since": date(2021, 1, 1)}
    fields.update(extra)
    return TaskState("p", no, lead, (), deadline=LONG, last_reports=reports, **fields)  # type: ignore[arg-type]


def june_plan(**extra: object):
    extra.setdefault("tracked_since", date(2021, 6, 1))  # the May period is not chased
    return snap(
        task(1, "市发改局", "2021-06-10T15:00", **extra),
        task(2, "市发改局", "2021-05-20T15:00", **extra),
        task(3, "市财政局", **extra),
        task(4, "市财政局", status="completed"),
    )


def test_progress_request_goes_on_the_fifth_working_day_before_report_day() -> None:
    rows = Run(june_plan(), POLICY).days("2021-06-01", "2021-06-27")
    # 2021-06-25 is a Friday; five working days before it is Friday 06-18.
    assert sorted((d, n.kind, n.recipient, n.tasks) for d, n in rows) == [
        ("2021-06-18", "progress_request", "市发改局", (1, 2)),
        ("2021-06-18", "progress_request", "市财政局", (3,)),
    ]
    assert rows[0][1].context["report_day"] == "2021-06-25"


def test_units_that_did_not_report_are_chased_and_the_coordinator_gets_the_list() -> None:
    run = Run(june_plan(), POLICY)
    run.days("2021-06-18", "2021-06-25")
    rows = run.days("2021-06-26", "2021-07-09")
    assert sorted((d, n.kind, n.recipient, n.level, n.tasks) for d, n in rows) == [
        ("2021-06-28", "progress_missing", "市发改局", 0, (2,)),
        ("2021-06-28", "progress_missing", "市司法局", 1, (2, 3)),
        ("2021-06-28", "progress_missing", "市财政局", 0, (3,)),
    ]
    summary = next(n for _, n in rows if n.recipient == "市司法局")
    assert summary.context["missing_units"] == {"市发改局": [2], "市财政局": [3]}
    assert summary.context["period_start"] == "2021-05-25"


def test_a_report_after_the_previous_report_day_counts() -> None:
    run = Run(snap(task(1, "市发改局", "2021-05-26T08:00")), POLICY)
    assert run.at(at("2021-06-28")) == []


def test_a_report_on_the_previous_report_day_belongs_to_that_period() -> None:
    run = Run(snap(task(1, "市发改局", "2021-05-25T18:00")), POLICY)
    assert [n.recipient for n in run.at(at("2021-06-28"))] == ["市发改局", "市司法局"]


def test_a_period_that_ended_before_duban_knew_the_task_is_not_chased() -> None:
    run = Run(snap(task(1, "市发改局", tracked_since=date(2021, 6, 26))), POLICY)
    assert run.days("2021-06-26", "2021-07-16") == []
    # The July period is chased: its request went out after the first start.
    rows = run.days("2021-07-17", "2021-07-27")
    assert [(d, n.kind) for d, n in rows if n.recipient == "市发改局"] == [
        ("2021-07-19", "progress_request"),
        ("2021-07-26", "progress_missing"),
    ]


def test_after_downtime_only_the_latest_period_is_chased_once() -> None:
    run = Run(snap(task(3, "市财政局")), POLICY)
    notices = run.at(at("2021-09-01"))
    assert {n.occurrence for n in notices} == {"2021-08-25"}
    assert run.at(at("2021-09-02")) == []


def test_quarterly_cadence_asks_only_in_the_last_month_of_a_quarter() -> None:
    policy = Policy(remind_before_days=(), escalation=(), report_every="quarterly")
    t = task(3, "市财政局", tracked_since=date(2021, 7, 1))
    rows = Run(snap(t), policy).days("2021-07-01", "2021-10-31")
    assert [(d, n.kind) for d, n in rows if n.recipient == "市财政局"] == [
        # Saturday 09-18 is a make-up working day: five working days before 09-25 is 09-17.
        ("2021-09-17", "progress_request"),
        ("2021-09-26", "progress_missing"),  # Sunday 09-26 is a make-up working day too
    ]


def test_no_progress_notice_for_completed_tasks_or_without_a_cadence() -> None:
    done = snap(task(4, "市财政局", status="completed"))
    assert Run(done, POLICY).days("2021-06-01", "2021-07-31") == []
    none = Policy(remind_before_days=(), escalation=(), report_every="none")
    assert Run(june_plan(), none).days("2021-06-01", "2021-07-31") == []


def _coordinator_notice_bytes(unreported: int) -> int:
    """The stored context of the coordinator's `progress_missing` notice, as the outbox keeps it."""
    units = [f"单位{u}" for u in range(50)]
    plan = snap(*(task(no, units[no % len(units)], tracked_since=date(2021, 6, 1))
                  for no in range(1, unreported + 1)))
    run = Run(plan, POLICY)
    run.days("2021-06-18", "2021-06-25")
    notices = [n for _, n in run.days("2021-06-26", "2021-06-28") if n.level == 1]
    assert len(notices) == 1 and len(notices[0].tasks) == unreported
    missing = notices[0].context["missing_units"]
    assert sum(len(nos) for nos in missing.values()) == unreported
    return len(json.dumps(notices[0].context, ensure_ascii=False).encode())


def test_the_coordinators_list_grows_linearly_with_the_unreported_tasks() -> None:
    # Each task once in the units map and once in the per-task facts: about 4x the bytes for 4x
    # the tasks (a copy of the whole map in every task's facts made it 16x: 301 MiB at 8,000).
    small, large = _coordinator_notice_bytes(1_000), _coordinator_notice_bytes(4_000)
    assert large < 4.5 * small, (small, large)
    assert large < 200 * 4_000, large  # a couple of hundred bytes a task, whatever the count
