"""The deadline grammar: what a plan table's 完成时限 cell, or a deadline phrase read from a
prose item, means (DESIGN.md, Deadline grammar).

Pure: no I/O, no clock. `parse_deadline` never raises and never guesses: whatever it cannot read
for certain is `unknown`, and the importer warns. The patterns below are the only place that says
what a deadline cell may contain.

Reading a cell:
1. normalise: NFKC (full-width digits and punctuation), no whitespace, Chinese numerals → digits,
   keeping for each character its position in the original (for milestone texts); a cell wholly
   in brackets or a date exported with a time is read without them; a later date that leaves out
   its year at the start of a clause (…，年底前完成) gets the year written before it; with an
   issue date, 今年/本年/明年 become the years they name;
2. split into clauses at ，,；;。 and type each: dated, start (…起), recurring (每…),
   counted (5年内, 印发之日起30日内), long-term, other;
3. combine: counted clauses become dated ones (from their start, or the issue date); dated
   clauses give a date or milestones, one recurring clause a rule, and so on.

Conventions: a period followed by 底/末 (or nothing, or 内) means its last day; a period followed by
前/之前/以前 means "before it begins", i.e. the day before its first day ("6月前" = May 31,
"2024年前" = 2023-12-31, "中旬前" = the 10th). A day means the end of that day, 前 or not.

Counted deadlines (5年内, 本意见印发之日起30日内, 自印发之日起3个月内, 2012年起5年内) count from
the plan's issue date (`issued`) or from the start written before them, and the first day counts:
a span of N units that begins on day D ends the day before D's corresponding day N units later
(印发之日起30日内 from 2019-03-01 = 2019-03-30; 5年内 from 2019-03-15 = 2024-03-14; 2012年起5年内
= 2016-12-31), or on that month's last day where it has no corresponding day. Without an issue
date such a deadline is unknown; so are working days (30个工作日内: they need the working-day
calendar), and a bare count after a dated clause (6月底前启动，30日内完成: it may count from the
clause before it). 用3年时间 is 3年内; 今年 / 本年 and 明年 are the issue date's year and the next.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from engine.deadlines.deadline import Deadline, DeadlineKind, Milestone

# Years outside this range are typing mistakes, not plans.
FIRST_YEAR, LAST_YEAR = 1900, 2199

_BEFORE_SUFFIXES = frozenset({"前", "之前", "以前"})
_CLAUSE_SEPARATORS = ",;。"


# --- normalisation ------------------------------------------------------------------------------

_DIGITS = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4}
_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERALS = frozenset(_DIGITS) | frozenset(_UNITS)


def _numeral_value(run: str) -> str | None:
    """A run of Chinese numerals as ASCII digits: 二〇二三 → 2023, 十二 → 12, 三十一 → 31."""
    if not any(ch in _UNITS for ch in run):
        return "".join(str(_DIGITS[ch]) for ch in run)
    total, digit, last_unit = 0, None, 10_000
    for ch in run:
        if ch in _DIGITS:
            if digit not in (None, 0) and _DIGITS[ch] != 0:
                return None  # two digits in a row: not a number (十四五)
            digit = _DIGITS[ch]
        else:
            unit = _UNITS[ch]
            if unit >= last_unit:
                return None
            total += (digit if digit is not None else 1) * unit
            digit, last_unit = None, unit
    return str(total + (digit or 0))


# Each character's NFKC form without whitespace, learnt as characters are met: the table
# str.translate applies, and the characters whose form is not one character. Normalising is
# most of what reading a long prose document costs.
_KNOWN: set[str] = set()
_TRANSLATION: dict[int, str] = {}
_ODD: set[str] = set()
_FORMS: dict[str, str] = {}
_MAX_KNOWN = 100_000
_NUMERAL_RUN = re.compile("[" + "".join(_NUMERALS) + "]+")


def _learn(chars: set[str]) -> None:
    """Learn the forms of all of `chars` that are not known."""
    if len(_KNOWN) > _MAX_KNOWN:  # a bound on memory, whatever the input
        _KNOWN.clear()
        _TRANSLATION.clear()
        _ODD.clear()
        _FORMS.clear()
    for ch in chars - _KNOWN:
        form = "".join(c for c in unicodedata.normalize("NFKC", ch) if not c.isspace())
        _KNOWN.add(ch)
        if form != ch:
            _TRANSLATION[ord(ch)] = form
        if len(form) != 1:
            _ODD.add(ch)
            _FORMS[ch] = form


def normalise(text: str) -> tuple[str, list[int]]:
    """The text the grammar matches (NFKC, no whitespace, Chinese numerals as digits), and for
    each of its characters the index of its source in `text`."""
    distinct = set(text)
    if not distinct <= _KNOWN:
        _learn(distinct)
    joined = text.translate(_TRANSLATION)
    odd = distinct & _ODD
    if not odd:
        source = list(range(len(text)))
    else:
        source = []
        done = 0
        for m in re.finditer("[" + "".join(map(re.escape, odd)) + "]", text):
            i = m.start()
            source.extend(range(done, i))
            source.extend([i] * len(_FORMS[m.group()]))
            done = i + 1
        source.extend(range(done, len(text)))
    out: list[str] = []
    out_source: list[int] = []
    done = 0
    for run in _NUMERAL_RUN.finditer(joined):
        value = _numeral_value(run.group())
        if value is None:
            continue
        out.append(joined[done : run.start()])
        out_source.extend(source[done : run.start()])
        out.append(value)
        out_source.extend([source[run.start()]] * len(value))
        done = run.end()
    if not done:
        return joined, source
    out.append(joined[done:])
    out_source.extend(source[done:])
    return "".join(out), out_source


# A later date in a cell that leaves out its year ("2022年6月底前启动，年底前完成", "2022年10月—
# 12月") is in the year written last before it, when it begins a clause or ends a range; the year
# is written in so that the forms below read it. Inside a clause (2021年6月、12月底前, 2021年6月
# 年底) the reading is not certain and nothing is added; parse_deadline also refuses a carried
# year that would put a milestone before the one it follows (2021年底前完成，6月底前启动).
_YEAR_WRITTEN = re.compile(r"\d{4}(?=年|[-./]\d)")
_YEARLESS = re.compile(
    r"(?:^|(?<=[,;。])|(?<=\d[月日号底末])(?:至|到|~|—{1,2}|–|-))"
    r"(?:并且|并|同时|再|最终)?(?:力争|争取|计划|预计|确保|原则上|于|在|到|至)*"
    r"(?P<date>\d{1,2}月|[上下]半年|第?[1-4]季度|年底|年末|年内)"
)


# 今年 / 本年 / 明年: the issue date's year, or the next; without an issue date they stay as
# written, and no form reads them.
_YEAR_NAMES = re.compile(r"今年|本年|明年")


def _name_years(s: str, source: list[int], issued: date | None) -> tuple[str, list[int]]:
    if issued is None or not _YEAR_NAMES.search(s):
        return s, source
    out: list[str] = []
    out_source: list[int] = []
    done = 0
    for m in _YEAR_NAMES.finditer(s):
        year = issued.year + (1 if m.group() == "明年" else 0)
        out.append(s[done : m.start()])
        out_source.extend(source[done : m.start()])
        name = f"{year:04d}年"
        out.append(name)
        out_source.extend([source[m.start()]] * len(name))
        done = m.end()
    out.append(s[done:])
    out_source.extend(source[done:])
    return "".join(out), out_source


def _carry_years(s: str, source: list[int]) -> tuple[str, list[int]]:
    if "年年" in s:
        s = re.sub(r"(?<=\d{4}年)年(?=[底末内])", "\x00", s)  # 2022年年底 → 2022年底
        source = [i for ch, i in zip(s, source, strict=True) if ch != "\x00"]
        s = s.replace("\x00", "")
    written = {m.start(): m.group() for m in _YEAR_WRITTEN.finditer(s)}
    yearless = {m.start("date"): m["date"] for m in _YEARLESS.finditer(s)}
    if not written or not yearless or max(yearless) < min(written):
        return s, source  # no year to carry
    out: list[str] = []
    out_source: list[int] = []
    year: str | None = None
    for i, ch in enumerate(s):
        if i in written:
            year = written[i]
        elif i in yearless and year is not None:
            inserted = year if yearless[i].startswith("年") else f"{year}年"
            out.extend(inserted)
            out_source.extend([source[i]] * len(inserted))
        out.append(ch)
        out_source.append(source[i])
    return "".join(out), out_source


# --- periods: the date forms --------------------------------------------------------------------


@dataclass(frozen=True)
class _Period:
    """A span of days a date form names; `unit` decides which markers may follow it."""

    first: date
    last: date
    unit: str  # day | xun | month | quarter | half | year


_INVALID = _Period(date.min, date.min, "invalid")  # a form that matched but names no real date


def _year(y: int) -> _Period:
    if not FIRST_YEAR <= y <= LAST_YEAR:
        return _INVALID
    return _Period(date(y, 1, 1), date(y, 12, 31), "year")


def _months(y: int, first_month: int, last_month: int, unit: str) -> _Period:
    if not (FIRST_YEAR <= y <= LAST_YEAR and 1 <= first_month <= last_month <= 12):
        return _INVALID
    return _Period(date(y, first_month, 1), _month_end(y, last_month), unit)


def _month_end(y: int, m: int) -> date:
    return date(y + m // 12, m % 12 + 1, 1) - timedelta(days=1)


def _day(y: int, m: int, d: int) -> _Period:
    if not FIRST_YEAR <= y <= LAST_YEAR:
        return _INVALID
    try:
        day = date(y, m, d)
    except ValueError:
        return _INVALID
    return _Period(day, day, "day")


def _xun(y: int, m: int, which: str) -> _Period:
    """上旬 1–10, 中旬 11–20, 下旬 21–month end."""
    month = _months(y, m, m, "xun")
    if month is _INVALID:
        return _INVALID
    first = {"上": 1, "中": 11, "下": 21}[which]
    last = {"上": 10, "中": 20, "下": month.last.day}[which]
    return _Period(date(y, m, first), date(y, m, last), "xun")


def _quarter(m: re.Match[str]) -> _Period:
    q = int(m["q"] or m["q2"])
    return _months(int(m["y"]), 3 * q - 2, 3 * q, "quarter")


_Y = r"(?P<y>\d{4})"
_M = r"(?P<m>\d{1,2})"

# Tried in order at one position; the first that matches decides (an impossible date is invalid,
# it does not fall back to a shorter form).
_DATE_FORMS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], _Period]], ...] = (
    # 2021—2023年: the range's last year (2021年—2023年 is a range of two forms, see _dated)
    (re.compile(r"\d{4}(?:至|到|~|—|–|-)" + _Y + "年度?"), lambda m: _year(int(m["y"]))),
    # 2021-06-30 · 2021.6.30 · 2021/6/30
    (
        re.compile(_Y + r"(?P<sep>[-./])" + _M + r"(?P=sep)(?P<d>\d{1,2})(?!\d)"),
        lambda m: _day(int(m["y"]), int(m["m"]), int(m["d"])),
    ),
    # 2021-06 · 2021.6
    (
        re.compile(_Y + r"[-./]" + _M + r"(?![-./\d])"),
        lambda m: _months(int(m["y"]), int(m["m"]), int(m["m"]), "month"),
    ),
    # 2021年6月30日 · 2021年6月30号
    (
        re.compile(_Y + "年" + _M + r"月(?P<d>\d{1,2})[日号]"),
        lambda m: _day(int(m["y"]), int(m["m"]), int(m["d"])),
    ),
    # 2021年6月中旬
    (
        re.compile(_Y + "年" + _M + "月(?P<x>[上中下])旬"),
        lambda m: _xun(int(m["y"]), int(m["m"]), m["x"]),
    ),
    # 2021年6月 · 2021年6月份
    (
        re.compile(_Y + "年" + _M + "月份?"),
        lambda m: _months(int(m["y"]), int(m["m"]), int(m["m"]), "month"),
    ),
    # 2022年上半年
    (
        re.compile(_Y + "年?度?(?P<h>[上下])半年"),
        lambda m: _months(int(m["y"]), *((1, 6) if m["h"] == "上" else (7, 12)), "half"),
    ),
    # 2022年第三季度 · 2022年三季度 · 2022年第3季 · 2022年Q3 · 2022Q3
    (
        re.compile(_Y + "年?度?(?:第?(?P<q>[1-4])季度?|第?[Qq](?P<q2>[1-4]))"),
        _quarter,
    ),
    # 2023年 · 2023年度
    (re.compile(_Y + "年度?"), lambda m: _year(int(m["y"]))),
)

# What may follow a date form: an end (底/末) and a suffix (前/内/止…).
_MARKER = re.compile(
    r"(?P<end>年底|年末|月底|月末|底|末)?(?P<suffix>之前|以前|前|以内|内|为止|止)?"
)
_END_UNITS = {"年底": "year", "年末": "year", "月底": "month", "月末": "month"}

# Text after a date that turns it into something other than a deadline: 后 (after), 起 (from),
# 左右 (about), 前后 (around), 初/中 (early, mid: 2021年6月初); or a stray unit (2021年6月底日)
# that says it was mistyped; a count after a period's end not read (每季度结束后5个工作日内). (初步
# is an action: 2021年底前初步建成.)
_NOT_A_DEADLINE = re.compile(
    r"后|以后|之后|起|开始|以来|至今|左右|初(?!步)|中|[年月日号旬季度]|结束后\d"
)
# Date-like text that may not hide in a clause's free text (it would be silently ignored),
# including qualifiers of the date before it: 2021年春节前, 2022年汛期前, 2021年年初.
_DATE_LIKE = re.compile(
    r"\d{4}年(?!度)|\d{4}[-./]\d|\d{1,2}(?:月|日|号|旬)|\d季度?|[Qq][1-4]|[上下]半年"
    r"|每个?(?:月|季|半年|年|周|星期)"
    r"|前|春节|元旦|国庆|中秋|端午|清明|汛|开学|两会|[年月](?:初|中)"
)
_RANGE_CONNECTOR = re.compile(r"起?(?:至|到|~|—{1,2}|–|-)")

# Words before a date that change nothing: labels, 力争, 于/在/截至.
_PREFIX = re.compile(
    r"(?:(?:完成时限|完成时间|时间节点|截止时间|截止日期|时限)[:]?)?"
    r"(?:并且|并|同时|再|最终)?"
    r"(?:力争|争取|计划|预计|确保|原则上|务必|须|应)*"
    r"(?:截至|截止(?:到|至|于)?|于|在|到|至)?"
)


def _match_period(s: str, pos: int) -> tuple[_Period, int] | None:
    """The date form at `pos` and where it ends, or None when there is none."""
    for pattern, build in _DATE_FORMS:
        m = pattern.match(s, pos)
        if m:
            return build(m), m.end()
    return None


def _resolve(period: _Period, s: str, pos: int) -> tuple[date, int] | None:
    """The due date a period and the marker after it name, and where the marker ends."""
    m = _MARKER.match(s, pos)
    assert m is not None  # every group is optional
    end, suffix = m["end"], m["suffix"]
    if period is _INVALID:
        return None
    if end is not None and (
        period.unit == "day" or _END_UNITS.get(end, period.unit) != period.unit
    ):
        return None
    if period.unit != "day" and end is None and suffix in _BEFORE_SUFFIXES:
        return period.first - timedelta(days=1), m.end()
    return period.last, m.end()


def _free_text_ok(text: str) -> bool:
    """Whether the words after a date are plain action text (启动, 完成…)."""
    return not _NOT_A_DEADLINE.match(text) and not _DATE_LIKE.search(text)


# --- recurring forms ----------------------------------------------------------------------------

_WEEKDAYS = {"1": "MO", "2": "TU", "3": "WE", "4": "TH", "5": "FR", "6": "SA", "7": "SU"}
_WEEKDAYS |= {"日": "SU", "天": "SU"}
_QUARTER_ENDS = "3,6,9,12"
_QUARTER_STARTS = "1,4,7,10"


@dataclass(frozen=True)
class _Rule:
    """A recurrence as written: its RRULE when read as an end, and when read with 前."""

    unit: str  # day, or the period: month | quarter | half | year | week
    end: str | None
    before: str | None


def _month_day(prefix: str, month: int | None, day: int) -> str | None:
    """An RRULE for day `day`, falling back to the month's last day when the month is shorter."""
    longest = 31 if month is None else _month_end(2024, month).day
    shortest = 28 if month is None else _month_end(2023, month).day
    if not 1 <= day <= longest:
        return None
    by_month = "" if month is None else f";BYMONTH={month}"
    if day <= shortest:
        return f"{prefix}{by_month};BYMONTHDAY={day}"
    if day == longest:  # 31 of every month, 29 of February: the month's last day
        return f"{prefix}{by_month};BYMONTHDAY=-1"
    # 29 or 30 of every month: that day, or the month's last day if it is shorter
    days = ",".join(str(d) for d in range(shortest, day + 1))
    return f"{prefix}{by_month};BYMONTHDAY={days};BYSETPOS=-1"


