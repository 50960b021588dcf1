"""The token buckets of the WeCom robots, one row per robot, shared by every instance.

A row is keyed by the sha256 (hex) of the robot's URL, never the URL itself: it holds the webhook
key. The bucket's arithmetic is in `engine.notify.ratelimit`; this module stores and locks rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.store.models import Base, UTCDateTime


class RobotBucketRecord(Base):
    __tablename__ = "robot_bucket"

    robot: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 of the robot's URL, in hex."""
    tokens: Mapped[float] = mapped_column(Float)
    refilled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The real (UTC) moment `tokens` was counted at, whatever the business clock says."""


def locked_bucket(session: Session, robot: str, tokens: float, now: datetime) -> RobotBucketRecord:
    """The bucket row of `robot`, made full at `now` if missing, locked until the transaction ends.

    Insert-if-missing first, so that two instances meeting a new robot at once both find the one
    row and the second waits on its lock instead of failing on the primary key.
    """
    values = {"robot": robot, "tokens": tokens, "refilled_at": now}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(
            postgresql.insert(RobotBucketRecord).values(values).on_conflict_do_nothing()
        )
    else:
        session.execute(sqlite.insert(RobotBucketRecord).values(values).on_conflict_do_nothing())
    query = select(RobotBucketRecord).where(RobotBucketRecord.robot == robot).with_for_update()
    return session.scalars(query).one()
