"""Opening the database: migrations to head, SQLite settings, aware datetimes, failures."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from support.plans import open_in_process
from support.service import running_service

from engine.errors import ServiceError, UserError
from engine.store import open_database
from engine.store.database import _script_heads
from engine.store.models import History, Plan, Task


def test_a_new_file_is_created_under_var_and_brought_to_head(workdir: Path):
    db = open_database("sqlite:///var/duban.db")
    try:
        with db.read() as session:
            version = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert {version} == _script_heads()
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    finally:
        db.close()
    assert (workdir / "var" / "duban.db").is_file()


def test_opening_twice_keeps_the_data(workdir: Path):
    moment = datetime(2021, 6, 10, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    db = open_database("sqlite:///x.db")
    with db.transaction() as session:
        session.add(Plan(id="p", title="t", loaded_at=moment))
    db.close()
    db = open_database("sqlite:///x.db")
    with db.read() as session:
        plan = session.scalars(select(Plan)).one()
        assert plan.loaded_at == moment
        assert plan.loaded_at.tzinfo is not None
        assert plan.loaded_at.utcoffset() == timedelta(0)
        stored = session.execute(text("SELECT loaded_at FROM plan")).scalar()
        assert str(stored).startswith("2021-06-10 01:00:00")
    db.close()


def test_a_naive_datetime_is_refused(workdir: Path):
    db = open_database("sqlite:///x.db")
    with pytest.raises(Exception, match="naive"), db.transaction() as session:
        session.add(Plan(id="p", title="t", loaded_at=datetime(2021, 1, 1)))
        session.flush()
    with db.read() as session:
        assert session.scalars(select(Plan)).all() == []
    db.close()


def test_a_failed_transaction_leaves_nothing(workdir: Path):
    db = open_database("sqlite:///x.db")
    with pytest.raises(RuntimeError), db.transaction() as session:
        session.add(Plan(id="p", title="t", loaded_at=datetime.now(UTC)))
        session.flush()
        raise RuntimeError("boom")
    with db.read() as session:
        assert session.scalars(select(Plan)).all() == []
    db.close()


def _read_only_copy(workdir: Path) -> Path:
    db = open_database("sqlite:///ro.db")
    with db.transaction() as session:
        session.add(Plan(id="kept", title="t", loaded_at=datetime.now(UTC)))
    db.close()
    # Leave WAL mode so that a read-only file can still be read without its -shm file.
    conn = sqlite3.connect(workdir / "ro.db")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    return workdir / "ro.db"


def _assert_write_refused(url: str) -> None:
    db = open_database(url)
    try:
        with pytest.raises(ServiceError) as caught, db.transaction() as session:
            session.add(Plan(id="p", title="t", loaded_at=datetime.now(UTC)))
        assert "只读" in str(caught.value) and "\n" not in str(caught.value)
        with db.read() as session:
            assert [p.id for p in session.scalars(select(Plan))] == ["kept"]
    finally:
        db.close()


def test_a_database_opened_read_only_is_one_clear_failure(workdir: Path):
    _read_only_copy(workdir)
    _assert_write_refused("sqlite:///file:ro.db?mode=ro&uri=true")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a read-only file anyway")
def test_a_read_only_file_is_one_clear_failure(workdir: Path):
    path = _read_only_copy(workdir)
    path.chmod(0o444)
    try:
        _assert_write_refused("sqlite:///ro.db")
    finally:
        path.chmod(0o644)


def test_a_database_folder_that_cannot_be_created_is_a_failure(workdir: Path):
    (workdir / "var").write_text("not a folder")
    with pytest.raises(ServiceError, match="无法创建数据库目录"):
        open_database("sqlite:///var/duban.db")


def test_an_unknown_kind_of_database_is_a_user_error(workdir: Path):
    with pytest.raises(UserError, match="不受支持"):
        open_database("mongodb://localhost/duban")
    with pytest.raises(UserError, match="无效"):
        open_database("not a url")


@pytest.mark.slow
def test_processes_opening_a_new_database_together_all_succeed(workdir: Path):
    """The service and a command started at once both create/upgrade the schema: one does it."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    url = f"sqlite:///{workdir / 'var' / 'new.db'}"
    racers = [ctx.Process(target=open_in_process, args=(url, barrier, results)) for _ in range(3)]
    for racer in racers:
        racer.start()
    outcomes = [results.get(timeout=60) for _ in racers]
    for racer in racers:
        racer.join(timeout=60)
    assert outcomes == ["ok"] * 3
    db = open_database(url)
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    db.close()