def _day_rule(rule: str | None) -> _Rule | None:
    return None if rule is None else _Rule("day", rule, rule)


def _previous_month(month: int) -> int:
    return 12 if month == 1 else month - 1


def _yearly_month_end(month: int) -> str:
    return f"FREQ=YEARLY;BYMONTH={month};BYMONTHDAY=-1"


def _after_period(m: re.Match[str]) -> _Rule | None:
    """每季度结束后10日内: day n of the month after each period."""
    n = int(m["n"])
    if not 1 <= n <= 28:
        return None
    months = {"月": None, "季": _QUARTER_STARTS, "季度": _QUARTER_STARTS, "半年": "1,7", "年": "1"}
    by_month = months[m["p"]]
    rule = "FREQ=MONTHLY" + ("" if by_month is None else f";BYMONTH={by_month}")
    return _day_rule(f"{rule};BYMONTHDAY={n}")


def _monthly_xun(m: re.Match[str]) -> _Rule:
    end = {"上": "10", "中": "20", "下": "-1"}[m["x"]]
    before = {"上": "-1", "中": "10", "下": "20"}[m["x"]]
    return _Rule("xun", f"FREQ=MONTHLY;BYMONTHDAY={end}", f"FREQ=MONTHLY;BYMONTHDAY={before}")


