"""A simulated province: N tasks across N // 5,000 plans (1,000,000 over 200 at full size), timed
as the `duban` command a person or cron runs, beside the naive APScheduler design.

For each size: the plan files are generated from the seed's tasks (workflows/zhuhai-gba-legal-
services.yaml) with their numbers and due dates varied, so that 1% of the tasks have a reminder on
the measured day and the rest are due more than a year away. Then, each as a process (start-up
included), timed from start to exit with its peak RSS (wait4):

- `duban load` of every plan file in one command: target 6 s per 20,000 tasks (linear);
- the first `run --once` after loading (it sends each plan's weekly digest): shown, no target;
- an idle pass the next working day, `duban --now <a day with nothing due> run --once`:
  target ≤ 1 s;
- a 1%-due pass, `duban --now <the day> run --once`, notices written by the file channel to a
  temporary folder: target ≤ 5 s. Its outbox is checked first: N/100 tasks reminded, or no figure;
- the 1%-due pass split, in-process on a copy of the database as it stood before that pass:
  the planning (read what is due, decide, enqueue: target ≤ 5 s, the pass the planner owes)
  and the sending of what it queued (the dispatcher's throughput, notices a second);
- the inner part: the planner's pass alone (plan_and_enqueue) in a process of its own, timed
  in-process without start-up, nothing new to plan each time: on the due day again (its 1% all
  sent), on the next working day (nothing due) reading what the last pass's mark allows, and on
  that day reading every task (the mark deleted: what each pass cost before engine.planner.delta);
  the peak memory shown is that whole process's.

The service's config sets an empty plan folder, so that `run --once` times the pass, not a reading
of the plan files; units have no contacts, so every notice goes by the file channel and the
coordinator gets the missing-contact report, as on a fresh install.

The naive design for comparison: APScheduler 3 with a SQLAlchemyJobStore on the same kind of
database, one job per reminder (T-30, T-7, T-3, T-1 and the due day: 5 per task), in a process of
its own: the time to add the jobs, and the start-up of a scheduler on that job store
(start(paused=True), then shutdown). A run over the cap (600 s) is reported as not finished.

The ratios are figure / target (≤ 1.00 meets it); the naive line gives duban load / naive adding.
The targets are stated at 1M (issue 12); smaller sizes show the trend. The exit status is 1 when a
target is missed.

    .venv/bin/python benchmarks/scale_bench.py [--sizes 10000,100000] [--db sqlite|postgres]
        [--cap 600] [--naive-max 100000]

PostgreSQL (the default when DUBAN_BENCH_POSTGRES_URL or DUBAN_TEST_POSTGRES_URL names a server):
each size gets a scratch database of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from engine.deadlines.deadline import Deadline, DeadlineKind  # noqa: E402
from engine.model.plan import Plan, Task  # noqa: E402
from engine.planfile import read_plan, write_plan  # noqa: E402

SEED_PLAN = REPO / "workflows" / "zhuhai-gba-legal-services.yaml"
ZONE = ZoneInfo("Asia/Shanghai")
TASKS_PER_PLAN = 5000
# A week in the quiet part of the month: not between the progress notice (five working days
# before the 25th) and the report day. Loaded on Monday, with a first pass that day (the week's
# digest for each plan, which a first pass after loading always catches up: setup, not a target);
# idle on Tuesday; the 1% due have their T-30 reminder on Wednesday (due 31 days after Tuesday).
LOAD_AT = datetime(2025, 3, 10, 9, 30, tzinfo=ZONE)
FIRST_AT = datetime(2025, 3, 10, 10, 0, tzinfo=ZONE)
IDLE_AT = datetime(2025, 3, 11, 10, 0, tzinfo=ZONE)
DUE_AT = datetime(2025, 3, 12, 10, 0, tzinfo=ZONE)
DUE_DAY = DUE_AT.date()
AFTER_AT = datetime(2025, 3, 13, 10, 0, tzinfo=ZONE)  # nothing due: the inner idle pass
IDLE_TARGET, DUE_TARGET = 1.0, 5.0
LOAD_TARGET_PER_TASK = 6.0 / 20_000
NAIVE_OFFSETS = (30, 7, 3, 1, 0)
SERVER_VARIABLES = ("DUBAN_BENCH_POSTGRES_URL", "DUBAN_TEST_POSTGRES_URL")
_SCRIPT = Path(sys.executable).with_name("duban")
# The console script is what a person runs; fall back to the module in a bare checkout.
DUBAN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "engine"]


class Run(NamedTuple):
    seconds: float
    peak_mb: float
    finished: bool
    code: int
    stdout: str = ""
    stderr: str = ""


def measure(command: list[str], cap: float, cwd: Path | None = None) -> Run:
    """Run `command` as a child, timed start to exit; its peak RSS from wait4; killed at `cap`."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [
        threading.Thread(target=lambda s=stream, b=buf: b.append(s.read()), daemon=True)
        for stream, buf in ((child.stdout, out), (child.stderr, err))
    ]
    for reader in readers:
        reader.start()
    timer = threading.Timer(cap, lambda: os.killpg(child.pid, signal.SIGKILL))
    timer.start()
    try:
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        timer.cancel()
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    child.returncode = code
    for reader in readers:
        reader.join()
    return Run(
        seconds,
        usage.ru_maxrss / 1024,  # KiB on Linux
        finished=seconds < cap and code != -signal.SIGKILL,
        code=code,
        stdout=b"".join(out).decode(errors="replace"),
        stderr=b"".join(err).decode(errors="replace"),
    )


