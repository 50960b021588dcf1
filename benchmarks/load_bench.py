"""Loading large plan files, timed as the `duban load` a person runs, beside the naive design.

For 5,000 tasks (one plan file) and 20,000 (four of 5,000, as scale_bench writes a province),
each on a fresh database, as processes timed from start to exit (start-up included):

- `duban load` of every plan file in one command (`duban load a.yaml b.yaml …`): target 6 s for
  20,000 tasks; beside it, one `duban load` per file, one after another (start-up paid each time);
- the inner parts, in a process of their own, timed in-process without start-up: the parse
  alone (read_plan of every file) and the store alone (load_plan of the parsed plans into a
  fresh database);
- a second `duban load` of the same files (nothing changed: every task compared, none written);
- beside it, for 5,000 tasks, the naive design: APScheduler 3 with a SQLAlchemyJobStore on the
  same kind of database, one job per reminder (T-30, T-7, T-3, T-1 and the due day: 25,000 jobs),
  in a process of its own: target, loading 5,000 tasks is at least 60 times faster.

The ratios are figure / target (≤ 1.00 meets it), and naive / duban for the comparison (≥ 60
meets it). The exit status is 1 when a target is missed. Beside the wall time of the loads, the
CPU time their processes took: on a machine busy with other work the wall time stretches, the CPU
time much less.

    .venv/bin/python benchmarks/load_bench.py [--db sqlite,postgres] [--sizes 5000,20000]
        [--cap 600]

PostgreSQL (run by default when DUBAN_BENCH_POSTGRES_URL or DUBAN_TEST_POSTGRES_URL names a
server): each measurement gets a scratch database of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_bench import (
    DUBAN,
    LOAD_AT,
    REPO,
    TASKS_PER_PLAN,
    Run,
    children_cpu,
    line,
    machine_floor,
    measure,
    measure_naive,
    scratch,
    server_url,
    write_config,
    write_province,
)

LOAD_TARGET_TASKS = 20_000
LOAD_TARGET_PER_TASK = 6.0 / LOAD_TARGET_TASKS
NAIVE_FACTOR = 60.0
NAIVE_TASKS = 5000

INNER = """
import sys, time
from datetime import datetime
from pathlib import Path
sys.path.insert(0, {repo!r})
from engine.actions.loading import load_plan
from engine.config import load_settings
from engine.planfile import read_plan
from engine.store import open_database
settings = load_settings({config!r})
now = datetime.fromisoformat({now!r})
started = time.perf_counter()
plans = [read_plan(Path(p)) for p in {paths!r}]
parsed = time.perf_counter() - started
db = open_database({url!r})
started = time.perf_counter()
for path, plan in zip({paths!r}, plans):
    load_plan(db, plan, settings, now, path=path)
