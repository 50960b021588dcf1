"""Relaxed writes (`Database.write(relaxed=True)`): their commit does not wait for the disk, every
other write's does, on the same pooled connection, in either order; on PostgreSQL only for that
one transaction. And what a relaxed write stored is there after the process that wrote it is
killed the moment it committed (only a power cut may undo it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from support.postgres import scratch_database

from engine.store import open_database

REPO = Path(__file__).resolve().parents[1]

# A writer that records a row in a relaxed transaction, says so, and is killed at once.
KILLED_WRITER = """
import os, signal, sys
from sqlalchemy import event, text
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
            with db.transaction(relaxed=relaxed) as session:  # the ORM's writes likewise
                seen.append(_sqlite_synchronous(session.connection()))
            with db.transaction() as session:
                seen.append(_sqlite_synchronous(session.connection()))
        # 2 is FULL (the commit waits for the disk), 1 is NORMAL
        assert seen == [2, 2, 2, 1, 1, 2, 1, 1, 2, 2, 2, 2, 1, 1, 2]
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
                with db.transaction(relaxed=relaxed) as session:
                    seen.append(session.execute(text("SHOW synchronous_commit")).scalar_one())
                with db.transaction() as session:
                    seen.append(session.execute(text("SHOW synchronous_commit")).scalar_one())
            assert seen == ["on", "on", "on", "off", "off", "on", "on", "on", "on"]
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


def test_sqlite_writers_of_one_process_queue_on_a_lock_not_in_sqlites_busy_handler(
    tmp_path: Path,
) -> None:
    """With SQLite's busy timeout at 0, a writer that met another's lock would fail at once
    ("database is locked"); the process's writers must queue on the lock instead."""
    db = open_database(f"sqlite:///{tmp_path / 'duban.db'}")
    try:
        with db.write() as conn:
            conn.execute(text("INSERT INTO counter (name, value) VALUES ('writers', 0)"))
        db.engine.dispose()  # new connections, each with no busy timeout

        @event.listens_for(db.engine, "connect")
        def _no_busy_timeout(dbapi_connection, _record) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout = 0")

        failures: list[BaseException] = []
        bump = text("UPDATE counter SET value = value + 1 WHERE name = 'writers'")

        def writer(relaxed: bool) -> None:
            try:
                for _ in range(40):
                    if relaxed:
                        with db.transaction(relaxed=True) as session:
                            session.execute(bump)
                    else:
                        with db.write() as conn:
                            conn.execute(bump)
                            conn.execute(text("SELECT count(*) FROM counter")).scalar_one()
            except BaseException as exc:  # collected: the assertion below names it
                failures.append(exc)

        threads = [threading.Thread(target=writer, args=(n % 2 == 0,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failures == []
        with db.connect() as conn:
            total = conn.execute(text("SELECT value FROM counter WHERE name = 'writers'"))
            assert total.scalar_one() == 8 * 40
    finally:
        db.close()
