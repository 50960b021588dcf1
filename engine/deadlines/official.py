"""The State Council's annual holiday notice (国务院办公厅关于YYYY年部分节假日安排的通知), read into
each year's official holidays and 调休 make-up working days.

Pure: it takes the notice's paragraphs (text and where each stands in the file) and gives back
the days, or refuses with one line that names the file, the line and what was expected. The
genre, as published every November:

    国务院办公厅关于2027年部分节假日安排的通知
    一、元旦：1月1日（周五）至3日（周日）放假，共3天。
    二、春节：2月5日（农历除夕、周五）至13日（农历正月初八、周六）放假调休，共9天。2月14日（周日）、
    2月20日（周六）上班。鼓励各单位结合带薪年休假等制度落实，安排职工在除夕休息。

Each numbered item names its holiday. A sentence saying 上班 lists make-up working days; one
saying 放假, 连休 or 休息 lists days off (a range — 至, —, -, ~ — is every day of it, weekends
included); a sentence that only encourages (鼓励, 倡导) is a remark and counts for nothing, said
in a warning when it holds a date. A date without its year is in the notice's year, except
December in the 元旦 item (the year before) and the end of a range over the new year. "共X天" is
checked against the days listed, and a weekday in brackets against its date: a mismatch is a
warning, the dates listed are what is imported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from engine.errors import UserError

HOLIDAY = "holiday"
WORKDAY = "workday"

_LONGEST_PERIOD = 20  # days; the longest real one is 10 (春节 2020, extended)
_WEEKDAYS = "一二三四五六日"
_NUMERALS = {c: i for i, c in enumerate("零一二三四五六七八九")}


@dataclass
class Holiday:
    """One numbered item of the notice: a holiday's days off and its make-up working days."""

    name: str
    ref: str
    days: list[date] = field(default_factory=list)
    workdays: list[date] = field(default_factory=list)
    stated: int | None = None
    """The number of days the item states (共3天, 放假1天), when it states one."""


@dataclass
class OfficialYear:
    """One year's notice, as read."""

    year: int
    ref: str
    holidays: list[Holiday] = field(default_factory=list)

    def days(self) -> dict[date, tuple[str, str]]:
        """Every day the notice names: day → (HOLIDAY or WORKDAY, the holiday's name)."""
        found: dict[date, tuple[str, str]] = {}
        for holiday in self.holidays:
            for day in holiday.days:
                found[day] = (HOLIDAY, holiday.name)
            for day in holiday.workdays:
                found[day] = (WORKDAY, holiday.name)
        return dict(sorted(found.items()))


@dataclass
class NoticeReading:
    years: list[OfficialYear]
    warnings: list[str]


