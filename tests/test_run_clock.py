"""`duban run` refuses a business moment before the last planning pass the database recorded:
the README's trial line, copied without `--db`, would otherwise write 2021's notices into a
database that already ran in 2026 (issue 14). Refused in one line, exit 2, nothing changed."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SEED_PLAN
from tests.support.plans import dump


def _ran(duban, now: str):
    return duban("--db", "sqlite:///real.db", "--now", now, "run", "--once")


def test_a_run_before_the_last_pass_is_refused_and_changes_nothing(duban, workdir: Path):
    assert duban("--db", "sqlite:///real.db", "load", str(SEED_PLAN)).code == 0
    assert _ran(duban, "2026-06-01T10:00").code == 0
    before = dump(workdir / "real.db")
    refused = _ran(duban, "2021-01-04T09:30")
    assert refused.code == 2
    lines = refused.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.err
    assert "2026-06-01T10:00+08:00" in lines[0] and "2021-01-04T09:30" in lines[0]
    assert "--db" in lines[0] and "simulate" in lines[0]
    assert dump(workdir / "real.db") == before
    # Another database for the trial, as the message says, runs.
    trial = duban("--db", "sqlite:///trial.db", "--now", "2021-01-04T09:30", "run", "--once")
    assert trial.code == 0, trial.err


def test_the_same_day_later_and_a_little_clock_lag_still_run(duban, workdir: Path):
    assert duban("--db", "sqlite:///real.db", "load", str(SEED_PLAN)).code == 0
    assert _ran(duban, "2026-06-01T10:00").code == 0
    assert _ran(duban, "2026-06-01T09:55").code == 0  # within the allowed lag of a host's clock
    assert _ran(duban, "2026-06-02T10:00").code == 0
    assert _ran(duban, "2026-06-01T10:00").code == 2  # now a day behind


def test_a_plan_whose_deadlines_all_lie_long_past_is_named_at_start(duban, workdir: Path):
    assert duban("--db", "sqlite:///real.db", "load", str(SEED_PLAN)).code == 0
    late = duban("--db", "sqlite:///real.db", "--now", "2026-06-01T10:00", "run", "--once")
    assert late.code == 0
    named = [line for line in late.err.splitlines() if "已过去很久" in line]
    assert len(named) == 1, late.err
    assert "zhuhai-gba-legal-services" in named[0] and "2023年12月31日" in named[0]
    assert "simulate" in named[0] and "--db" in named[0]
    # In the plan's own years, nothing is said.
    timely = duban("--db", "sqlite:///trial.db", "--now", "2021-03-01T10:00", "run", "--once")
    assert timely.code == 0 and "已过去很久" not in timely.err
    # Once the late run has chased them, the next start does not say it again (nothing new)...
    again = duban("--db", "sqlite:///real.db", "--now", "2026-06-02T10:00", "run", "--once")
    assert again.code == 0 and "已过去很久" not in again.err
    # ...but a plan loaded after that pass is named at the next start.
    other = workdir / "other.yaml"
    other.write_text(
        SEED_PLAN.read_text(encoding="utf-8").replace(
            "id: zhuhai-gba-legal-services", "id: other-plan", 1
        ),
        encoding="utf-8",
    )
    assert duban("--db", "sqlite:///real.db", "--now", "2026-06-02T11:00", "load",
                 str(other)).code == 0
    later = duban("--db", "sqlite:///real.db", "--now", "2026-06-03T10:00", "run", "--once")
    named = [line for line in later.err.splitlines() if "已过去很久" in line]
    assert len(named) == 1 and "other-plan" in named[0], later.err