# --- the province --------------------------------------------------------------------------


def due_of(index: int) -> date:
    """1 task in 100 has its T-30 reminder on DUE_DAY; the rest are due over a year away."""
    if index % 100 == 0:
        return DUE_DAY + timedelta(days=30)
    return DUE_DAY + timedelta(days=400 + index % 500)


def seed_tasks(seed: Plan, count: int, due: Callable[[int], date], first: int = 0) -> list[Task]:
    """Tasks 1 … `count` from the seed's tasks in turn, the n-th due on `due(first + n - 1)`."""
    out = []
    for n in range(1, count + 1):
        source = seed.tasks[(n - 1) % len(seed.tasks)]
        day = due(first + n - 1)
        out.append(
            replace(
                source,
                no=n,
                label=None,
                title=f"{source.title}（第{n}项）",
                deadline=Deadline(
                    f"{day.year}年{day.month}月{day.day}日前", DeadlineKind.DATE, day
                ),
            )
        )
    return out


def compile_bytecode() -> None:
    """Compile the checkout's modules, as an installed duban has them.

    `pip install .` (the README's command) writes the bytecode of what it installs. The editable
    checkout the benchmarks run has none until Python writes it at first import, and under
    PYTHONDONTWRITEBYTECODE (set on some machines) it never does: every `duban` would compile
    every module it imports again, ~0.1 s a start that no installed duban pays."""
    import compileall

    compileall.compile_dir(REPO / "engine", quiet=1, force=False)


def children_cpu() -> float:
    """The CPU seconds (user and system) of every child process waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_floor(cap: float, lead: str = "") -> None:
    """Print the machine (CPUs, load average) and the CLI's start-up floor (`duban --version`),
    with the checkout's bytecode compiled first."""
    compile_bytecode()
    print(f"{lead}{os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at start")
    floor = min(measure([*DUBAN, "--version"], cap).seconds for _ in range(3))
    print(f"duban --version (CLI start-up floor): {floor:.2f} s")


