"""The deadline phrase written inside an item of a prose plan (DESIGN.md, Plan documents).

Pure: no I/O, no clock. A prose item states its timing in passing ("……，2019年6月底前实现
全覆盖。", "到2020年，基本形成……", "本意见印发之日起30日内制定……"), among years that are no
deadline: background ("2018年以来", "2017年全市GDP增长"), document titles ("《……（2016—2020
年）》"), editions ("2019年版"). `deadline_phrase` finds the phrase as written, for the deadline
grammar to read; it never invents one, and prefers finding none to taking background for one.

Reading an item: normalise it as the grammar does (keeping where each character came from),
blank out 《…》 titles, find candidate phrases with one pattern in one pass, keep those whose
context reads as a deadline and that the grammar reads, then join them: one phrase as found;
several (milestones) each with the words of its clause (2019年底前启动试点，2020年底前全面推开).
Linear in the item's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from engine.deadlines.deadline import DeadlineKind
from engine.deadlines.grammar import (
    COUNT,
    ISSUED_VERB,
    ISSUER,
    LONG_TERM,
    USE_COUNT,
    normalise,
    parse_deadline,
)


def _plain(pattern: re.Pattern[str]) -> str:
    """A pattern's text without its group names, to use it more than once in one pattern."""
    return re.sub(r"\(\?P<\w+>", "(?:", pattern.pattern)


_COUNT = f"(?:{_plain(COUNT)}|{_plain(USE_COUNT)})"
_DATE = (
    r"\d{4}(?:(?:至|到|~|—{1,2}|–|-)\d{4})?年"
    r"(?:\d{1,2}月(?:份|\d{1,2}[日号]|[上中下]旬)?|度?[上下]半年|度?第?[1-4]季度?|度)?"
    r"|\d{4}[-./]\d{1,2}(?:[-./]\d{1,2})?"
)
_END = r"(?:年底|年末|月底|月末|底|末)?"
_SUFFIX = r"(?P<suffix>之前|以前|前|以内|之内|内|为止|止)?"
_TAIL = (
    r"(?P<tail>(?:至|到|~|—{1,2}|–|-)"
    r"(?:\d{4}年(?:\d{1,2}月(?:\d{1,2}[日号])?)?|\d{1,2}月(?:\d{1,2}[日号])?)"
    r"(?:年底|年末|月底|月末|底|末)?(?:之前|以前|前|以内|之内|内|为止|止)?)?"
)
_PERIODS = r"(?:年度?|月|季度?|半年|周|星期)"
_RECUR = (
    r"每个?" + _PERIODS + r"(?:\d{1,2}月份?)?"
    r"(?:\d{1,2}[日号]|[上中下]旬|第?[1-4]季度?|[上下]半年|[1-7日天](?!\d))?"
    r"(?:结束)?(?:后\d{1,2}(?:个工作日|工作日|[日天]))?(?:年底|年末|月底|月末|底|末)?"
    r"(?:之前|以前|前|以内|之内|内)?(?!后\d)"
)
_IN_YEAR = r"\d{1,2}月(?:\d{1,2}[日号]|[上中下]旬)?|度?[上下]半年|度?第?[1-4]季度?|度"
_BEFORE_OR_IN = r"之前|以前|前|以内|之内|内"
_YEARLESS = (
    r"(?:\d{1,2}月(?:\d{1,2}[日号]|[上中下]旬)?|年底|年末|[上下]半年|年(?=内))"
    r"(?:年底|年末|月底|月末|底|末)?(?:之前|以前|前|以内|内)"
)

