"""A prose plan (实施意见, 重点工作分工的意见, 行动方案): its numbered items read into a plan table.

Such a plan has no table: its items, numbered 一、 （一） 1. （1） ① (or not at all), end in a
bracket naming the responsible units ("（人力资源社会保障部、财政部负责）"). Each units bracket
closes one task, so a paragraph may hold several; a numbered line with items under it is a
section heading; the lines before the first heading or item are the title, and what follows
it up to the body (文号, 主送机关, the opening paragraph) is named in a warning, as are the
paragraphs left out for another reason (保障措施 without units, the signature and date at the
end). Every non-empty paragraph ends up as a task, a section, the title, or in a warning.

This module reads the wording of such documents, not their format: a reader gives it the
paragraphs (`engine.importers.base.Document`). It hands over the deadline phrase as written,
and `build` reads it through the deadline grammar, with the plan's issue date it found here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from engine.deadlines.phrases import deadline_phrase
from engine.errors import UserError
from engine.importers.base import Document, Paragraph
from engine.importers.table import (
    PlanTable,
    TaskRow,
    chinese_number,
    chinese_numeral,
    coordinator_named,
)
from engine.importers.units import Bracket, read_bracket, states_rule
from engine.model.plan import Section

LABELS = {"task": "任务", "units": "责任单位", "deadline": "完成时限", "content": "具体内容"}

_CN = "一二三四五六七八九十百零〇"
# Numbering, outermost first: 第一部分 · 一、 · （一） · 1. · （1） / 1） · ①.
_MARKERS: list[tuple[int, re.Pattern[str]]] = [
    (0, re.compile(rf"^第([{_CN}]{{1,4}})(?:部分|章|篇)\s*[、.．:：]?\s*")),
    (1, re.compile(rf"^([{_CN}]{{1,4}})\s*[、.．]\s*")),
    (2, re.compile(rf"^[（(]\s*([{_CN}]{{1,4}})\s*[)）]\s*[、.．]?\s*")),
    (3, re.compile(r"^(\d{1,3})\s*[、.．](?![0-9])\s*")),
    (4, re.compile(r"^[（(]\s*(\d{1,3})\s*[)）]\s*[、.．]?\s*")),
    (4, re.compile(r"^(\d{1,3})\s*[)）]\s*")),
    (5, re.compile(r"^([\u2460-\u2473])\s*")),
]
_SENTENCE_END = "。；;！？!?"
_SENTENCE_MARK = re.compile(f"[{_SENTENCE_END}]")
_PUNCTUATION = re.compile(r"[。；;！？!?，,：:]")
_LEADING = re.compile(r"^[\s。；;，,、]+")
_TITLE_WORD = re.compile(
    r"(?:意见|方案|计划|要点|通知|办法|清单|规划|措施|分工|细则|纲要|决定|安排|任务)$"
)
_TRAILING_NOTE = re.compile(r"[（(][^（）()]*[)）]$")
_DOC_NUMBER = re.compile(r"〔\d{4}〕|\[\d{4}\]|号$")
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CN_DATE = re.compile(r"([〇零一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月"
                      r"\s*([一二三四五六七八九十]{1,3})\s*日")
_YEAR_DIGITS = dict(zip("〇零一二三四五六七八九", "00123456789", strict=True))
_ISSUED_LINE = re.compile(r"^(?P<date>[^（）()]{8,20}日)\s*(?:印发|发布|起施行)?$")
_ISSUED_NOTE = re.compile(r"^[（(]\s*(?P<date>[^（）()]{8,20}日)[^（）()]*[)）]$")
_MAX_HEADING = 40
_MAX_SIGNATURE = 30


@dataclass
class _Para:
    """One paragraph of the body, its numbering and its units brackets found."""

    index: int
    para: Paragraph
    rank: int | None  # the numbering's depth (0 = 第一部分 … 5 = ①), None when unnumbered
    number: str  # the numeral (三, 3), "" when unnumbered
    label: str  # the number as printed: （三）, 3.
    text: str  # the paragraph without its number
    brackets: list[tuple[int, int, Bracket]]  # (start, end) in `text`, the bracket read


@dataclass
class _Item:
    """What a stretch of body paragraphs became, before items without units are decided."""

    kind: str  # "tasks", "heading", "bare" (a numbered item naming no unit), "text", "note"
    paras: list[_Para]
    section: str | None
    rank: int | None = None
    tasks: list[tuple[TaskRow, bool, str]] = field(default_factory=list)
    """The tasks of its units brackets, each with whether its lead is only the first listed."""


def _numbered(index: int, para: Paragraph) -> _Para:
    text = para.text.strip()
    marker = _marker(text)
    if marker is not None:
        rank, number, label, body = marker
        return _Para(index, para, rank, number, label, body, _brackets(body))
    return _Para(index, para, None, "", "", text, _brackets(text))


_BRACKET_CHARS = re.compile(r"[（()）]")


def _brackets(text: str) -> list[tuple[int, int, Bracket]]:
    """The units brackets of a paragraph, outermost ones only, in order."""
    found: list[tuple[int, int, Bracket]] = []
    depth, start = 0, 0
    for mark in _BRACKET_CHARS.finditer(text):
        i = mark.start()
        if mark.group() in "（(":
            if depth == 0:
                start = i
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                closing = not text[i + 1 :].strip(" 。；;.")
                read = read_bracket(text[start + 1 : i], closing=closing)
                if read is not None:
                    found.append((start, i + 1, read))
    return found


def _value(label: str) -> int | None:
    """The number a printed label stands for: （三） → 3, 3. → 3, ③ → 3."""
    core = label.strip("（()）、.．:： ").removeprefix("第").removesuffix("部分")
    if core.isdecimal():  # 3, or full-width ３
        return int(core)
    if len(core) == 1 and "\u2460" <= core <= "\u2473":
        return ord(core) - 0x2460 + 1
    return chinese_number(core)


def _marker(text: str) -> tuple[int, str, str, str] | None:
    """A paragraph's numbering: (rank, numeral, the number as printed, the rest), or None."""
    for rank, pattern in _MARKERS:
        found = pattern.match(text)
        if found and found.end() < len(text):
            return rank, found.group(1), text[: found.end()].strip(), text[found.end() :]
    return None


