"""Plan tables of the genre as other offices write them (分工方案, 任务分解表, 重点任务清单,
督办台账): other cities, other wordings, Word and Excel layouts the importer has never seen. Each
table is built with python-docx / openpyxl (tests/support/genre.py) and read through
`import_plan`; the assertions are what a coordinating office would expect to find
in the plan file."""

from __future__ import annotations

import pytest

from engine.importers.units import parse_units


@pytest.mark.parametrize(
    ("cell", "lead", "co_units"),
    [
        ("市发展改革委（牵头），市财政局、市自然资源局",
         "市发展改革委", ["市财政局", "市自然资源局"]),
        ("各区政府，市有关部门", "各区政府", ["市有关部门"]),
        ("市教育局牵头，各区配合", "市教育局", ["各区"]),
        ("市发展改革委牵头，市有关单位按职责分工负责", "市发展改革委", ["市有关单位"]),
        ("市卫生健康委、市医保局按职责分工负责", "市卫生健康委", ["市医保局"]),
        ("市教育局，各区政府负责", "市教育局", ["各区政府"]),
        ("各区政府（管委会）负责落实", "各区政府", []),
        ("市财政局等部门", "市财政局", []),
        ("市委组织部等有关单位", "市委组织部", []),
        ("市公安局、市交通运输局及各区政府", "市公安局", ["市交通运输局", "各区政府"]),
        ("市司法局和市财政局", "市司法局", ["市财政局"]),
        ("市发展和改革局与市财政局", "市发展和改革局", ["市财政局"]),
        ("市人力资源和社会保障局、市住房和城乡建设局",
         "市人力资源和社会保障局", ["市住房和城乡建设局"]),
        ("市住房城乡建设局/市城市管理局", "市住房城乡建设局", ["市城市管理局"]),
        ("市科技局、市工业和信息化局分别牵头", "市科技局", ["市工业和信息化局"]),
        ("中国（广东）自由贸易试验区横琴片区管委会负责",
         "中国（广东）自由贸易试验区横琴片区管委会", []),
    ],
)  # fmt: skip
def test_units_cells_of_other_cities(cell, lead, co_units):
    units = parse_units(cell)
    assert (units.lead, units.co_units) == (lead, co_units)
