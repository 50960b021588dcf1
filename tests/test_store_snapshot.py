"""A new SQLite database is made from the snapshot of the migrated schema (engine.store.snapshot),
and is the same database the migrations make."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from engine.store import open_database
from engine.store.database import _script_heads, create_database_engine
from engine.store.snapshot import (
    SNAPSHOT,
    create_from_snapshot,
    migrated,
    read_snapshot,
    signature,
)


def test_the_snapshot_is_what_the_migrations_make_now(tmp_path):
    # Fails after a new migration until `python -m engine.store.snapshot` is run again.
    migrated(tmp_path / "migrated.db")
    revision, _ = read_snapshot()
    assert {revision} == _script_heads(), "run: python -m engine.store.snapshot"
    made = tmp_path / "made.db"
    engine = create_database_engine(f"sqlite:///{made}")
    try:
        assert create_from_snapshot(engine, _script_heads())
    finally:
        engine.dispose()
    assert signature(made) == signature(tmp_path / "migrated.db"), (
        "run: python -m engine.store.snapshot"
    )


def test_a_database_made_from_the_snapshot_equals_a_migrated_one(tmp_path):
    migrated(tmp_path / "migrated.db")
    database = open_database(f"sqlite:///{tmp_path / 'new.db'}")
    database.close()
    assert signature(tmp_path / "new.db") == signature(tmp_path / "migrated.db")
    assert signature(tmp_path / "new.db")["plan"]["columns"]  # a real comparison, not of nothing
    # and a later open finds it at the head: nothing is run again
    database = open_database(f"sqlite:///{tmp_path / 'new.db'}")
    database.close()
    assert signature(tmp_path / "new.db") == signature(tmp_path / "migrated.db")


def test_a_new_database_is_made_without_alembic(tmp_path):
    probe = (
        "import sys\n"
        "from engine.store import open_database\n"
        f"open_database('sqlite:///{tmp_path / 'new.db'}').close()\n"
        "print('alembic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
    tables = sqlite3.connect(tmp_path / "new.db").execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
    ).fetchone()[0]
    assert tables > 10


def test_a_snapshot_behind_the_migrations_is_not_used(tmp_path):
    revision, _ = read_snapshot()
    stale = tmp_path / "stale.sql"
    text = SNAPSHOT.read_text(encoding="utf-8")
    text = text.replace(f"-- revision: {revision}", "-- revision: 0001")
    stale.write_text(text, encoding="utf-8")
    engine = create_database_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert not create_from_snapshot(engine, _script_heads(), stale)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0
    finally:
        engine.dispose()
    # open_database then migrates with Alembic, to the same schema
    migrated(tmp_path / "migrated.db")
    database = open_database(f"sqlite:///{tmp_path / 'new.db'}")
    database.close()
    assert signature(tmp_path / "new.db") == signature(tmp_path / "migrated.db")


def test_a_file_with_tables_of_its_own_is_not_given_the_snapshot(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE theirs (x INTEGER)")
    conn.execute("INSERT INTO theirs VALUES (7)")
    conn.commit()
    conn.close()
    engine = create_database_engine(f"sqlite:///{path}")
    try:
        assert not create_from_snapshot(engine, _script_heads())
    finally:
        engine.dispose()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("theirs",)]
    assert conn.execute("SELECT x FROM theirs").fetchall() == [(7,)]


def test_the_comparison_sees_a_missing_index_and_a_missing_row(tmp_path):
    _, statements = read_snapshot()
    migrated(tmp_path / "migrated.db")
    for dropped in ("CREATE INDEX", 'INSERT INTO "counter"'):
        text = SNAPSHOT.read_text(encoding="utf-8")
        (statement,) = [s for s in statements if s.startswith(dropped)][:1]
        short = tmp_path / f"short{len(dropped)}.sql"
        short.write_text(text.replace(statement + "\n;\n", ""), encoding="utf-8")
        made = tmp_path / f"made{len(dropped)}.db"
        engine = create_database_engine(f"sqlite:///{made}")
        try:
            assert create_from_snapshot(engine, _script_heads(), short)
        finally:
            engine.dispose()
        assert signature(made) != signature(tmp_path / "migrated.db")