def _heading_like(text: str) -> bool:
    """A short line reading as a heading: no sentence inside it (a trailing 。 allowed)."""
    body = text.strip().rstrip("。")
    return 0 < len(body) <= _MAX_HEADING and not _PUNCTUATION.search(body)


def _first_sentence(text: str) -> str:
    found = _SENTENCE_MARK.search(text)
    return (text[: found.start()] if found else text).strip()


def _day(text: str) -> date | None:
    """A date written in full (2019年3月5日, 二〇一九年三月五日), else None."""
    text = unicodedata.normalize("NFKC", text)
    try:
        if found := _DATE.fullmatch(text.strip()):
            return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        if found := _CN_DATE.fullmatch(text.strip()):
            year = int("".join(_YEAR_DIGITS[c] for c in found.group(1)))
            month, day = chinese_number(found.group(2)), chinese_number(found.group(3))
            if month is not None and day is not None:
                return date(year, month, day)
    except ValueError:  # 2019年2月30日
        return None
    return None


def _issued_in(text: str) -> date | None:
    """The date a line that is only a date (or a note such as （2019年3月5日印发）) gives."""
    found = _ISSUED_LINE.match(text.strip()) or _ISSUED_NOTE.match(text.strip())
    return _day(found.group("date")) if found else None


def _span(paras: list[Paragraph]) -> str:
    first, last = paras[0].ref, paras[-1].ref
    return first if len(paras) == 1 else f"{first}至{last}"


