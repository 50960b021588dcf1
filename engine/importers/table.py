"""From a grid to a plan table: the sections and the task rows below the header.

A section row (一、… heading, possibly repeated, possibly merged across the row, or 项目 merged
down over its tasks) sets the current section; a task row has a number (1, "1.", "（一）"), or the
tasks are numbered in order. This module knows nothing of units or deadline wording: it hands
over the cells as written.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from engine.importers.base import CellValue, Grid, Row, collapse, text_of
from engine.importers.header import (
    HEADER_SCAN_ROWS,
    NOTE,
    ROLE_NAMES,
    SPACES,
    SPLIT_NAMES,
    Layout,
    find_header,
    header_roles,
    split_role,
)
from engine.importers.units import Units
from engine.model.plan import Section

_NUMBER = re.compile(r"[（(]?\s*(\d{1,4}|[一二三四五六七八九十百]{1,4})\s*[)）]?\s*[、.．]?")
_HEADING = re.compile(
    r"^第?([一二三四五六七八九十百零〇]{1,4})(?:部分|章|节)?\s*[、.．:：,，\s]\s*(.*)$", re.S
)
_SUBHEADING = re.compile(r"^[（(]([一二三四五六七八九十百零〇]{1,4})[)）]\s*(.*)$", re.S)
_BARE_NUMERAL = re.compile(r"^第?([一二三四五六七八九十百零〇]{1,4})(?:部分)?\s*[、.．]?$")
_PLACEHOLDER = re.compile(r"[\s/／\\\-－—–_、.。·…]*")
_TOTAL = re.compile(r"^(合计|小计|总计)")
_NON_TASK = re.compile(r"^(注|备注|说明|填报|合计|小计|总计)")
# A footnote under the table that does not start with 注: "*排在第一位的为牵头单位", "排在首位的
# 为牵头单位，其他为配合单位" (no heading of a plan talks about who leads).
_FOOTNOTE = re.compile(r"^[*＊※]|牵头单位|为牵头|下同")
# How an exported ledger names the plan's coordinator (engine.ledger.model.COORDINATOR_LABEL).
COORDINATOR_LINE = re.compile(r"(?:^|[。；;\s])统筹(?:（督办）)?单位\s*[:：]\s*([^\s，,。；;]+)")
# A number cell beyond this is a code or a sum, not a task's number (a plan file's task number
# must fit the store's 64-bit integer, with room to number the rows after it).
_LARGEST_NUMBER = 999_999_999
_DIGITS = dict(zip("零〇一二三四五六七八九", (0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))


def chinese_number(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20, 一百零三 → 103; None for anything else."""
    if not text or any(c not in "零〇一二三四五六七八九十百" for c in text):
        return None
    total, current = 0, 0
    for char in text:
        if char == "百":
            total += (current or 1) * 100
            current = 0
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _DIGITS[char]
    return total + current


def chinese_numeral(n: int) -> str:
    """1 → 一, 12 → 十二, 20 → 二十, 105 → 一百零五 (sections numbered by duban when the table
    did not); from 1000 on, Arabic digits."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = digits[hundreds] + "百"
        if rest == 0:
            return head
        if rest < 10:
            return head + "零" + digits[rest]
        return head + ("一" if rest < 20 else "") + chinese_numeral(rest)
    return str(n)


def task_number(value: CellValue) -> int | None:
    """A task number cell: 1, "1", "1.", "（1）", "（一）" → int; anything else → None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= _LARGEST_NUMBER else None
    if isinstance(value, float):
        whole = value.is_integer() and 0 <= value <= _LARGEST_NUMBER
        return int(value) if whole else None
    if not isinstance(value, str):
        return None
    found = _NUMBER.fullmatch(value.strip())
    if not found:
        return None
    digits = found.group(1)
    return int(digits) if digits.isdigit() else chinese_number(digits)


@dataclass
class TaskRow:
    """A task as the table gives it, cells as written."""

    no: int | None
    section: str | None
    title: str
    content: str
    units_text: str
    progress: str
    deadline: CellValue
    ref: str
    cut_off: bool = False
    number_text: str = ""
    """The number cell as written when it is not a task number ("1.1", a sub-item)."""
    merged_number: bool = False
    """Whether the number cell is merged down from a row above (one task, several rows)."""
    lead_missing: bool = False
    """Whether the table's lead-unit cell is empty while its co-units cell is not."""
    units: Units | None = None
    """The units already read (a prose plan's bracket); None: read `units_text` as a cell."""
    label: str | None = None
    """The number as the source prints it, when it is not the task's number (（三） for 5)."""
    notes: list[str] = field(default_factory=list)
    """What a person reviewing this task should check, from the reader (等有关部门 …)."""


