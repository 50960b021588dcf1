"""`duban simulate` on the seed plan: what would go out, over a copy, the real data untouched."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from tests.conftest import SEED_PLAN

LOADED_AT = "2020-11-20T10:00:00+08:00"


def load_seed(duban, now: str = LOADED_AT) -> None:
    r = duban("--now", now, "load", str(SEED_PLAN))
    assert r.code == 0, r.err


def simulate(duban, first: str, last: str) -> list[dict]:
    r = duban("simulate", "--from", first, "--to", last, "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def for_task(rows: list[dict], no: int) -> list[tuple[str, str, str]]:
    return [(r["at"][:10], r["kind"], r["recipient"]) for r in rows
            if no in r["tasks"]
            and r["kind"] not in ("progress_request", "progress_missing", "digest")]


def test_task_14_is_reminded_five_times_then_chased_after_new_year(duban) -> None:
    load_seed(duban)
    rows = simulate(duban, "2020-11-20", "2021-01-08")
    # Task 14 is due 2020-12-31; its lead 市司法局 is the coordinator, so no escalation to itself.
    assert for_task(rows, 14) == [
        ("2020-12-01", "reminder", "市司法局"),
        ("2020-12-17", "reminder", "市司法局"),
        ("2020-12-24", "reminder", "市司法局"),
        ("2020-12-28", "reminder", "市司法局"),
        ("2020-12-30", "reminder", "市司法局"),
        ("2021-01-04", "overdue", "市司法局"),
        ("2021-01-07", "overdue", "市司法局"),
    ]
    assert all(r["at"].endswith("T09:00:00+08:00") for r in rows)
    assert set(rows[0]) == {"at", "kind", "recipient", "channel", "level", "tasks"}


def test_seed_escalates_task_15_to_the_coordinator_after_five_working_days(duban) -> None:
    load_seed(duban)
    rows = simulate(duban, "2021-01-04", "2021-01-15")
    assert [(d, k, u) for d, k, u in for_task(rows, 15) if k == "escalation"] == [
        ("2021-01-11", "escalation", "市司法局"),
    ]


def test_seed_t_minus_3_on_a_sunday_moves_to_friday(duban) -> None:
    load_seed(duban, "2021-05-20T10:00:00+08:00")
    rows = simulate(duban, "2021-06-21", "2021-06-30")
    # Tasks 1-7, 9 and 11-13 are due 2021-06-30; T-3 is Sunday 06-27. The first tick (06-21)
    # catches up the T-14 of 06-16 once.
    rows = [r for r in rows if r["kind"] == "reminder" and 11 in r["tasks"]]
    assert [r["at"][:10] for r in rows] == ["2021-06-21", "2021-06-23", "2021-06-25", "2021-06-29"]


def test_simulate_leaves_the_real_database_untouched(duban, workdir: Path) -> None:
    load_seed(duban)
    db = workdir / "var" / "duban.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    first = simulate(duban, "2020-11-20", "2021-01-08")
    second = simulate(duban, "2020-11-20", "2021-01-08")
    assert first == second and len(first) > 20  # deterministic, and not trivially empty
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    r = duban("outbox", "--json")
    assert json.loads(r.out) == []


def test_simulate_prints_a_table_for_people(duban) -> None:
    load_seed(duban)
    r = duban("simulate", "--from", "2020-12-01", "--to", "2020-12-01")
    assert r.code == 0
    header, _, *lines = r.out.splitlines()
    assert header.split() == ["发送时间", "类型", "接收单位", "渠道", "级别", "任务"]
    assert any("到期提醒" in line and "市司法局" in line and line.rstrip().endswith("14")
               for line in lines)


def test_simulate_after_real_notices_does_not_repeat_them(duban) -> None:
    load_seed(duban)
    r = duban("--now", "2020-12-01T09:30:00+08:00", "run", "--once")
    assert r.code == 0, r.err
    rows = simulate(duban, "2020-12-01", "2020-12-01")
    assert [r for r in rows if r["kind"] == "reminder"] == []


def test_bad_dates_are_one_line_errors(duban) -> None:
    load_seed(duban)
    r = duban("simulate", "--from", "2021-13-01", "--to", "2021-12-31")
    assert r.code == 2 and r.err.count("\n") == 1 and "--from" in r.err and "YYYY-MM-DD" in r.err
    r = duban("simulate", "--from", "2021-02-01", "--to", "2021-01-01")
    assert r.code == 2 and "--to" in r.err and r.err.count("\n") == 1


def test_simulate_without_a_database_says_to_load_first(duban, workdir: Path) -> None:
    r = duban("simulate", "--from", "2021-01-01", "--to", "2021-01-31")
    assert r.code == 2 and "duban load" in r.err
    assert not (workdir / "var" / "duban.db").exists()


def test_the_simulators_copy_is_private_and_says_nothing_about_it(duban) -> None:
    """The copy is made 0600 from the start: no warning about other users' access to a file the
    user never made, under the usual umask 022."""
    import os

    load_seed(duban)
    old = os.umask(0o022)
    try:
        r = duban("simulate", "--from", "2021-06-01", "--to", "2021-06-30")
    finally:
        os.umask(old)
    assert r.code == 0, r.err
    assert "权限" not in r.err, r.err