def _yearly_months(last_month: int, first_month: int, unit: str) -> _Rule:
    return _Rule(
        unit, _yearly_month_end(last_month), _yearly_month_end(_previous_month(first_month))
    )


def _yearly_month(m: re.Match[str]) -> _Rule | None:
    month = int(m["m"])
    return _yearly_months(month, month, "month") if 1 <= month <= 12 else None


def _yearly_quarter(m: re.Match[str]) -> _Rule:
    q = int(m["q"])
    return _yearly_months(3 * q, 3 * q - 2, "quarter")


def _yearly_day(m: re.Match[str]) -> _Rule | None:
    month = int(m["m"])
    if not 1 <= month <= 12:
        return None
    return _day_rule(_month_day("FREQ=YEARLY", month, int(m["d"])))


def _weekly(m: re.Match[str]) -> _Rule:
    if m["w"] is None:
        return _Rule("week", "FREQ=WEEKLY;BYDAY=SU", None)  # the week ends on Sunday
    rule = f"FREQ=WEEKLY;BYDAY={_WEEKDAYS[m['w']]}"
    return _Rule("day", rule, rule)


# Tried in order on text starting with 每; the first that matches decides.
_RECURRING_FORMS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], _Rule | None]], ...] = (
    (
        re.compile(r"每个?月(?P<d>\d{1,2})[日号]"),
        lambda m: _day_rule(_month_day("FREQ=MONTHLY", None, int(m["d"]))),
    ),
    (re.compile(r"每个?月(?P<x>[上中下])旬"), _monthly_xun),
    (re.compile(r"每个?(?P<p>月|季度?|半年|年)(?:结束)?后(?P<n>\d{1,2})[日天]"), _after_period),
    (re.compile(r"每年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]"), _yearly_day),
    (re.compile(r"每年(?P<m>\d{1,2})月份?"), _yearly_month),
    (
        re.compile(r"每年(?P<h>[上下])半年"),
        lambda m: _yearly_months(6, 1, "half") if m["h"] == "上" else _yearly_months(12, 7, "half"),
    ),
    (re.compile(r"每年第?(?P<q>[1-4])季度?"), _yearly_quarter),
    (re.compile(r"每个?(?:周|星期)(?P<w>[1-7日天])?"), _weekly),
    (re.compile(r"每个?月"), lambda m: _Rule("month", "FREQ=MONTHLY;BYMONTHDAY=-1", None)),
    (
        re.compile(r"每个?季度?"),
        lambda m: _Rule("quarter", f"FREQ=MONTHLY;BYMONTH={_QUARTER_ENDS};BYMONTHDAY=-1", None),
    ),
    (
        re.compile(r"每半年"),
        lambda m: _Rule("half", "FREQ=MONTHLY;BYMONTH=6,12;BYMONTHDAY=-1", None),
    ),
    (re.compile(r"每年度?"), lambda m: _Rule("year", _yearly_month_end(12), None)),
)


