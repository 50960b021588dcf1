"""An unknown unit name suggests only the seed plan's units that are really close to it."""

from __future__ import annotations

import pytest
import yaml
from conftest import SEED_PLAN

from engine.model.unit_names import near_names

NOW = ("--now", "2021-06-10T09:00:00+08:00")


def seed_units() -> list[str]:
    """Every unit name of the seed plan: leads, co-units and aliases (25 names)."""
    plan = yaml.safe_load(SEED_PLAN.read_text(encoding="utf-8"))
    names: set[str] = set(plan.get("aliases") or {})
    for task in plan["tasks"]:
        names.update(u for u in [task.get("lead"), *(task.get("co_units") or [])] if u)
    return sorted(names)


def test_the_seed_plan_has_25_unit_names():
    assert len(seed_units()) == 25


@pytest.mark.parametrize(
    "typed",
    ["市公安局", "市交通局", "市民政局", "市水务局", "市统计局", "市科技局", "火星局", "市无此局"],
)
def test_a_different_unit_suggests_nothing(typed):
    assert near_names(typed, seed_units()) == []


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("市司法", "市司法局"),  # the kind suffix left off
        ("珠海市财政局", "市财政局"),  # the city's name written out
        ("市司法厅", "市司法局"),  # another kind suffix
        ("市发改委", "市发改局"),
        ("横琴", "横琴新区"),  # a part of the name
        ("市生态局", "市生态环境局"),
        ("市编办", "市委编办"),
        ("市台港奥办", "市委台港澳办"),  # one character off in a longer name
        ("市机关事物管理局", "市机关事务管理局"),
        ("市市场监督局", "市市场监督管理局"),
    ],
)
def test_a_close_name_suggests_the_unit_meant(typed, meant):
    near = near_names(typed, seed_units())
    assert near and near[0] == meant and len(near) <= 3


def test_no_seed_unit_is_close_to_another_but_its_alias():
    units = seed_units()
    close = {u: near_names(u, [v for v in units if v != u]) for u in units}
    assert {u: near for u, near in close.items() if near} == {
        "市市场监督管理局": ["市市场监管局"],
        "市市场监管局": ["市市场监督管理局"],
    }


def test_the_board_names_no_unrelated_unit_for_a_unit_it_does_not_know(duban):
    assert duban(*NOW, "load", str(SEED_PLAN)).code == 0
    result = duban(*NOW, "tasks", "--unit", "市公安局")
    assert result.code == 2
    assert "“市公安局”不是已知的单位" in result.err and "您是否指" not in result.err
    for unrelated in ("市金融局", "市财政局", "市教育局"):
        assert unrelated not in result.err.split("已知的单位有")[0]
    assert "您是否指：市财政局？" in duban(*NOW, "tasks", "--unit", "市财政").err
