"""A database with the small trial plan and a contact directory pointing at loopback servers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from engine.actions.loading import load_plan
from engine.config import Settings
from engine.notify.queue import notify_unit
from engine.store import Database, open_database
from engine.store.outbox import OutboxNotice, list_notices
from support.plans import small_plan

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 6, 23, 9, 0, tzinfo=ZONE)


def settings_for(folder: Path, units: dict[str, dict[str, Any]], **channels: Any) -> Settings:
    """Settings as if read from `folder/duban.toml` (so the contact directory is in force)."""
    doc: dict[str, Any] = {
        "channels": {
            "wecom": {"allowed_hosts": ["127.0.0.1"], "timeout_seconds": 0.5},
            "file": {"dir": str(folder / "outbox")},
            **channels,
        },
        "units": units,
    }
    return Settings.model_validate(doc).model_copy(update={"source": folder / "duban.toml"})


def database_with_plan(folder: Path, settings: Settings) -> Database:
    db = open_database(f"sqlite:///{folder / 'duban.db'}")
    load_plan(db, small_plan(), settings, NOW)
    return db


def queue(
    db: Database,
    settings: Settings,
    unit: str = "市发改局",
    *,
    kind: str = "reminder",
    tasks: tuple[int, ...] = (1,),
    occurrence: str = "2021-06-30/T-7",
    at: datetime = NOW,
    context: dict[str, Any] | None = None,
) -> list[int]:
    with db.transaction() as session:
        rows = notify_unit(
            session,
            settings,
            plan_id="trial-plan",
            unit=unit,
            kind=kind,
            tasks=tasks,
            occurrence=occurrence,
            now=at,
            context=context or {},
        )
        return [row.id for row in rows]


def rows(db: Database) -> list[OutboxNotice]:
    with db.read() as session:
        return list_notices(session)


def row(db: Database, notice_id: int) -> OutboxNotice:
    with db.read() as session:
        found = session.get(OutboxNotice, notice_id)
        assert found is not None
        return found
