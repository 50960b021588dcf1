"""The store: SQLAlchemy tables and queries, Alembic migrations shipped with the package.

`open_database(url)` returns a `Database` brought up to the newest schema; use
`db.transaction()` for one write transaction and `db.read()` for reading.
"""

from engine.store.database import Database, open_database

__all__ = ["Database", "open_database"]
