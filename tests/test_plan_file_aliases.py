"""Issue 11: a plan file is written without YAML anchors or aliases, and reads back equal."""

from __future__ import annotations

import re
from pathlib import Path

from engine.deadlines.grammar import parse_deadline
from engine.importers.build import import_plan
from engine.planfile import dump_plan, read_plan, write_plan
from tests.conftest import SEED


def test_a_plan_with_milestones_is_written_without_anchors_and_reads_back_equal(
    tmp_path: Path,
):
    plan = import_plan(SEED, coordinator="市司法局")
    deadline = parse_deadline("2022年6月底前完成方案，12月底前全面完成")
    assert deadline.milestones, "the grammar should read two milestones"
    plan.tasks[0].deadline = deadline
    text = dump_plan(plan)
    assert not re.search(r"[&*]id\d+", text)
    assert not re.search(r"^\s*[\w-]+:\s*[&*]", text, re.M)
    path = tmp_path / "plan.yaml"
    write_plan(plan, path)
    assert read_plan(path) == plan