def _match_recurring(s: str, pos: int) -> str | None:
    """The RRULE the text from `pos` (starting with 每) names, or None."""
    for pattern, build in _RECURRING_FORMS:
        m = pattern.match(s, pos)
        if m is None:
            continue
        rule = build(m)
        marker = _MARKER.match(s, m.end())
        assert marker is not None
        end, suffix = marker["end"], marker["suffix"]
        if rule is None or not _free_text_ok(s[marker.end() :]):
            return None
        if end is not None:
            ok = rule.unit not in ("day", "xun") and _END_UNITS.get(end, rule.unit) == rule.unit
            return rule.end if ok else None
        return rule.before if suffix in _BEFORE_SUFFIXES else rule.end
    return None


# --- long-term wording --------------------------------------------------------------------------

LONG_TERM = re.compile(
    r"(?:长期|持续|常态化|常年|经常性|日常)性?"
    r"(?:推进|坚持|开展|实施|进行|执行|落实|深化|推动|跟进|抓好|有效)*"
    r"(?:工作|任务)?|常抓不懈"
)
# Long-term wording beside a date makes the cell ambiguous (due once, or forever?).
_LONG_TERM_WORDS = re.compile(r"长期|持续(?:推进|开展|实施|进行)|常态化|常抓不懈")


