"""The working-day calendar: China's official holidays and 调休 make-up days, plus overrides.

Pure: no I/O, no clock, no logging. Three sources, each winning over the one before it:

1. the `chinesecalendar` package, for the years it has data for;
2. the State Council's notices imported with `duban calendar import` (`official`, read by
   engine.deadlines.official and kept by engine.store.calendar_days): a year with a notice takes
   its days from the notice alone, the package's days for that year left aside; a notice's days
   in the neighbouring year (元旦 from 12月31日) are taken day by day;
3. the `[calendar]` overrides, `extra_holidays` and `extra_workdays`, day by day.

A year none of the first two covers falls back to weekends only (plus the overrides); each such
year leaves one Chinese message in `WorkCalendar.warnings`, which the service logs.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

from engine.errors import UserError

_ONE_DAY = timedelta(days=1)

PACKAGE = "package"
NOTICE = "notice"
CONFIG = "config"

Days = Mapping[date, str] | Iterable[date]
"""Days of one kind: with each day's holiday name (元旦), or bare dates."""

_PACKAGE_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}


def _package_workday(d: date) -> bool:
    """chinese_calendar.is_workday for a year the package covers, without its check of the
    year, which scans every day it knows on each call (8 ms a year built, most of a pass's
    calendar): a working day is an adjusted working day, or a weekday that is no holiday."""
    if d in chinese_calendar.workdays:
        return True
    return d.weekday() < 5 and d not in chinese_calendar.holidays


@dataclass(frozen=True)
class MarkedDay:
    """A day a source makes a holiday or a working day, as `marked_days` lists it."""

    day: date
    working: bool
    name: str
    """The holiday it belongs to (春节), or "" where the source names none."""
    source: str
    """PACKAGE, NOTICE or CONFIG: the one that decides the day."""


def _named(days: Days) -> dict[date, str]:
    if isinstance(days, Mapping):
        return {d: str(name) for d, name in days.items()}
    return dict.fromkeys(days, "")


@dataclass(frozen=True)
class _Year:
    """One year's working days, precomputed so that a lookup is an index."""

    first_ordinal: int
    workday: bytes  # 1 for a working day, per day of the year
    before: tuple[int, ...]  # before[i] = working days among the year's first i days

    @property
    def total(self) -> int:
        return self.before[-1]


