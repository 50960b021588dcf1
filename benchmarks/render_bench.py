"""What writing notices costs on a large plan: the weekly digest of a plan of 5,000 and of 20,000
tasks, and rendering N notices from it, as `duban` processes beside the inner parts (issue 12).

For each size, one plan file from the seed's tasks (workflows/zhuhai-gba-legal-services.yaml),
loaded in January and left without reports, so that on the digest day (a Monday in March) every
open task owes its monthly report; 1% of the tasks are overdue, the rest due over a year away.

End to end, each a process timed from start to exit with its peak RSS (wait4):
- the first `run --once` on the digest day: the week's digest (read and sent) and the overdue
  notices of the 1%;
- `run --once` the next day with N reminders already queued (5 tasks each): the pass sends them.
  It should cost what the N notices cost, whatever the plan's size.

The inner part, in a process of its own, timed in-process (no start-up):
- `digest_of` (the aggregate and column queries the service runs) beside the whole snapshot
  the figures read (`digest_content(snapshot_of(...))`), with the share of tracemalloc's peak;
- rendering N notices (context from the store, then the text and HTML bodies, or the WeCom
  messages) through one StoreView, as a dispatch batch does.

No targets: the figures and the ratios 20,000 / 5,000 (1.00 = does not grow with the plan; the
digest reads the open tasks' leads, so about 4 is linear).

    .venv/bin/python benchmarks/render_bench.py [--sizes 5000,20000] [--notices 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from scale_bench import Run, duban, measure, seed_tasks, write_config  # noqa: E402

from engine.planfile import read_plan, write_plan  # noqa: E402

SEED_PLAN = REPO / "workflows" / "zhuhai-gba-legal-services.yaml"
ZONE = ZoneInfo("Asia/Shanghai")
LOAD_AT = datetime(2025, 1, 6, 9, 30, tzinfo=ZONE)
DIGEST_AT = datetime(2025, 3, 10, 10, 0, tzinfo=ZONE)  # a Monday; the report period (1-25, 2-25]
NEXT_AT = datetime(2025, 3, 11, 10, 0, tzinfo=ZONE)
PLAN_ID = "render-bench"
PER_NOTICE = 5
CAP = 600.0


def due_of(index: int) -> date:
    """1 task in 100 overdue on the digest day; the rest due over a year away."""
    if index % 100 == 0:
        return DIGEST_AT.date() - timedelta(days=3 + index % 40)
    return DIGEST_AT.date() + timedelta(days=400 + index % 500)


def write_plan_file(folder: Path, tasks: int) -> Path:
    seed = read_plan(SEED_PLAN)
    generated = seed_tasks(seed, tasks, due_of)
    plan = replace(seed, id=PLAN_ID, tasks=generated, source=None, warnings=[])
    path = folder / f"{PLAN_ID}.yaml"
    write_plan(plan, path)
    return path


QUEUE = """
import sys
from datetime import datetime
sys.path.insert(0, {repo!r})
from engine.planner.notices import direct_notice
from engine.store import open_database
from engine.store.repository import task_rows_of_plan, task_units_of_plan
db = open_database({url!r})
now = datetime.fromisoformat({now!r})
with db.read() as session:
    ids = {{row["no"]: row["id"] for row in task_rows_of_plan(session, {plan!r}, "id").values()}}
    units = task_units_of_plan(session, {plan!r})
by_lead = {{}}
for no, task_id in sorted(ids.items()):
    lead = next((name for role, name in units.get(task_id, []) if role == "lead"), None)
    if lead:
        by_lead.setdefault(lead, []).append(no)