# --- counted spans: 5年内, 印发之日起30日内 -------------------------------------------------------

# The issue of the plan itself: 本意见印发之日起, 自印发之日起, 本方案发布后. (施行/实施 name
# the day it takes effect, which may differ from the issue date: not read.)
ISSUER = (
    r"(?:自|从)?(?:本|该|此)?"
    r"(?:实施意见|指导意见|意见|实施方案|工作方案|行动方案|方案|通知|规划|计划|文件|办法|决定"
    r"|细则|规定|纲要|措施|要点)?(?:正式)?"
)
ISSUED_VERB = r"(?:印发|发布|下发|出台|公布|颁布)(?:之日|之后|以后|后)?(?:起|开始)?,?"
FROM_ISSUE = re.compile(ISSUER + ISSUED_VERB)
# 月 alone is a span only after a start (印发之日起3月内); on its own, 3月内 is a month of a year.
COUNT = re.compile(
    r"(?P<n>\d{1,3}|两|半)"
    r"(?P<unit>个工作日|工作日|个月|个星期|星期|周|年|月|日|天)(?P<half>半)?(?:时间)?(?:以内|之内|内)"
)

# 用3年时间: a count without 内.
USE_COUNT = re.compile(
    r"(?:用|花)(?P<n>\d{1,3}|两|半)(?P<unit>个月|个星期|星期|周|年|日|天)(?P<half>半)?时间"
)