def _quoted(text: str, limit: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def left_out(paras: list[Paragraph], reason: str) -> str:
    """The note naming paragraphs that were not imported, and why."""
    more = f"等 {len(paras)} 段" if len(paras) > 1 else ""
    return f"源文件{_span(paras)}“{_quoted(paras[0].text)}”{more}{reason}，未作为任务导入，请核对"


class _Outline:
    """The sections of a prose plan: each heading numbered by the path of numbers above it
    (二, 二（一）), as the table reader numbers them; an unnumbered heading gets the next free
    numeral."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self._taken: set[str] = set()
        self._stack: list[tuple[int, str]] = []  # (rank, section no)
        self._top = 0

    @property
    def current(self) -> str | None:
        return self._stack[-1][1] if self._stack else None

    def enter(self, rank: int, number: str, title: str, label: str = "") -> str:
        while self._stack and self._stack[-1][0] >= rank:
            self._stack.pop()
        parent = self._stack[-1][1] if self._stack else ""
        # 第一部分 and 第一章 keep their words: "一" under them would read as a part of its own.
        piece = {0: label.rstrip("、.．:： "), 2: f"（{number}）", 4: f"（{number}）"}.get(
            rank, number
        )
        no = f"{parent}{piece}" if number else ""
        if not no or no in self._taken or len(no) > 20:
            self._top += 1
            while chinese_numeral(self._top) in self._taken:
                self._top += 1
            no = chinese_numeral(self._top)
        self._taken.add(no)
        self.sections.append(Section(no=no, title=title))
        self._stack.append((rank, no))
        return no


class _Reader:
    def __init__(self, document: Document, path: Path) -> None:
        self.path = path
        self.paragraphs = [p for p in document.paragraphs if p.text.strip()]
        self.notes: list[str] = list(document.notes)
        self.outline = _Outline()
        self.rule = False  # a rule stated for every bracket: 排在第一位的为牵头单位
        self.first_listed: list[int] = []  # tasks whose lead is only the first unit listed
        self.tasks: list[TaskRow] = []

    # --- the document's head and foot ------------------------------------------------------

    def _body_start(self, paras: list[_Para]) -> int:
        """Where the body begins: the first heading (styled or numbered) or units bracket, and
        the short heading lines right above a first bracket. A first line styled as a heading
        that reads as a plan's title (a web page's <h1>) is the title, not a section."""
        for i, p in enumerate(paras):
            styled = i == 0 and p.rank is None and not p.brackets and (p.para.heading or 0) >= 1
            if styled and _TITLE_WORD.search(_TRAILING_NOTE.sub("", p.text)):
                p.para = replace(p.para, heading=0)
                continue
            if (p.para.heading or 0) >= 1 or p.rank is not None:
                return i
            if p.brackets:
                while i > 1 and _heading_like(paras[i - 1].text):
                    i -= 1
                return i
        return len(paras)

    def _foot_start(self, paras: list[_Para], start: int) -> int:
        """Where the signature, the date and the notes at the end begin (len(paras) if none)."""
        dated = [
            i
            for i in range(max(start, len(paras) - 6), len(paras))
            if _issued_in(paras[i].para.text) and not paras[i].brackets
        ]
        if not dated:
            return len(paras)
        first = dated[0]
        for p in paras[first + 1 :]:
            text = p.para.text
            if p.brackets or p.rank is not None or len(text) > _MAX_SIGNATURE * 2:
                return len(paras)
        while (
            first > start
            and first > dated[0] - 3
            and paras[first - 1].rank is None
            and not paras[first - 1].brackets
            and _heading_like(paras[first - 1].text)
            and len(paras[first - 1].text) <= _MAX_SIGNATURE
        ):
            first -= 1
        return first

    def _title(self, head: list[Paragraph]) -> tuple[list[str], set[int]]:
        """The title lines among the lines before the body, and which of them they are."""
        styled = [i for i, p in enumerate(head) if p.heading == 0]
        if styled:
            return [head[i].text for i in styled], set(styled)
        candidates: list[list[int]] = []
        run: list[int] = []
        for i, p in enumerate(head):
            text = p.text.strip()
            short = (
                len(text) <= 60
                and "。" not in text
                and not text.endswith(("：", ":"))
                and not _DOC_NUMBER.search(text)
                and _issued_in(text) is None
                and not _TRAILING_NOTE.fullmatch(text)
            )
            if not short:
                run = []
                continue
            run.append(i)
            if _TITLE_WORD.search(_TRAILING_NOTE.sub("", text)):
                candidates.append(run)
                run = []
            elif len(run) > 2:
                run = run[1:]
        if not candidates:
            first = head[0].text if head else ""
            return ([first], {0}) if head and _heading_like(first) else ([], set())
        plans = [c for c in candidates if not head[c[-1]].text.endswith("通知")]
        chosen = (plans or candidates)[-1]
        return [head[i].text for i in chosen], set(chosen)

    def _issued(self, paras: list[Paragraph]) -> tuple[date, str] | None:
        for p in paras:
            day = _issued_in(p.text)
            if day is not None:
                return day, p.ref
        return None

    # --- the body --------------------------------------------------------------------------

    def _under(self, paras: list[_Para], i: int) -> list[_Para]:
        """The paragraphs after a numbered one that come before its next sibling or a heading
        above it."""
        rank = paras[i].rank
        out: list[_Para] = []
        for p in paras[i + 1 :]:
            if (p.rank is not None and rank is not None and p.rank <= rank) or (
                p.para.heading or 0
            ) >= 1:
                break
            out.append(p)
        return out

    def _tasks(self, paras: list[_Para]) -> list[tuple[TaskRow, bool, str]]:
        """One task per units bracket of an item (its paragraphs joined), each with whether its
        lead is only the unit listed first and the number a later one prints (② …)."""
        text = "\n".join(p.text for p in paras)
        brackets: list[tuple[int, int, Bracket]] = []
        offset = 0
        for p in paras:
            brackets.extend((offset + s, offset + e, b) for s, e, b in p.brackets)
            offset += len(p.text) + 1
        rows: list[tuple[TaskRow, bool, str]] = []
        done = 0
        ref = paras[0].para.ref
        for start, end, bracket in brackets:
            segment = _LEADING.sub("", text[done:start]).strip()
            label = ""
            if rows and (marker := _marker(segment)) is not None:  # ② … within a paragraph
                label, segment = marker[2], marker[3].strip()
            units_text = text[start + 1 : end - 1].strip()
            rows.append((*self._row(segment, units_text, bracket, ref), label))
            done = end
        rest = _LEADING.sub("", text[done:]).strip()
        if rest and rows:
            last = rows[-1][0]
            last.content = f"{last.content}{text[done:].rstrip()}"
            last.notes.append(
                f"源文件{ref}责任单位括号之后的文字“{_quoted(rest)}”未写责任单位，"
                "已并入本任务的具体内容，请核对"
            )
        return rows

    def _row(
        self, segment: str, units_text: str, bracket: Bracket, ref: str
    ) -> tuple[TaskRow, bool]:
        if bracket.rule and bracket.rule_below:
            self.rule = True
        first_listed = not (bracket.lead_marked or bracket.rule or self.rule)
        phrase = deadline_phrase(segment) or (
            deadline_phrase(bracket.deadline_text) if bracket.deadline_text else None
        )
        notes: list[str] = []
        if bracket.further:
            shown = "、".join(dict.fromkeys(bracket.further))
            notes.append(f"责任单位含“{shown}”，未写明全部单位，请核对")
        if bracket.units.lead is None and bracket.units.co_units:
            notes.append("责任单位只写明配合单位，未写明牵头单位，请核对")
        row = TaskRow(
            no=None,
            section=self.outline.current,
            title=_first_sentence(segment),
            content=segment,
            units_text=units_text,
            progress="",
            deadline=phrase,
            ref=ref,
            units=bracket.units,
            notes=notes,
        )
        return row, first_listed and bracket.units.lead is not None

    @staticmethod
    def _label(label: str, no: int) -> str | None:
        """The number as printed, when it is not the task's number (（三） for task 5)."""
        if not label:
            return None
        return None if _value(label) == no else label

    def _bare(self, paras: list[_Para]) -> TaskRow:
        """A task from an item that names no unit (it stands among items that do)."""
        text = "\n".join(p.text for p in paras)
        return TaskRow(
            no=None,
            section=self.outline.current,
            title=_first_sentence(text),
            content=text,
            units_text="",
            progress="",
            deadline=deadline_phrase(text),
            ref=paras[0].para.ref,
        )

    def _heading(self, p: _Para, rank: int) -> None:
        title = _first_sentence(p.text).rstrip("：:")
        self.outline.enter(rank, p.number, title or p.text, p.label)
        rest = p.text[len(_first_sentence(p.text)) :].lstrip("。；;！？!?：: ").strip()
        if rest:
            self.notes.append(
                f"源文件{p.para.ref}部分标题“{_quoted(title)}”之后的文字“{_quoted(rest)}”"
                "未写责任单位，未作为任务导入，请核对"
            )

    def _body(self, paras: list[_Para]) -> list[_Item]:
        items: list[_Item] = []
        i = 0
        while i < len(paras):
            p = paras[i]
            styled = p.para.heading or 0
            if p.brackets:
                group = [p]
                items.append(_Item("tasks", group, self.outline.current, p.rank))
                items[-1].tasks = self._tasks(group)
                i += 1
                continue
            if styled >= 1 and p.rank is None:
                self._heading(p, styled)
                items.append(_Item("heading", [p], self.outline.current))
                i += 1
                continue
            if p.rank is None:
                # A short line alone reads as a heading, but not a note in brackets (（此项工作
                # 长期坚持）) or a date.
                if (
                    _heading_like(p.text)
                    and len(p.text) <= _MAX_SIGNATURE
                    and i + 1 < len(paras)
                    and not _TRAILING_NOTE.fullmatch(p.text)
                    and _issued_in(p.text) is None
                ):
                    self._heading(p, 1)
                    items.append(_Item("heading", [p], self.outline.current))
                elif _TRAILING_NOTE.fullmatch(p.text):
                    items.append(_Item("note", [p], self.outline.current))
                else:
                    items.append(_Item("text", [p], self.outline.current))
                i += 1
                continue
            under = self._under(paras, i)
            deeper = any(u.rank is not None for u in under)
            if styled >= 1 or deeper or (under and _heading_like(p.text)):
                self._heading(p, p.rank)
                items.append(_Item("heading", [p], self.outline.current))
                i += 1
                continue
            # A numbered item whose units stand at the end of a later paragraph of it, or an
            # item of several paragraphs naming no unit.
            group = [p]
            for u in under:
                group.append(u)
                if u.brackets:
                    break
            if group[-1].brackets:
                items.append(_Item("tasks", group, self.outline.current, p.rank))
                items[-1].tasks = self._tasks(group)
            else:
                group = group[:1] + [u for u in group[1:] if not u.brackets]
                items.append(_Item("bare", group, self.outline.current, p.rank))
            i += len(group)
        return items

    # --- the whole document ----------------------------------------------------------------

    def read(self) -> PlanTable:
        paras = [_numbered(i, p) for i, p in enumerate(self.paragraphs)]
        if not any(p.brackets for p in paras):
            raise UserError(
                f"{self.path}：未找到分工表，也没有写明责任单位的条目（如“（××部负责）”"
                "“（牵头单位：……）”），文件中没有可导入的分工，未写入计划文件"
            )
        self.rule = any(states_rule(p.para.text) and not p.brackets for p in paras)
        start = self._body_start(paras)
        foot = self._foot_start(paras, start)
        head = [p.para for p in paras[:start]]
        title, in_title = self._title(head)
        # The lines before the body that are not the title, in runs (a notice that issues the
        # plan stands above its title; the opening paragraph below it).
        preamble: list[list[Paragraph]] = []
        for i, p in enumerate(head):
            if i in in_title:
                continue
            if preamble and i - 1 not in in_title and i > 0:
                preamble[-1].append(p)
            else:
                preamble.append([p])
        # The body is read before the tasks without units are placed, so that the rule stated
        # in a bracket with 下同 applies from there on, in document order.
        reader_notes = len(self.notes)
        items = self._body(paras[start:foot])
        self.notes[reader_notes:reader_notes] = [
            left_out(run, "在正文条目之前（印发通知、文号、主送机关、开头说明等）")
            for run in preamble
        ]
        self._place(items)
        foot_paras = [p.para for p in paras[foot:]]
        if foot_paras:
            self.notes.append(left_out(foot_paras, "是文末的落款、日期或附注"))
        if self.first_listed:
            numbers = "、".join(str(n) for n in self.first_listed)
            self.notes.append(
                f"任务 {numbers} 的责任单位未写明牵头单位，"
                "已按排在第一位的单位为牵头单位导入，请核对"
            )
        issued = self._issued(head + foot_paras)
        table = PlanTable(title_lines=title, columns=[], labels=dict(LABELS))
        table.sections = self.outline.sections
        table.tasks = self.tasks
        table.notes = self.notes
        table.coordinator = coordinator_named(p.text for p in head + foot_paras)
        if issued:
            table.issued, table.issued_ref = issued
        return table

    def _place(self, items: list[_Item]) -> None:
        """The tasks in document order, numbered 1, 2, …: an item naming no unit is a task
        (flagged) where items of its level in its section name units, or where its section
        already has tasks; else it is named in a warning."""
        with_units = {(item.section, item.rank) for item in items if item.kind == "tasks"}
        sections_with_tasks: set[str | None] = set()
        left: list[tuple[list[Paragraph], str]] = []
        reason = (
            "没有写明责任单位，所在部分也没有写明责任单位的条目（像是总体要求、保障措施等说明文字）"
        )

        def flush() -> None:
            for paras, why in _runs(left):
                self.notes.append(left_out(paras, why))
            left.clear()

        for item in items:
            if item.kind == "heading":
                continue
            label = item.paras[0].label
            if item.kind == "note":
                left.append(([p.para for p in item.paras], "是正文中括号里的附注，不是任务"))
                continue
            if item.kind == "tasks":
                flush()
                for row, first_listed, own in item.tasks:
                    self._append(row, own or label, first_listed)
                sections_with_tasks.add(item.section)
                continue
            among = (
                (item.section, item.rank) in with_units
                if item.kind == "bare"
                else item.section in sections_with_tasks
            )
            if among:
                flush()
                row = self._bare(item.paras)
                row.section = item.section
                row.notes.append(
                    f"源文件{row.ref}的条目未写责任单位，已作为任务导入，请补充"
                )
                self._append(row, label, False)
            else:
                left.append(([p.para for p in item.paras], reason))
        flush()

    def _append(self, row: TaskRow, label: str, first_listed: bool) -> None:
        no = len(self.tasks) + 1
        row.label = self._label(label, no)
        if first_listed:
            self.first_listed.append(no)
        self.tasks.append(row)


def _runs(left: list[tuple[list[Paragraph], str]]) -> list[tuple[list[Paragraph], str]]:
    """Consecutive left-out paragraphs with one reason, as one run each."""
    runs: list[tuple[list[Paragraph], str]] = []
    for paras, reason in left:
        if runs and runs[-1][1] == reason:
            runs[-1][0].extend(paras)
        else:
            runs.append((list(paras), reason))
    return runs


def read_prose(document: Document, path: Path) -> PlanTable:
    """The plan a prose document states, as a plan table: title, sections, one task per units
    bracket; a document with no units bracket at all is a user error (nothing to import)."""
    return _Reader(document, path).read()
