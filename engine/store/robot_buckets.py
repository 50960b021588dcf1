"""The send windows of the WeCom robots, one row per robot, shared by every instance.

A row is keyed by the sha256 (hex) of the robot's URL, never the URL itself: it holds the webhook
key. The window's arithmetic is in `engine.notify.ratelimit`; this module stores and locks rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.store.models import Base


class RobotBucketRecord(Base):
    __tablename__ = "robot_bucket"

    robot: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 of the robot's URL, in hex."""
    sent: Mapped[list[float]] = mapped_column(JSON, default=list)
    """The real (UTC) moments of the robot's last messages, as POSIX seconds, oldest first."""


def sent_moments(row: RobotBucketRecord) -> tuple[datetime, ...]:
    return tuple(datetime.fromtimestamp(t, UTC) for t in row.sent or ())


def stored_moments(moments: Iterable[datetime]) -> list[float]:
    return [m.timestamp() for m in moments]


def locked_window(session: Session, robot: str) -> RobotBucketRecord:
    """The window row of `robot`, made empty if missing, locked until the transaction ends.

    Insert-if-missing first, so that two instances meeting a new robot at once both find the one
    row and the second waits on its lock instead of failing on the primary key.
    """
    values = {"robot": robot, "sent": []}
    dialect = session.get_bind().dialect.name
    # each dialect's package imported on its own database only (PostgreSQL's costs ~0.05 s)
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        session.execute(
            postgresql.insert(RobotBucketRecord).values(values).on_conflict_do_nothing()
        )
    else:
        from sqlalchemy.dialects import sqlite

        session.execute(sqlite.insert(RobotBucketRecord).values(values).on_conflict_do_nothing())
    query = select(RobotBucketRecord).where(RobotBucketRecord.robot == robot).with_for_update()
    return session.scalars(query).one()
