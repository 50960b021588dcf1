"""The store: SQLAlchemy tables and queries, Alembic migrations shipped with the package.

`open_database(url)` returns a `Database` brought up to the newest schema; use
`db.transaction()` for one write transaction, `db.read()` for reading with the ORM and
`db.connect()` for reading with Core only. `models` holds the tables, `repository` and `board` the
queries, `migrations/` the Alembic scripts.
"""

from engine.store import revision as _revision  # noqa: F401  (registers the stamping hook)
from engine.store.database import Database, open_database

__all__ = ["Database", "open_database"]
