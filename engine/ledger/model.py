"""The ledger (推进情况汇总表) as neutral data: what every writer renders, built from a plan.

Pure: no I/O, no clock. The rows carry each cell's text as it will be printed; the writers only
decide how it looks (merged cells, fonts, colours, words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from engine.model.lights import LIGHT_LABELS, Light


class ColumnKind(StrEnum):
    """What a column of the source table holds."""

    SECTION = "section"  # 项目: the section heading, merged down its tasks
    NO = "no"  # the task number (the left half of a 任务 header that spans two columns)
    TITLE = "title"  # the task title
    CONTENT = "content"  # 具体内容
    UNITS = "units"  # 责任部门, as written
    CO_UNITS = "co_units"  # 配合单位, where the source had a column of its own
    PROGRESS = "progress"  # 推进情况: latest report, its date and the status
    DEADLINE = "deadline"  # 完成时限, as written
    OTHER = "other"  # a column duban does not read: kept, left empty


@dataclass(frozen=True)
class Column:
    kind: ColumnKind
    header: str
    """The header cell's text as the source had it (任 务 keeps its space)."""
    joined: bool = False
    """True when this column shares one merged header cell with the column before it."""


# Light codes in legend order and the words a person reads come from the one lights module;
# the ledger adds only how each looks on paper.
LIGHTS: tuple[str, ...] = tuple(light.value for light in Light)
LIGHT_WORDS: dict[str, str] = {light.value: label for light, label in LIGHT_LABELS.items()}
LIGHT_HEADER = "灯号"
"""The column that carries the light as a word where a format has no colours (md, csv)."""
# The typefaces of a printed government table (docx and xlsx): title, header row, body.
TITLE_FONT = "方正小标宋简体"
HEADER_FONT = "黑体"
BODY_FONT = "仿宋_GB2312"

LIGHT_FILLS: dict[str, str | None] = {
    "red": "FFC7CE",
    "yellow": "FFEB9C",
    "green": "C6EFCE",
    "done": "DDEBF7",
    "none": None,
}


def light_meanings(yellow_within_days: int) -> dict[str, str]:
    """What each light means, for the legend under the table."""
    return {
        "red": "逾期未完成",
        "yellow": f"{yellow_within_days}日内到期",
        "green": "正常推进（含长期推进、定期任务）",
        "done": "已办结（经统筹单位确认）",
        "none": "完成时限无法识别，请核实",
    }


@dataclass(frozen=True)
class LedgerSection:
    no: str
    title: str

    @property
    def heading(self) -> str:
        """The 项目 cell: 一、以粤港澳大湾区最优质为目标…"""
        if not self.no:
            return self.title
        return f"{self.no}、{self.title}" if self.title else self.no


@dataclass(frozen=True)
class LedgerRow:
    """One task as the ledger prints it."""

    section: str | None
    no: int
    title: str
    content: str
    units_text: str
    progress: str
    deadline: str
    light: str
    lead: str | None = None
    co_units: tuple[str, ...] = ()
    co_units_text: str = ""
    """The 配合单位 cell, where the source had that column apart from 牵头单位."""

    def cell(self, kind: ColumnKind) -> str:
        """The text of this row's cell in a column of the given kind."""
        return {
            ColumnKind.NO: str(self.no),
            ColumnKind.TITLE: self.title,
            ColumnKind.CONTENT: self.content,
            ColumnKind.UNITS: self.units_text,
            ColumnKind.CO_UNITS: self.co_units_text,
            ColumnKind.PROGRESS: self.progress,
            ColumnKind.DEADLINE: self.deadline,
        }.get(kind, "")

    @property
    def light_word(self) -> str:
        return LIGHT_WORDS.get(self.light, self.light)


@dataclass(frozen=True)
class Ledger:
    title: str
    columns: tuple[Column, ...]
    sections: tuple[LedgerSection, ...]
    rows: tuple[LedgerRow, ...]
    as_of: date
    """The day the lights were computed for."""
    yellow_within_days: int = 30
    unit: str | None = None
    """Set when the ledger lists only the tasks of one unit."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    coordinator: str = ""
    """The plan's coordinating (督办) office, named under the title so that importing the
    ledger again keeps it."""

    @property
    def coordinator_line(self) -> str:
        """统筹单位：市司法局 ("" when the plan names none)."""
        return f"{COORDINATOR_LABEL}：{self.coordinator}" if self.coordinator else ""

    def section(self, no: str | None) -> LedgerSection | None:
        return next((s for s in self.sections if s.no == no), None)

    def groups(self) -> list[tuple[LedgerSection | None, list[LedgerRow]]]:
        """Consecutive rows of one section, in order: what a merged 项目 cell spans."""
        out: list[tuple[LedgerSection | None, list[LedgerRow]]] = []
        for row in self.rows:
            if out and out[-1][1][-1].section == row.section:
                out[-1][1].append(row)
            else:
                known = self.section(row.section)
                if known is None and row.section:
                    known = LedgerSection(row.section, "")
                out.append((known, [row]))
        return out

    @property
    def has_section_column(self) -> bool:
        return any(c.kind is ColumnKind.SECTION for c in self.columns)

    @property
    def scope_note(self) -> str:
        """The legend's closing words: whose tasks the table lists, then the ledger's own notes."""
        mine = f"本表仅列{self.unit}牵头或配合的任务。" if self.unit else ""
        return mine + "".join(self.notes)


COORDINATOR_LABEL = "统筹单位"
"""How a ledger names the plan's coordinator; the importer reads a line so written back."""


def flat_headers(ledger: Ledger) -> list[str]:
    """One name per column: a spanning 任务 header is split into 序号 and 任务 (no merged cells)."""
    out = []
    for i, column in enumerate(ledger.columns):
        nxt = ledger.columns[i + 1] if i + 1 < len(ledger.columns) else None
        if column.kind is ColumnKind.NO and nxt is not None and nxt.joined:
            out.append("序号")
        else:
            out.append(column.header)
    return [*out, LIGHT_HEADER]


def format_day(day: date) -> str:
    """2021年6月1日, as government documents write dates."""
    return f"{day.year}年{day.month}月{day.day}日"


_SPACES = re.compile(r"[\s\u3000]+")


def normalise_header(text: str) -> str:
    """任 务 → 任务: header cells are often spaced out to fill the column."""
    return _SPACES.sub("", text or "")
