"""Loading plan files: create, re-load idempotently, file changes, extensions, missing tasks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect as sa_inspect
from support.plans import COORDINATOR, dump, small_plan, with_task

from engine.actions.loading import load_plan
from engine.actions.tasks import decide, record_progress, request_extension
from engine.actions.views import board_rows, task_detail
from engine.config import Settings
from engine.deadlines.deadline import Deadline, DeadlineKind
from engine.errors import UserError
from engine.store import open_database

NOW = datetime(2021, 6, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LATER = datetime(2021, 6, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SETTINGS = Settings()


@pytest.fixture
def db(workdir: Path):
    database = open_database("sqlite:///var/duban.db")
    yield database
    database.close()


def rows(db, **filters):
    args = {"plan_id": None, "unit": None, "status": None} | filters
    return {r["no"]: r for r in board_rows(db, now=NOW, settings=SETTINGS, **args)}


def test_first_load_creates_every_task_with_its_units(db):
    report = load_plan(db, small_plan(), SETTINGS, NOW, path="plan.yaml")
    assert report.plan_created and report.created == [1, 2, 3, 4, 5]
    board = rows(db)
    assert board[1]["lead"] == "市发改局" and board[1]["co_units"] == ["市财政局", "市司法局"]
    assert board[2]["lead"] == "市市场监管局"  # the plan's alias resolved at load
    assert board[5]["attention"] == ["缺少牵头单位", "缺少完成时限"]
    assert [
        h["action"] for h in task_detail(db, plan_id=None, no=1, now=NOW, settings=SETTINGS).history
    ] == ["created"]


def test_reloading_the_same_file_changes_nothing(db, workdir):
    load_plan(db, small_plan(), SETTINGS, NOW)
    before = dump(workdir / "var" / "duban.db")
    report = load_plan(db, small_plan(), SETTINGS, NOW)
    assert not report.plan_created and report.unchanged == [1, 2, 3, 4, 5]
    assert report.updated == [] and report.deadline_changed == []
    assert dump(workdir / "var" / "duban.db") == before


def test_reloading_keeps_status_progress_and_history(db):
    load_plan(db, small_plan(), SETTINGS, NOW)
    record_progress(
        db, plan_id=None, no=1, unit="市发改局", text="已起草", now=NOW, settings=SETTINGS
    )
    changed = with_task(small_plan(), 1, title="统筹谋划（修订）")
    report = load_plan(db, changed, SETTINGS, LATER)
    assert report.updated == [1]
    row = rows(db)[1]
    assert (row["title"], row["status"], row["progress"]) == (
        "统筹谋划（修订）",
        "in_progress",
        "已起草",
    )
    actions = [
        h["action"] for h in task_detail(db, plan_id=None, no=1, now=NOW, settings=SETTINGS).history
    ]
    assert actions == ["created", "progress", "status"]


def test_a_deadline_changed_in_the_file_is_applied_and_recorded(db):
    load_plan(db, small_plan(), SETTINGS, NOW)
    new = Deadline("2021年12月31日前", DeadlineKind.DATE, date(2021, 12, 31))
    report = load_plan(db, with_task(small_plan(), 1, deadline=new), SETTINGS, LATER)
    assert report.deadline_changed == [1]
    assert rows(db)[1]["due"] == "2021-12-31"
    last = task_detail(db, plan_id=None, no=1, now=NOW, settings=SETTINGS).history[-1]
    assert last["action"] == "deadline_changed" and last["actor"] == "system"
    assert "2021-06-30" in last["from"] and "2021-12-31" in last["to"]


def _extend_task_2(db):
    request_id = request_extension(
        db,
        plan_id=None,
        no=2,
        unit="市商务局",
        until=date(2023, 3, 31),
        reason="受疫情影响",
        now=NOW,
        settings=SETTINGS,
    )
    decide(
        db,
        request_id=request_id,
        by=COORDINATOR,
        approve=True,
        reason="同意",
        now=NOW,
        settings=SETTINGS,
    )


def test_an_approved_extension_survives_a_reload_of_the_unchanged_file(db):
    load_plan(db, small_plan(), SETTINGS, NOW)
    _extend_task_2(db)
    load_plan(db, small_plan(), SETTINGS, LATER)
    detail = task_detail(db, plan_id=None, no=2, now=NOW, settings=SETTINGS)
    assert detail.row["due"] == "2023-03-31" and detail.original_due == "2022-12-31"


def test_a_file_that_changes_an_extended_deadline_wins(db):
    load_plan(db, small_plan(), SETTINGS, NOW)
    _extend_task_2(db)
    new = Deadline("2024年底前", DeadlineKind.DATE, date(2024, 12, 31))
    load_plan(db, with_task(small_plan(), 2, deadline=new), SETTINGS, LATER)
    detail = task_detail(db, plan_id=None, no=2, now=NOW, settings=SETTINGS)
    assert detail.row["due"] == "2024-12-31" and detail.original_due is None


def test_a_task_missing_from_the_new_file_is_kept_and_reported(db):
    load_plan(db, small_plan(), SETTINGS, NOW)
    shorter = replace(small_plan(), tasks=[t for t in small_plan().tasks if t.no != 3])
    report = load_plan(db, shorter, SETTINGS, LATER)
    assert report.missing == [3]
    assert "计划文件中已无此任务" in rows(db)[3]["attention"]
    again = load_plan(db, shorter, SETTINGS, LATER)
    assert again.missing == [3]
    history = task_detail(db, plan_id=None, no=3, now=NOW, settings=SETTINGS).history
    assert [h["action"] for h in history].count("missing_from_plan") == 1
    load_plan(db, small_plan(), SETTINGS, LATER)
    assert rows(db)[3]["attention"] == []


def _counts(db) -> list[tuple[str, int, int]]:
    """Each plan's kept task count beside a count of its tasks in the file."""
    from sqlalchemy import func, select

    from engine.store.models import Plan, Task

    counted = (
        select(func.count()).where(Task.plan_id == Plan.id, Task.in_plan.is_(True))
        .scalar_subquery()
    )
    with db.read() as session:
        return [tuple(r) for r in session.execute(
            select(Plan.id, Plan.task_count, counted).order_by(Plan.id)
        )]


