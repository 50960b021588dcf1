"""The bulk load on SQLite and PostgreSQL: a re-load that changes everything at once.

New tasks, changed units, a changed deadline, a task dropped and one brought back, all in one
load: the report, the board, the history and the one transaction must be the same on both back
ends (the load writes with executemany, whose SQL differs between the drivers).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.plans import small_plan, with_task
from support.postgres import scratch_database

from engine.actions.board import board_rows
from engine.actions.loading import load_plan
from engine.actions.views import task_detail
from engine.config import Settings
from engine.deadlines.deadline import Deadline, DeadlineKind
from engine.errors import ServiceError, UserError
from engine.model.plan import Task
from engine.store import open_database

NOW = datetime(2021, 6, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LATER = datetime(2021, 6, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LAST = datetime(2021, 6, 30, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SETTINGS = Settings()
NEW_DEADLINE = Deadline("2021年12月31日前", DeadlineKind.DATE, date(2021, 12, 31))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, workdir: Path):
    if request.param == "sqlite":
        database = open_database("sqlite:///var/duban.db")
        yield database
        database.close()
        return
    with scratch_database("duban_load") as url:
        database = open_database(url)
        yield database
        database.close()


def board(db) -> dict[int, dict]:
    rows = board_rows(db, plan_id=None, unit=None, status=None, now=NOW, settings=SETTINGS)
    return {r["no"]: r for r in rows}


def actions(db, no: int) -> list[str]:
    detail = task_detail(db, plan_id=None, no=no, now=NOW, settings=SETTINGS)
    return [h["action"] for h in detail.history]


def new_task(no: int, lead: str) -> Task:
    return Task(no, "二", f"新增任务{no}", "", lead, [], lead, NEW_DEADLINE)


def changed_plan():
    """Task 1: new lead and co-units (one of them a unit never seen) and a new deadline; task 3
    dropped; task 4 retitled; tasks 6 and 7 new (7 with a unit never seen)."""
    plan = with_task(
        small_plan(), 1, lead="市财政局", co_units=["市发改局", "市新设局"], deadline=NEW_DEADLINE
    )
    plan = with_task(plan, 4, title="按季度报送进展")
    tasks = [t for t in plan.tasks if t.no != 3] + [new_task(6, "市商务局"), new_task(7, "新区")]
    return replace(plan, tasks=tasks)


def test_one_reload_that_changes_everything(db):
    load_plan(db, small_plan(), SETTINGS, NOW)
    report = load_plan(db, changed_plan(), SETTINGS, LATER)
    assert (report.created, report.missing, report.deadline_changed) == ([6, 7], [3], [1])
    # Task 5 moved up a place when task 3 left the file.
    assert (report.updated, report.unchanged) == ([1, 4, 5], [2])
    rows = board(db)
    assert (rows[1]["lead"], rows[1]["co_units"]) == ("市财政局", ["市发改局", "市新设局"])
    assert rows[1]["due"] == "2021-12-31" and rows[4]["title"] == "按季度报送进展"
    assert (rows[6]["lead"], rows[7]["lead"], rows[7]["due"]) == ("市商务局", "新区", "2021-12-31")
    assert rows[2]["lead"] == "市市场监管局"  # the alias still resolves for an unchanged task
    assert "计划文件中已无此任务" in rows[3]["attention"]
    assert actions(db, 1) == ["created", "units_changed", "deadline_changed"]
    assert actions(db, 3) == ["created", "missing_from_plan"]
    assert actions(db, 4) == actions(db, 2) == actions(db, 6) == ["created"]
    detail = task_detail(db, plan_id=None, no=1, now=NOW, settings=SETTINGS)
    assert detail.history[1]["to"] == "市财政局、市发改局、市新设局"

    back = load_plan(db, small_plan(), SETTINGS, LAST)
    assert back.missing == [6, 7] and back.created == [] and 3 in back.updated
    assert actions(db, 3) == ["created", "missing_from_plan", "back_in_plan"]
    assert board(db)[1]["co_units"] == ["市财政局", "市司法局"]
    again = load_plan(db, small_plan(), SETTINGS, LAST)
    assert again.unchanged == [1, 2, 3, 4, 5] and again.updated == []


def test_a_load_that_fails_half_way_leaves_everything_as_it_was(db):
    load_plan(db, small_plan(), SETTINGS, NOW)
    before = board(db)
    # Task 1's units are replaced and new units created before the duplicate number fails.
    broken = changed_plan()
    broken = replace(broken, tasks=[*broken.tasks, new_task(7, "另一新区")])
    with pytest.raises(ServiceError):
        load_plan(db, broken, SETTINGS, LATER)
    assert board(db) == before
    assert actions(db, 1) == ["created"]
    with pytest.raises(UserError, match="市新设局"):  # the unit created on the way is gone
        board_rows(db, plan_id=None, unit="市新设局", status=None, now=NOW, settings=SETTINGS)
