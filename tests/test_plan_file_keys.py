"""A misspelled key in a plan file is refused, not silently dropped (a task would lose its lead)."""

from pathlib import Path

import pytest

from tests.conftest import SEED_PLAN

NOW = ("--now", "2021-07-01T10:00:00+08:00")


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        ("  lead: 市发改局\n", "  leed: 市发改局\n", "“lead”"),
        ("  co_units: [市财政局, 市司法局]\n", "  co_unit: [市财政局, 市司法局]\n", "“co_units”"),
        ("  status: not_started\n", "  state: not_started\n", "tasks[0]"),
    ],
)
def test_an_unknown_task_key_is_a_one_line_error_and_nothing_changes(duban, workdir: Path,
                                                                     old, new, names):
    text = SEED_PLAN.read_text("utf-8")
    assert old in text
    (workdir / "plan.yaml").write_text(text, "utf-8")
    (workdir / "bad.yaml").write_text(text.replace(old, new, 1), "utf-8")
    assert duban(*NOW, "load", "plan.yaml").code == 0
    before = duban(*NOW, "tasks", "--json").out
    result = duban(*NOW, "load", "bad.yaml")
    assert result.code == 2, result.err
    assert result.err.strip().count("\n") == 0
    assert "bad.yaml" in result.err and new.split(":")[0].strip() in result.err
    assert names in result.err and "内部错误" not in result.err
    assert duban(*NOW, "tasks", "--json").out == before


def test_the_bundled_plan_has_only_known_task_keys(duban, workdir: Path):
    assert duban(*NOW, "load", str(SEED_PLAN)).code == 0