# Tried in this order at each position; the first that matches decides. Every candidate begins
# with one of the characters looked ahead for, which lets the search pass over most of the text.
# (A count from the issue begins at its verb: what names the plan before it is added after.)
_CANDIDATE = re.compile(
    r"(?=[\d从自到至截每两半印发下出公颁今本明用花])(?:"
    rf"(?P<start>(?:从|自)?(?:(?<!\d)(?:{_DATE})|今年|明年)(?:起|开始),?(?:{_RECUR}|{_COUNT}))"
    rf"|(?P<issue>{ISSUED_VERB}{_COUNT})"
    rf"|(?P<pre>到|至|截至|截止到?)?(?P<dated>(?<!\d)(?:{_DATE}){_END}{_SUFFIX}{_TAIL})"
    rf"|(?P<named>(?:今年|本年度?|明年)(?:{_IN_YEAR})?{_END}(?P<named_suffix>{_BEFORE_OR_IN})?)"
    rf"|(?P<recur>{_RECUR})"
    rf"|(?P<count>(?<![\d年月]){_COUNT})"
    ")"
    r"|(?:^|[,;。、]|(?<=[在于到至]))(?:并且|并|同时|再|最终)?(?:力争|争取|确保|计划|于|在|到|至)*"
    rf"(?P<yearless>{_YEARLESS})"
)
_ISSUER = re.compile(f"(?:{ISSUER})$")  # 本意见, 自, 自本方案… before 印发之日起

# Words after a date that make it no deadline: since, after, from, about, an edition.
_NOT_AFTER = re.compile(r"以来|来|后|以后|之后|起|开始|至今|左右|前后|初|中|版|期间|时期|以前")
# Words after a phrase (past one comma) that say it states what has been done.
_BACKGROUND_AFTER = re.compile(r",?(?:已|共|累计|同比|比上年|较上年|均已|先后)")
# A count that counts from something other than the plan's issue: 近5年内, 受理后3日内.
_NOT_BEFORE_COUNT = (
    *("近", "过去", "最近", "以往", "此前", "前", "后", "起", "这", "该", "每"),
    # … or measures how long something takes: 压缩至3个工作日以内, 控制在5天内.
    *("至", "到", "为", "控制在", "缩短", "压缩", "减少", "减至"),
)
# … or is a condition: 5年内不得再次申请, 三年内有效.
_NOT_AFTER_COUNT = re.compile(r"的|以上|以来|来|不|未|没有|有效|禁止|均")
# A date without 前/内 is a deadline only with a word of intent before it or a target after it.
_INTENT_BEFORE = re.compile(r"(?:力争|争取|确保|计划|预计|力求|于|在|要|将|须|应)$")
_DONE = re.compile(r",?[^,;。]{1,3}的")  # 2018年印发的, 2016年出台的
_TARGET_AFTER = re.compile(
    r",?(?:完成|实现|建成|基本|全面|初步|形成|启动|出台|制定|推开|推广|达到|覆盖|开展|建立|健全"
    r"|完善|印发|试点|投入|投用|投运|开工|竣工|上线|运行|落地|提高|提升|要|将|力争|争取|确保"
    r"|构建|打造|取得|全部|所有)"
)
# Reporting verbs that make a bare 每月/每季度 a cadence (每季度报送进展), not a rate (每年新增).
_REPORT_AFTER = re.compile(r"(?:向\S{0,8}?)?(?:报送|报告|上报|通报|召开|汇报|总结|评估|调度|会商)")
_BARE_RECUR = re.compile(r"每个?" + _PERIODS)
_ENDS_BARE_RECUR = re.compile(r"每个?" + _PERIODS + "$")

_SEPARATOR = re.compile(r"[,;。:!?()\[\]【】<>\n]")
_CLAUSE = re.compile(r"[^,;。:!?()\[\]【】<>\n]+")
_MAX_WORDS = 80  # characters of a milestone's words
_PROBE_ISSUE = date(2000, 1, 1)  # reads counted phrases, which need an issue date


@dataclass(frozen=True)
class _Found:
    """A candidate phrase at norm[start:end]; `words_end`: where the words it governs end (its
    clause, or the next clause when it stands alone: 到2020年，基本形成……)."""

    start: int
    end: int
    words_end: int
    yearless: bool = False


