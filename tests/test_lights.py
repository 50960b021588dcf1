"""Lights: a deadline means the end of that day in the plan's zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from engine.deadlines.deadline import DeadlineKind
from engine.model.lights import Light, attention, light
from engine.model.plan import Status

SH = ZoneInfo("Asia/Shanghai")
DUE = date(2021, 6, 30)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2021, 6, 30, 23, 59, tzinfo=SH), Light.YELLOW),
        (datetime(2021, 7, 1, 0, 0, tzinfo=SH), Light.RED),
        # 2021-06-30 16:30 UTC is already 07-01 00:30 in Shanghai.
        (datetime(2021, 6, 30, 16, 30, tzinfo=ZoneInfo("UTC")), Light.RED),
        (datetime(2021, 5, 31, 9, 0, tzinfo=SH), Light.YELLOW),
        (datetime(2021, 5, 30, 23, 0, tzinfo=SH), Light.GREEN),
    ],
)
def test_a_dated_task(now, expected):
    assert light(Status.IN_PROGRESS, DUE, now, 30, "Asia/Shanghai") is expected


def test_yellow_within_days_is_the_policy():
    now = datetime(2021, 6, 20, 9, tzinfo=SH)
    assert light("not_started", DUE, now, 5) is Light.GREEN
    assert light("not_started", DUE, now, 10) is Light.YELLOW


def test_completed_is_done_even_when_late():
    assert light(Status.COMPLETED, DUE, datetime(2022, 1, 1, tzinfo=SH)) is Light.DONE


@pytest.mark.parametrize("kind", [DeadlineKind.LONG_TERM, DeadlineKind.RECURRING])
def test_long_term_and_recurring_are_green(kind):
    assert (
        light(Status.IN_PROGRESS, None, datetime(2030, 1, 1, tzinfo=SH), kind=kind) is Light.GREEN
    )


def test_a_long_term_status_is_green_past_its_date():
    assert light(Status.LONG_TERM, DUE, datetime(2030, 1, 1, tzinfo=SH)) is Light.GREEN


def test_no_readable_deadline_is_none():
    now = datetime(2021, 1, 1, tzinfo=SH)
    assert light(Status.NOT_STARTED, None, now, kind=DeadlineKind.UNKNOWN) is Light.NONE


def test_attention_reasons():
    assert attention(lead="市发改局", kind="date", deadline_text="2021年6月30日前") == []
    assert attention(lead=None, kind="unknown", deadline_text="") == [
        "缺少牵头单位",
        "缺少完成时限",
    ]
    assert attention(lead="市发改局", kind="unknown", deadline_text="根据上级部署") == [
        "完成时限无法识别"
    ]
    assert "计划文件中已无此任务" in attention(
        lead="市发改局", kind="date", deadline_text="x", in_plan=False
    )


def test_a_status_and_a_kind_light_alike_as_members_or_as_stored_text():
    # The store gives the codes as text; the model gives members. Text that is no status or
    # kind is refused as the enum refuses it.
    late = datetime(2022, 1, 1, tzinfo=SH)
    for status in Status:
        for kind in DeadlineKind:
            assert light(status, DUE, late, kind=kind) is light(
                status.value, DUE, late, kind=kind.value
            ), (status, kind)
    assert light("in_progress", DUE, late, kind="long_term") is Light.GREEN
    assert light("completed", DUE, late, kind="date") is Light.DONE
    with pytest.raises(ValueError, match="'finished' is not a valid Status"):
        light("finished", DUE, late)
    with pytest.raises(ValueError, match="'someday' is not a valid DeadlineKind"):
        light("in_progress", DUE, late, kind="someday")


def test_a_status_label_is_the_status_label_or_the_code_itself():
    from engine.model.plan import STATUS_LABELS, status_label

    for status, label in STATUS_LABELS.items():
        assert status_label(status) == status_label(status.value) == label
    assert status_label("finished") == "finished"  # a code of no status is shown as it is
    assert status_label(None) == status_label("") == ""
