"""`duban stats` on a known history of the seed plan, and the rules behind each figure."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from support.postgres import scratch_database

from engine.ledger.stats import (
    PlanSnapshot,
    TaskRecord,
    light_totals,
    missing_report,
    report_period,
    unit_figures,
)
from tests.conftest import SEED_PLAN

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = "2021-07-10T10:00:00+08:00"

# Request numbers follow the order requests are made: #1 task 1, #2 task 2, #3 task 4, #4 task 5.
HISTORY = [
    ("2021-04-01T09:00:00+08:00", "load", str(SEED_PLAN)),
    # task 1: asked to complete before its due day, approved after it: on time
    ("2021-05-10T10:00:00+08:00", "progress", "1", "--unit", "市发改局", "--text", "已起草初稿"),
    ("2021-06-28T10:00:00+08:00", "request", "1", "--unit", "市发改局", "--to", "completed",
     "--reason", "意见已印发"),
    # task 2: extended to 2021-07-31, so yellow rather than red on 2021-07-10
    ("2021-06-20T10:00:00+08:00", "extend", "2", "--unit", "横琴新区", "--until", "2021-07-31",
     "--reason", "待审议"),
    ("2021-06-21T10:00:00+08:00", "approve", "2", "--by", "市司法局"),
    ("2021-07-05T10:00:00+08:00", "approve", "1", "--by", "市司法局"),
    # task 4: asked to complete after its due day: late
    ("2021-06-01T10:00:00+08:00", "progress", "4", "--unit", "市司法局", "--text", "已对接"),
    ("2021-07-08T10:00:00+08:00", "request", "4", "--unit", "市司法局", "--to", "completed",
     "--reason", "已建立机制"),
    ("2021-07-09T10:00:00+08:00", "approve", "3", "--by", "市司法局"),
    # task 11: reported after the period began (2021-05-25): not missing, still overdue
    ("2021-06-26T10:00:00+08:00", "progress", "11", "--unit", "市司法局", "--text", "推进中"),
    # task 6: only a co-unit reported; the lead still owes its report
    ("2021-06-10T10:00:00+08:00", "progress", "6", "--unit", "横琴新区", "--text", "配合推进"),
    # a request left waiting
    ("2021-07-06T10:00:00+08:00", "extend", "5", "--unit", "横琴新区", "--until", "2021-08-31",
     "--reason", "论坛延期举办"),
]

FIELDS = ["led", "co", "completed_on_time", "completed_late", "overdue", "reports_missing"]
EXPECTED = {
    "市发改局": [4, 1, 1, 0, 2, 3],  # leads 1 3 12 17; co of 2; 3 and 12 overdue
    "市司法局": [5, 9, 0, 1, 3, 3],  # leads 4 6 10 11 14; 6 11 14 overdue; 6 10 14 unreported
    "横琴新区": [4, 2, 0, 0, 2, 4],  # leads 2 5 7 16; 5 and 7 overdue
    "市人社局": [2, 4, 0, 0, 2, 2],
    "市委编办": [1, 1, 0, 0, 1, 1],
    "金湾区": [1, 1, 0, 0, 0, 1],
    "珠海仲裁委": [0, 5, 0, 0, 0, 0],
    "市市场监管局": [0, 2, 0, 0, 0, 0],  # also written 市市场监督管理局 in task 3
}


@pytest.fixture
def seeded(duban):
    for now, *args in HISTORY:
        result = duban("--now", now, *args)
        assert result.code == 0, (args, result.err)
    return duban


def test_stats_json_on_a_known_history(seeded):
    result = seeded("--now", NOW, "stats", "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert list(document) == ["units", "totals"]
    units = {u["unit"]: u for u in document["units"]}
    assert all(list(u) == ["unit", *FIELDS] for u in document["units"])
    for unit, figures in EXPECTED.items():
        assert [units[unit][f] for f in FIELDS] == figures, unit
    assert document["units"][0]["unit"] == "市发改局"  # units in the order the plan names them
    assert "市市场监督管理局" not in units  # an alias is counted under its unit
    assert document["totals"] == {"red": 10, "yellow": 1, "green": 4, "done": 2, "none": 1}


def test_stats_table_for_people(seeded):
    result = seeded("--now", NOW, "stats")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].endswith("（截至2021年7月10日）")
    assert lines[1].split() == [
        "单位", "牵头", "配合", "按期完成", "逾期完成", "当前逾期", "未报进展"
    ]
    row = next(line.split() for line in lines if line.startswith("市司法局"))
    assert row == ["市司法局", *map(str, EXPECTED["市司法局"])]
    assert "共 18 项任务：红灯 10 项、黄灯 1 项、绿灯 4 项、已完成 2 项、无时限 1 项" in result.out
    assert "2021年5月25日之后" in result.out


def test_stats_before_any_plan_is_a_user_error(duban):
    result = duban("stats", "--json")
    assert result.code == 2
    assert result.out == ""
    assert "duban load" in result.err


def test_stats_of_an_unknown_plan_names_the_loaded_ones(seeded):
    result = seeded("--now", NOW, "stats", "--plan", "nope")
    assert result.code == 2
    assert "zhuhai-gba-legal-services" in result.err


# --- the rules, on hand-built snapshots -----------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def record(no: int, lead: str | None = "甲局", **fields) -> TaskRecord:
    base = dict(title=f"任务{no}", co_units=(), status="in_progress",
                deadline_text="2021年6月30日前", kind="date", due=date(2021, 6, 30),
                tracked_since=date(2021, 4, 1))
    base.update(fields)
    return TaskRecord(no=no, lead=lead, **base)


def snapshot(tasks, now="2021-07-10T10:00:00+08:00", **policy) -> PlanSnapshot:
    return PlanSnapshot("p", "试点", "市司法局", SHANGHAI, at(now), tuple(tasks), **policy)


@pytest.mark.parametrize(
    ("today", "every", "expected"),
    [
        (date(2021, 7, 10), "monthly", (date(2021, 5, 25), date(2021, 6, 25))),
        (date(2021, 6, 25), "monthly", (date(2021, 4, 25), date(2021, 5, 25))),  # not yet closed
        (date(2021, 6, 26), "monthly", (date(2021, 5, 25), date(2021, 6, 25))),
        (date(2021, 3, 1), "quarterly", (date(2020, 9, 25), date(2020, 12, 25))),
        (date(2021, 7, 1), "quarterly", (date(2021, 3, 25), date(2021, 6, 25))),
        (date(2021, 7, 1), "none", None),
    ],
)
def test_report_period(today, every, expected):
    assert report_period(today, every, 25) == expected


def test_a_report_on_the_period_start_day_belongs_to_the_period_before():
    period = (date(2021, 5, 25), date(2021, 6, 25))
    on_start = record(1, lead_reported_at=at("2021-05-25T20:00:00+08:00"))
    after = record(2, lead_reported_at=at("2021-05-25T16:30:00+00:00"))  # 05-26 00:30 in Shanghai
    assert missing_report(on_start, period, SHANGHAI)
    assert not missing_report(after, period, SHANGHAI)


def test_no_report_is_owed_for_a_period_that_ended_before_duban_knew_the_task():
    period = (date(2021, 5, 25), date(2021, 6, 25))
    assert not missing_report(record(1, tracked_since=date(2021, 6, 26)), period, SHANGHAI)
    assert missing_report(record(1, tracked_since=date(2021, 6, 25)), period, SHANGHAI)
    assert not missing_report(record(1, status="completed"), period, SHANGHAI)
    assert not missing_report(record(1, lead=None), period, SHANGHAI)


def test_completed_on_the_due_day_in_the_plan_zone_is_on_time():
    tasks = [
        record(1, status="completed", completed_at=at("2021-06-30T15:59:00+00:00")),  # 23:59
        record(2, status="completed", completed_at=at("2021-06-30T16:00:00+00:00")),  # 07-01
        record(3, status="completed", due=None, kind="long_term", completed_at=at(NOW)),
    ]
    (figures,) = unit_figures(snapshot(tasks))
    assert (figures.completed_on_time, figures.completed_late) == (2, 1)


def test_units_count_co_tasks_once_and_the_lead_never_as_its_own_co_unit():
    tasks = [record(1, co_units=("乙局", "乙局", "甲局"))]
    figures = {f.unit: f for f in unit_figures(snapshot(tasks))}
    assert (figures["甲局"].led, figures["甲局"].co) == (1, 0)
    assert (figures["乙局"].led, figures["乙局"].co) == (0, 1)


def test_light_totals_hold_every_light():
    tasks = [record(1), record(2, due=date(2021, 8, 1)), record(3, due=None, kind="unknown")]
    assert light_totals(snapshot(tasks, now="2021-07-10T00:00:00+08:00")) == {
        "red": 1, "yellow": 1, "green": 0, "done": 0, "none": 1
    }
    assert light_totals(snapshot([record(1)], now=datetime(2021, 6, 30, 15, 59, tzinfo=UTC)
                                 .isoformat()))["yellow"] == 1  # due today is not yet overdue


# --- the same figures on PostgreSQL -----------------------------------------------------------


@pytest.fixture
def pg_url():
    with scratch_database("duban_stats") as url:
        yield url


@pytest.mark.postgres
def test_stats_are_the_same_on_postgresql(duban, pg_url):
    for now, *args in HISTORY:
        result = duban("--db", pg_url, "--now", now, *args)
        assert result.code == 0, (args, result.err)
    on_postgres = json.loads(duban("--db", pg_url, "--now", NOW, "stats", "--json").out)
    for now, *args in HISTORY:
        assert duban("--now", now, *args).code == 0
    on_sqlite = json.loads(duban("--now", NOW, "stats", "--json").out)
    assert on_postgres == on_sqlite
    units = {u["unit"]: u for u in on_postgres["units"]}
    assert [units["市司法局"][f] for f in FIELDS] == EXPECTED["市司法局"]