_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC (full-width digits and punctuation become ASCII: （ → (, ： → :), no whitespace."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


_TITLE = re.compile(r"关于(\d{4})年(?:部分)?节假日安排")
_INTRO = re.compile(r"现将(\d{4})年")
_ITEM = re.compile(r"^([一二三四五六七八九十]{1,3})[、.]([^:,。;]{1,20}?):(.*)$")
_DATE = (
    r"(?:(?P<{p}y>\d{{4}})年)?(?:(?P<{p}m>\d{{1,2}})月)?(?P<{p}d>\d{{1,2}})日"
    r"(?:\((?P<{p}note>[^()]*)\))?"
)
_ONE_DATE = re.compile(_DATE.format(p="a"))
_RANGE = re.compile(_DATE.format(p="a") + r"(?:至|到|—+|–|-|~)" + _DATE.format(p="b"))
_MONTH_DAY = re.compile(r"\d+月|\d+日")
_STATED = re.compile(r"(?:共|放假)([\d零一二三四五六七八九十]{1,3})天")
_DAYS_WORD = re.compile(r"[\d零一二三四五六七八九十]{1,3}天")
_BRACKETS = re.compile(r"\([^()]*\)")
_CHINESE_DATE = re.compile(r"[零〇一二三四五六七八九十]+[月日]")
_SIGNED = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$")  # the date the notice is signed
_WORK = ("上班",)
_REST = ("放假", "连休", "休息", "调休")
_REMARK = ("鼓励", "倡导", "提倡")
_WEEKDAY_NOTE = re.compile(r"(?:星期|周)([一二三四五六日天])")


_SHOWN = str.maketrans({",": "，", "(": "（", ")": "）", ":": "：", ";": "；"})


def _shown(text: str) -> str:
    """Normalised text as a message quotes it: with the notice's own full-width punctuation."""
    return text.translate(_SHOWN)


def _dated(text: str) -> bool:
    """Whether a line gives a day off or a working day."""
    return bool(_MONTH_DAY.search(text)) and any(w in text for w in _WORK + _REST)


def _count(text: str) -> int:
    """共3天, 共七天, 共十天: the number."""
    if text.isdigit():
        return int(text)
    tens, _, ones = text.rpartition("十")
    if "十" not in text:
        return _NUMERALS.get(text, 0)
    return (_NUMERALS.get(tens, 1) if tens else 1) * 10 + _NUMERALS.get(ones, 0)


def read_notice(paragraphs: Iterable[tuple[str, str]], where: str) -> NoticeReading:
    """The notice's years from its paragraphs, each (text, "第 N 行"); `where` names the file."""
    reader = _Reader(where)
    for text, ref in paragraphs:
        reader.paragraph(text, ref)
    return reader.finish()


class _Reader:
    def __init__(self, where: str) -> None:
        self.where = where
        self.years: list[OfficialYear] = []
        self.warnings: list[str] = []
        self.current: OfficialYear | None = None
        self.pending: tuple[Holiday, list[str]] | None = None
        """The item being read, with its text so far (a line may wrap onto the next)."""

    def fail(self, ref: str, message: str) -> UserError:
        return UserError(f"{self.where} {ref}：{message}")

    def warn(self, ref: str, message: str) -> None:
        self.warnings.append(f"{self.where} {ref}：{message}")

    def paragraph(self, raw: str, ref: str) -> None:
        text = normalise(raw)
        if not text:
            return
        title = _TITLE.search(text)
        item = _ITEM.match(text)
        intro = None if item else _INTRO.search(text)
        if title or intro or item:
            self._flush()
        if title:
            self._start(int(title.group(1)), ref)
        elif intro:
            year = int(intro.group(1))
            if self.current is None:
                self._start(year, ref)
            elif year != self.current.year:
                self.warn(
                    ref,
                    f"正文写的是 {year} 年，与标题中的 {self.current.year} 年不一致，"
                    f"按标题的 {self.current.year} 年导入",
                )
        elif item:
            if self.current is None:
                raise self.fail(
                    ref,
                    "找不到通知的年份：文件中应有“国务院办公厅关于2027年部分"
                    "节假日安排的通知”这样的标题，或“现将2027年……”这样的正文",
                )
            self.pending = (Holiday(item.group(2), ref), [item.group(3)])
        elif self.pending and not self.pending[1][-1].endswith("。") and not _SIGNED.match(text):
            self.pending[1].append(text)  # the item's line wrapped in the file
        else:
            self._flush()
            if _dated(text) and any(word in text for word in _REMARK):
                self.warn(ref, f"“{_shown(text)}”是倡议，其中的日期不计入放假或上班安排")
            elif _dated(text):
                raise self.fail(
                    ref,
                    "这一行写有放假或上班日期，但不在“一、元旦：……”这样的"
                    "编号条目中，无法确定是哪个节日",
                )

    def _flush(self) -> None:
        if self.pending is None:
            return
        holiday, texts = self.pending
        self.pending = None
        assert self.current is not None
        self._item(holiday, "".join(texts))
        self.current.holidays.append(holiday)

    def _start(self, year: int, ref: str) -> None:
        if self.current is not None and self.current.year == year and not self.current.holidays:
            return  # the title said again (a web page's headline above its heading)
        if any(y.year == year for y in self.years):
            raise self.fail(ref, f"文件中有两份 {year} 年的节假日安排，应只有一份")
        self.current = OfficialYear(year, ref)
        self.years.append(self.current)

    def _item(self, holiday: Holiday, text: str) -> None:
        """One item's text: sentences of clauses. A clause's dates take the kind its own verb
        says, or else that of the next clause in the sentence that says one (1月1日，放假)."""
        ref = holiday.ref
        for sentence in filter(None, re.split(r"[。;]", text)):
            if any(word in sentence for word in _REMARK):
                if _MONTH_DAY.search(sentence):
                    self.warn(ref, f"“{_shown(sentence)}”是倡议，其中的日期不计入放假或上班安排")
                continue
            stated = _STATED.search(sentence)
            if stated:
                holiday.stated = (holiday.stated or 0) + _count(stated.group(1))
            pending: list[date] = []
            for clause in sentence.split(","):
                pending += self._dates(holiday, clause)
                if any(w in clause for w in _WORK):
                    holiday.workdays += pending
                    pending = []
                elif any(w in clause for w in _REST):
                    holiday.days += pending
                    pending = []
            if pending:
                raise self.fail(
                    ref, f"“{_shown(sentence)}”中的日期看不出是放假还是上班（应写明“放假”或“上班”）"
                )

    def _dates(self, holiday: Holiday, clause: str) -> list[date]:
        """The days a clause names, ranges as every day of them."""
        ref = holiday.ref
        if _CHINESE_DATE.search(_BRACKETS.sub("", clause)):
            raise self.fail(
                ref, f"无法识别“{_shown(clause)}”中的日期（日期应使用阿拉伯数字，例如“2月11日”）"
            )
        dates = _Dates(self, holiday)
        found: list[date] = []
        rest: list[str] = []
        pos = 0
        while pos < len(clause):
            span = _RANGE.match(clause, pos)
            one = None if span else _ONE_DATE.match(clause, pos)
            if span:
                first = dates.resolve(span["ay"], span["am"], span["ad"], span["anote"])
                last = dates.resolve(span["by"], span["bm"], span["bd"], span["bnote"], first)
                if (last - first).days + 1 > _LONGEST_PERIOD:
                    raise self.fail(
                        ref,
                        f"放假区间 {first.isoformat()} 至 {last.isoformat()} "
                        f"超过 {_LONGEST_PERIOD} 天，请核对日期",
                    )
                found += [first + timedelta(days=i) for i in range((last - first).days + 1)]
                pos = span.end()
            elif one:
                found.append(dates.resolve(one["ay"], one["am"], one["ad"], one["anote"]))
                pos = one.end()
            else:
                rest.append(clause[pos])
                pos += 1
        left = "".join(rest)
        bare = _BRACKETS.sub("", left)
        if re.search(r"\d", _DAYS_WORD.sub("", bare)):
            raise self.fail(
                ref,
                f"无法识别“{_shown(clause)}”中的日期（应写作“1月1日”“2月5日至13日”"
                "“2022年12月31日至2023年1月2日”）",
            )
        if any(_MONTH_DAY.search(b) for b in _BRACKETS.findall(left)):
            self.warn(ref, f"“{_shown(clause)}”括号中的日期是说明，不计入放假或上班安排")
        return found

    def finish(self) -> NoticeReading:
        self._flush()
        if not self.years:
            raise UserError(
                f"{self.where}：不是节假日安排通知，没有找到“国务院办公厅关于2027年"
                "部分节假日安排的通知”这样的标题"
            )
        seen: dict[date, tuple[str, OfficialYear]] = {}
        for year in self.years:
            self._check(year)
            for day, (kind, _name) in year.days().items():
                before = seen.get(day)
                if before and before[0] != kind:
                    raise self.fail(
                        year.ref,
                        f"{day.isoformat()} 在 {before[1].year} 年和 "
                        f"{year.year} 年的通知中一为放假一为上班",
                    )
                seen[day] = (kind, year)
        return NoticeReading(self.years, self.warnings)

    def _check(self, year: OfficialYear) -> None:
        if not year.holidays:
            raise self.fail(
                year.ref,
                f"{year.year} 年的通知中没有“一、元旦：1月1日放假，共1天。”这样的放假安排条目",
            )
        seen: dict[date, tuple[str, Holiday]] = {}
        for holiday in year.holidays:
            if not holiday.days:
                raise self.fail(holiday.ref, f"“{holiday.name}”一条中没有放假日期")
            for kind, days in ((HOLIDAY, holiday.days), (WORKDAY, holiday.workdays)):
                for day in days:
                    before = seen.get(day)
                    if before and before[0] != kind:
                        also = "" if before[1] is holiday else f"（另见{before[1].ref}）"
                        raise self.fail(
                            holiday.ref,
                            f"{day.isoformat()} 既是放假日又是上班日{also}，应只是其中之一",
                        )
                    seen[day] = (kind, holiday)
            listed = len(set(holiday.days))
            if holiday.stated is not None and holiday.stated != listed:
                first, last = min(holiday.days), max(holiday.days)
                self.warn(
                    holiday.ref,
                    f"{holiday.name}写明共 {holiday.stated} 天，但所列放假日期"
                    f"（{first.isoformat()} 至 {last.isoformat()}）为 {listed} "
                    "天，按所列日期导入",
                )


class _Dates:
    """Dates of one clause: the year each takes, checks that it exists and is near the notice's
    year, and that a weekday written beside it is its own."""

    def __init__(self, reader: _Reader, holiday: Holiday) -> None:
        assert reader.current is not None
        self.reader = reader
        self.ref = holiday.ref
        self.year = reader.current.year
        self.new_year = "元旦" in holiday.name
        self.context = self.year  # an explicit year holds for the dates after it

    def _day(self, year: int, month: int, day: int) -> date:
        try:
            return date(year, month, day)
        except ValueError:
            raise self.reader.fail(self.ref, f"日期 {year}年{month}月{day}日 不存在") from None

    def resolve(
        self, y: str | None, m: str | None, d: str, note: str | None, start: date | None = None
    ) -> date:
        if m is None and start is None:
            raise self.reader.fail(self.ref, f"日期“{int(d)}日”缺少月份（应写作“1月{int(d)}日”）")
        month = int(m) if m is not None else start.month  # type: ignore[union-attr]
        if y is not None:
            self.context = int(y)
            day = self._day(int(y), month, int(d))
        elif start is not None:
            day = self._day(start.year, month, int(d))
            if day < start:  # a range over the new year: 12月31日至1月2日
                day = self._day(start.year + 1, month, int(d))
        elif self.new_year and month == 12:
            day = self._day(self.year - 1, month, int(d))
        else:
            day = self._day(self.context, month, int(d))
        if start is not None and day < start:
            raise self.reader.fail(
                self.ref, f"放假区间的止日 {day.isoformat()} 早于起日 {start.isoformat()}"
            )
        if not date(self.year - 1, 12, 1) <= day <= date(self.year + 1, 1, 31):
            raise self.reader.fail(
                self.ref,
                f"日期 {day.isoformat()} 不在 {self.year} 年节假日"
                "安排的范围内（应在当年，或相邻的年底年初）",
            )
        said = _WEEKDAY_NOTE.search(note or "")
        if said:
            named = "日" if said.group(1) == "天" else said.group(1)
            if _WEEKDAYS.index(named) != day.weekday():
                self.reader.warn(
                    self.ref,
                    f"{day.month}月{day.day}日 注明为星期{named}，实际是"
                    f"星期{_WEEKDAYS[day.weekday()]}，请核对日期",
                )
        return day