def test_sessions_give_their_connections_back(workdir: Path):
    db = open_database("sqlite:///x.db")
    with db.transaction() as session:
        session.add(Plan(id="p", title="t", loaded_at=datetime.now(UTC)))
    with db.read() as session:
        session.scalars(select(Plan)).all()
    with db.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    db.close()


def test_history_is_append_only(workdir: Path):
    moment = datetime.now(UTC)
    db = open_database("sqlite:///x.db")
    with db.transaction() as session:
        session.add(Plan(id="p", title="t", loaded_at=moment))
        session.flush()
        task = Task(plan_id="p", no=1, deadline_kind="date", created_at=moment, updated_at=moment)
        session.add(task)
        session.flush()
        session.add(History(task_id=task.id, at=moment, actor="system", action="created"))
    for change in ("edit", "delete"):
        with pytest.raises(ValueError, match="append-only"), db.transaction() as session:
            entry = session.scalars(select(History)).one()
            if change == "edit":
                entry.reason = "rewritten"
            else:
                session.delete(entry)
    with db.read() as session:
        assert session.scalars(select(History.reason)).all() == [""]
    db.close()


# --- the SQLite file was created 0644 from the CLI: readable by every user of the machine -------

DUBAN = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "duban"
needs_script = pytest.mark.skipif(not DUBAN.exists(), reason="needs the installed console script")


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def cli(workdir: Path, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    """The installed `duban ARGS…` run in `workdir` under `umask`, as from a shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    return subprocess.run(["sh", "-c", f'umask {umask:03o} && exec "$@"', "sh", str(DUBAN), *args],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=120)


@needs_script
@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_cli_creates_the_database_0600_in_a_0700_folder_whatever_the_umask(
    workdir: Path, umask: int
):
    result = cli(workdir, "tasks", umask=umask)
    assert result.returncode == 0, result.stderr
    database = workdir / "var" / "duban.db"
    assert mode(workdir / "var") == 0o700
    assert mode(database) == 0o600
    assert "WARNING" not in result.stderr

    (workdir / "duban.toml").write_text("[service]\ntick_seconds = 1\n", "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(DUBAN_CONFIG="duban.toml", DUBAN_NOW="2021-07-01T10:00:00+08:00")
    command = ["sh", "-c", f'umask {umask:03o} && exec "$@"', "sh", str(DUBAN), "run"]
    with running_service(command, workdir, env) as service:
        # the service keeps its connections open: SQLite's -wal and -shm files exist now
        for suffix in ("", "-wal", "-shm"):
            assert mode(Path(f"{database}{suffix}")) == 0o600, suffix
    assert service.returncode == 0, "".join(service.lines)
    # a folder duban did not make keeps its mode
    (workdir / "shared").mkdir(mode=0o755)
    (workdir / "shared").chmod(0o755)
    assert cli(workdir, "--db", "sqlite:///shared/x.db", "tasks", umask=umask).returncode == 0
    assert mode(workdir / "shared") == 0o755
    assert mode(workdir / "shared" / "x.db") == 0o600


@needs_script
def test_an_existing_database_is_never_loosened_and_a_world_readable_one_is_tightened(
    workdir: Path,
):
    assert cli(workdir, "tasks").returncode == 0
    database = workdir / "var" / "duban.db"
    database.chmod(0o640)  # an operator's choice: a group may read it
    quiet = cli(workdir, "tasks", umask=0o000)
    assert quiet.returncode == 0 and "WARNING" not in quiet.stderr, quiet.stderr
    assert mode(database) == 0o640

    database.chmod(0o644)  # as duban made it before
    warned = cli(workdir, "tasks")
    assert warned.returncode == 0, warned.stderr
    assert mode(database) == 0o640
    [warning] = [line for line in warned.stderr.splitlines() if "WARNING" in line]
    assert "var/duban.db" in warning and "0644" in warning and "0640" in warning

    # a file that is not a database is refused and left as it was
    (workdir / "plan.yaml").write_text("plan: x\n", "utf-8")
    (workdir / "plan.yaml").chmod(0o644)
    refused = cli(workdir, "--db", "sqlite:///plan.yaml", "tasks")
    assert refused.returncode == 2 and "不是 SQLite 数据库" in refused.stderr
    assert mode(workdir / "plan.yaml") == 0o644
