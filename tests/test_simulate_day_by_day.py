"""`duban simulate` lists exactly what the service sends: the same seed plan, once simulated over a
range and once run for real with `duban --now D run --once` at send_at of each working day of it.
And a long range: up to ten years, saying how far it has got on stderr, stdout unchanged."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from engine.config import Settings
from engine.service import make_calendar
from tests.conftest import SEED_PLAN

LOADED_AT = "2020-11-20T10:00:00+08:00"


def load_seed(duban) -> None:
    r = duban("--now", LOADED_AT, "load", str(SEED_PLAN))
    assert r.code == 0, r.err


def simulated(duban, first: str, last: str) -> list[tuple]:
    r = duban("simulate", "--from", first, "--to", last, "--json")
    assert r.code == 0, r.err
    return sorted(
        (datetime.fromisoformat(n["at"]), n["kind"], n["recipient"], n["channel"], n["level"],
         tuple(n["tasks"]))
        for n in json.loads(r.out)
    )


def run_days(duban, first: date, last: date, *db: str) -> None:
    """Every working day from `first` to `last`, one real pass at 09:00 (the default send_at)."""
    calendar = make_calendar(Settings())
    day = first
    while day <= last:
        if calendar.is_workday(day):
            r = duban(*db, "--now", f"{day.isoformat()}T09:00:00+08:00", "run", "--once")
            assert r.code == 0, r.err
        day += timedelta(days=1)


def outbox(duban, *db: str) -> list[tuple]:
    r = duban(*db, "outbox", "--json")
    assert r.code == 0, r.err
    return sorted(
        (datetime.fromisoformat(n["send_at"]), n["kind"], n["recipient"], n["channel"],
         n["level"], tuple(n["tasks"]))
        for n in json.loads(r.out)
    )


def test_the_simulation_is_what_the_service_sends_day_by_day(duban, workdir: Path) -> None:
    """Two and a half months of the seed from its first day: reminders, the overdue chase after
    New Year, task 15's escalation (2021-01-11), the monthly progress request and the chase of
    units that did not report, and ten weekly digests, whose overdue lists grow week by week."""
    load_seed(duban)
    first, last = date(2020, 11, 23), date(2021, 1, 29)
    # A copy of the loaded database, for the real passes: simulate reads the original.
    shutil.copy(workdir / "var" / "duban.db", workdir / "real.db")
    real = ("--db", f"sqlite:///{workdir / 'real.db'}")
    run_days(duban, first, last, *real)
    expected = outbox(duban, *real)
    found = simulated(duban, first.isoformat(), last.isoformat())
    kinds = {row[1] for row in expected}
    assert {"reminder", "overdue", "escalation", "progress_request", "progress_missing",
            "digest"} <= kinds, kinds
    digests = [row[5] for row in expected if row[1] == "digest"]
    assert len(digests) >= 9 and len(set(digests)) > 1  # the overdue lists change with `now`
    assert found == expected


def test_after_real_passes_the_simulation_goes_on_from_there(duban, workdir: Path) -> None:
    """Simulating from the middle of a real run lists what the remaining real passes send."""
    load_seed(duban)
    run_days(duban, date(2020, 12, 1), date(2020, 12, 31))
    before = set(outbox(duban))
    shutil.copy(workdir / "var" / "duban.db", workdir / "real.db")
    real = ("--db", f"sqlite:///{workdir / 'real.db'}")
    run_days(duban, date(2021, 1, 1), date(2021, 1, 22), *real)
    rest = [row for row in outbox(duban, *real) if row not in before]
    assert any(row[1] == "escalation" for row in rest)
    assert simulated(duban, "2021-01-01", "2021-01-22") == rest


def test_ten_years_are_simulated_saying_how_far_on_stderr(duban) -> None:
    load_seed(duban)
    r = duban("simulate", "--from", "2021-01-01", "--to", "2030-12-31", "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert rows[-1]["at"].startswith("2030-12-")
    progress = [line for line in r.err.splitlines() if line.startswith("模拟进度：")]
    assert progress == [
        "模拟进度：2022-01-01（已完成 10%）", "模拟进度：2023-01-01（已完成 20%）",
        "模拟进度：2024-01-01（已完成 30%）", "模拟进度：2024-12-31（已完成 40%）",
        "模拟进度：2025-12-31（已完成 50%）", "模拟进度：2027-01-01（已完成 60%）",
        "模拟进度：2028-01-01（已完成 70%）", "模拟进度：2028-12-31（已完成 80%）",
        "模拟进度：2029-12-31（已完成 90%）",
    ]
    # The table for people: the progress beside it on stderr only.
    table = duban("simulate", "--from", "2021-01-01", "--to", "2022-12-31")
    assert table.code == 0 and "模拟进度" not in table.out
    assert table.err.count("模拟进度：") == 9 and "模拟进度：2022-08-07（已完成 80%）" in table.err


def test_a_short_range_says_nothing_of_progress(duban) -> None:
    load_seed(duban)
    r = duban("simulate", "--from", "2021-01-01", "--to", "2021-12-31", "--json")
    assert r.code == 0 and "模拟进度" not in r.err, r.err


def test_more_than_ten_years_is_refused_in_one_line(duban) -> None:
    load_seed(duban)
    r = duban("simulate", "--from", "2021-01-01", "--to", "2031-01-10", "--json")
    assert r.code == 2 and r.err.count("\n") == 1 and r.out == ""
    assert "3661 天" in r.err and "3660 天" in r.err