def deadline_phrase(text: str) -> str | None:
    """The deadline phrase written in a prose item, as written; None when it states no timing.

    One phrase is returned as found ("2019年6月底前", "到2020年", "本意见印发之日起30日内",
    "从2019年起每年2月底前"); milestones with the words of their clauses, as written when they
    stand together, else joined by "，" ("2019年底前启动试点，2020年底前全面推开"); a clause
    that says only 长期坚持 / 持续推进 (…，长期坚持。) as written.
    """
    norm, source = normalise(text)
    norm = _blank_titles(norm)
    found = _distinct(norm, [f for f in _candidates(norm) if _reads(text, norm, source, f)])
    if not found:
        return _long_term(text, norm, source)
    dated = [f for f in found if not f.yearless]
    # 6月底前启动，2020年底前完成: the first has no year; the second is read alone.
    groups = [found, dated] if dated and len(dated) < len(found) else [found]
    for group in groups:
        phrase = _chosen(text, norm, source, group)
        if phrase is not None:
            return phrase
    # What the grammar cannot read (30个工作日内; 2019年底前完成，此后每年…) is kept, to be flagged.
    if len(found) == 1:
        return _written(text, norm, source, found[0].start, found[0].end)
    return _joined(text, norm, source, found, words=True)


def _chosen(text: str, norm: str, source: list[int], found: list[_Found]) -> str | None:
    """The phrase the grammar reads from these candidates, or None. Without a year written
    (6月底前启动，年底前完成) it is read as in any year: the importer gives it the plan's."""
    if len(found) == 1:
        phrase = _written(text, norm, source, found[0].start, found[0].end)
        return phrase if _readable(phrase, yearless=found[0].yearless) else None
    yearless = all(f.yearless for f in found)
    for words in (True, False):
        phrase = _joined(text, norm, source, found, words=words)
        if _readable(phrase, yearless=yearless):
            return phrase
    return None


_TITLE = re.compile(r"《[^《》]*》")


def _blank_titles(norm: str) -> str:
    """The text with what stands in 《…》 blanked out (a title's years are no deadline)."""
    while "《" in norm:
        blanked = _TITLE.sub(lambda m: "〈" + "□" * (len(m.group()) - 2) + "〉", norm)
        if blanked == norm:
            return norm  # an unclosed 《: what follows is left as it is
        norm = blanked  # inner titles first, then the title around them
    return norm


def _candidates(norm: str) -> list[_Found]:
    """The candidate phrases whose context reads as a deadline, in order."""
    found: list[_Found] = []
    for m in _CANDIDATE.finditer(norm):
        start, end = m.start(), m.end()
        yearless = m["yearless"] is not None
        if yearless:
            start = m.start("yearless")
        elif m["issue"] is not None:
            issuer = _ISSUER.search(norm, max(0, start - 16), start)
            start = issuer.start() if issuer else start
        if not _in_context(norm, m, start, end):
            continue
        words_end = _clause_end(norm, end)
        if words_end == end and end < len(norm) and norm[end] in ",;":
            words_end = _clause_end(norm, end + 1)  # 到2020年，基本形成……
        found.append(_Found(start, end, words_end, yearless))
    return found


def _distinct(norm: str, found: list[_Found]) -> list[_Found]:
    """The candidates without repeats: an item may say its deadline twice (……，2019年3月底前
    制定细则。（市司法局负责，2019年3月底前完成）)."""
    seen: set[str] = set()
    distinct = []
    for f in found:
        phrase = norm[f.start : f.end]
        if phrase not in seen:
            seen.add(phrase)
            distinct.append(f)
    return distinct


def _clause_end(norm: str, pos: int) -> int:
    """Where the clause from `pos` ends; `pos` itself when that is too far off to be the words
    of one deadline (which also keeps reading a text with no separators linear)."""
    end = _SEPARATOR.search(norm, pos, pos + _MAX_WORDS + 1)
    if end is not None:
        return end.start()
    return len(norm) if len(norm) - pos <= _MAX_WORDS else pos


