"""`duban tasks` as a cold process: the seed plan and 10,000 generated tasks.

Each run is a fresh interpreter (imports, opening the database, the query, rendering), timed
from start to exit; the median of a few runs is compared with its target. Prints figures and
ratios; the exit status is 1 when a target is missed.

    .venv/bin/python benchmarks/board_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.plans import big_plan, small_plan  # noqa: E402

from engine.actions.loading import load_plan  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.planfile import read_plan  # noqa: E402
from engine.store import open_database  # noqa: E402

SEED_PLAN = REPO / "workflows" / "zhuhai-gba-legal-services.yaml"
NOW = datetime(2021, 6, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
_SCRIPT = Path(sys.executable).with_name("duban")
# The console script is what a person runs; fall back to the module in a bare checkout.
DUBAN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "engine"]


def build(url: str, plan) -> float:
    started = time.perf_counter()
    db = open_database(url)
    try:
        load_plan(db, plan, Settings(), NOW)
    finally:
        db.close()
    return time.perf_counter() - started


def cold_runs(url: str, runs: int, *extra: str) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [*DUBAN, "--db", url, "--now", NOW.isoformat(), "tasks", *extra],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=REPO,
        )
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()
    missed = False
    with tempfile.TemporaryDirectory() as tmp:
        baseline = min(_time([sys.executable, "-c", "pass"]) for _ in range(args.runs))
        print(f"python start-up (baseline)          {baseline * 1000:7.0f} ms")
        floor = statistics.median(_time([*DUBAN, "--version"]) for _ in range(args.runs))
        print(f"duban --version (CLI floor)         {floor * 1000:7.0f} ms")
        seed = read_plan(SEED_PLAN) if SEED_PLAN.exists() else small_plan()
        name = "seed" if SEED_PLAN.exists() else "small plan (seed not generated yet)"
        cases = [
            (f"{name}, {len(seed.tasks)} tasks", seed, 0.5),
            (f"generated, {args.tasks} tasks", big_plan(args.tasks), 2.0),
        ]
        for i, (label, plan, target) in enumerate(cases):
            url = f"sqlite:///{tmp}/bench{i}.db"
            load = build(url, plan)
            print(f"load {label:31} {load * 1000:7.0f} ms  (setup, not a target)")
            again = build(url, plan)
            print(f"re-load {label:28} {again * 1000:7.0f} ms  (the same file again, not a target)")
            for extra in ((), ("--json",)):
                times = cold_runs(url, args.runs, *extra)
                median = statistics.median(times)
                ok = median <= target
                missed |= not ok
                what = f"tasks {' '.join(extra) or '(table)':7} {label}"
                print(
                    f"{what:36} {median * 1000:7.0f} ms (best {min(times) * 1000:4.0f})  "
                    f"target {target * 1000:.0f} ms  "
                    f"ratio {median / target:4.2f}  x{median / baseline:5.1f} start-up  "
                    f"{'ok' if ok else 'MISSED'}"
                )
    return 1 if missed else 0


def _time(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
