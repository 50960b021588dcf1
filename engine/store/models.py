"""The tables: plans, sections, units and their aliases, tasks, requests, progress, history.

Datetimes are stored as UTC without an offset (portable between SQLite and PostgreSQL) and come
back timezone-aware in UTC. The history table is append-only: nothing updates or deletes its rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so that later migrations can address them on every back end.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC; a naive value is refused rather than guessed."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Unit(Base):
    """An organisation, under its canonical name."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)

    aliases: Mapped[list[UnitAlias]] = relationship(back_populates="unit")


class UnitAlias(Base):
    """Another name of a unit (市市场监督管理局 → 市市场监管局)."""

    __tablename__ = "unit_alias"

    alias: Mapped[str] = mapped_column(String(200), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))

    unit: Mapped[Unit] = relationship(back_populates="aliases")


class Plan(Base):
    __tablename__ = "plan"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    source_file: Mapped[str | None] = mapped_column(Text)
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    file_path: Mapped[str | None] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    load_digest: Mapped[str | None] = mapped_column(String(64))
    """The plan file's bytes and the config's unit aliases it was last loaded with (sha256): at
    start, a file with the same digest is not read again (engine.plans.sync_plans)."""
    task_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many of its tasks the file held when last loaded (those in_plan): kept by the load,
    the only writer of in_plan, so that the start line sums plans instead of counting tasks."""

    coordinator: Mapped[Unit | None] = relationship()
    sections: Mapped[list[Section]] = relationship(
        back_populates="plan", order_by="Section.position", cascade="all, delete-orphan"
    )


class Section(Base):
    __tablename__ = "section"
    __table_args__ = (UniqueConstraint("plan_id", "no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    no: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[Plan] = relationship(back_populates="sections")


class Task(Base):
    """One row of a plan. `due` is the deadline in force; `file_deadline` what the file said."""

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("plan_id", "no"),
        Index("ix_task_status", "status"),
        Index("ix_task_due", "due"),
        Index("ix_task_revision", "revision"),
        Index("ix_task_deadline_kind", "deadline_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    no: Mapped[int] = mapped_column(Integer)
    section_no: Mapped[str | None] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    units_text: Mapped[str] = mapped_column(Text, default="")
    deadline_text: Mapped[str] = mapped_column(Text, default="")
    deadline_kind: Mapped[str] = mapped_column(String(20))
    due: Mapped[date | None] = mapped_column(Date)
    milestones: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    rrule: Mapped[str | None] = mapped_column(Text)
    start: Mapped[date | None] = mapped_column(Date)
    file_deadline: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The deadline as the plan file last gave it, to tell a changed file from an extension."""
    original_due: Mapped[date | None] = mapped_column(Date)
    """The due date before the first approved extension (None: never extended)."""
    status: Mapped[str] = mapped_column(String(20), default="not_started")
    progress: Mapped[str] = mapped_column(Text, default="")
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    in_plan: Mapped[bool] = mapped_column(Boolean, default=True)
    """False when the last loaded plan file no longer lists the task (kept, not deleted)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    """The task revision of its last change (engine.store.revision): what a pass reads again."""

    plan: Mapped[Plan] = relationship()
    units: Mapped[list[TaskUnit]] = relationship(
        back_populates="task", order_by="TaskUnit.position", cascade="all, delete-orphan"
    )


class TaskUnit(Base):
    """A unit responsible for a task, as lead (`lead`) or co-unit (`co`)."""

    __tablename__ = "task_unit"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("task.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(Integer, default=0)

    task: Mapped[Task] = relationship(back_populates="units")
    unit: Mapped[Unit] = relationship()


class Request(Base):
    """A unit's request: a state change (`transition`) or a new deadline (`extension`)."""

    __tablename__ = "request"
    __table_args__ = (Index("ix_request_state", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    until: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)

    task: Mapped[Task] = relationship()
    unit: Mapped[Unit] = relationship()


class ProgressReport(Base):
    __tablename__ = "progress_report"
    __table_args__ = (Index("ix_progress_report_task_at", "task_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()


class History(Base):
    """One event in a task's life. Append-only."""

    __tablename__ = "history"
    __table_args__ = (Index("ix_history_task_at", "task_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"))
    person: Mapped[str | None] = mapped_column(String(200))
    """Who acted for `actor`: the console user or the API token's name; None for a link or CLI."""
    via: Mapped[str | None] = mapped_column(String(10))
    """How: `cli`, `web`, `link`, `api` or `system`."""


class WebUser(Base):
    """A console account: a coordinator decides for its unit's plans, a viewer only reads."""

    __tablename__ = "web_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()


class ApiToken(Base):
    """A bearer token for another system; only its SHA-256 is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    role: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()


class UnitLink(Base):
    """The generation of a unit's personal links: revoking them all moves it on by one."""

    __tablename__ = "unit_link"

    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Evidence(Base):
    """A file a unit attached to a progress report (佐证材料), kept in the database."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    progress_id: Mapped[int | None] = mapped_column(
        ForeignKey("progress_report.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()


class AppSecret(Base):
    """A secret duban made itself, for an installation that names none in the environment."""

    __tablename__ = "app_secret"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


@event.listens_for(Session, "before_flush")
def _history_is_append_only(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse, in every session, to change or delete a history row once written."""
    for entry in session.deleted:
        if isinstance(entry, History):
            raise ValueError("history is append-only: a history row cannot be deleted")
    for entry in session.dirty:
        if isinstance(entry, History) and session.is_modified(entry):
            raise ValueError("history is append-only: a history row cannot be changed")
