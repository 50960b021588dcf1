"""A 请示 whose request was decided before it went is not sent: the outbox says why.

It would ask the coordinator to decide (请及时审核) what they have decided already.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.plans import COORDINATOR, write_small_plan

ASKED = "2021-06-10T10:00:00+08:00"
DECIDED = "2021-06-10T10:30:00+08:00"
LATER = "2021-06-10T11:00:00+08:00"


@pytest.fixture
def loaded(duban, workdir: Path):
    write_small_plan(workdir / "plan.yaml")
    assert duban("--now", ASKED, "load", "plan.yaml").code == 0
    return duban


def ask(duban) -> str:
    result = duban(
        "--now", ASKED, "request", "1", "--unit", "市发改局", "--to", "in_progress",
        "--reason", "已启动起草",
    )
    assert result.code == 0, result.err
    return result.out.strip()


def outbox(duban, *args: str) -> list[dict]:
    result = duban("--now", LATER, "outbox", "--json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)


def written_requests(workdir: Path) -> str:
    """Every 请示 the file channel wrote."""
    folder = workdir / "var" / "outbox"
    return "".join(p.read_text(encoding="utf-8") for p in folder.rglob("*approval_request*"))


@pytest.mark.parametrize(("verb", "extra", "word"), [
    ("approve", (), "批准"),
    ("reject", ("--reason", "请补充材料"), "驳回"),
])
def test_a_request_decided_before_its_notice_went_drops_the_notice(
    loaded, workdir, verb, extra, word
):
    request_id = ask(loaded)
    decided = loaded("--now", DECIDED, verb, request_id, "--by", COORDINATOR, *extra)
    assert decided.code == 0, decided.err
    run = loaded("--now", LATER, "run", "--once")
    assert run.code == 0, run.err

    by_kind = {n["kind"]: n for n in outbox(loaded)}
    asked, told = by_kind["approval_request"], by_kind["approval_decision"]
    assert asked["status"] == "dropped" and asked["sent_at"] is None and asked["attempts"] == 0
    assert asked["error"] == f"请示 #{request_id} 已于2021年6月10日审批（{word}），不再发送"
    assert told["status"] == "sent"
    assert written_requests(workdir) == ""

    assert [n["id"] for n in outbox(loaded, "--status", "dropped")] == [asked["id"]]
    assert [n["id"] for n in outbox(loaded, "--status", "不再发送")] == [asked["id"]]
    table = loaded("--now", LATER, "outbox").out
    assert "不再发送" in table and "已于2021年6月10日审批" in table


def test_a_request_still_pending_is_asked_about(loaded, workdir):
    ask(loaded)
    assert loaded("--now", LATER, "run", "--once").code == 0
    (asked,) = [n for n in outbox(loaded) if n["kind"] == "approval_request"]
    assert asked["status"] == "sent"
    assert "请及时审核" in written_requests(workdir)
