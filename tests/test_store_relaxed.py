"""Relaxed writes (`Database.write(relaxed=True)`): their commit does not wait for the disk, every
other write's does, on the same pooled connection, in either order; on PostgreSQL only for that
one transaction. And what a relaxed write stored is there after the process that wrote it is
killed the moment it committed (only a power cut may undo it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from support.postgres import scratch_database

from engine.store import open_database

REPO = Path(__file__).resolve().parents[1]

# A writer that records a row in a relaxed transaction, says so, and is killed at once.
KILLED_WRITER = """
import os, signal, sys
from sqlalchemy import text
from engine.store import open_database
db = open_database(sys.argv[1])
with db.write(relaxed=True) as conn:
    conn.execute(text("INSERT INTO counter (name, value) VALUES ('relaxed-probe', 7)"))
print("committed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _sqlite_synchronous(conn) -> int:
    return int(conn.execute(text("PRAGMA synchronous")).scalar_one())


def test_sqlite_relaxed_commits_do_not_wait_for_the_disk_and_the_others_do(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'duban.db'}")
    try:
        seen = []
        for relaxed in (False, True, True, False, True):
            if relaxed:
                with db.write(relaxed=True) as conn:
                    seen.append(_sqlite_synchronous(conn))
            else:
                with db.write() as conn:
                    seen.append(_sqlite_synchronous(conn))
            with db.transaction() as session:  # the ORM's writes: always waiting for the disk
                seen.append(_sqlite_synchronous(session.connection()))
        # 2 is FULL (the commit waits for the disk), 1 is NORMAL
        assert seen == [2, 2, 1, 2, 1, 2, 2, 2, 1, 2]
    finally:
        db.close()


def test_postgresql_relaxes_only_the_one_transaction() -> None:
    with scratch_database("duban_relaxed") as url:
        db = open_database(url)
        try:
            seen = []
            for relaxed in (False, True, False):
                with db.write(relaxed=relaxed) as conn:
                    seen.append(conn.execute(text("SHOW synchronous_commit")).scalar_one())
                with db.transaction() as session:
                    seen.append(session.execute(text("SHOW synchronous_commit")).scalar_one())
            assert seen == ["on", "on", "off", "on", "on", "on"]
        finally:
            db.close()


@pytest.mark.parametrize("server", ["sqlite", "postgresql"])
def test_a_relaxed_commit_outlives_its_process_killed_at_once(server: str, tmp_path: Path) -> None:
    def check(url: str) -> None:
        open_database(url).close()  # the schema, before the writer
        done = subprocess.run(
            [sys.executable, "-c", KILLED_WRITER, url],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=120,
        )
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert done.stdout.strip() == "committed"
        db = open_database(url)
        try:
            with db.connect() as conn:
                value = conn.execute(
                    text("SELECT value FROM counter WHERE name = 'relaxed-probe'")
                ).scalar_one()
            assert value == 7
        finally:
            db.close()

    if server == "sqlite":
        check(f"sqlite:///{tmp_path / 'duban.db'}")
    else:
        with scratch_database("duban_relaxed_kill") as url:
            check(url)