class WorkCalendar:
    """Which days are working days, and arithmetic in working days.

    `official`: the imported notices, {year: (holidays, workdays)}, each a mapping of day to
    holiday name or bare dates; they win over the package. `extra_holidays` and
    `extra_workdays` (config `[calendar]`) win over both and over weekends.
    """

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        official: Mapping[int, tuple[Days, Days]] | None = None,
    ) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)
        both = sorted(self._extra_holidays & self._extra_workdays)
        if both:
            days = "、".join(d.isoformat() for d in both)
            raise UserError(
                f"[calendar] 中的日期 {days} 同时出现在 extra_holidays 和 extra_workdays 中"
            )
        self._notice_years = frozenset(official or {})
        self._notice: dict[date, tuple[bool, str]] = {}
        """Every day an imported notice names: (working, holiday name)."""
        for year, (holidays, workdays) in sorted((official or {}).items()):
            for working, named in ((False, _named(holidays)), (True, _named(workdays))):
                for day, name in named.items():
                    before = self._notice.get(day)
                    if before is not None and before[0] != working:
                        raise UserError(
                            f"已导入的节假日通知中 {day.isoformat()} 一为放假一为上班"
                            f"（{year} 年的通知与另一年的通知不一致），请重新导入其中一年"
                        )
                    self._notice[day] = (working, name)
        self.warnings: list[str] = []
        self._years: dict[int, _Year] = {}
        self._covered: dict[int, bool] = {}

    def covers(self, year: int) -> bool:
        """Whether official holiday data covers `year`: an imported notice or the package."""
        return year in self._notice_years or self._package_covers(year)

    def source_of(self, year: int) -> str | None:
        """Where `year`'s official days come from: NOTICE, PACKAGE, or None (weekends only)."""
        if year in self._notice_years:
            return NOTICE
        return PACKAGE if self._package_covers(year) else None

    def _package_covers(self, year: int) -> bool:
        covered = self._covered.get(year)
        if covered is None:
            try:
                chinese_calendar.is_workday(date(year, 1, 1))
                covered = True
            except NotImplementedError:
                covered = False
            self._covered[year] = covered
        return covered

    def marked_days(self, year: int) -> list[MarkedDay]:
        """The holidays and make-up working days of `year`, each with the source deciding it,
        in date order: what `is_workday` follows, said day by day."""
        found: dict[date, MarkedDay] = {}
        if self.source_of(year) == PACKAGE:
            for table, working in (
                (chinese_calendar.holidays, False),
                (chinese_calendar.workdays, True),
            ):
                for day, name in table.items():
                    if day.year == year:
                        found[day] = MarkedDay(
                            day, working, _PACKAGE_NAMES.get(name, name), PACKAGE
                        )
        for day, (working, name) in self._notice.items():
            if day.year == year:
                found[day] = MarkedDay(day, working, name, NOTICE)
        for days, working in ((self._extra_holidays, False), (self._extra_workdays, True)):
            for day in days:
                if day.year == year:
                    name = found[day].name if day in found else ""
                    found[day] = MarkedDay(day, working, name, CONFIG)
        return [found[day] for day in sorted(found)]

    def uncovered_years(self, years: Iterable[int]) -> list[int]:
        """The years among `years` without official data, sorted, each once."""
        return sorted({year for year in years if not self.covers(year)})

    def is_workday(self, d: date) -> bool:
        year = self._year(d.year)
        return bool(year.workday[d.toordinal() - year.first_ordinal])

    def next_workday(self, d: date) -> date:
        """The first working day strictly after `d`."""
        d += _ONE_DAY
        while not self.is_workday(d):
            d += _ONE_DAY
        return d

    def previous_workday(self, d: date) -> date:
        """The last working day strictly before `d`."""
        d -= _ONE_DAY
        while not self.is_workday(d):
            d -= _ONE_DAY
        return d

    def workday_on_or_before(self, d: date) -> date:
        """`d` if it is a working day, else the working day before it."""
        return d if self.is_workday(d) else self.previous_workday(d)

    def add_workdays(self, d: date, n: int) -> date:
        """The `n`-th working day after `d` (n >= 1); `d` itself never counts."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        year_number = d.year
        needed = self._workdays_through(d) + n  # counted from the start of d's year
        while True:
            year = self._year(year_number)
            if year.total >= needed:
                # before[i] >= needed first at i: day i-1 of the year is the needed-th working day.
                i = bisect_left(year.before, needed)
                return date.fromordinal(year.first_ordinal + i - 1)
            needed -= year.total
            year_number += 1

    def workdays_between(self, a: date, b: date) -> int:
        """How many working days fall strictly after `a` up to and including `b`; 0 if b <= a."""
        if b <= a:
            return 0
        count = -self._workdays_through(a)
        for year_number in range(a.year, b.year):
            count += self._year(year_number).total
        return count + self._workdays_through(b)

    def _workdays_through(self, d: date) -> int:
        """Working days from January 1 of d's year up to and including `d`."""
        year = self._year(d.year)
        return year.before[d.toordinal() - year.first_ordinal + 1]

    def _year(self, year_number: int) -> _Year:
        year = self._years.get(year_number)
        if year is None:
            year = self._build_year(year_number)
            self._years[year_number] = year
        return year

    def _build_year(self, year_number: int) -> _Year:
        first = date(year_number, 1, 1)
        days = (date(year_number, 12, 31) - first).days + 1
        source = self.source_of(year_number)
        if source is None:
            self.warnings.append(f"{year_number} 年的法定节假日数据缺失，仅按周末计算休息日")
        flags = bytearray(days)
        before = [0] * (days + 1)
        notice = self._notice
        for i in range(days):
            d = first + timedelta(days=i)
            if d in self._extra_workdays:
                working = True
            elif d in self._extra_holidays:
                working = False
            elif d in notice:
                working = notice[d][0]
            elif source == PACKAGE:
                working = _package_workday(d)
            else:
                working = d.weekday() < 5
            flags[i] = working
            before[i + 1] = before[i] + working
        return _Year(first.toordinal(), bytes(flags), tuple(before))
