"""The planner against the naive design of one APScheduler job per reminder.

1. One planner tick over 100,000 generated tasks: in the steady state (everything due already
   sent: what the service sees on every tick of the day) and with 1,000 tasks newly due. Target:
   the nothing-due tick in at most 100 ms. Building the snapshot's indexes is timed apart (the
   service rebuilds the snapshot from the store on every tick).
2. 20,000 tasks: loading them into our store and reading the planner's snapshot, against
   scheduling their 100,000 reminder jobs (5 per task) in APScheduler's SQLAlchemyJobStore on a
   SQLite file. Target: ours at least 20 times faster, the planner's read alone and the store's
   load plus the read. Also timed: re-loading the unchanged file (not a target). Peak memory of
   both (tracemalloc).

Prints figures and ratios; the exit status is 1 when a target is missed.

    .venv/bin/python benchmarks/planner_bench.py [--tasks 100000] [--jobs-tasks 20000]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


from engine.actions.loading import load_plan  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.deadlines.calendar import WorkCalendar  # noqa: E402
from engine.deadlines.deadline import Deadline, DeadlineKind  # noqa: E402
from engine.model.plan import Plan, Section, Task  # noqa: E402
from engine.planner import PlanState, Policy, SentIndex, Snapshot, TaskState, plan_notices  # noqa: E402
from engine.service import read_snapshot  # noqa: E402
from engine.store import open_database  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2025, 6, 10)  # a Tuesday, a working day
MORNING = datetime(2025, 6, 10, 9, 0, tzinfo=TZ)
UNITS = [f"市第{i}局" for i in range(1, 201)]
COORDINATOR = "市督查室"


def generated_tasks(count: int, rng: random.Random, first_no: int = 1) -> list[TaskState]:
    """Tasks over 10 years of deadlines, a tenth completed, a tenth long-term, half reporting."""
    tasks = []
    for n in range(first_no, first_no + count):
        due = date(2021, 1, 1) + timedelta(days=rng.randrange(3650))
        roll = rng.random()
        status = "completed" if roll < 0.1 else "long_term" if roll < 0.2 else "in_progress"
        lead = rng.choice(UNITS)
        reports = {lead: MORNING - timedelta(days=rng.randrange(60))} if rng.random() < 0.5 else {}
        tasks.append(
            TaskState(
                plan_id=f"plan-{n % 50}",
                no=n,
                lead=lead,
                co_units=tuple(rng.sample(UNITS, rng.randrange(4))),
                status=status,
                deadline=Deadline(due.isoformat(), DeadlineKind.DATE, due),
                tracked_since=date(2021, 1, 1),
                last_reports=reports,
            )
        )
    return tasks


def snapshot_of(tasks: list[TaskState]) -> Snapshot:
    plans = [PlanState(f"plan-{i}", COORDINATOR) for i in range(50)]
    return Snapshot(plans, tasks)


def timed(func: Callable[[], Any], runs: int = 5) -> tuple[float, Any]:
    """The median wall time of `runs` calls, and the last result."""
    times, result = all_times(func, runs)
    return statistics.median(times), result


def all_times(func: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return times, result


def peak_memory(func: Callable[[], Any]) -> tuple[float, int]:
    """Wall time and peak traced memory (bytes) of one call."""
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    func()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak


def tick_benchmark(count: int) -> bool:
    rng = random.Random(20210630)
    calendar, policy = WorkCalendar(), Policy()
    tasks = generated_tasks(count, rng)
    build_time, snapshot = timed(lambda: snapshot_of(tasks), runs=3)
    sent = SentIndex()
    # The first tick of the day (a first start: it catches up everything due) fills the outbox.
    first_time, first = timed(lambda: plan_notices(snapshot, MORNING, policy, calendar), runs=1)
    for notice in first:
        for key in notice.keys:
            sent.add(key)
    later = MORNING + timedelta(minutes=1)
    calm_times, calm = all_times(lambda: plan_notices(snapshot, later, policy, calendar, sent), 9)
    calm_time = statistics.median(calm_times)
    # 1,000 more tasks whose T-7 reminder is due today, none sent yet.
    due_soon = [
        TaskState(t.plan_id, t.no, t.lead, t.co_units, "in_progress",
                  Deadline("due", DeadlineKind.DATE, TODAY + timedelta(days=7)),
                  date(2021, 1, 1), t.last_reports)
        for t in generated_tasks(1000, rng, first_no=count + 1)
    ]
    busy = snapshot_of(tasks + due_soon)
    busy_time, busy_notices = timed(lambda: plan_notices(busy, later, policy, calendar, sent))
    busy_tasks = {(n.plan_id, no) for n in busy_notices for no in n.tasks}
    print(f"planner tick over {count:,} tasks ({len(sent):,} keys already sent)")
    print(f"  snapshot indexes built in       {build_time * 1000:8.1f} ms")
    print(f"  first tick (catch-up)           {first_time * 1000:8.1f} ms, {len(first):,} notices")
    print(f"  nothing due                     {calm_time * 1000:8.1f} ms, {len(calm)} notices"
          f"   target <= 100 ms: {'met' if calm_time <= 0.1 else 'MISSED'} "
          f"(median of 9; best {min(calm_times) * 1000:.1f} ms, worst "
          f"{max(calm_times) * 1000:.1f} ms)")
    print(f"  1,000 tasks due                 {busy_time * 1000:8.1f} ms, {len(busy_notices)} "
          f"notices over {len(busy_tasks):,} tasks")
    return calm_time <= 0.1 and not calm and len(busy_tasks) == 1000


def reminder_days(due: date, calendar: WorkCalendar, offsets: tuple[int, ...]) -> list[date]:
    return [calendar.workday_on_or_before(due - timedelta(days=k)) for k in offsets]


def future_plan(count: int) -> Plan:
    """`count` dated tasks over 40 units, due years ahead (APScheduler refuses nothing then: its
    jobs are compared with the real clock)."""
    units = [f"市第{i}局" for i in range(1, 41)]
    return Plan(
        id="bench-plan",
        title="生成的大型分工方案",
        coordinator=COORDINATOR,
        sections=[Section("一", "生成")],
        tasks=[
            Task(n, "一", f"第{n}项任务", "", units[n % 40], [units[(n + 7) % 40]], "",
                 Deadline("生成", DeadlineKind.DATE, date(2040 + n % 5, n % 12 + 1, 28)))
            for n in range(1, count + 1)
        ],
    )


def scratch_folder() -> str | None:
    """Both designs write to the same place: memory-backed when the host has it, so that the
    comparison is not only about fsync."""
    return "/dev/shm" if Path("/dev/shm").is_dir() else None


def jobs_benchmark(task_count: int) -> bool:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger

    plan = future_plan(task_count)
    settings = Settings()
    calendar, policy = WorkCalendar(), Policy()
    offsets = policy.remind_before_days
    loaded_at = datetime(2030, 12, 1, 10, 0, tzinfo=TZ)
    reminders = [
        (task.no, k, datetime.combine(day, policy.send_at, TZ))
        for task in plan.tasks
        if task.deadline.due
        for k, day in zip(offsets, reminder_days(task.deadline.due, calendar, offsets), strict=True)
    ]

    def load(folder: str) -> None:
        db = open_database(f"sqlite:///{folder}/duban.db")
        try:
            load_plan(db, plan, settings, loaded_at)
        finally:
            db.close()

    def reload(folder: str) -> None:
        """The same file again a day later: every task compared, nothing written."""
        db = open_database(f"sqlite:///{folder}/duban.db")
        try:
            report = load_plan(db, plan, settings, loaded_at + timedelta(days=1))
            assert len(report.unchanged) == task_count
        finally:
            db.close()

    def read(folder: str) -> None:
        db = open_database(f"sqlite:///{folder}/duban.db")
        try:
            with db.read() as session:
                snapshot = read_snapshot(session, settings)
            assert len(snapshot.tasks) == task_count
        finally:
            db.close()

    def naive(folder: str) -> None:
        store = SQLAlchemyJobStore(url=f"sqlite:///{folder}/jobs.db")
        scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=TZ)
        scheduler.start(paused=True)  # each job goes to the store at once; none runs
        try:
            for no, k, moment in reminders:
                scheduler.add_job(print, DateTrigger(moment), args=[f"{plan.id}:{no}:T-{k}"],
                                  id=f"{plan.id}:{no}:T-{k}", misfire_grace_time=None)
        finally:
            scheduler.shutdown(wait=False)

    def measure(memory: bool) -> dict[str, float]:
        with tempfile.TemporaryDirectory(prefix="duban-bench-", dir=scratch_folder()) as folder:
            run = (lambda f: peak_memory(lambda: f(folder))[1]) if memory else (
                lambda f: timed(lambda: f(folder), runs=1)[0])
            return {"load": run(load), "reload": run(reload), "read": run(read),
                    "naive": run(naive)}

    t = measure(memory=False)
    m = measure(memory=True)
    mib = 2**20
    print(f"{task_count:,} tasks against {len(reminders):,} APScheduler reminder jobs "
          f"(SQLAlchemyJobStore; SQLite files in {scratch_folder() or tempfile.gettempdir()})")
    for name, label, note in (
        ("load", "load the tasks into our store", "   (both designs store the tasks)"),
        ("reload", "load the unchanged file again", "   (a restart, a re-load)"),
        ("read", "read them into the planner", ""),
        ("naive", "schedule one job per reminder", ""),
    ):
        print(f"  {label:<32}{t[name]:8.2f} s   peak {m[name] / mib:7.1f} MiB{note}")
    planner_ratio = t["naive"] / t["read"]
    whole_ratio = t["naive"] / (t["load"] + t["read"])
    print(f"  ratio: the planner's load is {planner_ratio:.1f}x faster than scheduling the jobs "
          f"(target >= 20x: {'met' if planner_ratio >= 20 else 'MISSED'});")
    print(f"         store + planner load {whole_ratio:.1f}x faster "
          f"(target >= 20x: {'met' if whole_ratio >= 20 else 'MISSED'}); peak memory, jobs "
          f"against planner: {m['naive'] / m['read']:.2f}x, against the load: "
          f"{m['naive'] / m['load']:.2f}x")
    return planner_ratio >= 20 and whole_ratio >= 20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--jobs-tasks", type=int, default=20_000)
    parser.add_argument("--only", choices=["tick", "jobs"], help="run one of the two parts")
    args = parser.parse_args()
    ok = True
    if args.only in (None, "tick"):
        ok = tick_benchmark(args.tasks) and ok
    if args.only in (None, "jobs"):
        ok = jobs_benchmark(args.jobs_tasks) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
