"""The send windows of the WeCom robots, one row per robot, shared by every instance.

A row is keyed by the sha256 (hex) of the robot's URL, never the URL itself: it holds the webhook
key. The window's arithmetic is in `engine.notify.ratelimit`; this module stores and locks rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import JSON, Connection, Insert, String, Table, bindparam, select
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base


class RobotBucketRecord(Base):
    __tablename__ = "robot_bucket"

    robot: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 of the robot's URL, in hex."""
    sent: Mapped[list[float]] = mapped_column(JSON, default=list)
    """The real (UTC) moments of the robot's last messages, as POSIX seconds, oldest first."""


_TABLE = cast(Table, RobotBucketRecord.__table__)
_LOCKED = (
    select(_TABLE.c.robot, _TABLE.c.sent)
    .where(_TABLE.c.robot.in_(bindparam("robots", expanding=True)))
    .order_by(_TABLE.c.robot)
    .with_for_update()
)
_STORE = _TABLE.update().where(_TABLE.c.robot == bindparam("row_robot"))


def locked_windows(conn: Connection, robots: Iterable[str]) -> dict[str, tuple[datetime, ...]]:
    """The send window of each of `robots` (its moments, oldest first), an empty one made for a
    robot without a row; every row locked until the transaction ends (on PostgreSQL, in the
    order of their keys, so that two instances cannot deadlock; on SQLite the write transaction
    already holds the database).

    Core statements on the transaction's connection, no session: a window is taken for every
    message a robot is sent. The rows are read first; missing ones are inserted if still missing
    (ON CONFLICT DO NOTHING) and read again, so that two instances meeting a new robot at once
    both find the one row and the second waits on its lock instead of failing on the key.
    """
    wanted = sorted(set(robots))
    found = _read(conn, wanted)
    missing = [robot for robot in wanted if robot not in found]
    if missing:
        conn.execute(_insert_missing(conn, missing))
        found.update(_read(conn, missing))
    return found


def store_windows(conn: Connection, windows: Mapping[str, Iterable[datetime]]) -> None:
    """Write each robot's window back (rows `locked_windows` locked in this transaction)."""
    if windows:
        conn.execute(
            _STORE.values(sent=bindparam("row_sent")),
            [{"row_robot": robot, "row_sent": [m.timestamp() for m in moments]}
             for robot, moments in windows.items()],
        )


def _read(conn: Connection, robots: list[str]) -> dict[str, tuple[datetime, ...]]:
    return {
        robot: tuple(datetime.fromtimestamp(t, UTC) for t in sent or ())
        for robot, sent in conn.execute(_LOCKED, {"robots": robots})
    }


def _insert_missing(conn: Connection, robots: list[str]) -> Insert:
    rows = [{"robot": robot, "sent": []} for robot in robots]
    # each dialect's package imported on its own database only (PostgreSQL's costs ~0.05 s)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(_TABLE).values(rows).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(_TABLE).values(rows).on_conflict_do_nothing()
