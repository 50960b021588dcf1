"""`duban simulate` over long ranges (issues 12 and 14), as the command a person runs and
in-process beside it.

Each case is timed twice: as a process, `duban --config … simulate --from … --to … --json` from
start to exit (start-up, the copy of the database and the JSON output included) with its peak RSS
(wait4); and in-process, `engine.simulation.simulate` alone in this process (imports done). Both
must list the same notices.

- the seed plan (workflows/zhuhai-gba-legal-services.yaml, loaded 2020-11-20), four years from
  2021-01-01: target ≤ 2 s as a process;
- the seed, ten years from 2021-01-01 (the longest range simulate takes is 3,660 days): shown;
- a 2,000-task plan generated as benchmarks/scale_bench.py's write_province makes it (loaded
  2025-03-10; its tasks fall due from 2025-04 to 2027-08), the year 2026: shown.

With --day-by-day, the seed's four years also the way simulate worked before: the service's own
pass (engine.service.plan_and_enqueue) at send_at of each working day on a copy, writing to it;
its notices must be the same, and the ratio says how much faster simulate is.

The config is scale_bench's: the file channel only, an empty plan folder, units without contacts
(every notice by the file channel; the coordinator gets the missing-contact reports). The exit
status is 1 when the target is missed.

    .venv/bin/python benchmarks/simulate_bench.py [--day-by-day] [--cap 600]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from scale_bench import (  # noqa: E402
    DUBAN,
    SEED_PLAN,
    Run,
    machine_floor,
    measure,
    write_config,
    write_province,
)

from engine.config import load_settings  # noqa: E402
from engine.simulation import simulate  # noqa: E402

SEED_LOADED = "2020-11-20T10:00:00+08:00"
PROVINCE_LOADED = "2025-03-10T09:30:00+08:00"
TARGET = 2.0
"""Seconds for four years of the seed, as a process (issue 12)."""

Row = tuple[Any, ...]


def rows_of(documents: list[dict[str, Any]]) -> list[Row]:
    return [(d["at"], d["kind"], d["recipient"], d["channel"], d["level"], tuple(d["tasks"]))
            for d in documents]


class Case:
    # a plain class, as in scale_bench: the benchmarks' import test loads this module bare
    def __init__(self, what: str, config: Path, first: date, last: date,
                 target: float | None) -> None:
        self.what, self.config, self.first, self.last, self.target = (
            what, config, first, last, target)

    def command(self) -> list[str]:
        return [*DUBAN, "--config", str(self.config), "simulate", "--from",
                self.first.isoformat(), "--to", self.last.isoformat(), "--json"]


def setup(folder: Path, name: str, plan: Path, loaded: str, cap: float) -> Path:
    """A database of its own with `plan` loaded at `loaded`; returns its config."""
    home = folder / name
    home.mkdir()
    config = write_config(home, f"sqlite:///{home / 'duban.db'}")
    run = measure([*DUBAN, "--config", str(config), "--now", loaded, "load", str(plan)], cap,
                  cwd=home)
    if run.code:
        raise SystemExit(f"loading {plan} failed ({run.code}):\n{run.stderr[-2000:]}")
    return config


def in_process(case: Case) -> tuple[float, list[Row]]:
    settings = load_settings(case.config)
    started = time.perf_counter()
    notices = simulate(settings.database.url, settings, case.first, case.last)
    seconds = time.perf_counter() - started
    return seconds, rows_of([n.as_json() for n in notices])


def day_by_day(case: Case) -> tuple[float, list[Row]]:
    """The former simulate: the service's pass at send_at of each working day, on a copy."""
    from engine.service import make_calendar, make_policy, plan_and_enqueue
    from engine.simulation import _copy_database
    from engine.store import open_database

    settings = load_settings(case.config)
    calendar, policy = make_calendar(settings), make_policy(settings)
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.db"
        started = time.perf_counter()
        _copy_database(settings.database.url, copy)
        database = open_database(f"sqlite:///{copy}")
        try:
            day = case.first
            while day <= case.last:
                if calendar.is_workday(day):
                    at = policy.send_time(day)
                    for r in plan_and_enqueue(database, settings, at, calendar, policy,
                                              simulated=True):
                        found.append((r.plan_id, at, r.kind, r.recipient, r.channel, r.level,
                                      tuple(r.tasks)))
                day += timedelta(days=1)
        finally:
            database.close()
        seconds = time.perf_counter() - started
    found.sort(key=lambda n: (n[1], n[0] or "", n[2], n[3], n[4], n[5]))
    return seconds, [(at.isoformat(), *rest) for _, at, *rest in found]


def show(what: str, run: Run, inner: float, target: float | None, cap: float) -> bool:
    if not run.finished:
        print(f"  {what:34} did not finish within {cap:.0f} s")
        return target is None
    tail, ok = "", True
    if target is not None:
        ok = run.seconds <= target
        tail = (f"  target {target:4.1f} s  ratio {run.seconds / target:5.2f}  "
                f"{'ok' if ok else 'MISSED'}")
    print(f"  {what:34} process {run.seconds:6.2f} s  peak {run.peak_mb:5.0f} MB  "
          f"in-process {inner:6.2f} s{tail}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day-by-day", action="store_true",
                        help="also time the former way (the service's pass each day)")
    parser.add_argument("--cap", type=float, default=600.0, help="seconds before a run is cut")
    args = parser.parse_args()
    machine_floor(args.cap)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seed = setup(folder, "seed", SEED_PLAN, SEED_LOADED, args.cap)
        (folder / "plans").mkdir()
        province_plan, = write_province(folder / "plans", 2000)
        province = setup(folder, "province", province_plan, PROVINCE_LOADED, args.cap)
        cases = [
            Case("seed, 4 years (2021-2024)", seed, date(2021, 1, 1), date(2024, 12, 31),
                 TARGET),
            Case("seed, 10 years (2021-2030)", seed, date(2021, 1, 1), date(2030, 12, 31), None),
            Case("2,000 tasks, 1 year (2026)", province, date(2026, 1, 1), date(2026, 12, 31),
                 None),
        ]
        print()
        for case in cases:
            run = measure(case.command(), args.cap, cwd=case.config.parent)
            if run.finished and run.code:
                raise SystemExit(f"{case.what} failed ({run.code}):\n{run.stderr[-2000:]}")
            inner, rows = in_process(case)
            if run.finished:
                listed = rows_of(json.loads(run.stdout))
                assert listed == rows, f"{case.what}: the process and in-process lists differ"
                progress = sum(1 for line in run.stderr.splitlines()
                               if line.startswith("模拟进度："))
                days = (case.last - case.first).days + 1
                print(f"  {case.what}: {days} days, {len(rows):,} notices, "
                      f"{progress} progress lines on stderr")
            ok &= show(case.what, run, inner, case.target, args.cap)
            if args.day_by_day and case.target is not None:
                seconds, former = day_by_day(case)
                assert former == rows, f"{case.what}: the day-by-day passes list other notices"
                print(f"  {'  former: the pass each day':34} in-process {seconds:6.2f} s  "
                      f"(same {len(former):,} notices; simulate now {seconds / inner:5.1f}× "
                      "faster in-process)")
    print(f"\nfinished {datetime.now().isoformat(timespec='seconds')}; "
          f"{'target met' if ok else 'target MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
