"""The planner on literal dates: reminders, the overdue chase, escalation, catch-up, timing."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.deadline import Deadline, DeadlineKind, Milestone
from engine.planner import (
    Contact,
    EscalationStep,
    PlannedNotice,
    PlanState,
    Policy,
    SentIndex,
    Snapshot,
    TaskState,
    plan_notices,
)

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
POLICY = Policy(report_every="none")
COORDINATOR = "市司法局"


def task(
    no: int,
    due: date | None,
    lead: str | None = "市发改局",
    co: tuple[str, ...] = (),
    status: str = "in_progress",
    kind: DeadlineKind | None = None,
    plan: str = "p",
    **extra: object,
) -> TaskState:
    deadline = Deadline(text=str(due), kind=kind or DeadlineKind.DATE, due=due)
    return TaskState(plan_id=plan, no=no, lead=lead, co_units=co, status=status,
                     deadline=deadline, **extra)  # type: ignore[arg-type]


def snap(*tasks: TaskState, coordinator: str | None = COORDINATOR, **contacts: Contact) -> Snapshot:
    plans = {t.plan_id for t in tasks} | {"p"}
    return Snapshot([PlanState(p, coordinator) for p in plans], tasks, contacts)


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour, minute), tzinfo=TZ)


class Run:
    """Passes over one snapshot, remembering what was sent, like the service does."""

    def __init__(self, snapshot: Snapshot, policy: Policy = POLICY) -> None:
        self.snapshot = snapshot
        self.policy = policy
        self.sent = SentIndex()

    def at(self, moment: datetime) -> list[PlannedNotice]:
        notices = plan_notices(self.snapshot, moment, self.policy, CAL, self.sent)
        for notice in notices:
            for key in notice.keys:
                self.sent.add(key)
        return notices

    def days(self, first: str, last: str) -> list[tuple[str, PlannedNotice]]:
        """A pass at 09:00 on every day from `first` to `last`."""
        out = []
        day = date.fromisoformat(first)
        while day <= date.fromisoformat(last):
            out += [(day.isoformat(), n) for n in self.at(at(day.isoformat()))]
            day = date.fromordinal(day.toordinal() + 1)
        return out


def kinds_by_day(rows: list[tuple[str, PlannedNotice]], recipient: str | None = None):
    return [(d, n.kind) for d, n in rows if recipient is None or n.recipient == recipient]


def test_task_14_is_reminded_five_times_and_chased_after_new_year() -> None:
    # Seed task 14: due 2020-12-31, lead 市司法局, which is also the coordinator.
    run = Run(snap(task(14, date(2020, 12, 31), lead="市司法局")))
    rows = run.days("2020-11-20", "2021-01-08")
    assert kinds_by_day(rows) == [
        ("2020-12-01", "reminder"),
        ("2020-12-17", "reminder"),
        ("2020-12-24", "reminder"),
        ("2020-12-28", "reminder"),
        ("2020-12-30", "reminder"),
        ("2021-01-04", "overdue"),
        ("2021-01-07", "overdue"),
    ]
    assert {n.recipient for _, n in rows} == {"市司法局"}


def test_lead_coordinator_with_no_higher_level_gets_no_escalation() -> None:
    run = Run(snap(task(14, date(2020, 12, 31), lead="市司法局")))
    rows = run.days("2021-01-04", "2021-02-10")
    assert {n.kind for _, n in rows} == {"overdue"}


def test_lead_coordinator_escalates_to_the_next_level_instead() -> None:
    policy = Policy(
        report_every="none",
        escalation=(
            EscalationStep(0, 0, 3, ("lead", "co_units")),
            EscalationStep(1, 5, 5, ("coordinator",)),
            EscalationStep(2, 10, 0, ("leader",), ("市政府督查室",)),
        ),
    )
    run = Run(snap(task(14, date(2020, 12, 31), lead="市司法局")), policy)
    rows = run.days("2021-01-04", "2021-01-29")
    escalations = [(d, n.recipient, n.level) for d, n in rows if n.kind == "escalation"]
    # Level 1 fires on the 6th working day (01-11) and every 5 after, redirected to the leader;
    # level 2 once, on the 11th working day (01-18).
    assert escalations == [
        ("2021-01-11", "市政府督查室", 1),
        ("2021-01-18", "市政府督查室", 2),
        ("2021-01-25", "市政府督查室", 1),
    ]
    first = next(n for d, n in rows if d == "2021-01-11" and n.kind == "escalation")
    assert first.context["redirected_from"] == "市司法局"


def test_escalation_reaches_the_coordinator_after_five_working_days() -> None:
    run = Run(snap(task(1, date(2021, 6, 30), co=("市财政局",))))
    rows = run.days("2021-07-01", "2021-07-16")
    assert [(d, n.recipient, n.level) for d, n in rows if n.kind == "escalation"] == [
        ("2021-07-08", COORDINATOR, 1),
        ("2021-07-15", COORDINATOR, 1),
    ]
    overdue = [(d, n.recipient, n.is_copy) for d, n in rows if n.kind == "overdue"]
    assert overdue[:2] == [("2021-07-01", "市发改局", False), ("2021-07-01", "市财政局", True)]
    assert [d for d, r, _ in overdue if r == "市发改局"] == [
        "2021-07-01", "2021-07-06", "2021-07-09", "2021-07-14",
    ]


def test_reminder_on_a_sunday_moves_to_the_friday() -> None:
    # 2021-06-30 - 3 days = Sunday 06-27: the T-3 reminder goes on Friday 06-25.
    run = Run(snap(task(1, date(2021, 6, 30))))
    rows = run.days("2021-05-25", "2021-06-30")
    assert [d for d, n in rows if n.recipient == "市发改局"] == [
        "2021-05-31", "2021-06-16", "2021-06-23", "2021-06-25", "2021-06-29",
    ]
    assert [n.context["tasks"]["1"]["days_before"] for _, n in rows] == [30, 14, 7, 3, 1]


def test_a_make_up_saturday_is_a_working_day() -> None:
    # 2021-05-08 is a Saturday worked in exchange for the May Day holiday (调休).
    run = Run(snap(task(1, date(2021, 5, 11))))
    rows = run.days("2021-04-28", "2021-05-10")
    # T-14 (04-27) is caught up on the first pass; T-7 falls in the holiday and moves to 04-30.
    assert [(d, n.context["tasks"]["1"]["days_before"]) for d, n in rows] == [
        ("2021-04-28", 14), ("2021-04-30", 7), ("2021-05-08", 3), ("2021-05-10", 1),
    ]


def test_a_co_unit_gets_its_own_copy() -> None:
    run = Run(snap(task(2, date(2021, 6, 30), co=("市财政局", "市发改局", "市财政局"))))
    notices = run.at(at("2021-06-29"))
    assert [(n.recipient, n.is_copy, n.tasks) for n in notices] == [
        ("市发改局", False, (2,)), ("市财政局", True, (2,)),
    ]


def test_three_weeks_of_downtime_give_one_overdue_notice_per_task_not_the_backlog() -> None:
    run = Run(snap(task(1, date(2021, 6, 30)), task(2, date(2021, 6, 30), lead="市财政局")))
    # First pass three weeks after the deadline: no reminders, one overdue per task, one
    # escalation per task (grouped for the coordinator).
    notices = run.at(at("2021-07-21"))
    assert sorted((n.kind, n.recipient, n.tasks) for n in notices) == [
        ("escalation", COORDINATOR, (1, 2)),
        ("overdue", "市发改局", (1,)),
        ("overdue", "市财政局", (2,)),
    ]
    # The latest occurrence: level 0 fires on working days 1, 4, 7, 10, 13 → 13th = 07-19.
    assert {n.occurrence for n in notices if n.kind == "overdue"} == {"2021-07-19"}
    assert run.at(at("2021-07-21", 15)) == []


def test_a_second_pass_sends_nothing_new() -> None:
    run = Run(snap(task(1, date(2021, 6, 30))))
    assert len(run.at(at("2021-06-29", 9))) == 1
    assert run.at(at("2021-06-29", 9, 1)) == []
    assert run.at(at("2021-06-29", 17)) == []


@pytest.mark.parametrize(
    "moment",
    [at("2021-06-29", 8, 59), at("2021-06-27", 10), at("2021-10-01", 10), at("2021-06-28", 0)],
    ids=["before-send-at", "sunday", "national-day", "midnight"],
)
def test_no_pass_before_send_at_or_on_a_rest_day(moment: datetime) -> None:
    run = Run(snap(task(1, date(2021, 6, 30)), task(2, date(2021, 5, 31))))
    assert run.at(moment) == []


def test_a_pass_in_another_zone_uses_the_local_time() -> None:
    run = Run(snap(task(1, date(2021, 6, 30))))
    # 00:59 UTC is 08:59 in Shanghai: too early; 01:00 UTC is 09:00.
    assert run.at(datetime(2021, 6, 29, 0, 59, tzinfo=ZoneInfo("UTC"))) == []
    notices = run.at(datetime(2021, 6, 29, 1, 0, tzinfo=ZoneInfo("UTC")))
    assert [n.send_at for n in notices] == [at("2021-06-29")]


def test_catch_up_sends_the_latest_reminder_once() -> None:
    run = Run(snap(task(1, date(2021, 6, 30))))
    # Down from before 06-16 until 06-24: the T-7 of 06-23 is sent once on 06-24, not T-14.
    notices = run.at(at("2021-06-24", 10))
    assert [(n.kind, n.occurrence) for n in notices] == [("reminder", "2021-06-30/T-7")]
    assert run.at(at("2021-06-24", 11)) == []
    assert [n.occurrence for n in run.at(at("2021-06-25"))] == ["2021-06-30/T-3"]


def test_no_reminder_once_the_deadline_has_passed() -> None:
    run = Run(snap(task(1, date(2021, 6, 30))))
    notices = run.at(at("2021-07-01"))
    assert [n.kind for n in notices] == ["overdue"]


def test_grouping_one_notice_per_kind_recipient_and_channel() -> None:
    tasks = [task(n, date(2021, 6, 30)) for n in (3, 1, 2)] + [task(4, date(2021, 7, 2))]
    run = Run(snap(*tasks, **{"市发改局": Contact(("email", "wecom"))}))
    notices = run.at(at("2021-06-29"))
    assert [(n.kind, n.channel, n.tasks) for n in notices] == [
        ("reminder", "email", (1, 2, 3, 4)),
        ("reminder", "wecom", (1, 2, 3, 4)),
    ]
    assert notices[0].context["tasks"]["4"]["days_before"] == 3
    assert notices[0].dedupe_key != notices[1].dedupe_key


def test_grouping_differs_later_yet_no_task_is_repeated() -> None:
    # A task added after the morning pass joins nothing already sent: only it is planned.
    first = Run(snap(task(1, date(2021, 6, 30))))
    first.at(at("2021-06-29"))
    later = Run(snap(task(1, date(2021, 6, 30)), task(2, date(2021, 6, 30))))
    later.sent = first.sent
    notices = later.at(at("2021-06-29", 14))
    assert [n.tasks for n in notices] == [(2,)]


@pytest.mark.parametrize("status", ["completed", "long_term"])
def test_completed_and_long_term_tasks_get_no_deadline_notice(status: str) -> None:
    run = Run(snap(task(1, date(2021, 6, 30), status=status)))
    assert run.days("2021-05-01", "2021-08-31") == []


@pytest.mark.parametrize("kind", [DeadlineKind.LONG_TERM, DeadlineKind.UNKNOWN])
def test_long_term_and_unknown_deadlines_get_no_deadline_notice(kind: DeadlineKind) -> None:
    run = Run(snap(task(1, None, kind=kind)))
    assert run.days("2021-05-01", "2021-06-30") == []


def test_milestones_are_each_reminded_but_only_the_final_due_is_chased() -> None:
    deadline = Deadline(
        "2021年10月前启动，2021年底前完成",
        DeadlineKind.MILESTONES,
        date(2021, 12, 31),
        (Milestone("2021年10月前启动", date(2021, 9, 30)),
         Milestone("2021年底前完成", date(2021, 12, 31))),
    )
    t = TaskState("p", 7, "市发改局", (), "in_progress", deadline)
    rows = Run(snap(t)).days("2021-09-01", "2022-01-05")
    assert [(d, n.kind, n.occurrence) for d, n in rows][:6] == [
        ("2021-09-01", "reminder", "2021-09-30/T-30"),  # 08-31 was T-30: caught up once
        ("2021-09-16", "reminder", "2021-09-30/T-14"),
        ("2021-09-23", "reminder", "2021-09-30/T-7"),
        ("2021-09-27", "reminder", "2021-09-30/T-3"),
        ("2021-09-29", "reminder", "2021-09-30/T-1"),
        ("2021-12-01", "reminder", "2021-12-31/T-30"),
    ]
    assert [d for d, n in rows if n.kind == "overdue"] == ["2022-01-04"]


def test_recurring_deadlines_are_reminded_before_each_occurrence_never_chased() -> None:
    deadline = Deadline("每月25日前", DeadlineKind.RECURRING, rrule="FREQ=MONTHLY;BYMONTHDAY=25")
    t = TaskState("p", 9, "市发改局", (), "in_progress", deadline)
    policy = Policy(report_every="none", remind_before_days=(3,))
    rows = Run(snap(t), policy).days("2021-06-01", "2021-08-31")
    assert [(d, n.occurrence) for d, n in rows] == [
        ("2021-06-22", "2021-06-25/T-3"),
        ("2021-07-22", "2021-07-25/T-3"),
        ("2021-08-20", "2021-08-25/T-3"),  # 08-22 is a Sunday
    ]


def test_a_unit_without_contact_falls_back_to_file_and_the_coordinator_is_told() -> None:
    run = Run(snap(task(1, date(2021, 6, 30)), **{"市发改局": Contact(("file",), missing=True)}))
    notices = run.at(at("2021-06-29"))
    assert [(n.kind, n.recipient, n.channel) for n in notices] == [
        ("delivery_failure", COORDINATOR, "file"),
        ("reminder", "市发改局", "file"),
    ]
    assert notices[0].context["missing_contacts"] == ["市发改局"]
    assert notices[0].context["failed_kind"] == "reminder"
    assert run.at(at("2021-06-29", 10)) == []


def _missing_contact_report_bytes(tasks: int, units: int) -> int:
    """The stored context of the coordinator's missing-contact report when `tasks` tasks of
    `units` units without a contact are reminded on one day, as the outbox keeps it."""
    leads = [f"单位{u}" for u in range(units)]
    missing = Contact(("file",), missing=True)
    plan = snap(
        *(task(no, date(2021, 6, 30), lead=leads[no % units]) for no in range(1, tasks + 1)),
        **dict.fromkeys(leads, missing),
    )
    (report,) = [n for n in Run(plan).at(at("2021-06-29")) if n.kind == "delivery_failure"]
    assert len(report.tasks) == tasks and len(report.context["missing_kinds"]) == units
    return len(json.dumps(report.context, ensure_ascii=False).encode())


def test_the_missing_contact_report_keeps_its_units_once_not_once_a_task() -> None:
    # The units without a contact are the notice's, written once: a copy of that map in each
    # task's facts made the report grow with tasks x units (1,000 tasks of 40 units: 1.1 MB).
    few, many = _missing_contact_report_bytes(1_000, 10), _missing_contact_report_bytes(1_000, 40)
    assert many < few + 40 * 200, (few, many)  # a couple of hundred bytes a unit more
    assert many < 200 * 1_000 + 200 * 40, many  # and a task
    assert _missing_contact_report_bytes(4_000, 40) < 4.5 * many


def test_a_coordinator_without_contact_is_not_told_about_itself() -> None:
    missing = Contact(("file",), missing=True)
    run = Run(snap(task(1, date(2021, 6, 30), lead=COORDINATOR), **{COORDINATOR: missing}))
    assert [(n.kind, n.recipient) for n in run.at(at("2021-06-29"))] == [("reminder", COORDINATOR)]


def test_the_missing_contact_report_goes_at_most_once_a_week_naming_units_and_kinds() -> None:
    missing = Contact(("file",), missing=True)
    both = Contact(("wecom", "email"))
    run = Run(
        snap(
            task(1, date(2021, 6, 30)),  # reminded 06-16 (T-14), 06-23 (T-7), 06-29 (T-1)
            task(2, date(2021, 6, 10), lead="珠海仲裁委"),  # overdue from 06-11
            **{"市发改局": missing, "珠海仲裁委": missing, COORDINATOR: both},
        ),
        Policy(report_every="none"),
    )
    rows = run.days("2021-06-14", "2021-07-02")  # 06-14 is the Dragon Boat holiday
    reports = [(d, n) for d, n in rows if n.kind == "delivery_failure"]
    # Weeks 24, 25, 26: one report each (the week's first fall-back), on the coordinator's first
    # channel only, while the units' notices fell back on many more days.
    assert [(d, n.channel) for d, n in reports] == [
        ("2021-06-15", "wecom"), ("2021-06-22", "wecom"), ("2021-06-29", "wecom"),
    ]
    fell_back = sorted({d for d, n in rows if n.kind != "delivery_failure" and n.channel == "file"})
    assert len(fell_back) > len(reports) * 2
    first = reports[0][1]
    assert first.context["reason"] == "missing_contact"
    assert first.context["missing_kinds"] == {"市发改局": ["reminder"], "珠海仲裁委": ["overdue"]}
    assert first.context["missing_contacts"] == ["市发改局", "珠海仲裁委"]
    assert first.tasks == (1, 2)
    assert reports[1][1].context["missing_kinds"] == {"珠海仲裁委": ["overdue"]}