def _count_at(s: str, pos: int) -> re.Match[str] | None:
    return COUNT.match(s, pos) or USE_COUNT.match(s, pos)


@dataclass(frozen=True)
class _Span:
    """A counted span: months, or days."""

    months: int = 0
    days: int = 0


def _span(m: re.Match[str], after_start: bool) -> _Span | None:
    """The span a count names, or None when it is not one duban can count."""
    n, unit, half = m["n"], m["unit"], m["half"] is not None
    if unit.endswith("工作日") or (unit == "月" and not after_start):
        return None
    if n == "半":
        if half or unit not in ("年", "个月"):
            return None
        return _Span(months=6) if unit == "年" else _Span(days=15)
    count = 2 if n == "两" else int(n)
    if count < 1:
        return None
    if unit == "年":
        return _Span(months=12 * count + (6 if half else 0))
    if half:
        return None
    if unit in ("个月", "月"):
        return _Span(months=count)
    return _Span(days=count * (7 if unit in ("周", "星期", "个星期") else 1))


def _span_end(first: date, span: _Span) -> date | None:
    """The last day of `span` when `first` is its first day (see the module's docstring)."""
    if not FIRST_YEAR <= first.year <= LAST_YEAR:
        return None
    if span.months:
        y, m = divmod(first.month - 1 + span.months, 12)
        y += first.year
        if y > LAST_YEAR:
            return None
        try:
            return date(y, m + 1, first.day) - timedelta(days=1)
        except ValueError:  # no corresponding day (Jan 31 + 1 month): that month's last day
            return _month_end(y, m + 1)
    last = first + timedelta(days=span.days - 1)
    return last if last.year <= LAST_YEAR else None


# --- clauses ------------------------------------------------------------------------------------


@dataclass
class _Clause:
    """One clause of a cell, typed: dated | start | recurring | long_term | counted | other |
    invalid. A counted clause counts `span` from `start`, or else from the issue date."""

    kind: str
    segments: list[tuple[int, date]] = field(default_factory=list)  # dated: (position, due)
    rrule: str | None = None
    start: date | None = None
    span: _Span | None = None
    position: int = 0
    bare: bool = False  # counted from nothing written (5年内), not from 印发之日起 or a start


def _counted(
    s: str, begin: int, pos: int, start: date | None, *, after_start: bool = True
) -> _Clause:
    """The clause from `begin` whose count (3年内…) is at `pos`: counted, or invalid."""
    m = _count_at(s, pos)
    assert m is not None
    span = _span(m, after_start)
    if span is None or not _free_text_ok(s[m.end() :]):
        return _Clause("invalid")
    bare = start is None and not after_start
    return _Clause("counted", start=start, span=span, position=begin, bare=bare)


def _count_from(clauses: list[_Clause], issued: date | None) -> list[_Clause] | None:
    """The clauses with each counted span read as a dated clause; None when one cannot be."""
    out: list[_Clause] = []
    written_date = False  # a dated clause before, not itself counted
    for clause in clauses:
        if clause.kind != "counted":
            written_date = written_date or clause.kind == "dated"
            out.append(clause)
            continue
        assert clause.span is not None
        first = clause.start
        if first is None and clause.bare and out and out[-1].kind == "start":
            first = out.pop().start  # 自2019年起，5年内
        elif first is None and clause.bare and written_date:
            return None  # 6月底前启动，30日内完成: from the issue date, or from June?
        first = first or issued
        due = None if first is None else _span_end(first, clause.span)
        if due is None:
            return None
        out.append(_Clause("dated", segments=[(clause.position, due)]))
    return out


