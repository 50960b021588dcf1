"""The deadline grammar (DESIGN.md, Deadline grammar) and the occurrences the planner reads."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given
from hypothesis import strategies as st

from engine.deadlines import grammar
from engine.deadlines.deadline import Deadline, DeadlineKind, Milestone
from engine.deadlines.grammar import counts_working_days, is_relative, normalise, parse_deadline
from engine.deadlines.recurrence import occurrences

# --- date ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "due"),
    [
        # a day, by the end of that day, 前 or not
        ("2021年6月30日前", date(2021, 6, 30)),
        ("2021年6月30日", date(2021, 6, 30)),
        ("2021年6月30日之前", date(2021, 6, 30)),
        ("2021年6月30日以前", date(2021, 6, 30)),
        ("2021年6月30号前", date(2021, 6, 30)),
        ("截至2021年6月30日", date(2021, 6, 30)),
        ("截止2021年6月30日", date(2021, 6, 30)),
        ("2021年12月31日前完成", date(2021, 12, 31)),
        ("力争2022年6月30日前完成", date(2022, 6, 30)),
        ("于2021年6月30日前完成", date(2021, 6, 30)),
        ("2021年06月05日", date(2021, 6, 5)),
        ("2024年2月29日前", date(2024, 2, 29)),
        # numeric forms
        ("2021-06-30", date(2021, 6, 30)),
        ("2021.6.30", date(2021, 6, 30)),
        ("2021/6/30", date(2021, 6, 30)),
        ("2021-6-30前", date(2021, 6, 30)),
        ("2021.06", date(2021, 6, 30)),
        # month: 底/末/nothing is its last day, 前 the day before it begins
        ("2021年9月底前", date(2021, 9, 30)),
        ("2021年6月底", date(2021, 6, 30)),
        ("2021年6月末", date(2021, 6, 30)),
        ("2021年6月", date(2021, 6, 30)),
        ("2021年6月份", date(2021, 6, 30)),
        ("2021年6月内", date(2021, 6, 30)),
        ("2021年2月底前", date(2021, 2, 28)),
        ("2024年2月底前", date(2024, 2, 29)),
        ("2021年6月前", date(2021, 5, 31)),
        ("2021年6月以前", date(2021, 5, 31)),
        ("2021年6月份前", date(2021, 5, 31)),
        ("2021年1月前", date(2020, 12, 31)),
        ("2021年10月前完成", date(2021, 9, 30)),
        # 旬
        ("2021年6月上旬", date(2021, 6, 10)),
        ("2021年6月中旬", date(2021, 6, 20)),
        ("2021年6月下旬", date(2021, 6, 30)),
        ("2021年6月中旬前", date(2021, 6, 10)),
        # year
        ("2023年底前", date(2023, 12, 31)),
        ("2023年底", date(2023, 12, 31)),
        ("2021年年底前", date(2021, 12, 31)),
        ("2021年末", date(2021, 12, 31)),
        ("2023年", date(2023, 12, 31)),
        ("2023年内", date(2023, 12, 31)),
        ("2023年度", date(2023, 12, 31)),
        ("2023年完成", date(2023, 12, 31)),
        ("2024年前", date(2023, 12, 31)),
        ("2024年以前", date(2023, 12, 31)),
        ("到2025年", date(2025, 12, 31)),
        # half-year
        ("2022年上半年", date(2022, 6, 30)),
        ("2022年下半年", date(2022, 12, 31)),
        ("2022年上半年前", date(2021, 12, 31)),
        ("2022年下半年前", date(2022, 6, 30)),
        ("2022年上半年底前", date(2022, 6, 30)),
        # quarter
        ("2022年第三季度", date(2022, 9, 30)),
        ("2022年三季度", date(2022, 9, 30)),
        ("2022年第3季度", date(2022, 9, 30)),
        ("2022年第一季度末", date(2022, 3, 31)),
        ("2022年四季度", date(2022, 12, 31)),
        ("2022年Q2", date(2022, 6, 30)),
        ("2022Q3", date(2022, 9, 30)),
        ("2022年第三季度前", date(2022, 6, 30)),
        # full-width digits, Chinese numerals, whitespace
        ("２０２１年６月３０日前", date(2021, 6, 30)),
        ("２０２１．６．３０", date(2021, 6, 30)),
        ("二〇二三年六月底前", date(2023, 6, 30)),
        ("二〇二三年十二月", date(2023, 12, 31)),
        ("二○二一年六月三十日前", date(2021, 6, 30)),
        ("二零二三年底前", date(2023, 12, 31)),
        ("二〇二一年十二月三十一日", date(2021, 12, 31)),
        ("2021 年 6 月 30 日前", date(2021, 6, 30)),
        (" 2023年底前\n", date(2023, 12, 31)),
        ("2021年6月\n30日前", date(2021, 6, 30)),
        ("2021\u3000年6月30日前", date(2021, 6, 30)),
        # a range: due at its end
        ("2021年6月至2022年6月", date(2022, 6, 30)),
        ("2021-2023年", date(2023, 12, 31)),
        ("2021—2023年", date(2023, 12, 31)),
        ("2021年至2023年底", date(2023, 12, 31)),
        # a year in the free text that names a report, not a date
        ("2021年6月30日前完成2020年度报告", date(2021, 6, 30)),
        ("2021年底前完成，并形成报告", date(2021, 12, 31)),
        ("2021年底前初步建成", date(2021, 12, 31)),
        # a count in the free text that measures the work, not its deadline
        ("2019年6月底前企业开办时间压缩至3个工作日以内", date(2019, 6, 30)),
    ],
)
def test_date(text: str, due: date) -> None:
    assert parse_deadline(text) == Deadline(text=text.strip(), kind=DeadlineKind.DATE, due=due)


def test_excel_date_cell() -> None:
    assert parse_deadline(date(2021, 6, 30)) == Deadline(
        text="2021-06-30", kind=DeadlineKind.DATE, due=date(2021, 6, 30)
    )


def test_excel_datetime_cell_keeps_the_day() -> None:
    deadline = parse_deadline(datetime(2021, 6, 30, 0, 0))
    assert deadline.kind is DeadlineKind.DATE
    assert deadline.due == date(2021, 6, 30)
    assert type(deadline.due) is date


# --- milestones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "milestones"),
    [
        (
            "2021年10月前启动，2022年底前完成",
            [("2021年10月前启动", date(2021, 9, 30)), ("2022年底前完成", date(2022, 12, 31))],
        ),
        (
            "2021年10月前启动,2022年底前完成",
            [("2021年10月前启动", date(2021, 9, 30)), ("2022年底前完成", date(2022, 12, 31))],
        ),
        (
            "2021年6月底前制定方案；2021年12月底前全面实施",
            [
                ("2021年6月底前制定方案", date(2021, 6, 30)),
                ("2021年12月底前全面实施", date(2021, 12, 31)),
            ],
        ),
        (
            "2021年6月底前出台方案、2022年6月底前完成建设",
            [
                ("2021年6月底前出台方案", date(2021, 6, 30)),
                ("2022年6月底前完成建设", date(2022, 6, 30)),
            ],
        ),
        (
            "2021年10月前启动 2022年底前完成",
            [("2021年10月前启动", date(2021, 9, 30)), ("2022年底前完成", date(2022, 12, 31))],
        ),
        (
            "二〇二一年六月底前启动，二〇二二年底前完成。",
            [
                ("二〇二一年六月底前启动", date(2021, 6, 30)),
                ("二〇二二年底前完成", date(2022, 12, 31)),
            ],
        ),
        (
            "2021年3月底前完成调研；2021年6月底前出台方案；2021年底前完成，并总结经验",
            [
                ("2021年3月底前完成调研", date(2021, 3, 31)),
                ("2021年6月底前出台方案", date(2021, 6, 30)),
                ("2021年底前完成，并总结经验", date(2021, 12, 31)),
            ],
        ),
    ],
)
def test_milestones(text: str, milestones: list[tuple[str, date]]) -> None:
    deadline = parse_deadline(text)
    assert deadline.kind is DeadlineKind.MILESTONES
    assert deadline.milestones == tuple(Milestone(text=t, due=due) for t, due in milestones)
    assert deadline.due == milestones[-1][1]
    assert deadline.text == text


def test_milestones_out_of_order_are_due_at_the_latest() -> None:
    deadline = parse_deadline("2022年底前完成，2021年10月前启动")
    assert deadline.kind is DeadlineKind.MILESTONES
    assert deadline.due == date(2022, 12, 31)


# --- recurring ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rrule", "start", "first_dues"),
    [
        (
            "每季度末",
            "FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
            None,
            [date(2022, 3, 31), date(2022, 6, 30), date(2022, 9, 30), date(2022, 12, 31)],
        ),
        (
            "每个季度",
            "FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
            None,
            [date(2022, 3, 31), date(2022, 6, 30), date(2022, 9, 30), date(2022, 12, 31)],
        ),
        (
            "每月25日前",
            "FREQ=MONTHLY;BYMONTHDAY=25",
            None,
            [date(2022, 1, 25), date(2022, 2, 25), date(2022, 3, 25)],
        ),
        (
            "每月二十五日前",
            "FREQ=MONTHLY;BYMONTHDAY=25",
            None,
            [date(2022, 1, 25), date(2022, 2, 25), date(2022, 3, 25)],
        ),
        (
            "每月底",
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            None,
            [date(2022, 1, 31), date(2022, 2, 28), date(2022, 3, 31)],
        ),
        (
            "每月末报送进展情况",
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            None,
            [date(2022, 1, 31), date(2022, 2, 28), date(2022, 3, 31)],
        ),
        (
            "每月30日前",
            "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1",
            None,
            [date(2022, 1, 30), date(2022, 2, 28), date(2022, 3, 30)],
        ),
        (
            "每月31日",
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            None,
            [date(2022, 1, 31), date(2022, 2, 28), date(2022, 3, 31)],
        ),
        (
            "每年12月底前",
            "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=-1",
            None,
            [date(2022, 12, 31), date(2023, 12, 31)],
        ),
        (
            "每年底",
            "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=-1",
            None,
            [date(2022, 12, 31), date(2023, 12, 31)],
        ),
        (
            "每年7月前",
            "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=-1",
            None,
            [date(2022, 6, 30), date(2023, 6, 30)],
        ),
        (
            "每年1月10日前",
            "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=10",
            None,
            [date(2022, 1, 10), date(2023, 1, 10)],
        ),
        (
            "每半年",
            "FREQ=MONTHLY;BYMONTH=6,12;BYMONTHDAY=-1",
            None,
            [date(2022, 6, 30), date(2022, 12, 31), date(2023, 6, 30)],
        ),
        (
            "每周五前",
            "FREQ=WEEKLY;BYDAY=FR",
            None,
            [date(2022, 1, 7), date(2022, 1, 14), date(2022, 1, 21)],
        ),
        (
            "每季度结束后10日内",
            "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYMONTHDAY=10",
            None,
            [date(2022, 1, 10), date(2022, 4, 10), date(2022, 7, 10)],
        ),
        (
            "2022年3月起每月25日前",
            "FREQ=MONTHLY;BYMONTHDAY=25",
            date(2022, 3, 1),
            [date(2022, 3, 25), date(2022, 4, 25), date(2022, 5, 25)],
        ),
        (
            "自2022年3月起，每月25日前",
            "FREQ=MONTHLY;BYMONTHDAY=25",
            date(2022, 3, 1),
            [date(2022, 3, 25), date(2022, 4, 25), date(2022, 5, 25)],
        ),
        (
            "2022年第二季度起每季度末",
            "FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
            date(2022, 4, 1),
            [date(2022, 6, 30), date(2022, 9, 30)],
        ),
        (
            "2022年3月至2022年5月每月25日前",
            "FREQ=MONTHLY;BYMONTHDAY=25;UNTIL=20220531",
            date(2022, 3, 1),
            [date(2022, 3, 25), date(2022, 4, 25), date(2022, 5, 25)],
        ),
    ],
)
def test_recurring(text: str, rrule: str, start: date | None, first_dues: list[date]) -> None:
    deadline = parse_deadline(text)
    assert deadline == Deadline(text=text, kind=DeadlineKind.RECURRING, rrule=rrule, start=start)
    window = occurrences(deadline, date(2022, 1, 1), date(2023, 12, 31))
    assert window[: len(first_dues)] == first_dues


def test_recurring_with_long_term_wording_is_recurring() -> None:
    deadline = parse_deadline("持续推进，每季度末报送进展")
    assert deadline.kind is DeadlineKind.RECURRING
    assert deadline.rrule == "FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1"


# --- long term ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "长期推进",
        "持续推进",
        "长期坚持",
        "长期",
        "持续开展",
        "常态化推进",
        "常态化",
        "长期开展",
        "持续",
        "长期性工作",
        "长期任务",
        "常抓不懈",
        "长期推进。",
        " 长期 推进 ",
    ],
)
def test_long_term(text: str) -> None:
    assert parse_deadline(text) == Deadline(text=text.strip(), kind=DeadlineKind.LONG_TERM)


def test_long_term_from_a_start() -> None:
    assert parse_deadline("2021年起长期推进") == Deadline(
        text="2021年起长期推进", kind=DeadlineKind.LONG_TERM, start=date(2021, 1, 1)
    )


# --- unknown ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "根据上级部署",
        "按上级要求",
        "待定",
        "已完成",
        "xyz",
        "十四五期间",
        # impossible dates
        "2021年2月30日",
        "2021年2月29日前",
        "2021年13月",
        "2021年0月",
        "2021-13-01",
        "2021年第5季度",
        "0000年底前",
        "9999年",
        # no year: never guess one
        "6月底前",
        "12月31日前",
        # not a deadline: after, from, about
        "2021年6月后启动",
        "2021年6月起实施",
        "2021年6月左右",
        "2021年6月前后",
        # a qualifier we cannot read
        "2021年春节前",
        "2022年汛期前完成",
        "2021年年中",
        "2021年6月初",
        # half-readable cells
        "2021年底前完成，6月底前启动",
        "2021年6月、12月底前",
        "2021年6月30日前，长期推进",
        "2021年6月30日前长期推进",
        "2021年至2023年持续推进",
        "2021年底前完成，此后每年12月底前报送",
        "根据上级部署，2022年底前完成",
        "2022年3月起",
        "每月前",
        "每月32日",
        "每年2月30日",
        "每月25日前，每季度末",
        "2021年6月底日",
        "2021年6月年底",
    ],
)
def test_unknown(text: str) -> None:
    assert parse_deadline(text) == Deadline(text=text.strip(), kind=DeadlineKind.UNKNOWN)


def test_none_is_unknown() -> None:
    assert parse_deadline(None) == Deadline(text="", kind=DeadlineKind.UNKNOWN)


def test_a_value_of_another_type_is_unknown() -> None:
    assert parse_deadline(44377) == Deadline(text="44377", kind=DeadlineKind.UNKNOWN)  # type: ignore[arg-type]


# --- occurrences --------------------------------------------------------------------------------


def test_occurrences_honour_the_start() -> None:
    deadline = parse_deadline("2022年3月起每月25日前")
    assert occurrences(deadline, date(2022, 1, 1), date(2022, 5, 31)) == [
        date(2022, 3, 25),
        date(2022, 4, 25),
        date(2022, 5, 25),
    ]


def test_occurrences_include_both_ends() -> None:
    deadline = parse_deadline("每月25日前")
    assert occurrences(deadline, date(2022, 3, 25), date(2022, 4, 25)) == [
        date(2022, 3, 25),
        date(2022, 4, 25),
    ]


def test_occurrences_of_an_empty_window() -> None:
    deadline = parse_deadline("2022年3月起每月25日前")
    assert occurrences(deadline, date(2022, 1, 1), date(2022, 2, 28)) == []
    assert occurrences(deadline, date(2022, 5, 1), date(2022, 4, 1)) == []


def test_occurrences_of_dated_and_milestone_deadlines() -> None:
    dated = parse_deadline("2021年6月30日前")
    assert occurrences(dated, date(2021, 1, 1), date(2021, 12, 31)) == [date(2021, 6, 30)]
    assert occurrences(dated, date(2021, 7, 1), date(2021, 12, 31)) == []
    milestones = parse_deadline("2021年10月前启动，2022年底前完成")
    assert occurrences(milestones, date(2021, 1, 1), date(2023, 1, 1)) == [
        date(2021, 9, 30),
        date(2022, 12, 31),
    ]
    assert occurrences(milestones, date(2022, 1, 1), date(2023, 1, 1)) == [date(2022, 12, 31)]


def test_occurrences_of_long_term_and_unknown_are_empty() -> None:
    window = (date(2021, 1, 1), date(2030, 1, 1))
    assert occurrences(parse_deadline("长期推进"), *window) == []
    assert occurrences(parse_deadline("根据上级部署"), *window) == []


# --- properties ---------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        *"0123456789０１２３４５６７８９〇○零一二三四五六七八九十百千两",
        *"年月日号前底末内止起至到后上下中旬半季度第每周QQ",
        *"-./~—，,；;、。 \n\u3000",
        "长期",
        "持续推进",
        "常态化",
        "之前",
        "以前",
        "截至",
        "力争",
        "完成",
        "启动",
        "2021",
        "2022年",
        "13月",
        "30日",
        "二〇二三",
        "每月",
        "每季度",
        "每年",
    ]
)
_CELLS = st.one_of(
    st.text(),
    st.text(alphabet="0123456789年月日前底末上下半季度第每起至，、；长期 "),
    st.lists(_PIECES, max_size=12).map("".join),
)


def _assert_well_formed(deadline: Deadline) -> None:
    if deadline.kind in (DeadlineKind.DATE, DeadlineKind.MILESTONES):
        assert type(deadline.due) is date
        assert all(type(milestone.due) is date for milestone in deadline.milestones)
    else:
        assert deadline.due is None
    if deadline.kind is DeadlineKind.RECURRING:
        assert deadline.rrule is not None
        rrulestr(deadline.rrule, dtstart=datetime(2022, 1, 1))
        dues = occurrences(deadline, date(2022, 1, 1), date(2023, 12, 31))
        assert all(date(2022, 1, 1) <= due <= date(2023, 12, 31) for due in dues)


@given(_CELLS)
def test_no_cell_makes_the_parser_raise(cell: str) -> None:
    deadline = parse_deadline(cell)
    assert deadline.text == cell.strip()
    _assert_well_formed(deadline)


@given(st.integers(0, 3000), st.integers(0, 14), st.integers(0, 33), st.sampled_from(["", "前"]))
def test_a_written_day_is_that_day_or_unknown(year: int, month: int, day: int, suffix: str) -> None:
    deadline = parse_deadline(f"{year}年{month}月{day}日{suffix}")
    try:
        expected = date(year, month, day) if 1900 <= year <= 2199 else None
    except ValueError:
        expected = None
    if expected is None:
        assert deadline.kind is DeadlineKind.UNKNOWN
    else:
        assert (deadline.kind, deadline.due) == (DeadlineKind.DATE, expected)


@given(st.integers(1900, 2199), st.integers(1, 12))
def test_month_end_and_before_month(year: int, month: int) -> None:
    end = parse_deadline(f"{year}年{month}月底前").due
    before = parse_deadline(f"{year}年{month}月前").due
    assert end is not None and before is not None
    assert (end.year, end.month) == (year, month)
    assert (end + timedelta(days=1)).day == 1
    assert before.toordinal() == date(year, month, 1).toordinal() - 1


# --- counted spans: relative to the issue date, or to a written start ---------------------------

ISSUED = date(2019, 3, 15)


@pytest.mark.parametrize(
    ("text", "due"),
    [
        # N years from the issue date: the day before the same date N years later
        ("5年内", date(2024, 3, 14)),
        ("三年内", date(2022, 3, 14)),
        ("3年内", date(2022, 3, 14)),
        ("两年内", date(2021, 3, 14)),
        ("力争5年内基本建成", date(2024, 3, 14)),
        ("半年内", date(2019, 9, 14)),
        ("一年半内", date(2020, 9, 14)),
        ("3年时间内", date(2022, 3, 14)),
        # calendar days, months and weeks from the issue date (the issue day is the first day)
        ("本意见印发之日起30日内", date(2019, 4, 13)),
        ("自印发之日起3个月内", date(2019, 6, 14)),
        ("印发后60天内", date(2019, 5, 13)),
        ("本方案发布之日起2周内", date(2019, 3, 28)),
        ("自本通知下发之日起1个月内", date(2019, 4, 14)),
        ("印发之日起3月内", date(2019, 6, 14)),
        ("在本实施意见印发之日起三十日内完成", date(2019, 4, 13)),
        ("印发之日起半个月内", date(2019, 3, 29)),
        # 用N年时间: N years
        ("用3年时间", date(2022, 3, 14)),
        ("力争用两年时间基本建成", date(2021, 3, 14)),
        # 今年 / 本年 / 明年: the issue date's year, the next
        ("今年年底前", date(2019, 12, 31)),
        ("今年6月底前", date(2019, 6, 30)),
        ("今年内", date(2019, 12, 31)),
        ("本年度", date(2019, 12, 31)),
        ("明年底前完成", date(2020, 12, 31)),
    ],
)
def test_counted_from_the_issue_date(text: str, due: date) -> None:
    assert parse_deadline(text, issued=ISSUED) == Deadline(
        text=text, kind=DeadlineKind.DATE, due=due
    )
    assert parse_deadline(text) == Deadline(text=text, kind=DeadlineKind.UNKNOWN)


@pytest.mark.parametrize(
    ("issued", "text", "due"),
    [
        # no corresponding day in the last month: that month's last day
        (date(2019, 1, 31), "1个月内", date(2019, 2, 28)),
        (date(2020, 2, 29), "1年内", date(2021, 2, 28)),
        (date(2019, 1, 30), "印发之日起1个月内", date(2019, 2, 28)),
        (date(2019, 1, 1), "5年内", date(2023, 12, 31)),
        (date(2019, 12, 31), "印发之日起1日内", date(2019, 12, 31)),
    ],
)
def test_counted_month_ends(issued: date, text: str, due: date) -> None:
    assert parse_deadline(text, issued=issued).due == due


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("2012年起5年内", date(2016, 12, 31)),
        ("从2012年起5年内完成", date(2016, 12, 31)),
        ("2019年3月起6个月内", date(2019, 8, 31)),
        ("自2019年起，5年内完成", date(2023, 12, 31)),
        ("2019年3月1日起30日内", date(2019, 3, 30)),
    ],
)
def test_counted_from_a_written_start_needs_no_issue_date(text: str, due: date) -> None:
    assert parse_deadline(text) == Deadline(text=text, kind=DeadlineKind.DATE, due=due)
    assert parse_deadline(text, issued=ISSUED).due == due


def test_named_years_milestones() -> None:
    text = "今年6月底前启动，明年底前完成"
    assert parse_deadline(text, issued=ISSUED).milestones == (
        Milestone("今年6月底前启动", date(2019, 6, 30)),
        Milestone("明年底前完成", date(2020, 12, 31)),
    )


def test_counted_milestones() -> None:
    text = "印发之日起3个月内制定方案，1年内全面完成"
    deadline = parse_deadline(text, issued=ISSUED)
    assert deadline == Deadline(
        text=text,
        kind=DeadlineKind.MILESTONES,
        due=date(2020, 3, 14),
        milestones=(
            Milestone("印发之日起3个月内制定方案", date(2019, 6, 14)),
            Milestone("1年内全面完成", date(2020, 3, 14)),
        ),
    )
    assert parse_deadline(text).kind is DeadlineKind.UNKNOWN


@pytest.mark.parametrize(
    "text",
    [
        # working days need the working-day calendar: never counted as calendar days
        "30个工作日内",
        "本意见印发之日起30个工作日内",
        "印发之日起10工作日内",
        "每季度结束后5个工作日内",  # not the quarter's end
        # a bare count after a dated clause: from the issue date, or from that date?
        "2019年6月底前启动，30日内完成",
        # not counts duban reads
        "0年内",
        "印发之日起0日内",
        "3月内",  # March of which year?
        "印发之日起施行",
        "本办法施行之日起30日内",  # takes effect: not the issue date
        "5年左右",
        "5年以上",
        "受理后3日内",
        "印发之日起3年半月内",
        "用3年左右时间",  # about three years: when exactly?
        "3年时间",
        "半日内",
        "300年内",
    ],
)
def test_counted_unknown_even_with_an_issue_date(text: str) -> None:
    assert parse_deadline(text, issued=ISSUED) == Deadline(text=text, kind=DeadlineKind.UNKNOWN)


def test_an_issue_date_changes_no_other_deadline() -> None:
    for text in [
        "2019年6月底前",
        "2020年前",
        "每季度末",
        "长期坚持",
        "2021年10月前启动，2022年底前完成",
    ]:
        assert parse_deadline(text, issued=ISSUED) == parse_deadline(text)


@pytest.mark.parametrize(
    ("text", "deadline"),
    [
        (
            "2019年1月1日至12月31日",
            Deadline("2019年1月1日至12月31日", DeadlineKind.DATE, due=date(2019, 12, 31)),
        ),
        ("到2020年", Deadline("到2020年", DeadlineKind.DATE, due=date(2020, 12, 31))),
        ("到2020年底", Deadline("到2020年底", DeadlineKind.DATE, due=date(2020, 12, 31))),
        ("2019年6月底前", Deadline("2019年6月底前", DeadlineKind.DATE, due=date(2019, 6, 30))),
        ("2020年前", Deadline("2020年前", DeadlineKind.DATE, due=date(2019, 12, 31))),
        (
            "从2019年起每年2月底前",
            Deadline(
                "从2019年起每年2月底前",
                DeadlineKind.RECURRING,
                rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
                start=date(2019, 1, 1),
            ),
        ),
        (
            "2019年底前启动试点，2020年底前全面推开",
            Deadline(
                "2019年底前启动试点，2020年底前全面推开",
                DeadlineKind.MILESTONES,
                due=date(2020, 12, 31),
                milestones=(
                    Milestone("2019年底前启动试点", date(2019, 12, 31)),
                    Milestone("2020年底前全面推开", date(2020, 12, 31)),
                ),
            ),
        ),
    ],
)
def test_prose_wordings(text: str, deadline: Deadline) -> None:
    assert parse_deadline(text) == deadline
    assert parse_deadline(text, issued=ISSUED) == deadline


@pytest.mark.parametrize(
    ("text", "relative"),
    [
        ("5年内", True),
        ("本意见印发之日起30日内", True),
        ("自印发之日起3个月内", True),
        ("印发后60天内", True),
        ("印发之日起3个月内制定方案，1年内全面完成", True),
        ("今年年底前", True),
        ("用3年时间", True),
        ("2012年起5年内", False),  # its own start
        ("30个工作日内", False),  # an issue date would not read it
        ("2019年6月底前", False),
        ("根据上级部署", False),
        ("", False),
    ],
)
def test_is_relative(text: str, relative: bool) -> None:
    assert is_relative(text) is relative


_COUNTS = st.tuples(
    st.sampled_from(["", "本意见印发之日起", "自印发之日起", "印发后", "力争", "用"]),
    st.integers(0, 400),
    st.sampled_from(["年", "个月", "日", "天", "周", "个工作日", "月"]),
    st.sampled_from(["内", "以内", "之内", "时间"]),
).map(lambda parts: f"{parts[0]}{parts[1]}{parts[2]}{parts[3]}")
_ISSUE_DATES = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


@given(st.one_of(_CELLS, _COUNTS), st.one_of(st.none(), _ISSUE_DATES))
def test_no_text_makes_the_parser_raise_with_or_without_an_issue_date(
    cell: str, issued: date | None
) -> None:
    deadline = parse_deadline(cell, issued=issued)
    assert deadline.text == cell.strip()
    _assert_well_formed(deadline)


@given(_COUNTS, st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)))
def test_a_count_is_due_on_or_after_the_issue_date(text: str, issued: date) -> None:
    deadline = parse_deadline(text, issued=issued)
    if deadline.kind is not DeadlineKind.UNKNOWN:
        assert deadline.kind is DeadlineKind.DATE
        assert deadline.due is not None and deadline.due >= issued
    assert parse_deadline(text).kind is DeadlineKind.UNKNOWN  # never without the issue date


_NAMED_YEARS = st.tuples(
    st.sampled_from(["今年", "本年", "本年度", "明年", "从今年起，", "今年6月底前启动，"]),
    st.sampled_from(["", "6月", "第三季度", "上半年", "每季度末", "明年底前完成"]),
    st.sampled_from(["", "底前", "前", "内", "完成"]),
).map("".join)


@given(_NAMED_YEARS, _ISSUE_DATES)
def test_named_years_read_in_the_issue_year_or_not_at_all(text: str, issued: date) -> None:
    deadline = parse_deadline(text, issued=issued)
    _assert_well_formed(deadline)
    assert parse_deadline(text).kind is DeadlineKind.UNKNOWN
    if deadline.due is not None:
        # 今年前: before this year begins, the last day of the year before
        assert deadline.due.year in (issued.year - 1, issued.year, issued.year + 1)


def test_reading_stays_right_when_the_characters_learnt_are_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the table of characters' forms is bounded: once full it starts again
    monkeypatch.setattr(grammar, "_MAX_KNOWN", 3)
    for _ in range(3):
        assert parse_deadline("２０２１年６月３０日前") == Deadline(
            "２０２１年６月３０日前", DeadlineKind.DATE, due=date(2021, 6, 30)
        )
        assert normalise("二〇二一年 六月……") == (
            "2021年6月......",
            [0, 0, 0, 0, 4, 6, 7, 8, 8, 8, 9, 9, 9],
        )


@pytest.mark.parametrize(
    ("text", "working_days"),
    [
        ("30个工作日内", True),
        ("本意见印发之日起三十个工作日内", True),
        ("印发之日起10工作日内", True),
        ("30日内", False),
        ("工作日志", False),
        ("", False),
    ],
)
def test_counts_working_days(text: str, working_days: bool) -> None:
    assert counts_working_days(text) is working_days
