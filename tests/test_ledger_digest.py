"""The coordinator's weekly digest: the day it goes out (holidays, catch-up) and what it says."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from engine.config import PolicySettings, Settings
from engine.deadlines.calendar import WorkCalendar
from engine.ledger.digest import digest_content, digest_day, digest_due
from engine.ledger.query import read_digest
from engine.ledger.stats import PendingRequest, PlanSnapshot, TaskRecord
from engine.store import open_database
from tests.conftest import SEED_PLAN

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkCalendar()
MONDAY = PolicySettings(digest_weekday=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- when ----------------------------------------------------------------------------------


def test_due_on_its_weekday_at_send_time_once():
    assert digest_due(at("2021-06-07T08:59:00+08:00"), MONDAY, CALENDAR, set()) is None
    assert digest_due(at("2021-06-07T09:00:00+08:00"), MONDAY, CALENDAR, set()) == "2021-W23"
    assert digest_due(at("2021-06-07T09:00:00+08:00"), MONDAY, CALENDAR, {"2021-W23"}) is None


def test_caught_up_later_in_its_week_but_not_the_next_week():
    # down on Monday, back on Wednesday: this week's digest goes out then
    assert digest_due(at("2021-06-09T10:00:00+08:00"), MONDAY, CALENDAR, set()) == "2021-W23"
    # a Friday digest missed last week is not sent on Monday: it is out of date
    friday = PolicySettings(digest_weekday=5)
    assert digest_due(at("2021-06-07T10:00:00+08:00"), friday, CALENDAR, set()) is None
    assert digest_due(at("2021-06-11T10:00:00+08:00"), friday, CALENDAR, set()) == "2021-W23"


def test_a_monday_holiday_moves_it_to_tuesday():
    # 2021-06-14 is 端午节
    assert digest_day(date(2021, 6, 14), 1, CALENDAR) == date(2021, 6, 15)
    assert digest_due(at("2021-06-14T10:00:00+08:00"), MONDAY, CALENDAR, set()) is None
    assert digest_due(at("2021-06-15T09:00:00+08:00"), MONDAY, CALENDAR, set()) == "2021-W24"


def test_national_day_week_goes_to_its_first_working_day():
    # 2021-10-01..07 are holidays; Friday 10-08 is a working day
    assert digest_day(date(2021, 10, 4), 1, CALENDAR) == date(2021, 10, 8)


def test_a_weekend_weekday_falls_back_to_the_last_working_day_before_it():
    assert digest_day(date(2021, 6, 9), 7, CALENDAR) == date(2021, 6, 11)
    sunday = PolicySettings(digest_weekday=7)
    assert digest_due(at("2021-06-11T09:30:00+08:00"), sunday, CALENDAR, set()) == "2021-W23"
    assert digest_due(at("2021-06-12T09:30:00+08:00"), sunday, CALENDAR, set()) is None


def test_a_week_without_working_days_has_no_digest():
    closed = WorkCalendar(extra_holidays=[date(2021, 6, d) for d in range(7, 12)])
    assert digest_day(date(2021, 6, 9), 1, closed) is None


def test_the_plan_zone_decides_the_day_and_the_hour():
    # 01:30 UTC on Monday is 09:30 in Shanghai
    assert digest_due(at("2021-06-07T01:30:00+00:00"), MONDAY, CALENDAR, set()) == "2021-W23"
    assert digest_due(
        at("2021-06-07T01:30:00+00:00"), MONDAY, CALENDAR, set(), timezone=ZoneInfo("UTC")
    ) is None
    late = PolicySettings(digest_weekday=1, send_at=time(10, 0))
    assert digest_due(at("2021-06-07T09:30:00+08:00"), late, CALENDAR, set()) is None


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        digest_due(datetime(2021, 6, 7, 9), MONDAY, CALENDAR, set())


# --- what ----------------------------------------------------------------------------------


def record(no, lead, due, status="in_progress", reported=None, **extra):
    return TaskRecord(
        no=no, title=f"任务{no}", lead=lead, co_units=(), status=status,
        deadline_text="见原表", kind="date" if due else "long_term", due=due,
        tracked_since=date(2021, 4, 1), lead_reported_at=reported, **extra,
    )


def test_content_lists_overdue_tasks_missing_reports_and_waiting_requests():
    snapshot = PlanSnapshot(
        "p", "试点方案", "市司法局", SHANGHAI, at("2021-07-10T09:00:00+08:00"),
        (
            record(1, "市发改局", date(2021, 6, 30)),
            record(2, "市人社局", date(2020, 12, 31), reported=at("2021-06-01T10:00:00+08:00")),
            record(3, "市发改局", date(2021, 7, 31)),
            record(4, "市司法局", None),
            record(5, "市司法局", date(2021, 5, 1), status="completed"),
        ),
        (PendingRequest(7, 3, "市发改局", "extension", None, date(2021, 9, 30), "待审议",
                        at("2021-07-06T10:00:00+08:00")),),
    )
    content = digest_content(snapshot)
    assert json.loads(json.dumps(content)) == content  # ready for the outbox's JSON
    assert content["as_of"] == "2021-07-10"
    assert content["total"] == 5
    assert content["totals"] == {"red": 2, "yellow": 1, "green": 1, "done": 1, "none": 0}
    assert [(t["no"], t["lead"], t["days_overdue"]) for t in content["overdue"]] == [
        (2, "市人社局", 191), (1, "市发改局", 10)
    ]
    assert content["report_period"] == {"start": "2021-05-25", "end": "2021-06-25"}
    assert content["missing_reports"] == [
        {"unit": "市发改局", "tasks": [1, 3], "count": 2},
        {"unit": "市司法局", "tasks": [4], "count": 1},
    ]
    (request,) = content["pending_requests"]
    assert request["id"] == 7 and request["no"] == 3 and request["title"] == "任务3"
    assert request["type_label"] == "延期" and request["until"] == "2021-09-30"
    assert request["days_waiting"] == 4


def test_content_from_the_store_after_a_history(duban, workdir):
    for now, *args in [
        ("2021-04-01T09:00:00+08:00", "load", str(SEED_PLAN)),
        ("2021-06-26T10:00:00+08:00", "progress", "11", "--unit", "市司法局", "--text", "推进中"),
        ("2021-07-06T10:00:00+08:00", "request", "11", "--unit", "市司法局", "--to", "completed",
         "--reason", "已完成"),
    ]:
        assert duban("--now", now, *args).code == 0
    db = open_database(f"sqlite:///{workdir / 'var' / 'duban.db'}")
    try:
        content = read_digest(db, plan_id=None, now=at("2021-07-12T09:00:00+08:00"),
                              settings=Settings())
    finally:
        db.close()
    assert content["plan_id"] == "zhuhai-gba-legal-services"
    overdue = {t["no"]: t for t in content["overdue"]}
    assert overdue[11]["days_overdue"] == 12 and overdue[11]["lead"] == "市司法局"
    assert overdue[14]["days_overdue"] == 193
    missing = {m["unit"]: m["tasks"] for m in content["missing_reports"]}
    assert 11 not in missing["市司法局"] and missing["市司法局"] == [4, 6, 10, 14]
    (request,) = content["pending_requests"]
    assert (request["no"], request["unit"], request["to_label"]) == (11, "市司法局", "已完成")
    assert request["at"] == "2021-07-06"
