"""What the importer writes, the plan file reader takes back: cell text the plan file cannot hold
(control characters, a unit's name longer than the store's 200 characters, a day outside
1970–2199, a task number beyond 64 bits, a warning quoting a cell over two lines, a file name
that is not UTF-8) is cleaned, left out with a warning, or refused as a user's mistake. Found by
tests/test_import_fuzz.py: each once wrote a plan file that `duban load` then refused."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import pytest
from support.tables import TableSpec, write_table

from engine.importers.build import import_plan
from engine.planfile import read_plan, write_plan
from engine.values import control_character

HEADER = ["序号", "任务", "责任单位", "完成时限"]


def round_trip(source: Path, tmp_path: Path, **options: str):
    """Import `source`, write the plan file, and read it back as `duban load` does."""
    plan = import_plan(source, coordinator=options.get("coordinator", "市司法局"))
    write_plan(plan, tmp_path / "plan.yaml")
    return plan, read_plan(tmp_path / "plan.yaml")


def one_line(text: str) -> bool:
    return control_character(text) is None


def test_control_characters_in_cells(tmp_path):
    source = tmp_path / "ctl.txt"
    source.write_text(
        "\t序号\t任务\t责任单位\t完成时限\n\n"
        "\t1\t建立\x1b机制\x07\t市司法局\x1b、市财政局\x7f\t2022年底前\x1f\n\n"
        "\t2\t完善\x00平台\t市司法局\t2022年底前\n",
        encoding="utf-16",  # UTF-16 is the one encoding that carries NUL as a character
    )
    _, plan = round_trip(source, tmp_path)
    first, second = plan.tasks
    assert (first.title, first.lead, first.co_units) == ("建立机制", "市司法局", ["市财政局"])
    assert first.deadline.due == date(2022, 12, 31)
    assert second.title == "完善平台"


def test_a_sentence_in_the_units_cell(tmp_path):
    sentence = "由" + "各有关部门按照职责分工认真组织实施" * 15  # 256 characters, no separator
    spec = TableSpec(header=HEADER, rows=[[1, "建立机制", sentence, "2022年底前"]])
    imported, plan = round_trip(write_table(spec, tmp_path / "long.xlsx"), tmp_path)
    task = plan.tasks[0]
    assert task.lead is None and task.units_text == sentence
    messages = [w.message for w in imported.warnings if w.task == 1]
    assert any("超过 200 字" in m for m in messages), messages


@pytest.mark.parametrize(
    ("cell", "shown"), [("1950年底前", "1950年底前"), (date(1900, 1, 1), "1900-01-01")]
)
def test_a_deadline_outside_the_years_duban_keeps(tmp_path, cell, shown):
    spec = TableSpec(header=HEADER, rows=[[1, "建立机制", "市司法局", cell]])
    imported, plan = round_trip(write_table(spec, tmp_path / "old.xlsx"), tmp_path)
    assert plan.tasks[0].deadline.kind == "unknown"
    messages = [w.message for w in imported.warnings if w.task == 1]
    assert any(shown in m and "超出可用范围" in m for m in messages), messages


def test_a_number_cell_too_large_for_a_task_number(tmp_path):
    spec = TableSpec(
        header=HEADER,
        rows=[
            [10**30, "建立机制", "市司法局", "2022年底前"],
            [2, "完善平台", "市司法局", "2022年底前"],
        ],
    )
    _, plan = round_trip(write_table(spec, tmp_path / "big.xlsx"), tmp_path)
    assert [t.no for t in plan.tasks] == [3, 2]


def test_a_warning_quoting_a_cell_of_two_lines(tmp_path):
    spec = TableSpec(header=HEADER, rows=[[1, "建立机制", "市司法局", "尽快\n完成\u2028即可"]])
    imported, plan = round_trip(write_table(spec, tmp_path / "two.docx"), tmp_path)
    assert all(one_line(w.message) for w in plan.warnings)
    assert any("“尽快 完成 即可”" in w.message for w in imported.warnings)


@pytest.mark.skipif(sys.platform != "linux", reason="a file name that is not UTF-8")
def test_a_file_named_in_gbk(tmp_path):
    name = "分工表".encode("gbk") + b".txt"
    spec = TableSpec(header=HEADER, rows=[[1, "建立机制", "市司法局", "2022年底前"]])
    text = write_table(spec, tmp_path / "t.txt").read_bytes()
    path = os.path.join(os.fsencode(tmp_path), name)
    with open(path, "wb") as out:
        out.write(text)
    _, plan = round_trip(Path(os.fsdecode(path)), tmp_path)
    assert plan.source is not None and plan.source.file == "分工表.txt"
    assert plan.title == "分工表"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--coordinator", "市司法局\n市财政局"), "--coordinator “市司法局 市财政局”"),
        (("--coordinator", "市" * 201), "不超过 200 字"),
        (("--alias", "市" * 201 + "=市司法局"), "--alias"),
    ],
)
def test_a_coordinator_or_alias_no_plan_file_holds(duban, workdir, seed_copy, args, expected):
    result = duban("import", seed_copy.name, "-o", "plan.yaml", *args)
    assert result.code == 2, result.err
    assert result.err.count("\n") == 1 and expected in result.err, result.err
    assert not (workdir / "plan.yaml").exists()
