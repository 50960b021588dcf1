"""`duban simulate`: the planner on a simulated clock over a copy of the data.

The real database is never opened for writing: a SQLite file is copied with SQLite's backup API
(read-only), any other database has its rows copied into a temporary SQLite file. The copy is
brought to the newest schema and the planner runs at `send_at` of every working day in the range;
its first tick catches up like a first start. Simulated notices are marked sent in the copy so that
none repeat and nothing is dispatched. Same data, same range: same output.
"""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from loguru import logger
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from engine.config import Settings
from engine.errors import ServiceError, UserError
from engine.planner.notices import SentIndex
from engine.service import make_calendar, make_policy, plan_and_enqueue
from engine.store import Database, open_database
from engine.store.models import Base
from engine.store.outbox import sent_keys

MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class SimulatedNotice:
    at: datetime
    kind: str
    recipient: str
    channel: str
    level: int
    tasks: tuple[int, ...]
    plan_id: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "recipient": self.recipient,
            "channel": self.channel,
            "level": self.level,
            "tasks": list(self.tasks),
        }


def simulate(
    database_url: str, settings: Settings, first: date, last: date
) -> list[SimulatedNotice]:
    """Every notice the service would send from `first` to `last`, in order."""
    if last < first:
        raise UserError(f"--to（{last}）早于 --from（{first}），应为不早于 --from 的日期")
    if (last - first).days > MAX_DAYS:
        raise UserError(f"模拟区间过长（{(last - first).days} 天），应不超过 {MAX_DAYS} 天")
    with tempfile.TemporaryDirectory(prefix="duban-simulate-") as folder:
        copy = Path(folder) / "simulate.db"
        _copy_database(database_url, copy)
        database = open_database(f"sqlite:///{copy}")
        try:
            return _run(database, settings, first, last)
        finally:
            database.close()


def _run(database: Database, settings: Settings, first: date, last: date) -> list[SimulatedNotice]:
    calendar = make_calendar(settings)
    policy = make_policy(settings)
    found: list[SimulatedNotice] = []
    # One index of what was sent, read once and grown by each simulated day (only the simulator
    # writes to the copy): rebuilt from every key each day, it grew with the square of the days.
    with database.transaction() as session:
        sent = SentIndex(sent_keys(session))
    day = first
    while day <= last:
        if calendar.is_workday(day):
            at = policy.send_time(day)
            rows = plan_and_enqueue(
                database, settings, at, calendar, policy, simulated=True, sent=sent
            )
            found.extend(
                SimulatedNotice(at, r.kind, r.recipient, r.channel, r.level, tuple(r.tasks),
                                r.plan_id)
                for r in rows
            )
        day += timedelta(days=1)
    # As the service does: a year without official holiday data is said (on stderr), once.
    for warning in calendar.warnings:
        logger.warning(warning)
    found.sort(key=lambda n: (n.at, n.plan_id or "", n.kind, n.recipient, n.channel, n.level))
    return found


def _copy_database(url: str, target: Path) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = parsed.database
        if not source or source == ":memory:" or not Path(source).is_file():
            raise UserError(f"数据库 {url} 不存在，请先用 duban load 载入计划")
        _backup_sqlite(Path(source), target)
        return
    _copy_rows(url, target)


def _backup_sqlite(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API, reading the source read-only."""
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            # The copy holds what the database holds: private like it, whatever the umask.
            target.touch(mode=0o600, exist_ok=False)
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise ServiceError(f"无法复制数据库 {source}：{exc}") from exc


def _copy_rows(url: str, target: Path) -> None:
    """Copy every table of a non-SQLite database into a fresh SQLite file of the same schema."""
    import engine.store.outbox  # noqa: F401 - registers the outbox tables in the metadata

    source = open_database(url)
    copy = open_database(f"sqlite:///{target}")
    try:
        with source.engine.connect() as reader, copy.engine.begin() as writer:
            for table in Base.metadata.sorted_tables:
                rows = [dict(r._mapping) for r in reader.execute(select(table))]
                if rows:
                    writer.execute(insert(table), rows)
    finally:
        source.close()
        copy.close()

