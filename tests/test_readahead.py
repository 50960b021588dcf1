"""Plan files read in a forked child, one ahead of the command storing them (engine.readahead):
the same plans, in order, and the same errors as reading them in the command; read in another
process indeed; and read in the command when the child dies."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support.plans import small_plan, write_small_plan

from engine import readahead
from engine.errors import UserError
from engine.planfile import read_plan
from engine.readahead import ReadAhead

_HOLD, _RELEASE = os.pipe()
"""A byte written to _RELEASE lets one `hold` file's reading go on (the fork shares the pipe; a
reader killed while it waits takes nothing with it, unlike a multiprocessing.Event's waiter)."""


def _pid_of_reader(path: Path) -> int:
    """Stands in for read_plan: the id of the process that read `path`; a file whose name says
    `hold` waits until a byte is released (at most 10 s)."""
    if "hold" in path.name:
        ready, _, _ = select.select([_HOLD], [], [], 10)
        assert ready
        os.read(_HOLD, 1)
    return os.getpid()


def _files(folder: Path, count: int) -> list[Path]:
    return [
        write_small_plan(folder / f"plan-{n}.yaml", small_plan(f"plan-{n}")) for n in range(count)
    ]


def test_each_file_comes_back_in_order_as_reading_it_here_gives(tmp_path):
    paths = _files(tmp_path, 4)
    with ReadAhead(paths, child=True) as plans:
        got = [(path, plan_of()) for path, plan_of in plans]
    assert [path for path, _ in got] == paths
    assert [plan for _, plan in got] == [read_plan(path) for path in paths]


def test_the_files_are_read_in_another_process(tmp_path, monkeypatch):
    monkeypatch.setattr(readahead, "read_plan", _pid_of_reader)
    paths = _files(tmp_path, 2)
    with ReadAhead(paths, child=True) as plans:
        readers = {plan_of() for _, plan_of in plans}
    assert len(readers) == 1 and os.getpid() not in readers
    with ReadAhead(paths, child=False) as plans:  # and here when told
        assert {plan_of() for _, plan_of in plans} == {os.getpid()}


def test_one_file_alone_is_read_in_a_child_where_one_helps(tmp_path, monkeypatch):
    # read while the command imports what storing it needs (the default, as `duban load` uses it)
    monkeypatch.setattr(readahead, "read_plan", _pid_of_reader)
    helps = readahead.child_helps()
    with ReadAhead(_files(tmp_path, 1)) as plans:
        ((_, plan_of),) = plans
        reader = plan_of()
    assert (reader != os.getpid()) is helps


def test_a_file_that_cannot_be_read_raises_what_reading_it_here_raises(tmp_path):
    good, bad = _files(tmp_path, 2)
    bad.write_text("plan:\n  id: [unclosed\n", encoding="utf-8")
    with pytest.raises(UserError) as here:
        read_plan(bad)
    with ReadAhead([good, bad], child=True) as plans:
        (_, first), (_, second) = plans
        assert first() == read_plan(good)
        with pytest.raises(UserError) as there:
            second()
    assert str(there.value) == str(here.value)
    assert str(bad) in str(there.value)


def test_when_the_child_dies_the_file_is_read_here(tmp_path, monkeypatch):
    monkeypatch.setattr(readahead, "read_plan", _pid_of_reader)
    first, held = _files(tmp_path, 2)
    held = held.rename(tmp_path / "plan-hold.yaml")
    with ReadAhead([first, held], child=True) as plans:
        (_, first_of), (_, held_of) = plans
        child = first_of()
        assert child != os.getpid()
        os.kill(child, signal.SIGKILL)  # while it waits inside the second file
        os.write(_RELEASE, b"xx")  # two: whether or not the dying child took one
        assert held_of() == os.getpid()


def test_without_a_child_to_be_had_the_files_are_read_here(tmp_path, monkeypatch):
    # a system without working semaphores (no /dev/shm) cannot make the pool: not an error
    import concurrent.futures

    def no_semaphores(*_: object, **__: object) -> None:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_semaphores)
    monkeypatch.setattr(readahead, "read_plan", _pid_of_reader)
    with ReadAhead(_files(tmp_path, 2), child=True) as plans:
        assert {plan_of() for _, plan_of in plans} == {os.getpid()}


def test_no_child_is_forked_while_another_thread_runs():
    # a fork copies only the forking thread: a lock another one held would stay locked
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not readahead.child_helps()
    finally:
        stop.set()
        other.join()


_MADE_WHILE_READING = """
import os, select, sys
from pathlib import Path
from engine import readahead
from engine.cli import context
from engine.cli.main import main

opened_r, opened_w = os.pipe()
read_plan, open_database = readahead.read_plan, context.AppContext._open_database
seen = []

def read_once_opened(path):
    # in the child: the file is read once the command has opened its database (at most 10 s)
    ready, _, _ = select.select([opened_r], [], [], 10)
    assert ready, "the reading was never released"
    return read_plan(path)

def open_then_release(self):
    database = open_database(self)
    seen.append(Path(sys.argv[1]).is_file())
    os.write(opened_w, b"x")
    return database

readahead.read_plan = read_once_opened
context.AppContext._open_database = open_then_release
code = main(["--db", "sqlite:///" + sys.argv[1], "--now", "2021-06-10T09:00:00+08:00",
             "load", sys.argv[2]])
print(readahead.child_helps(), code or 0, *seen)
"""


def test_duban_load_makes_its_database_while_the_child_still_reads(tmp_path):
    # The child's reading waits until the database has been opened (a fresh one made): were the
    # database opened only once the plan is taken, the reading would never be released. In a
    # fresh interpreter, as `duban load` starts (one thread: the child is forked).
    plan = write_small_plan(tmp_path / "plan.yaml", small_plan("p"))
    done = subprocess.run(
        [sys.executable, "-c", _MADE_WHILE_READING, str(tmp_path / "d.db"), str(plan)],
        capture_output=True, text=True, timeout=60,
    )
    said = done.stdout.splitlines()[-1].split() if done.stdout.strip() else []
    if said[:1] == ["False"]:
        pytest.skip("no child is forked on one CPU")
    assert said == ["True", "0", "True"], done.stderr[-2000:]
