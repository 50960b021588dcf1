"""`duban simulate`: the planner on a simulated clock over a copy of the data.

The real database is never opened for writing: a SQLite file is copied with SQLite's backup API
(read-only), any other database has its rows copied into a temporary SQLite file. The copy is
brought to the newest schema and the planner runs at `send_at` of every working day in the range;
its first tick catches up like a first start. Nothing is dispatched. Same data, same range: same
output.

Day by day the service's pass (engine.service.plan_and_enqueue) would read the store, plan and
write to the outbox. In the copy nothing changes but that outbox, which the planner reads only as
the keys already sent: so the planner's snapshot is read once, the pure planner (`plan_notices`,
`plan_digests`) runs on it at each simulated day, and the keys of what it planned are kept in
memory, as the pass would have inserted them (`_enqueued`). Each digest gets its content at its
own `now`, as the service's pass gives it (`_Digests`). tests/test_simulate_day_by_day.py checks
the result against a real `duban --now D run --once` each working day.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from loguru import logger
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.errors import ServiceError, UserError
from engine.ledger.digest import digest_content
from engine.ledger.query import snapshot_of
from engine.ledger.stats import PlanSnapshot
from engine.planner import PlannedNotice, SentIndex, plan_digests, plan_notices
from engine.planner.digest import DIGEST
from engine.service import make_policy, read_snapshot
from engine.store import Database, open_database
from engine.store.calendar_days import calendar_for
from engine.store.models import Base
from engine.store.outbox import sent_keys

MAX_DAYS = 10 * 366
"""The longest range: ten years and more (a five-year plan, 十四五, twice over)."""

LONG_RUN_DAYS = 366
"""A range longer than this says how far it has got, on stderr, at each tenth of the way."""

Progress = Callable[[date, int], None]
"""Told the last simulated day and the share done (a percentage) now and then on a long run."""


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
    database_url: str,
    settings: Settings,
    first: date,
    last: date,
    progress: Progress | None = None,
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
            return _run(database, settings, first, last, progress)
        finally:
            database.close()


def _run(
    database: Database,
    settings: Settings,
    first: date,
    last: date,
    progress: Progress | None = None,
) -> list[SimulatedNotice]:
    calendar = calendar_for(database, settings)  # the copy's imported notices too
    policy = make_policy(settings)
    found: list[SimulatedNotice] = []
    total = (last - first).days + 1
    marks = _progress_marks(total) if progress else {}
    with database.read() as session:
        # Read once: the copy's tasks, units and reports are the same on every simulated day.
        snapshot = read_snapshot(session, settings)
        keys = set(sent_keys(session))
        sent = SentIndex(keys)
        digests = _Digests(session, settings)
        day = first
        for done in range(1, total + 1):
            if calendar.is_workday(day):
                at = policy.send_time(day)
                # The service's pass at `at` (plan_and_enqueue), on the snapshot read once.
                notices = plan_notices(snapshot, at, policy, calendar, sent)
                notices.extend(digests.content(plan_digests(snapshot, at, policy, calendar, sent),
                                               at))
                found.extend(_enqueued(notices, keys, sent, at))
            if done in marks and progress is not None:
                progress(day, marks[done])
            day += timedelta(days=1)
    # As the service does: a year without official holiday data is said (on stderr), once.
    for warning in calendar.warnings:
        logger.warning(warning)
    found.sort(key=lambda n: (n.at, n.plan_id or "", n.kind, n.recipient, n.channel, n.level))
    return found


def _enqueued(
    notices: list[PlannedNotice], keys: set[str], sent: SentIndex, at: datetime
) -> list[SimulatedNotice]:
    """The rows `engine.store.outbox.enqueue` would insert for `notices` (a task share whose key
    is in the outbox already is left out; a notice left without one is not inserted), as the
    service lists them (a digest names the plan's overdue tasks). The outbox's keys (`keys`, and
    the planner's index of them, `sent`) grow by the notices' keys, as the service's pass."""
    rows = []
    for notice in notices:
        new = [key for key in dict.fromkeys(notice.keys) if key not in keys]
        for key in notice.keys:
            if key not in keys:
                sent.add(key)
                keys.add(key)
        if not new:
            continue
        tasks = notice.tasks if notice.kind == DIGEST else tuple(
            sorted({int(key.split("|", 2)[1]) for key in new})
        )
        rows.append(SimulatedNotice(at, notice.kind, notice.recipient, notice.channel,
                                    notice.level, tasks, notice.plan_id))
    return rows


class _Digests:
    """What `engine.service.with_digest_content` gives a digest, from one read of each plan.

    The service reads a plan's digest (engine.ledger.query.digest_of) at `now` in the pass that
    enqueues it. That read depends on `now` only through the snapshot's `now` (the lights, the
    overdue list, the week), and the copy's tasks, requests and reports stay as they are: so
    each plan is read once and its snapshot set to each week's `now`.
    """

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self._plans: dict[str, PlanSnapshot] = {}

    def content(self, notices: list[PlannedNotice], now: datetime) -> list[PlannedNotice]:
        out = []
        for notice in notices:
            if notice.kind == DIGEST:
                plan = self._plans.get(notice.plan_id)
                if plan is None:
                    plan = self._plans[notice.plan_id] = snapshot_of(
                        self.session, plan_id=notice.plan_id, now=now, settings=self.settings
                    )
                content = digest_content(dataclasses.replace(plan, now=now))
                overdue = tuple(row["no"] for row in content["overdue"])
                notice = dataclasses.replace(notice, tasks=overdue, context=content)
            out.append(notice)
        return out


def _progress_marks(total: int) -> dict[int, int]:
    """Day number (1-based) → percentage, at each tenth of a long range (not the last day)."""
    if total <= LONG_RUN_DAYS:
        return {}
    marks: dict[int, int] = {}
    for tenth in range(1, 10):
        marks.setdefault(-(-total * tenth // 10), tenth * 10)
    return marks


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
            # The copy's migrations seed some rows (the task counter): the source's replace them.
            for table in reversed(Base.metadata.sorted_tables):
                writer.execute(delete(table))
            for table in Base.metadata.sorted_tables:
                rows = [dict(r._mapping) for r in reader.execute(select(table))]
                if rows:
                    writer.execute(insert(table), rows)
    finally:
        source.close()
        copy.close()

