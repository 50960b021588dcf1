"""Rendering the ledger: the seed plan (18 tasks) and a generated 1,000-task plan, per format.

Times `render(ledger, format)` in memory (the store read is the board's, measured by
board_bench.py). Prints the median of a few runs, the time per task and the ratio to CSV, the
cheapest format; the exit status is 1 when a target is missed. The .docx target guards against
python-docx's `Table.cell()`, which rebuilds the grid on every call and made the writer quadratic.

    .venv/bin/python benchmarks/ledger_bench.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.ledger import FORMATS, render  # noqa: E402
from engine.ledger.build import TaskState, build_ledger  # noqa: E402
from engine.ledger.model import Ledger  # noqa: E402
from engine.model.plan import Status  # noqa: E402
from engine.planfile import read_plan  # noqa: E402

SEED_PLAN = REPO / "workflows" / "zhuhai-gba-legal-services.yaml"
# Seconds for the 1,000-task ledger.
TARGETS = {"docx": 15.0, "xlsx": 5.0, "md": 0.5, "csv": 0.5}


def ledgers() -> dict[str, Ledger]:
    from zoneinfo import ZoneInfo

    plan = read_plan(SEED_PLAN)
    states = {t.no: TaskState(Status.IN_PROGRESS, "yellow") for t in plan.tasks}
    seed = build_ledger(plan, states, as_of=date(2021, 6, 20), tz=ZoneInfo("Asia/Shanghai"))
    # the seed's rows over and over, in its five sections of 200 tasks each
    rows = tuple(
        replace(
            seed.rows[i % len(seed.rows)],
            no=i + 1,
            section=plan.sections[i * len(plan.sections) // 1000].no,
        )
        for i in range(1000)
    )
    return {"seed (18)": seed, "generated (1,000)": replace(seed, rows=rows)}


def median_seconds(ledger: Ledger, fmt: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        render(ledger, fmt)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    missed = False
    for name, ledger in ledgers().items():
        figures = {fmt: median_seconds(ledger, fmt, args.runs) for fmt in FORMATS}
        baseline = figures["csv"] or 1e-9
        print(f"{name}:")
        for fmt, seconds in figures.items():
            per_task = seconds / len(ledger.rows) * 1000
            line = (f"  {fmt:5} {seconds:8.3f} s  {per_task:7.2f} ms/task  "
                    f"{seconds / baseline:8.1f}× csv")
            if name.startswith("generated"):
                ok = seconds <= TARGETS[fmt]
                missed |= not ok
                line += f"  target ≤ {TARGETS[fmt]:g} s {'ok' if ok else 'MISSED'}"
            print(line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