print(parsed, time.perf_counter() - started)
"""


def load_all(
    config: Path, paths: list[Path], cap: float, cwd: Path, together: bool = True
) -> tuple[Run, float]:
    """`duban load` of every file in one command (`together`), or one command per file in turn:
    the total time, the highest peak, and the CPU seconds those processes took (beside the wall
    time, which other work on the machine stretches)."""
    cpu = children_cpu()
    total, peak = 0.0, 0.0
    for group in [paths] if together else [[path] for path in paths]:
        command = [*DUBAN, "--config", str(config), "--now", LOAD_AT.isoformat(), "load",
                   *map(str, group)]
        run = measure(command, cap - total, cwd=cwd)
        total += run.seconds
        peak = max(peak, run.peak_mb)
        if not run.finished or run.code:
            if run.finished:
                raise SystemExit(f"duban load failed ({run.code}):\n{run.stderr[-2000:]}")
            return Run(total, peak, False, run.code), children_cpu() - cpu
    return Run(total, peak, True, 0), children_cpu() - cpu


def inner(kind: str, folder: Path, paths: list[Path], cap: float) -> tuple[Run, Run] | None:
    """The parse alone and the store alone, timed inside one process."""
    (folder / "inner").mkdir()
    with scratch(kind, folder, "load_inner") as url:
        config = write_config(folder / "inner", url)
        script = INNER.format(repo=str(REPO), config=str(config), now=LOAD_AT.isoformat(),
                              paths=[str(p) for p in paths], url=url)
        run = measure([sys.executable, "-c", script], cap, cwd=folder)
    if not run.finished:
        return None
    if run.code:
        raise SystemExit(f"inner parts failed ({run.code}):\n{run.stderr[-2000:]}")
    parse, store = (float(x) for x in run.stdout.split())
    return run._replace(seconds=parse), run._replace(seconds=store)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres" if server_url() else "sqlite",
                        help="sqlite, postgres or both, comma-separated")
    parser.add_argument("--sizes", default="5000,20000", help="task counts, comma-separated")
    parser.add_argument("--cap", type=float, default=600.0, help="seconds before a run is cut")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    if "postgres" in kinds and not server_url():
        parser.error("--db postgres needs DUBAN_BENCH_POSTGRES_URL or DUBAN_TEST_POSTGRES_URL")
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    machine_floor(args.cap)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files: dict[int, list[Path]] = {}
        for tasks in sizes:
            (root / f"plans-{tasks}").mkdir()
            started = time.perf_counter()
            files[tasks] = write_province(root / f"plans-{tasks}", tasks)
            size = sum(p.stat().st_size for p in files[tasks]) / 1e6
            print(f"{tasks:,} tasks: {len(files[tasks])} plan files, {size:.1f} MB, written in "
                  f"{time.perf_counter() - started:.1f} s (setup)")
        for kind in kinds:
            print(f"\ndatabase: {kind}")
            for tasks in sizes:
                paths = files[tasks]
                folder = root / f"{kind}-{tasks}"
                folder.mkdir()
                print(f" {tasks:,} tasks ({len(paths)} plan file{'s' if len(paths) > 1 else ''}"
                      f" of {min(tasks, TASKS_PER_PLAN):,})")
                with scratch(kind, folder, "load_duban") as url:
                    config = write_config(folder, url)
                    load, load_cpu = load_all(config, paths, args.cap, folder)
                    again, again_cpu = (load_all(config, paths, args.cap, folder)
                                        if load.finished else (None, 0.0))
                # the target is stated for 20,000 tasks (and so per 20,000 above it); smaller
                # sizes are measured against the naive design instead
                target = LOAD_TARGET_PER_TASK * tasks if tasks >= LOAD_TARGET_TASKS else None
                count = f"{len(paths)} file{'s' if len(paths) > 1 else ''}"
                ok &= line(f"duban load, {count} (end to end)", load, target, args.cap)
                print(f"  {'  their CPU (user + system)':34} {load_cpu:8.2f} s")
                line("again, nothing changed", again, None, args.cap)
                if again is not None:
                    print(f"  {'  their CPU (user + system)':34} {again_cpu:8.2f} s")
                if len(paths) > 1:
                    # beside it, a process per file: the start-up paid once for each
                    (folder / "each").mkdir()
                    with scratch(kind, folder, "load_each") as url:
                        config = write_config(folder / "each", url)
                        each, each_cpu = load_all(config, paths, args.cap, folder, together=False)
                    line(f"duban load ×{len(paths)}, one file each", each, None, args.cap)
                    print(f"  {'  their CPU (user + system)':34} {each_cpu:8.2f} s")
                parts = inner(kind, folder, paths, args.cap)
                line("inner: parse alone (read_plan)", parts[0] if parts else None, None,
                     args.cap)
                line("inner: store alone (load_plan)", parts[1] if parts else None, None,
                     args.cap)
                if tasks != NAIVE_TASKS:
                    continue
                with scratch(kind, folder, "load_naive") as url:
                    add, _start = measure_naive(url, tasks, args.cap)
                line(f"naive: add {tasks * 5:,} APScheduler jobs", add, None, args.cap)
                if add.finished and load.finished:
                    ratio = add.seconds / load.seconds
                    met = ratio >= NAIVE_FACTOR
                    ok &= met
                    print(f"  {'naive adding / duban load':34} {ratio:8.1f} ×  target "
                          f"≥ {NAIVE_FACTOR:.0f} ×  {'ok' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