def test_each_plan_keeps_the_count_of_its_tasks_in_the_file_across_loads(db):
    # The start line sums these counts instead of counting every task of the database.
    load_plan(db, small_plan(), SETTINGS, NOW)
    load_plan(db, small_plan("other-plan"), SETTINGS, NOW)
    assert _counts(db) == [("other-plan", 5, 5), ("trial-plan", 5, 5)]
    shorter = replace(small_plan(), tasks=[t for t in small_plan().tasks if t.no not in (2, 3)])
    load_plan(db, shorter, SETTINGS, LATER)
    assert _counts(db) == [("other-plan", 5, 5), ("trial-plan", 3, 3)]
    load_plan(db, small_plan(), SETTINGS, LATER)
    assert _counts(db) == [("other-plan", 5, 5), ("trial-plan", 5, 5)]


def test_a_database_loaded_before_the_count_was_kept_is_counted_by_the_upgrade(db):
    # Migration 0013 fills in each plan's count from its tasks, those out of the file not
    # counted: plans loaded, the database taken back to 0012 (the column dropped), upgraded.
    from alembic import command
    from alembic.config import Config

    from engine.store.database import MIGRATIONS

    load_plan(db, small_plan(), SETTINGS, NOW)
    load_plan(db, small_plan("other-plan"), SETTINGS, NOW)
    shorter = replace(small_plan(), tasks=[t for t in small_plan().tasks if t.no != 4])
    load_plan(db, shorter, SETTINGS, LATER)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0012")
        assert "task_count" not in {c["name"] for c in sa_inspect(conn).get_columns("plan")}
        command.upgrade(config, "head")
    assert _counts(db) == [("other-plan", 5, 5), ("trial-plan", 4, 4)]


def test_aliases_from_the_config_resolve_at_load(db):
    settings = Settings.model_validate({"units": {"市发改局": {"aliases": ["市发展改革局"]}}})
    plan = with_task(small_plan(), 1, lead="市发展改革局")
    load_plan(db, plan, settings, NOW)
    assert rows(db)[1]["lead"] == "市发改局"
    assert rows(db, unit="市发展改革局").keys() == {1, 4}


def test_a_unit_loaded_before_its_alias_was_known_is_merged(db):
    load_plan(db, replace(small_plan(), aliases={}), SETTINGS, NOW)
    assert rows(db)[2]["lead"] == "市市场监督管理局"
    record_progress(
        db, plan_id=None, no=2, unit="市市场监督管理局", text="筹备中", now=NOW, settings=SETTINGS
    )
    request_extension(
        db,
        plan_id=None,
        no=2,
        unit="市市场监督管理局",
        until=date(2023, 3, 31),
        reason="r",
        now=NOW,
        settings=SETTINGS,
    )
    settings = Settings.model_validate(
        {"units": {"市市场监管局": {"aliases": ["市市场监督管理局"]}}}
    )
    load_plan(db, replace(small_plan(), aliases={}), settings, LATER)
    assert rows(db)[2]["lead"] == "市市场监管局"
    assert rows(db, unit="市市场监督管理局").keys() == {2}
    detail = task_detail(db, plan_id=None, no=2, now=NOW, settings=SETTINGS)
    assert detail.reports[0]["unit"] == "市市场监管局"
    assert detail.pending[0]["unit"] == "市市场监管局"
    # The history keeps the name the unit acted under.
    assert "市市场监督管理局" in [h["actor"] for h in detail.history]


def test_an_alias_claimed_by_two_units_is_refused_and_nothing_changes(db, workdir):
    load_plan(db, small_plan(), SETTINGS, NOW)
    before = dump(workdir / "var" / "duban.db")
    plan = replace(small_plan(), aliases={"市市场监督管理局": "市商务局"})
    with pytest.raises(UserError, match="已是“市市场监管局”的别名"):
        load_plan(db, plan, SETTINGS, LATER)
    assert dump(workdir / "var" / "duban.db") == before
