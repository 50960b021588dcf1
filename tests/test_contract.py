"""The command-line contract of DESIGN.md as an outside tester drives it: one test per finding.

Each test runs the real CLI (in-process through `duban`, or the installed script where the process
matters) and shows what the contract asks: one Chinese line on stderr with the right exit status for
a mistake, only JSON on stdout with --json, and nothing stored changed by a refused command.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import SEED_PLAN

NOW = ("--now", "2021-06-01T10:00:00+08:00")


def one_line_error(result, code: int = 2) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    assert result.out == ""
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1 and result.err.startswith("duban: "), result.err
    return result.err


@pytest.fixture
def loaded(duban, workdir: Path):
    shutil.copy(SEED_PLAN, workdir / "plan.yaml")
    assert duban(*NOW, "load", "plan.yaml").code == 0
    return duban


def board(duban) -> list[dict]:
    result = duban(*NOW, "tasks", "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


# --- usage mistakes Click detects were English, and a bare `duban` printed the whole help -------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ((), "duban tasks"),
        (("show", "abc"), "abc"),
        (("show",), "NO"),
        (("progress", "1", "--unit", "市发改局"), "--text"),
        (("tasks", "--bogus"), "--bogus"),
        (("tsks",), "tasks"),
        (("show", "1", "2"), "2"),
        (("request", "1", "--unit", "市发改局", "--to"), "--to"),
    ],
)
def test_usage_mistakes_are_one_chinese_line(loaded, args, names):
    before = board(loaded)
    err = one_line_error(loaded(*NOW, *args))
    assert names in err
    assert not any(word in err for word in ("Usage", "Missing", "No such", "Invalid", "Got "))
    assert board(loaded) == before


# --- an explicit --db whose folder does not exist built the folders silently --------------------


def test_db_in_a_missing_folder_is_refused(duban, workdir: Path):
    missing = workdir / "no-such-dir" / "sub"
    err = one_line_error(duban("--db", f"sqlite:///{missing / 'x.db'}", *NOW, "tasks"))
    assert str(workdir / "no-such-dir") in err
    assert not (workdir / "no-such-dir").exists()
    # the file's own folder is still made, as for the default ./var/
    assert duban("--db", f"sqlite:///{workdir / 'fresh' / 'x.db'}", *NOW, "tasks").code == 0
    assert (workdir / "fresh" / "x.db").is_file()
