"""A command that fails on its arguments or its configuration leaves nothing behind.

Not a database file, not its `var/` folder: the settings and every argument are checked before
the database is made, and a new database a command refused after reading is removed again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.plans import write_small_plan

NOW = ("--now", "2021-06-10T09:00:00+08:00")


def contents(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(
    "args",
    [
        ("--config", "missing.toml", "tasks"),
        ("--db", "sqlite:///var/other.db", "--config", "missing.toml", "tasks"),
        ("--db", "sqlite:///var/other.db", "--config", "missing.toml", "requests"),
        ("--now", "明天", "tasks"),
        ("tasks", "--status", "finished"),
        ("tasks", "--plan", "nope"),
        ("tasks", "--unit", "市公安局"),
        ("outbox", "--status", "bogus"),
        ("progress", "1", "--unit", "市发改局", "--text", "已起草"),
        ("extend", "1", "--unit", "市发改局", "--until", "明年", "--reason", "r"),
        ("request", "1", "--unit", "市发改局", "--to", "finished", "--reason", "r"),
        ("stats", "--plan", "nope"),
        ("export", "--format", "pdf", "-o", "台账.pdf"),
        ("load", "missing.yaml"),
    ],
)
def test_a_refused_command_in_an_empty_folder_leaves_it_empty(duban, workdir, args):
    result = duban(*args)
    assert result.code == 2, (result.out, result.err)
    assert result.err.startswith("duban: ") and result.err.count("\n") == 1
    assert contents(workdir) == []


def test_a_bad_config_value_creates_nothing_but_is_named(duban, workdir):
    (workdir / "duban.toml").write_text('[service]\ntick_seconds = "fast"\n', encoding="utf-8")
    result = duban("--config", "duban.toml", *NOW, "tasks")
    assert result.code == 2 and "service.tick_seconds" in result.err
    assert contents(workdir) == ["duban.toml"]


def test_missing_config_from_the_environment_creates_nothing(duban, workdir, monkeypatch):
    monkeypatch.setenv("DUBAN_CONFIG", "nowhere/duban.toml")
    assert duban("tasks").code == 2
    assert contents(workdir) == []


def test_an_existing_folder_is_kept_when_only_the_file_was_new(duban, workdir):
    (workdir / "var" / "outbox").mkdir(parents=True)
    assert duban(*NOW, "tasks", "--plan", "nope").code == 2
    assert contents(workdir) == ["var", "var/outbox"]


def test_a_database_that_holds_something_is_never_removed(duban, workdir):
    write_small_plan(workdir / "plan.yaml")
    assert duban(*NOW, "load", "plan.yaml").code == 0
    before = (workdir / "var" / "duban.db").stat().st_size
    assert duban(*NOW, "tasks", "--plan", "nope").code == 2
    assert duban(*NOW, "tasks", "--status", "finished").code == 2
    assert (workdir / "var" / "duban.db").stat().st_size == before
    assert duban(*NOW, "tasks", "--json").code == 0


def test_a_command_that_succeeds_still_makes_the_database(duban, workdir):
    assert duban(*NOW, "requests").code == 0
    assert (workdir / "var" / "duban.db").is_file()



def test_a_plan_file_refused_leaves_no_database_though_it_was_opened_meanwhile(duban, workdir):
    # `duban load` opens (makes) the database while its child still reads the file: a file then
    # refused (here, for its tasks' status) leaves the folder as it was, with the reason.
    write_small_plan(workdir / "plan.yaml")
    text = (workdir / "plan.yaml").read_text(encoding="utf-8")
    (workdir / "bad.yaml").write_text(text.replace("status: not_started", "status: 办结"),
                                      encoding="utf-8")
    result = duban(*NOW, "load", "bad.yaml")
    assert result.code == 2 and "bad.yaml" in result.err and result.err.count("\n") == 1
    assert contents(workdir) == ["bad.yaml", "plan.yaml"]
    assert duban(*NOW, "load", "plan.yaml").code == 0
    assert "var/duban.db" in contents(workdir)
