"""A new SQLite database made from a snapshot of the migrated schema, not by running every
migration: one transaction of CREATE statements instead of importing Alembic and replaying each
revision (~0.3 s of a first `duban load`, and of every test that makes a database).

The snapshot (`schema/sqlite.sql`) is what the migrations leave in an empty SQLite file: each
table's and index's statement as SQLite keeps it in `sqlite_master` (tables, then indexes, by
name), and the rows the migrations insert (the `alembic_version` row among them). It is used
only for a file without any table and only while it is at the migrations' head; otherwise
Alembic runs, as before. `python -m engine.store.snapshot` writes it again after a new migration;
tests/test_store_snapshot.py fails while it is out of date, and compares a database made each way
(`signature`: the same tables, columns, keys, indexes and rows).
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy import Engine

SNAPSHOT = Path(__file__).resolve().parent / "schema" / "sqlite.sql"
_REVISION = "-- revision: "
_END = "\n;\n"
"""Ends each statement: a line of its own, which no statement of the schema contains."""


def read_snapshot(path: Path = SNAPSHOT) -> tuple[str, list[str]]:
    """(the revision the snapshot is at, its statements in order)."""
    text = path.read_text(encoding="utf-8")
    head, _, body = text.partition("\n")
    if not head.startswith(_REVISION):
        raise ValueError(f"{path}: the first line must be “{_REVISION}<revision>”")
    statements = [part.strip() for part in body.split(_END) if part.strip()]
    return head.removeprefix(_REVISION).strip(), statements


def create_from_snapshot(engine: Engine, heads: set[str], path: Path = SNAPSHOT) -> bool:
    """Make the schema of an empty SQLite database from the snapshot, in one write transaction.
    False (nothing done) when the snapshot is not at `heads` or the database has any table."""
    revision, statements = read_snapshot(path)
    if heads != {revision}:
        return False
    with engine.execution_options(duban_write=True).begin() as conn:
        if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar():
            return False  # made meanwhile by another process, or not ours: Alembic decides
        for statement in statements:
            conn.exec_driver_sql(statement)
    return True


def dump(path: Path) -> str:
    """The snapshot text of the SQLite database at `path` (as the migrations left it)."""
    conn = sqlite3.connect(path)
    try:
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        parts = []
        tables = []
        # tables, then indexes, each by name: the migrations' own order is not the same on each
        # run (Alembic's batch operations recreate a table's indexes from a set)
        for kind, name, sql in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            " ORDER BY type != 'table', type, name"
        ):
            if name.startswith("sqlite_"):
                continue
            if _END.strip() in sql.splitlines():
                raise ValueError(f"the statement of {name} has a line of “{_END.strip()}”")
            parts.append(sql)
            if kind == "table":
                tables.append(name)
        for table in tables:
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            quoted = ", ".join(f'quote("{column}")' for column in columns)
            names = ", ".join(f'"{column}"' for column in columns)
            for row in conn.execute(f'SELECT {quoted} FROM "{table}" ORDER BY rowid'):
                parts.append(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(row)})')
    finally:
        conn.close()
    return f"{_REVISION}{revision}\n" + "".join(part + _END for part in parts)


def signature(path: Path) -> dict[str, object]:
    """What the schema of the SQLite database at `path` is, whatever the order its statements
    were written in: each table's columns (in order), foreign keys, indexes and unique
    constraints (by their columns; SQLite numbers its own indexes by the constraints' order),
    explicit indexes by name; then every row of every table. The migrations write the same
    schema in a different text from one run to the next (a batch-recreated table lists its
    constraints from a set), so two databases are compared by this, not by their statements."""
    conn = sqlite3.connect(path)
    try:
        found: dict[str, object] = {}
        names = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )]
        for table in names:
            columns = conn.execute(f'PRAGMA table_xinfo("{table}")').fetchall()
            keys = sorted((*row[2:], row[1]) for row in  # not row[0]: numbered in text order
                          conn.execute(f'PRAGMA foreign_key_list("{table}")'))
            indexes = []
            for _, name, unique, origin, partial in conn.execute(f'PRAGMA index_list("{table}")'):
                cols = tuple(row[2] for row in conn.execute(f'PRAGMA index_info("{name}")'))
                shown = None if name.startswith("sqlite_autoindex_") else name
                indexes.append((shown or "", bool(unique), origin, bool(partial), cols))
            rows = sorted(map(repr, conn.execute(f'SELECT * FROM "{table}"')))
            found[table] = {"columns": columns, "foreign keys": keys,
                            "indexes": sorted(indexes), "rows": rows}
        return found
    finally:
        conn.close()


def migrated(path: Path) -> None:
    """Run every migration on a new SQLite file at `path` (with Alembic, never the snapshot)."""
    from engine.store.database import create_database_engine, upgrade

    engine = create_database_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "migrated.db"
        migrated(database)
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(dump(database), encoding="utf-8")
    print(f"wrote {SNAPSHOT}")


if __name__ == "__main__":
    main()
