"""The one place that reads the wall clock; a fixed clock for tests and trials.

The domain never reads the clock: it takes `now`. The service and the CLI own one `Clock`,
set from `--now` / `DUBAN_NOW` when given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Protocol, overload
from zoneinfo import ZoneInfo

from engine.errors import UserError

DEFAULT_TIMEZONE = "Asia/Shanghai"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


class SystemClock:
    """Reads the wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """Always the same moment, unless a test moves it."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment


@overload
def local_iso(moment: datetime, zone: tzinfo) -> str: ...
@overload
def local_iso(moment: None, zone: tzinfo) -> None: ...
def local_iso(moment: datetime | None, zone: tzinfo) -> str | None:
    """A stored (UTC) moment as ISO 8601 in `zone` with its offset, as the JSON shapes give `at`.

    2021-06-10T01:00:00+00:00 in Asia/Shanghai is 2021-06-10T09:00:00+08:00; None stays None.
    """
    return moment.astimezone(zone).isoformat() if moment is not None else None


def parse_now(text: str, tz: tzinfo | None = None) -> datetime:
    """Read `--now` / `DUBAN_NOW`: an ISO date or datetime; a naive value is in the plan zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"--now/DUBAN_NOW 的值“{text}”不是有效的时间，"
            "应为 ISO 格式，例如 2021-06-01T09:00:00+08:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz or ZoneInfo(DEFAULT_TIMEZONE))
    check_year(moment.date(), "--now/DUBAN_NOW", text)
    return moment


# Dates a person types are kept to years a plan can mean: the calendar arithmetic of lights,
# reminders and reports (a year ahead, a month back) must not run off Python's year 1..9999.
FIRST_YEAR, LAST_YEAR = 1970, 2199


def check_year(day: date, where: str, text: str) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise UserError(
            f"{where} 的值“{text.strip()}”超出可用范围，应在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间"
        )
    return day
