"""The working-day calendar: China's official holidays and 调休 make-up days, plus overrides.

Pure: no I/O, no clock, no logging. Years the `chinesecalendar` package has no data for fall back to
weekends only; each such year leaves one Chinese message in `WorkCalendar.warnings`, which the
service logs.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

from engine.errors import UserError

_ONE_DAY = timedelta(days=1)


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

    `extra_holidays` and `extra_workdays` (config `[calendar]`) win over both the official calendar
    and weekends.
    """

    def __init__(
        self, extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = ()
    ) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)
        both = sorted(self._extra_holidays & self._extra_workdays)
        if both:
            days = "、".join(d.isoformat() for d in both)
            raise UserError(
                f"[calendar] 中的日期 {days} 同时出现在 extra_holidays 和 extra_workdays 中"
            )
        self.warnings: list[str] = []
        self._years: dict[int, _Year] = {}
        self._covered: dict[int, bool] = {}

    def covers(self, year: int) -> bool:
        """Whether the official calendar has holiday data for `year`."""
        covered = self._covered.get(year)
        if covered is None:
            try:
                chinese_calendar.is_workday(date(year, 1, 1))
                covered = True
            except NotImplementedError:
                covered = False
            self._covered[year] = covered
        return covered

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
        official = self.covers(year_number)
        if not official:
            self.warnings.append(f"{year_number} 年的法定节假日数据缺失，仅按周末计算休息日")
        flags = bytearray(days)
        before = [0] * (days + 1)
        for i in range(days):
            d = first + timedelta(days=i)
            if d in self._extra_workdays:
                working = True
            elif d in self._extra_holidays:
                working = False
            elif official:
                working = chinese_calendar.is_workday(d)
            else:
                working = d.weekday() < 5
            flags[i] = working
            before[i + 1] = before[i] + working
        return _Year(first.toordinal(), bytes(flags), tuple(before))