leads = sorted(by_lead)
notices = []
for n in range({notices}):
    lead = leads[n % len(leads)]
    mine = by_lead[lead]
    start = (n // len(leads)) * {per} % max(1, len(mine) - {per})
    notices.append(direct_notice(
        plan_id={plan!r}, kind="reminder", recipient=lead, channel="file",
        tasks=tuple(mine[start:start + {per}]), occurrence=f"bench-{{n}}", send_at=now,
        context={{}},
    ))
from engine.store.outbox import enqueue
with db.transaction() as session:
    print(len(enqueue(session, notices, now)))
db.close()
"""

INNER = """
import json, sys, time, tracemalloc
from datetime import datetime
sys.path.insert(0, {repo!r})
from engine.config import load_settings
from engine.ledger.digest import digest_content
from engine.ledger.query import digest_of, snapshot_of
from engine.notify.compose import NoticeSpec, StoreView, build_context
from engine.notify.render import environment_for, render_notice
from engine.store import open_database
from engine.store.repository import task_rows_of_plan
settings = load_settings({config!r})
db = open_database({url!r})
now = datetime.fromisoformat({now!r})
plan = {plan!r}
out = {{}}

def timed(name, work, runs=3):
    # the best of `runs` timings, then one more run under tracemalloc for its peak (tracing
    # slows Python down: never timed)
    best = None
    for _ in range(runs):
        started = time.perf_counter()
        work()
        seconds = time.perf_counter() - started
        best = seconds if best is None else min(best, seconds)
    tracemalloc.start()
    result = work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out[name] = [best, peak / 2**20]
    return result

def queried():
    with db.read() as session:
        return digest_of(session, plan_id=plan, now=now, settings=settings)

def whole():
    with db.read() as session:
        return digest_content(snapshot_of(session, plan_id=plan, now=now, settings=settings))

content = timed("digest_of", queried)
assert content == timed("whole snapshot", whole, runs=1)
out["overdue"] = len(content["overdue"])
out["missing"] = sum(m["count"] for m in content["missing_reports"])

env = environment_for(settings)
with db.read() as session:
    numbers = sorted(task_rows_of_plan(session, plan, "no"))
step = max(1, len(numbers) // {notices})
def render(channel):
    with db.read() as session:
        view = StoreView(session)
        for n in range({notices}):
            start = (n * step) % max(1, len(numbers) - {per})
            spec = NoticeSpec(kind="reminder", recipient="市司法局", channel=channel,
                              plan_id=plan, tasks=tuple(numbers[start:start + {per}]))
            render_notice(build_context(view, spec, settings, now), env)
render("file")  # templates compiled once, outside the timing
timed("render file", lambda: render("file"))
timed("render wecom", lambda: render("wecom"))
digest = NoticeSpec(kind="digest", recipient="市司法局", channel="file", plan_id=plan,
                    tasks=tuple(row["no"] for row in content["overdue"]), context=content)
def render_digest():
    with db.read() as session:
        render_notice(build_context(StoreView(session), digest, settings, now), env)
timed("render digest", render_digest)
print(json.dumps(out))
db.close()
"""


class Figures:
    # a plain class: the benchmarks' import test loads this module without registering it
    def __init__(self) -> None:
        self.first: Run | None = None
        self.queued: Run | None = None
        self.inner: dict[str, list[float]] = {}
        self.counts: dict[str, int] = {}


def _check(run: Run, what: str) -> None:
    if not run.finished or run.code:
        raise SystemExit(f"{what} failed ({run.code}):\n{run.stderr[-2000:]}")


def measure_size(folder: Path, tasks: int, notices: int) -> Figures:
    url = f"sqlite:///{folder / 'render.db'}"
    config = write_config(folder, url)
    path = write_plan_file(folder, tasks)
    _check(measure(duban(config, LOAD_AT, "load", str(path)), CAP, cwd=folder), "duban load")
    figures = Figures()
    figures.first = measure(duban(config, DIGEST_AT, "run", "--once"), CAP, cwd=folder)
    _check(figures.first, "first pass")
    script = QUEUE.format(
        repo=str(REPO), url=url, now=NEXT_AT.isoformat(), plan=PLAN_ID, notices=notices,
        per=PER_NOTICE,
    )
    queued = measure([sys.executable, "-c", script], CAP, cwd=folder)
    _check(queued, "queueing the notices")
    figures.counts["queued"] = int(queued.stdout.split()[-1])
    figures.queued = measure(duban(config, NEXT_AT, "run", "--once"), CAP, cwd=folder)
    _check(figures.queued, "pass with queued notices")
    script = INNER.format(
        repo=str(REPO), config=str(config), url=url, now=DIGEST_AT.isoformat(), plan=PLAN_ID,
        notices=notices, per=PER_NOTICE,
    )
    inner = measure([sys.executable, "-c", script], CAP, cwd=folder)
    _check(inner, "inner part")
    found = json.loads(inner.stdout.splitlines()[-1])
    figures.counts.update(overdue=found.pop("overdue"), missing=found.pop("missing"))
    figures.inner = found
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,20000", help="task counts, comma-separated")
    parser.add_argument("--notices", type=int, default=200, help="notices queued and rendered")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    results: dict[int, Figures] = {}
    for tasks in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            figures = results[tasks] = measure_size(Path(tmp), tasks, args.notices)
        print(f"\none plan of {tasks:,} tasks: {figures.counts['overdue']} overdue, "
              f"{figures.counts['missing']} reports owed; {figures.counts['queued']} notices "
              f"queued of {PER_NOTICE} tasks each")
        for what, run in (
            ("first pass (digest, overdue)", figures.first),
            (f"pass sending {args.notices} queued", figures.queued),
        ):
            assert run is not None
            print(f"  {what:34} {run.seconds:8.2f} s  peak {run.peak_mb:7.0f} MB  (process)")
        for what, (seconds, peak) in figures.inner.items():
            per = f"  {seconds / args.notices * 1000:6.2f} ms/notice" if "render " in what else ""
            if what == "render digest":
                per = ""
            print(f"  inner: {what:27} {seconds:8.3f} s  traced peak {peak:6.1f} MB{per}")
    if len(sizes) >= 2:
        small, large = results[sizes[0]], results[sizes[-1]]
        print(f"\nratios {sizes[-1]:,} / {sizes[0]:,} tasks (1.00: does not grow with the plan)")
        for what, a, b in (
            ("first pass (process)", small.first, large.first),
            ("pass sending queued (process)", small.queued, large.queued),
        ):
            assert a is not None and b is not None
            print(f"  {what:34} {b.seconds / a.seconds:6.2f}")
        for what in small.inner:
            print(f"  inner: {what:27} {large.inner[what][0] / small.inner[what][0]:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