def _dated(s: str, begin: int, pos: int) -> _Clause:
    """A clause that starts with a date: one segment per date it names, ranges collapsed."""
    if _LONG_TERM_WORDS.search(s, pos):
        return _Clause("invalid")  # due once, or forever?
    segments: list[tuple[int, date]] = []
    segment_start = begin
    while True:
        found = _match_period(s, pos)
        assert found is not None
        resolved = _resolve(found[0], s, found[1])
        if resolved is None:
            return _Clause("invalid")
        due, pos = resolved
        segments.append((segment_start, due))
        following = _next_date(s, pos)
        if following is None:
            return _Clause("dated", segments) if _free_text_ok(s[pos:]) else _Clause("invalid")
        between = s[pos:following]
        if _RANGE_CONNECTOR.fullmatch(between):
            segments.pop()  # a range: the work is due at its end
        elif not _free_text_ok(between):
            return _Clause("invalid")
        else:
            segment_start = following
        pos = following


def _next_date(s: str, pos: int) -> int | None:
    """Where the next date form after `pos` begins (not counting 2020年度 in free text)."""
    for i in range(pos, len(s)):
        if s[i].isdigit() and (i == 0 or not s[i - 1].isdigit()):
            found = _match_period(s, i)
            if found and not s[i : found[1]].endswith("年度"):
                return i
    return None


_START_WORD = re.compile(r"起|开始")


def _start(s: str, pos: int) -> tuple[date, str | None, int] | None:
    """A start (2022年3月起, 自2022年起, 2022年3月至2023年底): first day, UNTIL, where it ends."""
    if s.startswith(("自", "从"), pos):
        pos += 1
    found = _match_period(s, pos)
    if found is None or found[0] is _INVALID:
        return None
    period, pos = found
    until: str | None = None
    word = _START_WORD.match(s, pos)
    if word:
        pos = word.end()
    connector = _RANGE_CONNECTOR.match(s, pos)
    if connector and _match_period(s, connector.end()):
        second = _match_period(s, connector.end())
        assert second is not None
        resolved = _resolve(second[0], s, second[1])
        if resolved is None:
            return None
        until, pos = resolved[0].strftime("%Y%m%d"), resolved[1]
        if s.startswith("止", pos):
            pos += 1
    elif not word:
        return None
    return period.first, until, pos


def _clause(s: str, begin: int, end: int) -> _Clause:
    """Type the clause s[begin:end]."""
    s = s[:end]
    if LONG_TERM.fullmatch(s, begin):
        return _Clause("long_term")
    start = _start(s, begin)
    if start is not None:
        first, until, pos = start
        if pos == end and until is None:
            return _Clause("start", start=first)
        if s.startswith("每", pos):
            rrule = _match_recurring(s, pos)
            if rrule is None:
                return _Clause("invalid")
            rrule += "" if until is None else f";UNTIL={until}"
            return _Clause("recurring", rrule=rrule, start=first)
        if until is None and LONG_TERM.fullmatch(s, pos):
            return _Clause("long_term", start=first)
        if until is None and _count_at(s, pos):
            return _counted(s, begin, pos, first)
    if s.startswith("每", begin):
        rrule = _match_recurring(s, begin)
        return _Clause("invalid") if rrule is None else _Clause("recurring", rrule=rrule)
    prefix = _PREFIX.match(s, begin)
    assert prefix is not None
    if _match_period(s, prefix.end()):
        return _dated(s, begin, prefix.end())
    issue = FROM_ISSUE.match(s, prefix.end())
    if issue and _count_at(s, issue.end()):
        return _counted(s, begin, issue.end(), None)
    if _count_at(s, prefix.end()):
        return _counted(s, begin, prefix.end(), None, after_start=False)
    if _LONG_TERM_WORDS.search(s, begin):
        return _Clause("long_term")
    if _DATE_LIKE.search(s, begin):
        return _Clause("invalid")  # a date we cannot read must not pass as plain words
    return _Clause("other")


def _clauses(s: str) -> list[_Clause]:
    """The non-empty clauses of a normalised cell, with their types."""
    clauses = []
    begin = 0
    for i, ch in enumerate([*s, ","]):
        if ch in _CLAUSE_SEPARATORS:
            if i > begin:
                # read alone (a copy of the text up to each clause would make a long text slow)
                clause = _clause(s[begin:i], 0, i - begin)
                clause.segments = [(position + begin, due) for position, due in clause.segments]
                clause.position += begin
                clauses.append(clause)
            begin = i + 1
    return clauses


# --- the cell -----------------------------------------------------------------------------------