@dataclass
class PlanTable:
    """What a plan is built from: the title lines, the columns, the sections, the task rows."""

    title_lines: list[str]
    columns: list[str]
    labels: dict[str, str]
    """Role → the header name as this table writes it ("责任单位"), for messages."""
    sections: list[Section] = field(default_factory=list)
    tasks: list[TaskRow] = field(default_factory=list)
    numbered: bool = False
    """Whether the table has a task-number column (else tasks are numbered in order)."""
    notes: list[str] = field(default_factory=list)
    """What the reader did that a person reviewing the plan should know (not about one task)."""
    coordinator: str = ""
    """The coordinator a ledger exported by duban names (统筹单位：…), above or under the table."""
    issued: date | None = None
    """The day the source says the plan was issued (a prose plan's date line), if any."""
    issued_ref: str = ""
    """Where that date is written, for messages ("第 3 行")."""


def coordinator_named(lines: Iterable[str]) -> str:
    """The coordinator named by a line such as 统筹单位：市司法局, or ""."""
    for line in lines:
        found = COORDINATOR_LINE.search(line.strip())
        if found:
            return found.group(1)
    return ""


def _title_lines(grid: Grid, header: int) -> list[str]:
    lines = list(grid.title_lines)
    for row in grid.rows[:header]:
        texts = [text_of(cell.value) for cell, _ in collapse(row)]
        lines.append("".join(dict.fromkeys(t for t in texts if t)))
    # A cell or paragraph may hold several lines (the seed's title is split over two).
    return [part.strip() for line in lines for part in line.splitlines() if part.strip()]


class _Sections:
    """Section headings in order of appearance.

    A heading seen again (a merged or repeated row) selects the section it named instead of
    adding one. "（一）…" under "二、…" is section "二（一）"; a heading without a numeral of its
    own, or with one already used, gets the next free one.
    """

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self._by_text: dict[str, tuple[str, bool]] = {}
        self._top: str | None = None
        self.current: str | None = None

    def enter(self, text: str) -> None:
        key = SPACES.sub("", text)
        if key not in self._by_text:
            no, title, nested = self._number(text)
            self.sections.append(Section(no=no, title=title))
            self._by_text[key] = (no, nested)
        self.current, nested = self._by_text[key]
        if not nested:
            self._top = self.current

    def _number(self, text: str) -> tuple[str, str, bool]:
        taken = {s.no for s in self.sections}
        top = _HEADING.match(text)
        if top and top.group(1) not in taken:
            return top.group(1), top.group(2).strip(), False
        nested = _SUBHEADING.match(text)
        if nested and f"{self._top or ''}（{nested.group(1)}）" not in taken:
            return f"{self._top or ''}（{nested.group(1)}）", nested.group(2).strip(), True
        k = 1 + sum(1 for _, nested in self._by_text.values() if not nested)
        while chinese_numeral(k) in taken:
            k += 1
        return chinese_numeral(k), top.group(2).strip() if top else text, False


def _section_heading(layout: Layout, row: Row) -> str | None:
    """The heading a row stands for, when it is a section row rather than a task."""
    collapsed = [(cell, cols) for cell, cols in collapse(row) if text_of(cell.value)]
    texts = list(dict.fromkeys(text_of(cell.value) for cell, _ in collapsed))
    if len(texts) == 1:
        text = texts[0]
        if task_number(text) is not None or _NON_TASK.match(text):
            return None
        columns = collapsed[0][1]
        spans = len(columns) > 1 or len(collapsed) > 1
        leading = layout.roles.get("number", []) + layout.roles.get("section", [])
        if spans or columns[0] == 0 or columns[0] in leading:
            return text
        # Alone in the 任务 column: "一、…" or "（一）…" heads a section ("第三部分 …" too).
        return text if _HEADING.match(text) or _SUBHEADING.match(text) else None
    if any(text_of(layout.value(row, r)) for r in ("units", "deadline", "content")):
        return None
    # 序号 "一" with the heading in the 任务 column: a bare numeral numbers a section, not a task.
    for role in ("number", "section"):
        marker = text_of(layout.value(row, role))
        if _BARE_NUMERAL.match(marker):
            rest = [t for t in texts if t != marker]
            return f"{marker.rstrip('、.．')}、{rest[0]}" if rest else None
        # 序号 "（一）" beside a heading that names no unit: a part of a section.
        if _SUBHEADING.fullmatch(marker) and len(texts) == 2:
            return f"{marker}{next(t for t in texts if t != marker)}"
    return None


