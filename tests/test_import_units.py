"""The units cell, the header names and the task numbers, form by form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.importers.header import column_role
from engine.importers.table import task_number
from engine.importers.units import parse_units

NOTE = "（排在第一位的责任部门为牵头单位，下同）"


@pytest.mark.parametrize(
    ("cell", "lead", "co_units"),
    [
        ("市发改局、市财政局、市司法局" + NOTE, "市发改局", ["市财政局", "市司法局"]),
        ("市发改局、市财政局(排在第一位的为牵头单位, 下同)", "市发改局", ["市财政局"]),
        ("市财政局、市司法局（牵头）、市人社局", "市司法局", ["市财政局", "市人社局"]),
        ("市财政局、市司法局(牵头)", "市司法局", ["市财政局"]),
        ("市财政局，市司法局（牵头单位）", "市司法局", ["市财政局"]),
        ("牵头单位：市司法局；配合单位：市财政局、市人社局", "市司法局", ["市财政局", "市人社局"]),
        ("牵头单位:市司法局\n协办单位:市财政局", "市司法局", ["市财政局"]),
        ("配合单位：市财政局；牵头单位：市司法局", "市司法局", ["市财政局"]),
        ("市司法局牵头，市公安局、市民政局配合", "市司法局", ["市公安局", "市民政局"]),
        ("市公安局、市司法局牵头", "市司法局", ["市公安局"]),
        ("由市司法局牵头，各区政府配合", "市司法局", ["各区政府"]),
        ("市司法局 市财政局\u3000市人社局", "市司法局", ["市财政局", "市人社局"]),
        ("市司法局,市财政局;市人社局；各区政府", "市司法局", ["市财政局", "市人社局", "各区政府"]),
        ("各区政府、各责任单位", "各区政府", ["各责任单位"]),
        ("市司法局、市司法局、市委编办", "市司法局", ["市委编办"]),
        ("中国（广东）自贸试验区横琴片区管委会、市商务局", "中国（广东）自贸试验区横琴片区管委会",
         ["市商务局"]),
        ("（按职责分工负责）市司法局、市财政局", "市司法局", ["市财政局"]),
        ("市司法局（含所属公证处、法律援助处）、市财政局", "市司法局", ["市财政局"]),
        ("", None, []),
        ("  ", None, []),
        (NOTE, None, []),
    ],
)  # fmt: skip
def test_units_cell(cell, lead, co_units):
    units = parse_units(cell)
    assert (units.lead, units.co_units) == (lead, co_units)


def test_a_unit_listed_twice_is_kept_once_and_reported():
    units = parse_units("市司法局、市财政局、市司法局、市财政局、市人社局")
    assert units.co_units == ["市财政局", "市人社局"]
    assert units.repeated == ["市司法局", "市财政局"]


def test_aliases_are_not_resolved_at_import():
    units = parse_units("市市场监督管理局、市市场监管局")
    assert (units.lead, units.co_units) == ("市市场监督管理局", ["市市场监管局"])


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("项目", "section"),
        ("序号", "number"),
        ("编 号", "number"),
        ("项目名称", "task"),
        ("任 务", "task"),
        ("工作任务", "task"),
        ("主要任务", "task"),
        ("具体内容", "content"),
        ("工作措施", "content"),
        ("主要内容", "content"),
        ("责任部门", "units"),
        ("责任单位", "units"),
        ("牵头单位", "units"),
        ("配合单位", "co_units"),
        ("推进情况", "progress"),
        ("进展情况", "progress"),
        ("落实情况", "progress"),
        ("完成时限", "deadline"),
        ("时间节点", "deadline"),
        ("完成时间", "deadline"),
        ("任务完成时限", "deadline"),
        ("进度安排", "deadline"),
        ("责任处室", "units"),
        ("任务内容", "content"),
        ("牵头领导", None),
        ("责任单位（排名第一的为牵头单位）", "units"),
        ("备注", None),
        ("珠海市人民政府落实《……》实施方案分工推进情况汇总表", None),
    ],
)  # fmt: skip
def test_header_names(name, role):
    assert column_role(name) == role


@pytest.mark.parametrize(
    ("cell", "number"),
    [
        (1, 1),
        (12.0, 12),
        ("3", 3),
        ("3.", 3),
        ("3、", 3),
        ("（3）", 3),
        ("(3)", 3),
        ("（十二）", 12),
        ("一、以粤港澳大湾区最优质为目标", None),
        ("长期推进", None),
        ("", None),
        (None, None),
        (1.5, None),
        (True, None),
    ],
)
def test_task_numbers(cell, number):
    assert task_number(cell) == number


UNIT_TEXT = st.text(
    alphabet=st.sampled_from(
        list("市司法局财政各区政府（）()、，,；; \n\t牵头单位配合：:协办由等")
    ),
    max_size=40,
)


@given(UNIT_TEXT)
def test_any_units_cell_gives_a_clean_list(cell):
    units = parse_units(cell)
    everyone = ([units.lead] if units.lead else []) + units.co_units
    assert len(everyone) == len(set(everyone))
    assert units.lead is not None or units.co_units == []
    for name in everyone:
        assert name and not any(sep in name for sep in "、，,；; \n\t")


@given(st.text(max_size=30))
def test_any_header_or_number_cell_is_read_without_error(text):
    column_role(text)
    task_number(text)
