"""The imported holiday notices: one row per day a notice makes a holiday or a working day.

Rows are kept per notice year (the 2023 notice's 2022-12-31 is a row of 2023); importing a year
again replaces all of that year's rows in one transaction. `calendar_for` builds the service's
`WorkCalendar` from them and the `[calendar]` overrides; `Calendars` keeps one for a long-running
service and builds it again when the rows change (an operator imports next year's notice while
`duban run` runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.config import Settings
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.official import HOLIDAY, WORKDAY, OfficialYear
from engine.errors import UserError
from engine.store.database import Database
from engine.store.models import Base, UTCDateTime


class CalendarDayRecord(Base):
    __tablename__ = "calendar_day"
    __table_args__ = (UniqueConstraint("year", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    """The notice's year, which may differ from the day's (元旦 from 12月31日)."""
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    """HOLIDAY or WORKDAY (engine.deadlines.official)."""
    name: Mapped[str] = mapped_column(String(40))
    """The holiday the day belongs to, as the notice names it: 春节, 国庆节、中秋节."""
    source: Mapped[str] = mapped_column(String(255))
    """The imported file's name."""
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


Official = dict[int, tuple[dict[date, str], dict[date, str]]]
"""{notice year: (holidays, workdays)}, each day → holiday name: `WorkCalendar`'s `official`."""


@dataclass(frozen=True)
class StoredNotice:
    year: int
    source: str
    sha256: str
    imported_at: datetime
    holidays: int
    workdays: int


def _rows(session: Session) -> list[CalendarDayRecord]:
    query = select(CalendarDayRecord).order_by(CalendarDayRecord.year, CalendarDayRecord.day)
    return list(session.scalars(query))


def _official(rows: list[CalendarDayRecord]) -> Official:
    found: Official = {}
    for row in rows:
        holidays, workdays = found.setdefault(row.year, ({}, {}))
        (workdays if row.kind == WORKDAY else holidays)[row.day] = row.name
    return found


def official_in(session: Session) -> Official:
    return _official(_rows(session))


def notices_in(session: Session) -> dict[int, StoredNotice]:
    """Each imported year: which file, when, and how many days of each kind."""
    found: dict[int, StoredNotice] = {}
    for row in _rows(session):
        seen = found.get(row.year)
        holidays = (seen.holidays if seen else 0) + (row.kind == HOLIDAY)
        workdays = (seen.workdays if seen else 0) + (row.kind == WORKDAY)
        found[row.year] = StoredNotice(
            row.year, row.source, row.sha256, row.imported_at, holidays, workdays
        )
    return found


def replace_notices(
    session: Session, years: list[OfficialYear], source: str, sha256: str, now: datetime
) -> list[int]:
    """Store the notices read, each replacing that year's rows; the years that had rows before.

    A day that a notice of another year already stored gives the other kind is refused: the
    calendar could not tell which to follow.
    """
    importing = {y.year for y in years}
    others: dict[date, tuple[str, int]] = {
        row.day: (row.kind, row.year) for row in _rows(session) if row.year not in importing
    }
    for year in years:
        for day, (kind, _name) in year.days().items():
            other = others.get(day)
            if other and other[0] != kind:
                said = {HOLIDAY: "放假", WORKDAY: "上班"}
                raise UserError(
                    f"{source}：{day.isoformat()} 在此通知中为{said[kind]}，但已导入的 {other[1]} "
                    f"年通知中为{said[other[0]]}；请核对两份通知，先重新导入其中有误的一份"
                )
    replaced = sorted(
        set(
            session.scalars(
                select(CalendarDayRecord.year).where(CalendarDayRecord.year.in_(importing))
            )
        )
    )
    session.execute(delete(CalendarDayRecord).where(CalendarDayRecord.year.in_(importing)))
    for year in years:
        session.add_all(
            CalendarDayRecord(
                year=year.year,
                day=day,
                kind=kind,
                name=name[:40],
                source=source,
                sha256=sha256,
                imported_at=now,
            )
            for day, (kind, name) in year.days().items()
        )
    return replaced


def calendar_for(database: Database | Session, settings: Settings) -> WorkCalendar:
    """The working-day calendar the service plans on: the package, the imported notices, the
    `[calendar]` overrides."""
    if isinstance(database, Session):
        official = official_in(database)
    else:
        with database.read() as session:
            official = official_in(session)
    return _calendar(official, settings)


def _calendar(official: Official, settings: Settings) -> WorkCalendar:
    return WorkCalendar(
        settings.calendar.extra_holidays, settings.calendar.extra_workdays, official=official
    )


class Calendars:
    """One calendar for a long-running service, built again only when the stored notices change.

    Reading the rows is cheap (some forty a year); building a calendar's years is not free, and
    the planner compares calendars by what `is_workday` says, so an unchanged one is kept.
    """

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._seen: list[tuple[int, date, str, str]] | None = None
        self._calendar: WorkCalendar | None = None

    def current(self) -> WorkCalendar:
        with self.database.read() as session:
            rows = _rows(session)
        seen = [(r.year, r.day, r.kind, r.name) for r in rows]
        if self._calendar is None or seen != self._seen:
            self._calendar = _calendar(_official(rows), self.settings)
            self._seen = seen
        return self._calendar
