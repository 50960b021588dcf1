"""`duban simulate` over PostgreSQL: the rows are copied into a temporary SQLite file, the server's
data stays as it was."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text
from support.postgres import scratch_database

from tests.conftest import SEED_PLAN

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url():
    with scratch_database("duban_simulate") as url:
        yield url


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("plan", "task", "history", "outbox", "notice_key")
            }
    finally:
        engine.dispose()


def test_simulate_copies_postgres_rows_and_leaves_the_server_untouched(duban, pg_url) -> None:
    assert duban("--db", pg_url, "--now", "2020-11-20T10:00:00+08:00", "load",
                 str(SEED_PLAN)).code == 0
    assert duban("--db", pg_url, "--now", "2020-12-01T09:30:00+08:00", "run", "--once").code == 0
    before = counts(pg_url)
    r = duban("--db", pg_url, "simulate", "--from", "2020-12-01", "--to", "2021-01-04", "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    task_14 = [(n["at"][:10], n["kind"]) for n in rows if 14 in n["tasks"]
               and n["kind"] in ("reminder", "overdue")]
    # The reminder of 12-01 was sent for real before: the copy knows it and does not repeat it.
    assert task_14 == [
        ("2020-12-17", "reminder"), ("2020-12-24", "reminder"), ("2020-12-28", "reminder"),
        ("2020-12-30", "reminder"), ("2021-01-04", "overdue"),
    ]
    assert counts(pg_url) == before and before["outbox"] > 0
