"""Progress, requests and decisions through the use cases, on a real SQLite file."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.plans import COORDINATOR, dump, race_approvals, small_plan

from engine.actions.loading import load_plan
from engine.actions.tasks import (
    decide,
    parse_date,
    record_progress,
    request_extension,
    request_transition,
)
from engine.actions.views import board_rows, pending_request_rows, task_detail
from engine.config import Settings
from engine.errors import UserError
from engine.model.plan import Status
from engine.store import open_database

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 6, 10, 9, 0, tzinfo=SH)
SETTINGS = Settings()


@pytest.fixture
def db(workdir: Path):
    database = open_database("sqlite:///var/duban.db")
    load_plan(database, small_plan(), SETTINGS, NOW)
    yield database
    database.close()


@pytest.fixture
def unchanged(workdir: Path):
    """Asserts at the end of a test that the database file holds what it held before."""
    path = workdir / "var" / "duban.db"
    before = dump(path)
    yield
    assert dump(path) == before


def status(db, no):
    return next(
        r["status"]
        for r in board_rows(db, plan_id=None, unit=None, status=None, now=NOW, settings=SETTINGS)
        if r["no"] == no
    )


def history(db, no):
    return task_detail(db, plan_id=None, no=no, now=NOW, settings=SETTINGS).history


def test_the_lead_units_first_report_starts_the_task(db):
    result = record_progress(
        db, plan_id=None, no=1, unit="市发改局", text="已起草", now=NOW, settings=SETTINGS
    )
    assert result.started and status(db, 1) == "in_progress"
    start = history(db, 1)[-1]
    assert (start["actor"], start["from"], start["to"]) == ("system", "not_started", "in_progress")


def test_a_co_units_report_does_not_start_the_task(db):
    result = record_progress(
        db, plan_id=None, no=1, unit="市财政局", text="已配合", now=NOW, settings=SETTINGS
    )
    assert not result.started and status(db, 1) == "not_started"


def test_auto_start_can_be_switched_off(db):
    settings = Settings.model_validate({"policy": {"auto_start_on_progress": False}})
    record_progress(db, plan_id=None, no=1, unit="市发改局", text="x", now=NOW, settings=settings)
    assert status(db, 1) == "not_started"


def test_a_request_approved_by_the_coordinator_changes_the_status(db):
    record_progress(db, plan_id=None, no=1, unit="市发改局", text="x", now=NOW, settings=SETTINGS)
    request_id = request_transition(
        db,
        plan_id=None,
        no=1,
        unit="市财政局",
        to=Status.COMPLETED,
        reason="已印发",
        now=NOW,
        settings=SETTINGS,
    )
    assert [r["id"] for r in pending_request_rows(db)] == [request_id]
    assert status(db, 1) == "in_progress"
    decision = decide(
        db,
        request_id=request_id,
        by=COORDINATOR,
        approve=True,
        reason="同意",
        now=NOW,
        settings=SETTINGS,
    )
    assert decision.state == "approved" and status(db, 1) == "completed"
    assert pending_request_rows(db) == []
    actions = [(h["actor"], h["action"]) for h in history(db, 1)][-3:]
    assert actions == [("市财政局", "request"), ("市司法局", "approve"), ("市司法局", "status")]


def test_a_rejected_request_leaves_the_status(db):
    request_id = request_transition(
        db,
        plan_id=None,
        no=1,
        unit="市发改局",
        to=Status.IN_PROGRESS,
        reason="已启动",
        now=NOW,
        settings=SETTINGS,
    )
    decide(
        db,
        request_id=request_id,
        by=COORDINATOR,
        approve=False,
        reason="材料不足",
        now=NOW,
        settings=SETTINGS,
    )
    assert status(db, 1) == "not_started"
    last = history(db, 1)[-1]
    assert (last["action"], last["reason"]) == ("reject", "材料不足")


def test_only_the_coordinator_reopens_a_completed_task(db):
    record_progress(db, plan_id=None, no=1, unit="市发改局", text="x", now=NOW, settings=SETTINGS)
    rid = request_transition(
        db,
        plan_id=None,
        no=1,
        unit="市发改局",
        to=Status.COMPLETED,
        reason="已印发",
        now=NOW,
        settings=SETTINGS,
    )
    decide(
        db, request_id=rid, by=COORDINATOR, approve=True, reason=None, now=NOW, settings=SETTINGS
    )
    for unit in ("市发改局", "市财政局"):
        with pytest.raises(UserError, match="只能由统筹单位提出"):
            request_transition(
                db,
                plan_id=None,
                no=1,
                unit=unit,
                to=Status.IN_PROGRESS,
                reason="r",
                now=NOW,
                settings=SETTINGS,
            )
    rid = request_transition(
        db,
        plan_id=None,
        no=1,
        unit=COORDINATOR,
        to=Status.IN_PROGRESS,
        reason="需补充材料",
        now=NOW,
        settings=SETTINGS,
    )
    decide(
        db, request_id=rid, by=COORDINATOR, approve=True, reason=None, now=NOW, settings=SETTINGS
    )
    assert status(db, 1) == "in_progress"


def test_an_approved_extension_moves_the_due_date_and_keeps_the_old_one(db):
    rid = request_extension(
        db,
        plan_id=None,
        no=1,
        unit="市发改局",
        until=date(2021, 9, 30),
        reason="需上级批复",
        now=NOW,
        settings=SETTINGS,
    )
    decide(
        db, request_id=rid, by=COORDINATOR, approve=True, reason=None, now=NOW, settings=SETTINGS
    )
    detail = task_detail(db, plan_id=None, no=1, now=NOW, settings=SETTINGS)
    assert detail.row["due"] == "2021-09-30" and detail.original_due == "2021-06-30"
    assert detail.history[-1]["from"] == "2021-06-30"
    assert detail.row["light"] == "green"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda db: request_transition(
                db,
                plan_id=None,
                no=1,
                unit="市公安局",
                to=Status.IN_PROGRESS,
                reason="r",
                now=NOW,
                settings=SETTINGS,
            ),
            "市公安局",
        ),
        (
            lambda db: request_transition(
                db,
                plan_id=None,
                no=1,
                unit="市商务局",
                to=Status.IN_PROGRESS,
                reason="r",
                now=NOW,
                settings=SETTINGS,
            ),
            "不是该任务的牵头单位",
        ),
        (
            lambda db: record_progress(
                db, plan_id=None, no=1, unit="市商务局", text="x", now=NOW, settings=SETTINGS
            ),
            "不能报送进展",
        ),
        (
            lambda db: request_extension(
                db,
                plan_id=None,
                no=1,
                unit="市商务局",
                until=date(2021, 9, 30),
                reason="r",
                now=NOW,
                settings=SETTINGS,
            ),
            "不能申请延期",
        ),
        (
            lambda db: request_transition(
                db,
                plan_id=None,
                no=1,
                unit="市发改局",
                to=Status.COMPLETED,
                reason="r",
                now=NOW,
                settings=SETTINGS,
            ),
            "可变更为：推进中",
        ),
        (
            lambda db: request_transition(
                db,
                plan_id=None,
                no=99,
                unit="市发改局",
                to=Status.COMPLETED,
                reason="r",
                now=NOW,
                settings=SETTINGS,
            ),
            "序号为 99",
        ),
        (
            lambda db: request_transition(
                db,
                plan_id="other",
                no=1,
                unit="市发改局",
                to=Status.COMPLETED,
                reason="r",
                now=NOW,
                settings=SETTINGS,
            ),
            "trial-plan",
        ),
        (
            lambda db: request_transition(
                db,
                plan_id=None,
                no=1,
                unit="市发改局",
                to=Status.IN_PROGRESS,
                reason="  ",
                now=NOW,
                settings=SETTINGS,
            ),
            "--reason",
        ),
        (
            lambda db: request_extension(
                db,
                plan_id=None,
                no=1,
                unit="市发改局",
                until=date(2021, 6, 10),
                reason="r",
                now=NOW,
                settings=SETTINGS,
            ),
            "晚于今天",
        ),
        (
            lambda db: request_extension(
                db,
                plan_id=None,
                no=1,
                unit="市发改局",
                until=date(2021, 6, 20),
                reason="r",
                now=NOW,
                settings=SETTINGS,
            ),
            "晚于现有完成时限",
        ),
        (
            lambda db: request_extension(
                db,
                plan_id=None,
                no=3,
                unit="市司法局",
                until=date(2030, 1, 1),
                reason="r",
                now=NOW,
                settings=SETTINGS,
            ),
            "不是具体日期",
        ),
        (
            lambda db: decide(
                db,
                request_id=42,
                by=COORDINATOR,
                approve=True,
                reason=None,
                now=NOW,
                settings=SETTINGS,
            ),
            "#42 不存在",
        ),
    ],
)
def test_refusals_are_one_line_and_change_nothing(db, unchanged, call, message):
    with pytest.raises(UserError) as caught:
        call(db)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_only_the_coordinator_decides_and_only_once(db, workdir):
    rid = request_transition(
        db,
        plan_id=None,
        no=1,
        unit="市发改局",
        to=Status.IN_PROGRESS,
        reason="r",
        now=NOW,
        settings=SETTINGS,
    )
    before = dump(workdir / "var" / "duban.db")
    for unit in ("市发改局", "市财政局", "市商务局"):
        with pytest.raises(UserError, match="无权审批"):
            decide(
                db, request_id=rid, by=unit, approve=True, reason=None, now=NOW, settings=SETTINGS
            )
    with pytest.raises(UserError, match="--reason"):
        decide(
            db, request_id=rid, by=COORDINATOR, approve=False, reason="", now=NOW, settings=SETTINGS
        )
    assert dump(workdir / "var" / "duban.db") == before
    decide(
        db, request_id=rid, by=COORDINATOR, approve=True, reason=None, now=NOW, settings=SETTINGS
    )
    after = dump(workdir / "var" / "duban.db")
    for approve in (True, False):
        with pytest.raises(UserError, match="不能重复审批"):
            decide(
                db,
                request_id=rid,
                by=COORDINATOR,
                approve=approve,
                reason="r",
                now=NOW,
                settings=SETTINGS,
            )
    assert dump(workdir / "var" / "duban.db") == after


def test_a_request_overtaken_by_events_cannot_be_approved(db):
    rid = request_transition(
        db,
        plan_id=None,
        no=1,
        unit="市财政局",
        to=Status.IN_PROGRESS,
        reason="r",
        now=NOW,
        settings=SETTINGS,
    )
    record_progress(db, plan_id=None, no=1, unit="市发改局", text="x", now=NOW, settings=SETTINGS)
    with pytest.raises(UserError, match="已不适用"):
        decide(
            db,
            request_id=rid,
            by=COORDINATOR,
            approve=True,
            reason=None,
            now=NOW,
            settings=SETTINGS,
        )
    decide(
        db,
        request_id=rid,
        by=COORDINATOR,
        approve=False,
        reason="已自动启动",
        now=NOW,
        settings=SETTINGS,
    )


def test_a_duplicate_pending_request_is_refused(db):
    request_transition(
        db,
        plan_id=None,
        no=1,
        unit="市发改局",
        to=Status.IN_PROGRESS,
        reason="r",
        now=NOW,
        settings=SETTINGS,
    )
    with pytest.raises(UserError, match="请勿重复申请"):
        request_transition(
            db,
            plan_id=None,
            no=1,
            unit="市财政局",
            to=Status.IN_PROGRESS,
            reason="r",
            now=NOW,
            settings=SETTINGS,
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-09-30", date(2021, 9, 30)),
        ("2021/9/30", date(2021, 9, 30)),
        ("2021年9月30日", date(2021, 9, 30)),
    ],
)
def test_dates_people_type(text, expected):
    assert parse_date(text, where="--until") == expected


@pytest.mark.parametrize(
    ("text", "message"), [("2021-02-29", "没有29日"), ("下个月", "YYYY-MM-DD")]
)
def test_impossible_and_unreadable_dates(text, message):
    with pytest.raises(UserError, match=message):
        parse_date(text, where="--until")


@pytest.mark.slow
def test_two_processes_approving_the_same_request_exactly_one_wins(db, workdir):
    """Two real processes, released together by a barrier, race on one SQLite file."""
    url = f"sqlite:///{workdir / 'var' / 'duban.db'}"
    for round_ in range(3):
        no = (1, 2, 1)[round_]
        to = Status.IN_PROGRESS if round_ < 2 else Status.COMPLETED
        unit = "市发改局" if no == 1 else "市商务局"
        rid = request_transition(
            db, plan_id=None, no=no, unit=unit, to=to, reason="r", now=NOW, settings=SETTINGS
        )
        outcomes = race_approvals(url, rid)
        codes = [code for code, _, _ in outcomes]
        assert codes == [0, 2], outcomes
        assert "不能重复审批" in outcomes[1][2]
        decisions = [h for h in history(db, no) if h["action"] == "approve"]
        assert len(decisions) == round_ // 2 + 1
        assert status(db, no) == str(to)