_WRAPPED = re.compile(r"[（(]([^（()）]*)[)）]")
_DATE_TIME = re.compile(r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2})[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?")


def parse_deadline(value: str | date | datetime | None, *, issued: date | None = None) -> Deadline:
    """Read one deadline cell or phrase (text, or the date an Excel cell holds) into a
    `Deadline`; a span counted from the issue date (5年内, 印发之日起30日内) counts from
    `issued`, and is unknown without it."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return Deadline(text=value.isoformat(), kind=DeadlineKind.DATE, due=value)
    if value is None:
        return Deadline(text="", kind=DeadlineKind.UNKNOWN)
    text = str(value).strip()
    unknown = Deadline(text=text, kind=DeadlineKind.UNKNOWN)
    if not isinstance(value, str):
        return unknown
    # What to read: a date cell exported as text ("2022-12-31 00:00:00") without its time, a
    # cell wholly in brackets ("（2022年6月底前）") without them; the text stays as written.
    timed, wrapped = _DATE_TIME.fullmatch(text), _WRAPPED.fullmatch(text)
    body = timed.group(1) if timed else wrapped.group(1).strip() if wrapped else text
    normalised, source = normalise(body)
    normalised, source = _name_years(normalised, source, issued)
    carried, carried_source = _carry_years(normalised, source)
    deadline = None
    if carried != normalised:
        deadline = _read(body, carried, carried_source, issued)
        dues = [milestone.due for milestone in deadline.milestones]
        if deadline.kind is DeadlineKind.UNKNOWN or dues != sorted(dues):
            deadline = None
    deadline = deadline or _read(body, normalised, source, issued)
    return deadline if body == text else replace(deadline, text=text)


def _read(text: str, normalised: str, source: list[int], issued: date | None) -> Deadline:
    """A deadline from a cell's normalised text (`source`: where each character came from)."""
    unknown = Deadline(text=text, kind=DeadlineKind.UNKNOWN)
    clauses = _clauses(normalised)
    if not clauses or any(clause.kind == "invalid" for clause in clauses):
        return unknown
    counted = _count_from(clauses, issued)
    if counted is None or not counted:
        return unknown
    clauses = counted
    kinds = [clause.kind for clause in clauses]

    start: date | None = None
    if kinds[0] == "start" and len(kinds) > 1 and kinds[1] in ("recurring", "long_term"):
        start = clauses[0].start
        clauses, kinds = clauses[1:], kinds[1:]
        if clauses[0].start is not None:
            return unknown

    if all(kind == "long_term" for kind in kinds):
        return Deadline(text, DeadlineKind.LONG_TERM, start=start or clauses[0].start)

    if kinds.count("recurring") == 1 and set(kinds) <= {"recurring", "long_term", "other"}:
        at = kinds.index("recurring")
        if "other" not in kinds[:at]:
            rule = clauses[at]
            return Deadline(
                text, DeadlineKind.RECURRING, rrule=rule.rrule, start=start or rule.start
            )
        return unknown

    if start is None and kinds[0] == "dated" and set(kinds) <= {"dated", "other"}:
        segments = [segment for clause in clauses for segment in clause.segments]
        if len(segments) == 1:
            return Deadline(text, DeadlineKind.DATE, due=segments[0][1])
        milestones = []
        for (position, due), following in zip(
            segments, [*(position for position, _ in segments[1:]), None], strict=True
        ):
            stop = len(text) if following is None else source[following]
            milestones.append(
                Milestone(text[source[position] : stop].strip(" ,，;；、。\r\n\t"), due)
            )
        return Deadline(
            text,
            DeadlineKind.MILESTONES,
            due=max(milestone.due for milestone in milestones),
            milestones=tuple(milestones),
        )
    return unknown


# An issue date that puts every count well inside the years duban keeps.
_ANY_ISSUE_DATE = date(2000, 1, 1)
# What every text read from the issue date holds (5年内, 用3年时间, 今年底前), to answer fast.
_RELATIVE_WORDS = ("内", "时间", "今年", "本年", "明年")


def is_relative(text: str) -> bool:
    """Whether a deadline text counts from the plan's issue date (5年内, 本意见印发之日起30日内,
    用3年时间, 今年年底前), i.e. it is unknown without `issued` and read with it; the importer
    then asks for the date. Working days (30个工作日内) are not: no issue date reads them."""
    return (
        any(word in text for word in _RELATIVE_WORDS)
        and parse_deadline(text).kind is DeadlineKind.UNKNOWN
        and parse_deadline(text, issued=_ANY_ISSUE_DATE).kind is not DeadlineKind.UNKNOWN
    )


_WORKING_DAYS = re.compile(r"\d{1,3}个?工作日(?:以内|之内|内)")


def counts_working_days(text: str) -> bool:
    """Whether a deadline text counts working days (30个工作日内), which duban does not count
    (it would need the working-day calendar of the plan's years): the importer says so."""
    return "工作日" in text and bool(_WORKING_DAYS.search(normalise(text)[0]))
