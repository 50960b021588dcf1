"""Importing Zhuhai's seed table (Word's text layout) gives the plan a coordinating office wants."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import SEED, SEED_PLAN

from engine.deadlines.deadline import DeadlineKind
from engine.importers.build import import_plan
from engine.model.plan import Plan, Status
from engine.planfile import read_plan

SECTION_TITLES = {
    "一": "以粤港澳大湾区最优质为目标，进一步完善我市公共法律服务体系建设",
    "二": "构建符合粤港澳大湾区建设需要的公共法律服务合作交流平台",
    "三": "以仲裁和公证体制改革为突破口提升公共法律服务质量",
    "四": "积极为对外开放和经贸活动提供公共法律服务。",
    "五": "加大公共法律服务的保障力度",
}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return import_plan(SEED, plan_id="zhuhai-gba-legal-services", coordinator="市司法局")


def test_eighteen_tasks_in_five_sections(plan):
    assert [t.no for t in plan.tasks] == list(range(1, 19))
    assert {s.no: s.title for s in plan.sections} == SECTION_TITLES
    by_section = {s.no: [t.no for t in plan.tasks if t.section == s.no] for s in plan.sections}
    assert by_section == {
        "一": [1, 2, 3],
        "二": [4, 5, 6, 7, 8],
        "三": [9, 10],
        "四": [11, 12, 13, 14, 15],
        "五": [16, 17, 18],
    }


def test_title_joins_the_two_lines_and_skips_the_attachment_line(plan):
    assert plan.title == (
        "珠海市人民政府落实《珠海市人民代表大会常务委员会关于促进市人民政府建设"
        "粤港澳大湾区优质公共法律服务体系的决定》实施方案分工推进情况汇总表"
    )


def test_header_names_give_the_export_column_order(plan):
    assert plan.columns == ["项目", "任务", "具体内容", "责任部门", "推进情况", "完成时限"]


def test_task_1_lead_and_co_units_without_the_note(plan):
    task = plan.task(1)
    assert task.title == "宽视野高标准统筹谋划公共法律服务体系建设"
    assert task.content.startswith("在支持澳门经济适度多元发展")
    assert task.lead == "市发改局"
    assert task.co_units == ["市财政局", "市司法局"]
    assert not any("（" in u or "牵头" in u for u in task.units)
    assert task.units_text.endswith("（排在第一位的责任部门为牵头单位，下同）")
    assert task.deadline.due == date(2021, 6, 30)


def test_task_10_lists_its_lead_once_and_is_long_term(plan):
    task = plan.task(10)
    assert task.units.count("市司法局") == 1
    assert task.lead == "市司法局"
    assert task.co_units == ["市委编办", "市财政局", "市人社局", "香洲区", "金湾区", "斗门区"]
    assert task.deadline.kind is DeadlineKind.LONG_TERM
    assert task.status is Status.NOT_STARTED  # long_term does not by itself change the status
    warnings = [(w.task, w.message) for w in plan.warnings]
    assert (10, "责任部门中“市司法局”重复出现，已合并") in warnings


@pytest.mark.parametrize(
    ("no", "due"),
    [
        (8, date(2023, 12, 31)),
        (14, date(2020, 12, 31)),
        (16, date(2021, 12, 31)),
        (3, date(2021, 6, 30)),
    ],
)
def test_deadlines(plan, no, due):
    assert plan.task(no).deadline.kind is DeadlineKind.DATE
    assert plan.task(no).deadline.due == due


def test_names_are_kept_as_written_and_aliases_not_resolved_at_import(plan):
    assert "市市场监督管理局" in plan.task(3).co_units
    assert "市市场监管局" in plan.task(13).co_units


def test_cut_off_task_18_is_kept_and_flagged(plan):
    task = plan.task(18)
    assert task.title == "加快粤港澳大湾区公共法律服务信息化和网络平台建设"
    assert task.content.endswith("推动全市法律服务能力的跨越式创新发展。")
    assert task.lead is None and task.co_units == []
    assert task.deadline.kind is DeadlineKind.UNKNOWN
    messages = [w.message for w in plan.warnings if w.task == 18]
    assert "缺少责任部门和完成时限" in messages
    assert any("不完整" in m and "截断" in m for m in messages)


def test_only_the_real_problems_are_warned(plan):
    assert sorted({w.task for w in plan.warnings}) == [10, 18]


def test_every_task_starts_not_started_with_empty_progress(plan):
    assert {t.status for t in plan.tasks} == {Status.NOT_STARTED}
    assert {t.progress for t in plan.tasks} == {""}


def test_source_names_the_file_and_its_hash(plan):
    import hashlib

    assert plan.source.file == "zhuhai-gba-legal-services.txt"
    assert plan.source.sha256 == hashlib.sha256(SEED.read_bytes()).hexdigest()


# --- through the command line ---------------------------------------------------------------


def test_cli_writes_a_plan_file_that_round_trips(duban, workdir):
    result = duban("import", str(SEED), "-o", "plan.yaml", "--coordinator", "市司法局")
    assert result.code == 0, result.err
    back = read_plan(workdir / "plan.yaml")
    direct = import_plan(SEED, coordinator="市司法局")
    assert back.id == "zhuhai-gba-legal-services"  # the slug of the file name
    assert back.tasks == direct.tasks
    assert back.sections == direct.sections
    assert back.warnings == direct.warnings
    assert back.columns == direct.columns
    assert back.title == direct.title and back.coordinator == "市司法局"


def test_any_yaml_reader_gets_the_same_values(duban, workdir):
    duban("import", str(SEED), "-o", "plan.yaml", "--coordinator", "市司法局")
    text = (workdir / "plan.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)  # a YAML 1.1 reader: `no` unquoted would be False
    strict = read_plan(workdir / "plan.yaml")
    assert [t["no"] for t in doc["tasks"]] == [t.no for t in strict.tasks]
    assert [s["no"] for s in doc["sections"]] == ["一", "二", "三", "四", "五"]
    for raw, task in zip(doc["tasks"], strict.tasks, strict=True):
        assert raw["lead"] == task.lead
        assert raw["co_units"] == task.co_units
        assert raw["units_text"] == task.units_text
        assert raw["deadline"]["due"] == task.deadline.due
        assert raw["deadline"]["kind"] == str(task.deadline.kind)
        assert raw["status"] == "not_started"
    assert doc["warnings"][-1] == {"task": 18, "message": "缺少责任部门和完成时限"}


def test_cli_prints_each_warning_with_its_task_and_a_summary(duban):
    result = duban("import", str(SEED), "-o", "plan.yaml", "--coordinator", "市司法局")
    lines = result.err.splitlines()
    assert "任务 18：缺少责任部门和完成时限" in lines
    assert "任务 10：责任部门中“市司法局”重复出现，已合并" in lines
    assert lines[-1] == "已导入 18 项任务（5 个部分），3 条警告，写入 plan.yaml"
    assert result.out == ""


def test_cli_json_is_the_only_thing_on_stdout(duban):
    result = duban("import", str(SEED), "-o", "plan.yaml", "--coordinator", "市司法局", "--json")
    assert result.code == 0
    doc = json.loads(result.out)
    assert list(doc) == ["tasks", "warnings"]
    assert doc["tasks"] == 18
    assert {"task": 18, "message": "缺少责任部门和完成时限"} in doc["warnings"]
    assert all(set(w) == {"task", "message"} for w in doc["warnings"])
    assert "已导入 18 项任务" in result.err


def test_without_coordinator_the_plan_says_so(duban, workdir):
    result = duban("import", str(SEED), "-o", "plan.yaml", "--json")
    assert result.code == 0
    warning = json.loads(result.out)["warnings"][0]
    assert warning["task"] is None and warning["message"].startswith("未指定统筹（督办）单位")
    assert read_plan(workdir / "plan.yaml").coordinator == ""


def test_aliases_are_declared_in_the_plan(duban, workdir):
    alias = "市市场监督管理局=市市场监管局"
    result = duban("import", str(SEED), "-o", "plan.yaml", "--alias", alias)
    assert result.code == 0, result.err
    assert read_plan(workdir / "plan.yaml").aliases == {"市市场监督管理局": "市市场监管局"}


def test_a_chinese_file_name_gives_a_stable_ascii_id(duban, workdir):
    source = workdir / "珠海分工方案.txt"
    source.write_bytes(SEED.read_bytes())
    duban("import", str(source), "-o", "a.yaml")
    duban("import", str(source), "-o", "b.yaml")
    first, second = read_plan(workdir / "a.yaml").id, read_plan(workdir / "b.yaml").id
    assert first == second and first.startswith("plan-") and first.isascii()


def test_committed_plan_is_exactly_what_the_import_gives(duban, workdir):
    result = duban(
        "import",
        str(SEED),
        "-o",
        "regenerated.yaml",
        "--plan-id",
        "zhuhai-gba-legal-services",
        "--coordinator",
        "市司法局",
        "--alias",
        "市市场监督管理局=市市场监管局",
    )
    assert result.code == 0, result.err
    regenerated = (workdir / "regenerated.yaml").read_text(encoding="utf-8")
    assert regenerated == Path(SEED_PLAN).read_text(encoding="utf-8"), (
        "workflows/zhuhai-gba-legal-services.yaml has drifted from its source: regenerate it with "
        "duban import workflows/sources/zhuhai-gba-legal-services.txt "
        "-o workflows/zhuhai-gba-legal-services.yaml --plan-id zhuhai-gba-legal-services "
        "--coordinator 市司法局 --alias 市市场监督管理局=市市场监管局"
    )
