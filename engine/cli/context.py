"""What every command shares: the settings, the one clock, the database; each made on first use."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from engine.clock import Clock, FixedClock, SystemClock, parse_now
from engine.config import Settings, load_settings

if TYPE_CHECKING:
    from engine.store import Database


class AppContext:
    def __init__(self, db_url: str | None, config_path: str | None, now_text: str | None) -> None:
        self._db_url = db_url
        self._config_path = config_path
        self._now_text = now_text
        self._closers: list[Any] = []

    @cached_property
    def settings(self) -> Settings:
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
        from engine.store import open_database

        db = open_database(self.database_url)
        self._closers.append(db.close)
        return db

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()
