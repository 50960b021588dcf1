"""The working-day calendar: official holidays, 调休, years without data, overrides."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from engine.deadlines.calendar import WorkCalendar
from engine.errors import UserError


@pytest.fixture
def calendar() -> WorkCalendar:
    return WorkCalendar()


def test_new_years_day_2021_is_a_holiday(calendar: WorkCalendar) -> None:
    assert not calendar.is_workday(date(2021, 1, 1))


def test_first_working_day_after_2020_is_monday_january_4(calendar: WorkCalendar) -> None:
    assert calendar.next_workday(date(2020, 12, 31)) == date(2021, 1, 4)


def test_make_up_sunday_before_spring_festival_2021_is_a_working_day(
    calendar: WorkCalendar,
) -> None:
    assert date(2021, 2, 7).weekday() == 6
    assert calendar.is_workday(date(2021, 2, 7))


def test_an_ordinary_sunday_is_a_rest_day(calendar: WorkCalendar) -> None:
    assert not calendar.is_workday(date(2020, 12, 27))


def test_an_ordinary_weekday_is_a_working_day(calendar: WorkCalendar) -> None:
    assert calendar.is_workday(date(2020, 12, 28))


@pytest.mark.parametrize("day", range(11, 18))
def test_spring_festival_2021_is_rest(calendar: WorkCalendar, day: int) -> None:
    assert not calendar.is_workday(date(2021, 2, day))


def test_spring_festival_2021_boundaries(calendar: WorkCalendar) -> None:
    assert calendar.next_workday(date(2021, 2, 10)) == date(2021, 2, 18)
    assert calendar.previous_workday(date(2021, 2, 18)) == date(2021, 2, 10)


def test_make_up_saturday_counts_as_a_working_day(calendar: WorkCalendar) -> None:
    # 2021-09-18 (Saturday) was worked in exchange for the Mid-Autumn holiday.
    assert date(2021, 9, 18).weekday() == 5
    assert calendar.is_workday(date(2021, 9, 18))
    assert calendar.next_workday(date(2021, 9, 17)) == date(2021, 9, 18)


def test_previous_workday_moves_a_sunday_to_the_friday(calendar: WorkCalendar) -> None:
    assert calendar.previous_workday(date(2020, 12, 27)) == date(2020, 12, 25)
    assert calendar.workday_on_or_before(date(2020, 12, 27)) == date(2020, 12, 25)


def test_workday_on_or_before_keeps_a_working_day(calendar: WorkCalendar) -> None:
    assert calendar.workday_on_or_before(date(2020, 12, 28)) == date(2020, 12, 28)


def test_next_and_previous_are_strict(calendar: WorkCalendar) -> None:
    assert calendar.next_workday(date(2020, 12, 28)) == date(2020, 12, 29)
    assert calendar.previous_workday(date(2020, 12, 29)) == date(2020, 12, 28)


def test_add_workdays_across_national_day_week_2021(calendar: WorkCalendar) -> None:
    # 2021-09-30 Thursday; 10-01..10-07 rest; 10-09 (Saturday) is a make-up working day.
    assert calendar.add_workdays(date(2021, 9, 30), 1) == date(2021, 10, 8)
    assert calendar.add_workdays(date(2021, 9, 30), 2) == date(2021, 10, 9)
    assert calendar.add_workdays(date(2021, 9, 30), 3) == date(2021, 10, 11)


def test_add_workdays_from_a_rest_day(calendar: WorkCalendar) -> None:
    assert calendar.add_workdays(date(2021, 10, 3), 1) == date(2021, 10, 8)


def test_add_workdays_chases_task_due_at_end_of_2020(calendar: WorkCalendar) -> None:
    # Level 0 fires on the 1st working day after the deadline, level 1 on the 6th.
    assert calendar.add_workdays(date(2020, 12, 31), 1) == date(2021, 1, 4)
    assert calendar.add_workdays(date(2020, 12, 31), 6) == date(2021, 1, 11)


def test_add_workdays_over_many_years_matches_stepping(calendar: WorkCalendar) -> None:
    stepped = date(2020, 12, 31)
    for _ in range(600):
        stepped = calendar.next_workday(stepped)
    assert calendar.add_workdays(date(2020, 12, 31), 600) == stepped


def test_add_workdays_needs_a_positive_count(calendar: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        calendar.add_workdays(date(2021, 1, 4), 0)


def test_workdays_between_counts_after_a_through_b(calendar: WorkCalendar) -> None:
    assert calendar.workdays_between(date(2020, 12, 31), date(2021, 1, 4)) == 1
    assert calendar.workdays_between(date(2020, 12, 31), date(2021, 1, 11)) == 6
    assert calendar.workdays_between(date(2021, 9, 30), date(2021, 10, 11)) == 3
    assert calendar.workdays_between(date(2021, 1, 4), date(2021, 1, 4)) == 0
    assert calendar.workdays_between(date(2021, 1, 11), date(2021, 1, 4)) == 0


def test_workdays_between_agrees_with_add_workdays_across_years(calendar: WorkCalendar) -> None:
    start = date(2019, 6, 30)
    end = calendar.add_workdays(start, 1000)
    assert calendar.workdays_between(start, end) == 1000


def test_year_2021_has_250_working_days(calendar: WorkCalendar) -> None:
    assert calendar.workdays_between(date(2020, 12, 31), date(2021, 12, 31)) == 250


def test_every_day_the_package_covers_is_as_the_package_says(calendar: WorkCalendar) -> None:
    # the calendar reads the package's tables itself, not through is_workday: the same answer
    # for every day of every year it covers, 调休 days and holidays on weekdays among them
    years = sorted({d.year for d in chinese_calendar.holidays})
    day, last = date(years[0], 1, 1), date(years[-1], 12, 31)
    differing = []
    while day <= last:
        if calendar.covers(day.year) and calendar.is_workday(day) != chinese_calendar.is_workday(
            day
        ):
            differing.append(day)
        day += timedelta(days=1)
    assert differing == []
    assert calendar.is_workday(date(2021, 2, 7))  # a Sunday made a working day
    assert not calendar.is_workday(date(2021, 10, 4))  # a Monday of the National Day week


def test_covered_and_uncovered_years(calendar: WorkCalendar) -> None:
    assert calendar.covers(2021)
    assert not calendar.covers(2099)
    assert calendar.uncovered_years([2099, 2021, 2099, 2030]) == [2030, 2099]
    assert calendar.warnings == []  # asking is not using


def test_year_without_data_rests_on_weekends_only(calendar: WorkCalendar) -> None:
    # 2099-01-01 is a Thursday; without data it is an ordinary working day.
    assert calendar.is_workday(date(2099, 1, 1))
    assert not calendar.is_workday(date(2099, 1, 3))  # Saturday
    assert not calendar.is_workday(date(2099, 1, 4))  # Sunday
    assert calendar.next_workday(date(2099, 1, 2)) == date(2099, 1, 5)


def test_year_without_data_warns_once_however_often_asked(calendar: WorkCalendar) -> None:
    for day in range(1, 32):
        calendar.is_workday(date(2099, 1, day))
    calendar.add_workdays(date(2099, 3, 1), 40)
    calendar.workdays_between(date(2099, 1, 1), date(2099, 12, 31))
    assert calendar.warnings == ["2099 年的法定节假日数据缺失，仅按周末计算休息日"]


def test_no_crash_in_2027(calendar: WorkCalendar) -> None:
    assert calendar.next_workday(date(2026, 12, 31)).year == 2027
    assert calendar.add_workdays(date(2027, 6, 1), 30) > date(2027, 6, 1)
    assert calendar.warnings == ["2027 年的法定节假日数据缺失，仅按周末计算休息日"]


def test_each_uncovered_year_warns_once(calendar: WorkCalendar) -> None:
    calendar.workdays_between(date(2026, 12, 1), date(2029, 1, 10))
    assert calendar.warnings == [
        "2027 年的法定节假日数据缺失，仅按周末计算休息日",
        "2028 年的法定节假日数据缺失，仅按周末计算休息日",
        "2029 年的法定节假日数据缺失，仅按周末计算休息日",
    ]


def test_extra_holiday_wins_over_an_official_working_day() -> None:
    calendar = WorkCalendar(extra_holidays=[date(2021, 2, 7)])
    assert not calendar.is_workday(date(2021, 2, 7))


def test_extra_workday_wins_over_an_official_holiday() -> None:
    calendar = WorkCalendar(extra_workdays=[date(2021, 1, 1)])
    assert calendar.is_workday(date(2021, 1, 1))
    assert calendar.next_workday(date(2020, 12, 31)) == date(2021, 1, 1)


def test_overrides_fill_a_year_without_data() -> None:
    calendar = WorkCalendar(
        extra_holidays=[date(2099, 1, 1), date(2099, 1, 2)],
        extra_workdays=[date(2099, 1, 3)],  # a Saturday
    )
    assert not calendar.is_workday(date(2099, 1, 1))
    assert calendar.is_workday(date(2099, 1, 3))
    assert calendar.next_workday(date(2098, 12, 31)) == date(2099, 1, 3)
    assert calendar.add_workdays(date(2098, 12, 31), 2) == date(2099, 1, 5)


def test_a_day_both_holiday_and_workday_is_a_user_error() -> None:
    with pytest.raises(UserError, match="2099-01-01"):
        WorkCalendar(extra_holidays=[date(2099, 1, 1)], extra_workdays=[date(2099, 1, 1)])


def test_accepts_any_iterable_of_dates() -> None:
    calendar = WorkCalendar(extra_holidays=(d for d in [date(2099, 1, 1)]))
    assert not calendar.is_workday(date(2099, 1, 1))