def write_province(folder: Path, tasks: int) -> list[Path]:
    """`tasks` tasks over max(1, tasks // 5000) plan files, from the seed's tasks."""
    seed = read_plan(SEED_PLAN)
    plans = max(1, tasks // TASKS_PER_PLAN)
    paths, index = [], 0
    for p in range(plans):
        size = tasks // plans + (1 if p < tasks % plans else 0)
        generated = seed_tasks(seed, size, due_of, first=index)
        index += size
        plan = replace(
            seed,
            id=f"province-{p + 1:03d}",
            title=f"{seed.title}（第{p + 1}批）",
            tasks=generated,
            source=None,
            warnings=[],
        )
        path = folder / f"province-{p + 1:03d}.yaml"
        write_plan(plan, path)
        paths.append(path)
    return paths


def expected_due(tasks: int) -> int:
    return sum(1 for i in range(tasks) if i % 100 == 0)


# --- databases -----------------------------------------------------------------------------


def server_url() -> str | None:
    return next((os.environ[v] for v in SERVER_VARIABLES if os.environ.get(v)), None)


@contextmanager
def scratch(kind: str, folder: Path, prefix: str) -> Iterator[str]:
    """A fresh database: a SQLite file in `folder`, or a PostgreSQL database dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / (prefix + '.db')}"
        return
    from support.postgres import database_on

    server = server_url()
    assert server
    with database_on(server, prefix) as url:
        yield url


@contextmanager
def copy_of(kind: str, url: str, folder: Path, prefix: str) -> Iterator[str]:
    """A copy of the database at `url` (nothing connected to it), dropped afterwards."""
    if kind == "sqlite":
        import sqlite3

        target = folder / f"{prefix}.db"
        with sqlite3.connect(url.removeprefix("sqlite:///")) as source, sqlite3.connect(
            target
        ) as copy:
            source.backup(copy)
        try:
            yield f"sqlite:///{target}"
        finally:
            target.unlink()
        return
    from sqlalchemy.engine import make_url
    from support.postgres import database_on

    server = server_url()
    assert server
    with database_on(server, prefix, template=make_url(url).database) as copied:
        yield copied


def outbox_counts(url: str) -> tuple[int, int]:
    """(outbox rows, tasks reminded: the distinct tasks of the reminder notices)."""
    from sqlalchemy import NullPool, create_engine, text

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
            reminded = set()
            for plan, listed in conn.execute(
                text("SELECT plan_id, tasks FROM outbox WHERE kind = 'reminder'")
            ):
                for no in json.loads(listed) if isinstance(listed, str) else listed:
                    reminded.add((plan, no))
    finally:
        engine.dispose()
    return rows, len(reminded)


# --- the duban side --------------------------------------------------------------------------


def write_config(folder: Path, url: str) -> Path:
    """The file channel only, into `folder`/outbox; an empty plan folder, so that `run --once`
    times the pass and not a reading of the plan files (loaded by `duban load`)."""
    (folder / "no-plans").mkdir()
    (folder / "outbox").mkdir()
    config = folder / "duban.toml"
    config.write_text(
        f"[database]\nurl = {json.dumps(url)}\n\n"
        '[service]\ntimezone = "Asia/Shanghai"\nplans_dir = "no-plans"\nlog_level = "WARNING"\n\n'
        f"[channels.file]\ndir = {json.dumps(str(folder / 'outbox'))}\n",
        encoding="utf-8",
    )
    return config


def duban(config: Path, now: datetime, *args: str) -> list[str]:
    return [*DUBAN, "--config", str(config), "--now", now.isoformat(), *args]


INNER_PASS = """
import sys, time
from datetime import datetime
sys.path.insert(0, {repo!r})
from engine.config import load_settings
from sqlalchemy import delete
from engine.service import make_calendar, make_policy, plan_and_enqueue
from engine.store import open_database
from engine.store.revision import PlanningMarkRecord
settings = load_settings({config!r})
db = open_database({url!r})
calendar, policy = make_calendar(settings), make_policy(settings)
if {every!r}:  # without the mark, a pass reads every task (as before engine.planner.delta)
    with db.transaction() as session:
        session.execute(delete(PlanningMarkRecord))
started = time.perf_counter()
planned = plan_and_enqueue(db, settings, datetime.fromisoformat({now!r}), calendar, policy)
print(time.perf_counter() - started, len(planned))
"""
INNER_DUE = """
import sys, time
from datetime import datetime, timedelta
sys.path.insert(0, {repo!r})
from engine.config import load_settings
from engine.notify.dispatcher import dispatch_due
from engine.service import make_calendar, make_policy, plan_and_enqueue
from engine.store import open_database
settings = load_settings({config!r})
db = open_database({url!r})
calendar, policy = make_calendar(settings), make_policy(settings)
now = datetime.fromisoformat({now!r})
started = time.perf_counter()
planned = plan_and_enqueue(db, settings, now, calendar, policy)
planning = time.perf_counter() - started
started = time.perf_counter()
sent = dispatch_due(db, settings, now + timedelta(minutes=1))
print(planning, len(planned), time.perf_counter() - started, sent.sent)
"""
"""The 1%-due pass split in two, on a copy of the database as it stood before that pass: the
planner's part (read what is due, decide, enqueue), then the sending of what it queued."""
INNER_PASSES = (("due day again", False), ("next day, idle", False),
                ("next day, every task read", True))
"""The inner passes, in this order: the due day again (its 1% all sent), the next working day
(nothing due) reading what the mark allows, and that day again reading every task."""


class Figures:
    # a plain class: the benchmarks' import test loads this module without registering it,
    # which dataclasses cannot handle
    def __init__(self, load: Run) -> None:
        self.load = load
        self.first: Run | None = None
        self.idle: Run | None = None
        self.due: Run | None = None
        self.due_tasks = 0
        self.split: tuple[Run, Run, int, int] | None = None
        """The 1%-due pass in-process on a copy: planning, sending, notices planned and sent."""
        self.inner: list[Run] = []
        """The planner's pass alone, in-process (read every task, decide, nothing new), on the
        idle day and on the due day."""


def measure_duban(
    kind: str, url: str, folder: Path, plans: list[Path], tasks: int, cap: float
) -> Figures:
    config = write_config(folder, url)
    # every plan file in one command, as a person loads a province (duban load plans/*.yaml)
    run = measure(duban(config, LOAD_AT, "load", *map(str, plans)), cap, cwd=folder)
    if not run.finished or run.code:
        return Figures(run)
    figures = Figures(run)
    figures.first = measure(duban(config, FIRST_AT, "run", "--once"), cap, cwd=folder)
    _check(figures.first, "first pass")
    before, reminded = outbox_counts(url)
    # the week's digest of each plan, nothing else
    assert reminded == 0 and before == len(plans), (before, reminded)
    figures.idle = measure(duban(config, IDLE_AT, "run", "--once"), cap, cwd=folder)
    _check(figures.idle, "idle pass")
    after, reminded = outbox_counts(url)
    assert (after, reminded) == (before, 0), (before, after, reminded)
    # the same pass split into planning and sending, in-process on a copy (INNER_DUE)
    (folder / "split").mkdir()
    with copy_of(kind, url, folder, "scale_split") as copied:
        split = measure([sys.executable, "-c", INNER_DUE.format(
            repo=str(REPO), config=str(write_config(folder / "split", copied)), url=copied,
            now=DUE_AT.isoformat())], cap, cwd=folder)
    _check(split, "the split due pass")
    if split.finished:
        planning, planned, sending, sent = split.stdout.split()
        figures.split = (split._replace(seconds=float(planning)),
                         split._replace(seconds=float(sending)), int(planned), int(sent))
    figures.due = measure(duban(config, DUE_AT, "run", "--once"), cap, cwd=folder)
    _check(figures.due, "1%-due pass")
    rows, figures.due_tasks = outbox_counts(url)
    wanted = expected_due(tasks)
    assert figures.due_tasks == wanted, (figures.due_tasks, wanted)
    assert rows > after, (rows, after)
    written = sum(1 for _ in (folder / "outbox").rglob("*") if _.is_file())
    assert written >= figures.due_tasks / TASKS_PER_PLAN, written
    # the inner part the passes optimise, nothing new to plan (INNER_PASSES)
    for at, every in ((DUE_AT, False), (AFTER_AT, False), (AFTER_AT, True)):
        script = INNER_PASS.format(repo=str(REPO), config=str(config), url=url,
                                   now=at.isoformat(), every=every)
        run = measure([sys.executable, "-c", script], cap, cwd=folder)
        _check(run, "planner pass in-process")
        if run.finished:
            seconds, planned = run.stdout.split()
            assert planned == "0", planned
            run = run._replace(seconds=float(seconds))
        figures.inner.append(run)
    return figures


def _check(run: Run, what: str) -> None:
    if run.finished and run.code:
        raise SystemExit(f"{what} failed ({run.code}):\n{run.stderr[-2000:]}")


# --- the naive design ------------------------------------------------------------------------

NAIVE_ADD = """
import sys, time
from datetime import date, datetime, time as clock, timedelta
from zoneinfo import ZoneInfo
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
def due_of(index):  # as the benchmark's own
    if index % 100 == 0:
        return date({due.year}, {due.month}, {due.day}) + timedelta(days=30)
    return date({due.year}, {due.month}, {due.day}) + timedelta(days=400 + index % 500)
zone = ZoneInfo("Asia/Shanghai")
scheduler = BackgroundScheduler(jobstores={{"default": SQLAlchemyJobStore(url={url!r})}},
                                timezone=zone)
scheduler.start(paused=True)
started = time.perf_counter()
for index in range({tasks}):
    due = due_of(index)
    plan, no = index // {per_plan} + 1, index % {per_plan} + 1
    for before in {offsets!r}:
        day = due - timedelta(days=before)
        scheduler.add_job("builtins:print", "date", id=f"{{plan}}-{{no}}-T{{before}}",
                          run_date=datetime.combine(day, clock(9), zone),
                          args=[plan, no, before], misfire_grace_time=None)
print(time.perf_counter() - started)
scheduler.shutdown(wait=False)
"""

NAIVE_START = """
import time
from zoneinfo import ZoneInfo
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
started = time.perf_counter()
scheduler = BackgroundScheduler(jobstores={{"default": SQLAlchemyJobStore(url={url!r})}},
                                timezone=ZoneInfo("Asia/Shanghai"))
scheduler.start(paused=True)
scheduler.shutdown(wait=False)
print(time.perf_counter() - started)
"""


def naive_jobs(url: str) -> int:
    from sqlalchemy import NullPool, create_engine, text

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM apscheduler_jobs")).scalar_one()
    finally:
        engine.dispose()


def measure_naive(url: str, tasks: int, cap: float) -> tuple[Run, Run | None]:
    per_plan = TASKS_PER_PLAN if tasks >= TASKS_PER_PLAN else tasks
    script = NAIVE_ADD.format(
        due=DUE_DAY, url=url, tasks=tasks, per_plan=per_plan, offsets=NAIVE_OFFSETS
    )
    add = measure([sys.executable, "-c", script], cap, cwd=REPO)
    if not add.finished:
        return add, None
    _check(add, "naive: adding the jobs")
    jobs = naive_jobs(url)
    assert jobs == tasks * len(NAIVE_OFFSETS), (jobs, tasks)
    start = measure([sys.executable, "-c", NAIVE_START.format(url=url)], cap, cwd=REPO)
    _check(start, "naive: scheduler start-up")
    return add, start


# --- report --------------------------------------------------------------------------------


def line(what: str, run: Run | None, target: float | None, cap: float) -> bool:
    """Print one figure; False when a target is missed."""
    if run is None:
        print(f"  {what:34} not run")
        return True
    if not run.finished:
        print(f"  {what:34} did not finish within {cap:.0f} s")
        return target is None
    tail = ""
    ok = True
    if target is not None:
        ok = run.seconds <= target
        tail = (
            f"  target {target:6.1f} s  ratio {run.seconds / target:5.2f}  "
            f"{'ok' if ok else 'MISSED'}"
        )
    print(f"  {what:34} {run.seconds:8.2f} s  peak {run.peak_mb:7.0f} MB{tail}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="task counts, comma-separated")
    parser.add_argument(
        "--db", choices=("sqlite", "postgres"), default="postgres" if server_url() else "sqlite"
    )
    parser.add_argument("--cap", type=float, default=600.0, help="seconds before a run is cut")
    parser.add_argument(
        "--naive-max", type=int, default=100_000, help="largest size the naive design is tried at"
    )
    args = parser.parse_args()
    if args.db == "postgres" and not server_url():
        parser.error(f"--db postgres needs {' or '.join(SERVER_VARIABLES)}")
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    machine_floor(args.cap, lead=f"database: {args.db}; ")
    ok = True
    for tasks in sizes:
        plans = max(1, tasks // TASKS_PER_PLAN)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "plans").mkdir()
            started = time.perf_counter()
            paths = write_province(folder / "plans", tasks)
            written = time.perf_counter() - started
            print(f"\n{tasks:,} tasks over {plans} plans (plan files written in {written:.1f} s, "
                  "setup, not a target)")
            with scratch(args.db, folder, "scale_duban") as url:
                figures = measure_duban(args.db, url, folder, paths, tasks, args.cap)
            load_target = LOAD_TARGET_PER_TASK * tasks
            ok &= line(f"duban load, {plans} files", figures.load, load_target, args.cap)
            line("first pass after load (digests)", figures.first, None, args.cap)
            ok &= line("idle pass (run --once)", figures.idle, IDLE_TARGET, args.cap)
            if figures.due is not None:
                ok &= line(f"1%-due pass ({figures.due_tasks} tasks reminded)", figures.due,
                           DUE_TARGET, args.cap)
            if figures.split is not None:
                planning, sending, planned, sent = figures.split
                ok &= line(f"inner: planning the 1% ({planned} notices)", planning, DUE_TARGET,
                           args.cap)
                line(f"inner: sending them ({sent} sent)", sending, None, args.cap)
                if sending.seconds:
                    print(f"  {'  notices a second':34} {sent / sending.seconds:8.0f}")
            for (day, every), inner in zip(INNER_PASSES, figures.inner, strict=False):
                # reading every task is what a pass cost before engine.planner.delta: beside
                # the others for comparison, with no target of its own
                line(f"inner: planner pass, {day}", inner, None if every else IDLE_TARGET,
                     args.cap)
            if tasks > args.naive_max:
                print(f"  naive APScheduler                  not tried (> {args.naive_max:,})")
                continue
            with scratch(args.db, folder, "scale_naive") as url:
                add, start = measure_naive(url, tasks, args.cap)
            jobs = tasks * len(NAIVE_OFFSETS)
            line(f"naive: add {jobs:,} jobs", add, None, args.cap)
            line("naive: scheduler start-up", start, None, args.cap)
            if add.finished and figures.load.finished:
                ratio = figures.load.seconds / add.seconds
                print(f"  ratio duban load / naive adding    {ratio:8.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