def _blank_if_placeholder(value: CellValue) -> CellValue:
    """ "" for a cell holding only a dash or a slash (how tables mark "nothing here")."""
    return "" if isinstance(value, str) and _PLACEHOLDER.fullmatch(value) else value


def _text(value: CellValue) -> str:
    return text_of(_blank_if_placeholder(value))


def _task_row(layout: Layout, row: Row, sections: _Sections) -> TaskRow:
    two_column_task = len(layout.roles["task"]) > 1
    no: int | None = None
    if two_column_task:
        no = task_number(layout.value(row, "task", 0))
    for role in ("number", "section"):
        if no is None and not layout.same_area(row, role, "task"):
            no = task_number(layout.value(row, role))
    # 项目 holds the section heading, merged down over its tasks (or repeated in every row).
    heading = _text(layout.value(row, "section"))
    if heading and task_number(heading) is None and not _BARE_NUMERAL.match(heading):
        sections.enter(heading)
    title_index = len(layout.roles["task"]) - 1 if two_column_task else 0
    title = _text(layout.value(row, "task", title_index))
    content = _text(layout.value(row, "content"))
    if layout.same_area(row, "task", "content"):
        content = ""  # the title cell merged across the content column
    units = _text(layout.value(row, "units"))
    co_units = (
        "" if layout.same_area(row, "units", "co_units") else _text(layout.value(row, "co_units"))
    )
    lead_missing = bool(co_units) and not units
    if co_units:
        units = f"{layout.labels['units']}：{units}；{layout.labels['co_units']}：{co_units}"
    number_role = "task" if two_column_task else "number"
    number_text = "" if no is not None else _text(layout.value(row, number_role))
    columns = layout.roles.get(number_role) or [-1]
    merged = 0 <= columns[0] < len(row.cells) and row.cells[columns[0]].origin[0] < max(
        cell.origin[0] for cell in row.cells
    )
    return TaskRow(
        no=no,
        number_text=number_text,
        merged_number=merged,
        lead_missing=lead_missing,
        section=sections.current,
        title=title,
        content=content,
        units_text=units,
        progress=_text(layout.value(row, "progress")),
        deadline=_blank_if_placeholder(layout.value(row, "deadline")),
        ref=f"{layout.grid.name}{row.ref}",
        cut_off=len(row.cells) < layout.width,
    )


def read_table(grids: Iterable[Grid], path: Path) -> PlanTable:
    """Find the plan table among a file's grids and read its sections and task rows.

    A later table (or worksheet) whose header names the same columns continues the plan: Word
    splits a long table in two more often than an office writes two plans in one file. It is
    read on, and a note says so, so that a person reviewing the plan can tell.
    """
    grids = iter(grids)
    grid, header = find_header(grids, path)
    layout = Layout(grid, header, path)
    table = PlanTable(
        title_lines=_title_lines(grid, header), columns=layout.columns, labels=layout.labels
    )
    table.notes.extend(grid.notes)
    table.coordinator = coordinator_named(table.title_lines)
    sections = _Sections()
    _read_rows(layout, sections, table)
    roles = set(header_roles(layout.header))
    first = grid.name or "第一个表格"
    same_header: list[str] = []
    headerless: list[str] = []
    left_out: list[str] = []
    for more in grids:
        found = next(
            (
                i
                for i, row in enumerate(more.rows[:HEADER_SCAN_ROWS])
                if set(header_roles(row)) == roles
            ),
            None,
        )
        if found is not None:
            _read_rows(Layout(more, found, path), sections, table)
            same_header.append(more.name)
            table.notes.extend(more.notes)
        elif _continues(layout, more):
            rest = copy.copy(layout)
            rest.grid, rest.body = more, 0
            _read_rows(rest, sections, table)
            headerless.append(more.name)
            table.notes.extend(more.notes)
        elif texts := _grid_texts(more):
            left_out.append(
                f"{more.name or '另一个表格'}（{len(more.rows)} 行）的表头和列数与{first}不同，"
                f"不是分工表的续表，未导入，请核对：{_shown(texts)}"
            )
    if same_header:
        table.notes.append(f"{_names(same_header)}与{first}表头相同，已作为续表一并导入")
    if headerless:
        table.notes.append(
            f"{_names(headerless)}没有表头，但列数与{first}相同且接续其任务，已作为续表一并导入"
        )
    table.notes.extend(left_out)
    table.sections = sections.sections
    table.numbered = any(t.no is not None for t in table.tasks)
    return table


