"""The task commands as a user runs them: JSON shapes, the board, and every refusal."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SEED_PLAN
from support.plans import COORDINATOR, dump, small_plan, write_small_plan

from engine.cli.cmd_tasks import board_table, width

NOW = ("--now", "2021-06-10T09:00:00+08:00")
ROW_KEYS = {
    "plan",
    "no",
    "title",
    "lead",
    "co_units",
    "deadline_text",
    "kind",
    "due",
    "status",
    "light",
    "progress",
    "attention",
}


@pytest.fixture
def loaded(duban, workdir: Path):
    write_small_plan(workdir / "plan.yaml")
    result = duban(*NOW, "load", "plan.yaml")
    assert result.code == 0, result.err
    return duban


def db_dump(workdir: Path) -> list[str]:
    return dump(workdir / "var" / "duban.db")


def one_line_error(result, code: int = 2) -> str:
    assert result.code == code, (result.out, result.err)
    assert result.err.count("\n") == 1 and result.err.startswith("duban: "), result.err
    assert "Traceback" not in result.err
    return result.err


def test_load_reports_what_it_created_then_what_it_kept(duban, workdir):
    write_small_plan(workdir / "plan.yaml")
    first = duban(*NOW, "load", "plan.yaml")
    assert first.code == 0 and "新增任务 5 项：1—5" in first.out
    again = duban(*NOW, "load", "plan.yaml", "--json")
    assert json.loads(again.out) == {
        "plan": "trial-plan",
        "created": [],
        "updated": [],
        "deadline_changed": [],
        "unchanged": [1, 2, 3, 4, 5],
        "missing": [],
    }
    shorter = replace(small_plan(), tasks=small_plan().tasks[:4])
    write_small_plan(workdir / "plan.yaml", shorter)
    third = duban(*NOW, "load", "plan.yaml")
    assert "已保留未删除" in third.out and "5" in third.out


def test_load_names_many_tasks_as_ranges_not_one_by_one():
    from engine.cli.cmd_tasks import _numbers

    assert _numbers([1, 2, 3, 5, 7, 8]) == "1—3、5、7、8"
    assert _numbers(list(range(1, 20_001))) == "1—20000"
    many = _numbers(list(range(1, 200, 2)))  # 100 pieces: the first 30, and how many in all
    assert many.startswith("1、3、5") and many.endswith("59 等（共 100 项，--json 列出全部）")


def test_tasks_json_rows_have_the_designed_shape(loaded):
    rows = json.loads(loaded(*NOW, "tasks", "--json").out)
    assert [r["no"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(set(r) == ROW_KEYS for r in rows)
    first = rows[0]
    assert first["due"] == "2021-06-30" and first["light"] == "yellow"
    assert first["status"] == "not_started" and first["attention"] == []
    assert [r["light"] for r in rows] == ["yellow", "green", "green", "green", "none"]


def test_tasks_filters_by_unit_alias_and_chinese_status(loaded):
    rows = json.loads(loaded(*NOW, "tasks", "--unit", "市市场监督管理局", "--json").out)
    assert [r["no"] for r in rows] == [2]
    loaded(*NOW, "progress", "1", "--unit", "市发改局", "--text", "已启动")
    rows = json.loads(loaded(*NOW, "tasks", "--status", "推进中", "--json").out)
    assert [r["no"] for r in rows] == [1]
    rows = json.loads(loaded(*NOW, "tasks", "--status", "in_progress", "--json").out)
    assert [r["no"] for r in rows] == [1]


def test_the_board_is_an_aligned_table(loaded):
    out = loaded(*NOW, "tasks").out
    lines = out.splitlines()
    assert lines[0].split() == ["序号", "任务", "牵头单位", "完成时限", "状态", "灯", "最新进展"]
    table = [line for line in lines if not line.startswith("需关注")]
    # Every column starts at the same display column on every row.
    starts = [width(lines[0][: lines[0].index("状态")])]
    for line in table[2:]:
        status = next(s for s in ("未启动", "推进中") if s in line)
        starts.append(width(line[: line.index(status)]))
    assert len(set(starts)) == 1, starts
    assert "需关注：任务 5：缺少牵头单位、缺少完成时限" in out
    assert "\x1b[" not in out  # no colour when stdout is not a terminal


def test_the_light_is_coloured_for_a_terminal(loaded):
    rows = json.loads(loaded(*NOW, "tasks", "--json").out)
    coloured = board_table(rows, colour=True)
    assert "\x1b[33m黄灯" in coloured and "\x1b[32m绿灯" in coloured


def test_show_json_adds_the_history(loaded):
    loaded(*NOW, "progress", "1", "--unit", "市发改局", "--text", "已起草方案")
    doc = json.loads(loaded(*NOW, "show", "1", "--json").out)
    assert set(doc) == ROW_KEYS | {"history"}
    assert doc["progress"] == "已起草方案"
    assert [h["action"] for h in doc["history"]] == ["created", "progress", "status"]
    keys = {"at", "actor", "action", "from", "to", "reason", "person", "via"}
    assert all(set(h) == keys for h in doc["history"])
    assert doc["history"][1]["at"] == "2021-06-10T09:00:00+08:00"
    # the report came from the command line, the automatic start from duban itself
    assert [(h["actor"], h["person"], h["via"]) for h in doc["history"][1:]] == [
        ("市发改局", None, "cli"),
        ("system", None, "system"),
    ]
    text = loaded(*NOW, "show", "1").out
    assert "历史记录" in text and "市发改局" in text


def test_request_approve_round_trip(loaded):
    created = loaded(
        *NOW, "request", "1", "--unit", "市财政局", "--to", "推进中", "--reason", "已开展", "--json"
    )
    request_id = json.loads(created.out)["id"]
    plain = loaded(
        *NOW, "extend", "2", "--unit", "市商务局", "--until", "2023-03-31", "--reason", "受疫情影响"
    )
    assert plain.out.strip().isdigit()
    pending = json.loads(loaded(*NOW, "requests", "--json").out)
    assert pending == [
        {
            "id": request_id,
            "plan": "trial-plan",
            "no": 1,
            "unit": "市财政局",
            "type": "transition",
            "to": "in_progress",
            "until": None,
            "reason": "已开展",
            "at": "2021-06-10T09:00:00+08:00",
        },
        {
            "id": int(plain.out),
            "plan": "trial-plan",
            "no": 2,
            "unit": "市商务局",
            "type": "extension",
            "to": None,
            "until": "2023-03-31",
            "reason": "受疫情影响",
            "at": "2021-06-10T09:00:00+08:00",
        },
    ]
    assert "申请延期至 2023-03-31" in loaded(*NOW, "requests").out
    assert loaded(*NOW, "approve", str(request_id), "--by", COORDINATOR).code == 0
    assert (
        loaded(*NOW, "reject", plain.out.strip(), "--by", COORDINATOR, "--reason", "理由不足").code
        == 0
    )
    assert json.loads(loaded(*NOW, "requests", "--json").out) == []
    rows = {r["no"]: r for r in json.loads(loaded(*NOW, "tasks", "--json").out)}
    assert rows[1]["status"] == "in_progress" and rows[2]["due"] == "2022-12-31"


REFUSALS = [
    (["show", "99"], "序号为 99"),
    (["progress", "1", "--unit", "市财政", "--text", "x"], "市财政局"),
    (["progress", "1", "--unit", "市商务局", "--text", "x"], "不能报送进展"),
    (["request", "1", "--unit", "市发改局", "--to", "done", "--reason", "r"], "不是有效的状态"),
    (["request", "1", "--unit", "市发改局", "--to", "已完成", "--reason", "r"], "可变更为"),
    (["request", "1", "--unit", "市公安局", "--to", "推进中", "--reason", "r"], "不是已知的单位"),
    (["extend", "1", "--unit", "市发改局", "--until", "2021-02-30", "--reason", "r"], "没有30日"),
    (["extend", "1", "--unit", "市发改局", "--until", "2021-06-10", "--reason", "r"], "晚于今天"),
    (["extend", "1", "--unit", "市发改局", "--until", "明年", "--reason", "r"], "YYYY-MM-DD"),
    (["approve", "7", "--by", COORDINATOR], "#7 不存在"),
    (["tasks", "--status", "finished"], "不是有效的状态"),
    (["tasks", "--plan", "nope"], "trial-plan"),
    (["show", "abc"], "abc"),
    (["reject", "1", "--by", COORDINATOR], "--reason"),
    (["load", "missing.yaml"], "不存在"),
]


@pytest.mark.parametrize(("args", "message"), REFUSALS)
def test_a_mistake_is_one_line_exit_2_and_changes_nothing(loaded, workdir, args, message):
    before = db_dump(workdir)
    err = one_line_error(loaded(*NOW, *args))
    assert message in err
    assert db_dump(workdir) == before


def test_a_decision_by_anyone_but_the_coordinator_or_twice(loaded, workdir):
    rid = loaded(
        *NOW, "request", "1", "--unit", "市发改局", "--to", "in_progress", "--reason", "r"
    ).out.strip()
    before = db_dump(workdir)
    assert "无权审批" in one_line_error(loaded(*NOW, "approve", rid, "--by", "市发改局"))
    assert db_dump(workdir) == before
    assert loaded(*NOW, "approve", rid, "--by", COORDINATOR).code == 0
    after = db_dump(workdir)
    assert "不能重复审批" in one_line_error(
        loaded(*NOW, "reject", rid, "--by", COORDINATOR, "--reason", "r")
    )
    assert db_dump(workdir) == after


def test_a_corrupt_plan_file_changes_nothing(loaded, workdir):
    before = db_dump(workdir)
    (workdir / "bad.yaml").write_text("plan: {id: trial-plan\ntasks: [", encoding="utf-8")
    assert "不是有效的 YAML" in one_line_error(loaded(*NOW, "load", "bad.yaml"))
    (workdir / "bad.yaml").write_text(
        "plan: {id: trial-plan}\ntasks:\n  - {no: 1, deadline: {text: x, kind: soon}}\n",
        encoding="utf-8",
    )
    assert "kind" in one_line_error(loaded(*NOW, "load", "bad.yaml"))
    assert db_dump(workdir) == before


def test_plan_must_be_named_when_there_are_several(loaded, workdir):
    write_small_plan(workdir / "other.yaml", small_plan("other-plan"))
    assert loaded(*NOW, "load", "other.yaml").code == 0
    err = one_line_error(loaded(*NOW, "show", "1"))
    assert "other-plan" in err and "trial-plan" in err and "--plan" in err
    assert (
        json.loads(loaded(*NOW, "show", "1", "--plan", "other-plan", "--json").out)["plan"]
        == "other-plan"
    )
    rows = json.loads(loaded(*NOW, "tasks", "--json").out)
    assert {r["plan"] for r in rows} == {"trial-plan", "other-plan"}


def test_an_empty_database_says_to_load_a_plan(duban):
    err = one_line_error(duban(*NOW, "show", "1"))
    assert "duban load" in err
    result = duban(*NOW, "tasks", "--json")
    assert result.code == 0 and json.loads(result.out) == []


def test_a_database_that_cannot_be_written_is_one_line(loaded, workdir):
    path = workdir / "var" / "duban.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    before = db_dump(workdir)
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    result = loaded("--db", url, *NOW, "progress", "1", "--unit", "市发改局", "--text", "x")
    assert "只读" in one_line_error(result, code=1)
    assert db_dump(workdir) == before
    rows = json.loads(loaded("--db", url, *NOW, "tasks", "--json").out)
    assert len(rows) == 5


@pytest.mark.skipif(not SEED_PLAN.exists(), reason="the seed plan file has not been generated yet")
def test_the_seed_plan_loads_and_shows_its_board(duban, workdir):
    result = duban(*NOW, "load", str(SEED_PLAN))
    assert result.code == 0, result.err
    rows = json.loads(duban(*NOW, "tasks", "--json").out)
    assert len(rows) == 18
    assert all(r["status"] == "not_started" for r in rows)
    assert duban(*NOW, "load", str(SEED_PLAN), "--json").code == 0


def test_several_plan_files_load_in_one_command(duban, workdir):
    write_small_plan(workdir / "a.yaml")
    write_small_plan(workdir / "b.yaml", small_plan("other-plan"))
    result = duban(*NOW, "load", "a.yaml", "b.yaml")
    assert result.code == 0, result.err
    assert result.out.count("已新建计划") == 2 and "other-plan" in result.out
    again = duban(*NOW, "load", "a.yaml", "b.yaml", "--json")
    reports = json.loads(again.out)
    assert [r["plan"] for r in reports] == ["trial-plan", "other-plan"]
    assert all(r["unchanged"] == [1, 2, 3, 4, 5] and not r["created"] for r in reports)
    rows = json.loads(duban(*NOW, "tasks", "--json").out)
    assert len(rows) == 10


def test_a_refused_file_among_several_stops_there_and_names_what_was_loaded(duban, workdir):
    write_small_plan(workdir / "a.yaml")
    (workdir / "bad.yaml").write_text("plan: {id: x\ntasks: [", encoding="utf-8")
    write_small_plan(workdir / "c.yaml", small_plan("third-plan"))
    err = one_line_error(duban(*NOW, "load", "a.yaml", "bad.yaml", "c.yaml"))
    assert "bad.yaml" in err and "a.yaml 已载入" in err and "c.yaml" not in err
    plans = {r["plan"] for r in json.loads(duban(*NOW, "tasks", "--json").out)}
    assert plans == {"trial-plan"}


def test_the_same_plan_twice_in_one_command_is_refused_before_the_second(duban, workdir):
    write_small_plan(workdir / "a.yaml")
    write_small_plan(workdir / "copy.yaml")
    err = one_line_error(duban(*NOW, "load", "copy.yaml", "a.yaml"))
    assert "a.yaml" in err and "copy.yaml" in err and "trial-plan" in err
    loaded_once = json.loads(duban(*NOW, "load", "a.yaml", "--json").out)
    assert loaded_once["unchanged"] == [1, 2, 3, 4, 5]


def test_load_without_a_file_is_a_usage_error(duban):
    assert "PLAN.yaml" in one_line_error(duban(*NOW, "load"))
