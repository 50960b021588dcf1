"""What every command shares: the settings, the one clock, the database; each made on first use.

A command that fails on its arguments or its configuration creates nothing: the database (a new
SQLite file and its folder) is opened only when a command first reads or writes it, after the
settings and `--now` have been read, so that a check a command makes before touching the store
refuses first; and a new SQLite database that a command refused after reading it (an unknown plan,
a unit not yet loaded) is removed again, with its folder, when nothing was written to it.
"""

from __future__ import annotations

import sqlite3
import sys
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from engine.clock import Clock, FixedClock, SystemClock, parse_now
from engine.errors import UserError

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.config import Settings
    from engine.store import Database


class AppContext:
    def __init__(self, db_url: str | None, config_path: str | None, now_text: str | None) -> None:
        self._db_url = db_url
        self._config_path = config_path
        self._now_text = now_text
        self._closers: list[Any] = []
        self._new_file: _NewSqliteFile | None = None

    @cached_property
    def settings(self) -> Settings:
        # imported here: `load` forks the child reading its files before pydantic is imported
        from engine.config import load_settings

        settings = load_settings(self._config_path)
        from engine.notify.secrets import install_log_masking

        # From here on every log line is masked for the secrets this config refers to.
        install_log_masking(settings)
        return settings

    @cached_property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.service.timezone)

    @cached_property
    def clock(self) -> Clock:
        if self._now_text:
            return FixedClock(parse_now(self._now_text, self.timezone))
        return SystemClock()

    def now(self) -> datetime:
        """The current moment in the service's time zone."""
        return self.clock.now().astimezone(self.timezone)

    @property
    def database_url(self) -> str:
        return self._db_url or self.settings.database.url

    @cached_property
    def database(self) -> Database:
        """The database, opened (created, migrated) at its first use, not when handed over."""
        return cast("Database", _OpenedOnUse(self._open_database))

    def _open_database(self) -> Database:
        from engine.store import open_database

        # The configuration and --now first (--db alone would not read them): a mistake in either
        # is refused before the database is made.
        _ = self.settings, self.clock
        url = self.database_url
        new_file = _NewSqliteFile.before_opening(url)
        db = open_database(url)
        self._closers.append(db.close)
        if new_file is not None:
            self._new_file = new_file.opened()
        return db

    def close(self) -> None:
        # Called as the command's context ends: with its exception in flight when it failed.
        failed = sys.exc_info()[1]
        while self._closers:
            self._closers.pop()()
        if self._new_file is not None and _users_mistake(failed):
            self._new_file.remove_if_untouched()


def _users_mistake(failed: BaseException | None) -> bool:
    import click

    return isinstance(failed, (UserError, click.ClickException))


@dataclass
class _NewSqliteFile:
    """A SQLite database this command is about to create, and whether it made its folder too."""

    path: Path
    made_folder: bool
    rows: dict[str, int] | None = None
    """Each table's row count just after creation (the migrations' own rows)."""

    @classmethod
    def before_opening(cls, url: str) -> _NewSqliteFile | None:
        from sqlalchemy.engine import make_url

        try:
            parsed = make_url(url)
        except Exception:  # open_database says what is wrong with the URL
            return None
        name = parsed.database
        if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
            return None
        if name.startswith("file:"):
            return None
        path = Path(name)
        if path.exists():
            return None
        return cls(path, made_folder=not path.parent.exists())

    def opened(self) -> _NewSqliteFile | None:
        self.rows = _row_counts(self.path)
        return self if self.rows is not None else None

    def remove_if_untouched(self) -> None:
        """Remove the file (and the folder made for it) if the command wrote nothing to it."""
        if self.rows is None or _row_counts(self.path) != self.rows:
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            with suppress(OSError):
                Path(f"{self.path}{suffix}").unlink()
        if self.made_folder:
            with suppress(OSError):  # not empty: something else lives there now
                self.path.parent.rmdir()


def _row_counts(path: Path) -> dict[str, int] | None:
    """Each table's row count, read apart from the command's own connections; None if unreadable."""
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            tables = [
                name
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return {
                name: int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
                for name in tables
            }
    except (sqlite3.Error, OSError, ValueError):
        return None


class _OpenedOnUse:
    """Stands for the database until something uses it; then opens it and passes everything on.

    `app.database` is often evaluated before a command has checked its other arguments (a
    status, a unit, a date): opening it then would leave a new database behind a refusal.
    """

    def __init__(self, opener: Callable[[], Database]) -> None:
        self._opener = opener
        self._opened: Database | None = None

    def __getattr__(self, name: str) -> Any:
        if self._opened is None:
            self._opened = self._opener()
        return getattr(self._opened, name)