def _in_context(norm: str, m: re.Match[str], start: int, end: int) -> bool:
    """Whether the words around a candidate say it is a deadline."""
    after = norm[end : end + 8]
    if _BACKGROUND_AFTER.match(after):
        return False
    before = norm[max(0, start - 4) : start]
    if m["count"] is not None:
        return not before.endswith(_NOT_BEFORE_COUNT) and not _NOT_AFTER_COUNT.match(after)
    if m["recur"] is not None and _BARE_RECUR.fullmatch(m["recur"]):
        return bool(_REPORT_AFTER.match(after))
    if m["start"] is not None and _ENDS_BARE_RECUR.search(m["start"]):
        return bool(_REPORT_AFTER.match(after))  # 2019年起，每年安排资金: a rate
    if m["named"] is not None:  # 今年底前, 明年6月底前
        if _NOT_AFTER.match(after):
            return False
        return m["named_suffix"] is not None or _weak_reads(before, after)
    if m["dated"] is None:
        return True
    if _NOT_AFTER.match(after):
        return False
    if m["suffix"] is not None or (m["tail"] is not None and "月" in m["dated"]):
        return True  # 2019年6月底前; 2019年1月1日至12月31日 (a span of work)
    if m["pre"] in ("截至", "截止", "截止到"):
        return False  # 截至2018年底，…: a status as of then
    # A year alone in brackets, after a name: a plan's period ((2016—2020年)), not a deadline.
    if start and norm[start - 1] == "(" and norm[end : end + 1] == ")":
        return False
    return (m["pre"] is not None and "了" not in after) or _weak_reads(before, after)


def _weak_reads(before: str, after: str) -> bool:
    """Whether a date without 前/内 is a deadline: a word of intent before it or a target after
    it, and no 了/的 after that says it is done (2018年印发了, 2018年出台的)."""
    if "了" in after or _DONE.match(after):
        return False
    return bool(_INTENT_BEFORE.search(before)) or bool(_TARGET_AFTER.match(after))


def _reads(text: str, norm: str, source: list[int], found: _Found) -> bool:
    """Whether the grammar reads the candidate (a working-day count is kept, to be flagged)."""
    if "工作日" in norm[found.start : found.end]:
        return True  # to be flagged
    phrase = _written(text, norm, source, found.start, found.end)
    words = _written(text, norm, source, found.start, found.words_end)
    return _readable(phrase, yearless=found.yearless) or _readable(words, yearless=found.yearless)


# A plan repeats its deadline phrases (2019年底前 in item after item).
@lru_cache(maxsize=4096)
def _readable(phrase: str, *, yearless: bool = False) -> bool:
    """Whether the grammar reads the phrase, given an issue date (and a year, if `yearless`)."""
    if yearless:
        phrase = f"{_PROBE_ISSUE.year}年{phrase}"
    return parse_deadline(phrase, issued=_PROBE_ISSUE).kind is not DeadlineKind.UNKNOWN


def _written(text: str, norm: str, source: list[int], start: int, end: int) -> str:
    """The original text of norm[start:end]."""
    first = source[start]
    last = source[end] if end < len(norm) else len(text)
    return text[first:last].rstrip()


def _joined(text: str, norm: str, source: list[int], found: list[_Found], *, words: bool) -> str:
    """The phrases found, each with the rest of its clause when `words`; phrases that stand
    together in the text (only separators between) are kept as written."""
    spans: list[tuple[int, int]] = []
    for i, f in enumerate(found):
        end = f.end
        if words:
            following = found[i + 1].start if i + 1 < len(found) else len(norm)
            end = min(f.words_end, following)
        spans.append((f.start, end))
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and all(ch in ",;、" for ch in norm[merged[-1][1] : start]):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    parts = [_written(text, norm, source, s, e).rstrip("，,；;、 ") for s, e in merged]
    return "，".join(part for part in parts if part)


def _long_term(text: str, norm: str, source: list[int]) -> str | None:
    """A clause that says only 长期坚持 / 持续推进, as written."""
    for clause in _CLAUSE.finditer(norm):
        if len(clause.group()) <= 20 and LONG_TERM.fullmatch(clause.group()):
            return _written(text, norm, source, clause.start(), clause.end())
    return None
