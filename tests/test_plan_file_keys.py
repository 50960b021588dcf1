"""A misspelled key in a plan file is refused, not silently dropped (a task would lose its lead)."""

from datetime import date
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


def test_libyaml_and_pure_python_read_plan_files_alike():
    """Plan files are read by libyaml's parser where PyYAML has it (CI's has), with the same
    checks and values as the pure-Python loader kept for errors and for PyYAML without it."""
    import yaml

    from engine import planfile

    assert yaml.__with_libyaml__, "PyYAML without libyaml: plan files would parse 5x slower"
    assert planfile.LOADERS[0] is not planfile.StrictLoader
    seed = Path(SEED_PLAN).read_text(encoding="utf-8")
    tricky = seed + 'extra_quoted: ["no", on, off, yes, 2021-06-30, "0x10", 010, ~]\n'
    docs = [yaml.load(tricky, Loader=loader) for loader in planfile.LOADERS]
    assert docs[0] == docs[1]
    assert docs[0]["extra_quoted"] == ["no", "on", "off", "yes", date(2021, 6, 30), "0x10", 8, None]
    for text in ("a: !!bool yes\n", "a: &x [1]\nb: *x\n", "[" * 40 + "]" * 40 + "\n"):
        for loader in planfile.LOADERS:
            with pytest.raises(planfile.PlanFileError):
                yaml.load(text, Loader=loader)
