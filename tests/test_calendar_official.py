"""The working-day calendar with imported notices: a notice's year replaces the package's, its days
in the neighbouring year count day by day, the config overrides win over both; and a running
service follows a notice imported meanwhile."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.clock import FixedClock
from engine.config import Settings
from engine.deadlines.calendar import CONFIG, NOTICE, PACKAGE, MarkedDay, WorkCalendar
from engine.deadlines.deadline import Deadline, DeadlineKind
from engine.errors import UserError
from engine.model.plan import Plan, Section, Task
from engine.planfile import write_plan
from engine.service import Service
from engine.store import open_database

NOTICE_2027 = (
    Path(__file__).resolve().parent
    / "data"
    / "calendar"
    / "国务院办公厅关于2027年部分节假日安排的通知.txt"
)
SPRING_2027 = {date(2027, 2, 5) + timedelta(days=i): "春节" for i in range(9)}
MAKE_UP_2027 = {date(2027, 2, 14): "春节", date(2027, 2, 20): "春节"}


def notice_2027() -> WorkCalendar:
    return WorkCalendar(official={2027: (SPRING_2027, MAKE_UP_2027)})


def test_a_year_with_a_notice_is_covered_and_warns_nothing() -> None:
    calendar = notice_2027()
    assert calendar.covers(2027) and calendar.source_of(2027) == NOTICE
    assert not calendar.is_workday(date(2027, 2, 8))  # a Monday of 春节
    assert calendar.is_workday(date(2027, 2, 20))  # the make-up Saturday
    assert calendar.next_workday(date(2027, 2, 4)) == date(2027, 2, 14)
    assert calendar.warnings == []
    assert calendar.uncovered_years([2026, 2027, 2028]) == [2028]


def test_a_notice_replaces_the_packages_year_whole() -> None:
    calendar = WorkCalendar(official={2026: ({date(2026, 1, 1): "元旦"}, ())})
    assert calendar.source_of(2026) == NOTICE
    # the package's 2026: 1月2日 off, 1月4日 (a Sunday) worked; the notice says neither
    assert calendar.is_workday(date(2026, 1, 2))
    assert not calendar.is_workday(date(2026, 1, 4))
    assert WorkCalendar().is_workday(date(2026, 1, 4))


def test_days_of_a_notice_in_the_year_before_count_one_by_one() -> None:
    calendar = WorkCalendar(official={2099: ({date(2098, 12, 31): "元旦", date(2099, 1, 1): "元旦"},
                                             {date(2098, 12, 27): "元旦"})})  # fmt: skip
    assert not calendar.covers(2098) and calendar.covers(2099)
    assert not calendar.is_workday(date(2098, 12, 31))  # a Wednesday
    assert calendar.is_workday(date(2098, 12, 27))  # a Saturday
    assert calendar.is_workday(date(2098, 12, 30))
    # one notice day does not cover its year: the rest of 2098 is weekends only, and said so
    assert calendar.warnings == ["2098 年的法定节假日数据缺失，仅按周末计算休息日"]


def test_config_overrides_win_over_the_notice() -> None:
    calendar = WorkCalendar(
        extra_holidays=[date(2027, 2, 20)],
        extra_workdays=[date(2027, 2, 8)],
        official={2027: (SPRING_2027, MAKE_UP_2027)},
    )
    assert calendar.is_workday(date(2027, 2, 8))
    assert not calendar.is_workday(date(2027, 2, 20))
    marked = {m.day: m for m in calendar.marked_days(2027)}
    assert marked[date(2027, 2, 8)] == MarkedDay(date(2027, 2, 8), True, "春节", CONFIG)
    assert marked[date(2027, 2, 20)] == MarkedDay(date(2027, 2, 20), False, "春节", CONFIG)
    assert marked[date(2027, 2, 14)] == MarkedDay(date(2027, 2, 14), True, "春节", NOTICE)


def test_marked_days_say_what_is_workday_follows() -> None:
    for calendar, year in ((notice_2027(), 2027), (WorkCalendar(), 2026)):
        marked = {m.day: m.working for m in calendar.marked_days(year)}
        day = date(year, 1, 1)
        while day.year == year:
            expected = marked.get(day, day.weekday() < 5)
            assert calendar.is_workday(day) == expected, day
            day += timedelta(days=1)
    assert {m.source for m in WorkCalendar().marked_days(2026)} == {PACKAGE}


def test_bare_dates_are_accepted_without_names() -> None:
    calendar = WorkCalendar(official={2027: (list(SPRING_2027), [date(2027, 2, 20)])})
    assert calendar.marked_days(2027)[0] == MarkedDay(date(2027, 2, 5), False, "", NOTICE)


def test_two_notices_that_disagree_on_a_day_are_refused() -> None:
    with pytest.raises(UserError, match="2027-12-31"):
        WorkCalendar(official={2027: ((), [date(2027, 12, 31)]),
                               2028: ([date(2027, 12, 31)], ())})  # fmt: skip


def test_a_running_service_follows_a_notice_imported_meanwhile(duban, workdir) -> None:
    plan = Plan(
        id="calendar-trial", title="春节后报送材料", coordinator="市司法局",
        sections=[Section("一", "报送")],
        tasks=[Task(1, "一", "报送年度总结", "", "市发改局", [], "市发改局",
                    Deadline("2027年2月22日前", DeadlineKind.DATE, date(2027, 2, 22)))],
    )  # fmt: skip
    write_plan(plan, workdir / "trial.yaml")
    assert duban("--now", "2026-12-01T10:00", "load", "trial.yaml").code == 0
    database = open_database("sqlite:///var/duban.db")
    try:
        saturday = datetime(2027, 2, 20, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
        service = Service(Settings(), database, FixedClock(saturday))
        assert service.tick().planned == []  # a Saturday: weekends only so far
        r = duban("calendar", "import", str(NOTICE_2027))
        assert r.code == 0, r.err
        planned = service.tick().planned  # the make-up Saturday: what is due goes out
        assert [n.recipient for n in planned if n.kind == "reminder"] == ["市发改局"]
        assert service.tick().planned == []  # and the same calendar from then on
    finally:
        database.close()
    rows = json.loads(duban("outbox", "--json").out)
    assert [r["send_at"] for r in rows if r["kind"] == "reminder"] == ["2027-02-20T09:00:00+08:00"]