def _names(names: list[str]) -> str:
    """Tables named once for a note: a PDF's table continues on each of 200 pages."""
    names = [name or "另一个表格" for name in names]
    if len(names) <= 3:
        return "、".join(names)
    return f"{names[0]}至{names[-1]}共 {len(names)} 个表格"


def _grid_texts(grid: Grid) -> list[str]:
    return [t for row in grid.rows for cell, _ in collapse(row) if (t := text_of(cell.value))]


def _continues(layout: Layout, more: Grid) -> bool:
    """Whether a table without a header carries on the plan table: Word splits a table when a
    paragraph slips between its rows, and the second part has no header. It must have the same
    columns, no header of its own, and a row that is a numbered task (naming a unit or not: a
    task without one is imported and flagged, like any other)."""
    rows = more.rows[:HEADER_SCAN_ROWS]
    if not rows or any(len(row.cells) != layout.width for row in rows):
        return False
    if any(len(header_roles(row)) >= 2 for row in rows):
        return False  # another table with a header of its own
    for row in rows:
        number = layout.value(row, "task" if len(layout.roles["task"]) > 1 else "number")
        described = _text(layout.value(row, "task")) or _text(layout.value(row, "content"))
        if task_number(number) is not None and described:
            return True
    return False


def _note_or_total(layout: Layout, row: Row, texts: set[str]) -> bool:
    """A note (注：…, *…) or a total (合计 | 2项) rather than a heading or a task: one text, or a
    first cell saying so in a row that names no unit."""
    if len(texts) == 1:
        text = next(iter(texts))
        return bool(_NON_TASK.match(text) or _FOOTNOTE.search(text))
    first = next(text_of(c.value) for c in row.cells if text_of(c.value))
    return bool(_NON_TASK.match(first)) and not _text(layout.value(row, "units"))


def _repeats_header(layout: Layout, row: Row) -> bool:
    """Whether a row is the header again (a table continued over pages), cell by cell: every
    cell with text is a column name (the table's own, or one of a role's names) standing in a
    column of that role. A task row whose cells mention 责任单位 or 进展情况 is not the header."""
    role_of = {c: role for role, columns in layout.roles.items() for c in columns}
    own = {NOTE.sub("", name) for name in layout.columns}
    named = 0
    for cell, columns in collapse(row):
        text = text_of(cell.value)
        if not text:
            continue
        if not isinstance(cell.value, str):
            return False
        name = NOTE.sub("", SPACES.sub("", text))
        role = split_role(name)
        if role is None:
            if name not in own:  # 备注 and other columns without a role
                return False
            continue
        if not any(role_of.get(c) == role for c in columns):
            return False
        if name not in own and name not in ROLE_NAMES[role] and name not in SPLIT_NAMES:
            return False
        named += 1
    return named >= 2


def _shown(texts: Iterable[str], limit: int = 40) -> str:
    """A row's cells as a message quotes them: "注：… | 2项", cut to `limit` characters."""
    shown = " | ".join(SPACES.sub(" ", t).strip() for t in texts)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def skipped(ref: str, texts: Iterable[str], reason: str) -> str:
    """The note naming a row that was not imported as a task, and why."""
    return f"源文件{ref}“{_shown(texts)}”{reason}，未作为任务导入，请核对"


def _read_rows(layout: Layout, sections: _Sections, table: PlanTable) -> None:
    for row in layout.grid.rows[layout.body :]:
        ordered = [t for t in dict.fromkeys(text_of(c.value) for c in row.cells) if t]
        texts = set(ordered)
        if not texts:
            continue  # an empty row
        if _repeats_header(layout, row):
            continue  # the header repeated (a table continued over pages)
        ref = f"{layout.grid.name}{row.ref}"
        if _note_or_total(layout, row, texts):
            table.coordinator = table.coordinator or coordinator_named(ordered)
            # A footnote alone in its row (注：…) or a total (合计 | 2项) is plainly no task; a
            # row of several cells that starts 说明 or 填报 might be one, and is named.
            if len(texts) > 1 and not _TOTAL.match(ordered[0]):
                table.notes.append(skipped(ref, ordered, "像是表下的注释或说明"))
            continue
        heading = _section_heading(layout, row)
        if heading is not None:
            sections.enter(heading)
            continue
        task = _task_row(layout, row, sections)
        if task.no is None and not (task.title or task.content or task.units_text):
            table.notes.append(skipped(ref, ordered, "没有序号、任务名称、具体内容和责任单位"))
            continue
        table.tasks.append(task)
