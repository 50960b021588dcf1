"""From a grid to a plan table: the header row, the column roles, the sections and the task rows.

The header is found by its column names, never by position, so that other cities' wordings
(序号 / 工作任务 / 工作措施 / 责任单位 / 时间节点) and tables without 项目 or 推进情况 read
the same.
This module knows nothing of units or deadline wording: it hands over the cells as written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import UserError
from engine.importers.base import Cell, CellValue, Grid, Row
from engine.model.plan import Section

# Column roles and the names a header cell may carry, matched after removing whitespace and any
# bracketed note; checked in this order, so "任务完成时限" is a deadline, not a task.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "deadline": (
        "完成时限", "时间节点", "完成时间", "完成期限", "时限", "时间要求", "截止时间", "截止日期",
        "时间安排", "进度安排",
    ),
    "progress": ("推进情况", "进展情况", "落实情况", "完成情况", "工作进展", "进展"),
    "co_units": ("配合单位", "配合部门", "协办单位", "协办部门", "参与单位"),
    "units": (
        "责任部门", "责任单位", "牵头单位", "牵头部门", "责任主体", "承办单位", "主责单位",
        "责任处室", "责任科室",
    ),
    "content": (
        "具体内容", "工作措施", "主要内容", "工作内容",
        "具体措施", "主要措施", "工作举措", "建设内容", "任务内容",
    ),
    "number": ("序号", "编号"),
    "task": ("任务", "事项", "项目名称"),
    "section": ("项目", "类别", "分类", "板块"),
}  # fmt: skip
ROLE_LABELS = {
    "task": "任务",
    "units": "责任部门",
    "deadline": "完成时限",
    "content": "具体内容",
    "progress": "推进情况",
    "co_units": "配合单位",
    "number": "序号",
    "section": "项目",
}
REQUIRED = ("task", "units")
# What an error message offers as the names a required column may have.
REQUIRED_EXAMPLES = {"task": "任务、工作任务、主要任务", "units": "责任部门、责任单位、牵头单位"}
_HEADER_SCAN_ROWS = 50
_SPACES = re.compile(r"\s+")
_NOTE = re.compile(r"[（(][^）)]*[）)]")
_NUMBER = re.compile(r"[（(]?\s*(\d{1,4}|[一二三四五六七八九十百]{1,4})\s*[)）]?\s*[、.．]?")
_HEADING = re.compile(
    r"^第?([一二三四五六七八九十百零〇]{1,4})(?:部分|章|节)?\s*[、.．:：,，\s]\s*(.*)$", re.S
)
_SUBHEADING = re.compile(r"^[（(]([一二三四五六七八九十百零〇]{1,4})[)）]\s*(.*)$", re.S)
_BARE_NUMERAL = re.compile(r"^第?([一二三四五六七八九十百零〇]{1,4})(?:部分)?\s*[、.．]?$")
_NON_TASK = re.compile(r"^(注|备注|说明|填报|合计|小计|总计)")
_DIGITS = dict(zip("零〇一二三四五六七八九", (0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))


def column_role(name: str) -> str | None:
    """The role of a header cell ("任 务" → "task"); None for other columns (备注)."""
    name = _NOTE.sub("", _SPACES.sub("", name))
    if not name or len(name) > 12:
        return None
    for role, names in ROLE_NAMES.items():
        if any(n in name for n in names):
            return role
    return None


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
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    if not isinstance(value, str):
        return None
    found = _NUMBER.fullmatch(value.strip())
    if not found:
        return None
    digits = found.group(1)
    return int(digits) if digits.isdigit() else chinese_number(digits)


def text_of(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


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


def _collapse(row: Row) -> list[tuple[Cell, list[int]]]:
    """A row's merged areas once each, with the grid columns each covers."""
    out: list[tuple[Cell, list[int]]] = []
    for index, cell in enumerate(row.cells):
        if out and out[-1][0].origin == cell.origin:
            out[-1][1].append(index)
        else:
            out.append((cell, [index]))
    return out


def _header_roles(row: Row) -> dict[str, list[int]]:
    roles: dict[str, list[int]] = {}
    for cell, columns in _collapse(row):
        role = column_role(text_of(cell.value)) if isinstance(cell.value, str) else None
        if role and role not in roles:
            roles[role] = columns
    return roles


class _Layout:
    """Which grid columns hold which role, for the rows below one header."""

    def __init__(self, grid: Grid, header: int, path: Path) -> None:
        self.grid, self.header = grid, grid.rows[header]
        self.roles = _header_roles(self.header)
        self.body = header + 1
        names = [(cols, text_of(cell.value)) for cell, cols in _collapse(self.header)]
        if self.body < len(grid.rows):
            split = self._split(grid.rows[self.body])
            if split:
                self.body += 1
                covered = {c for columns in split for c in columns}
                names = [n for n in names if not covered & set(n[0])]
                names = sorted(names + [(list(k), v) for k, v in split.items()], key=lambda n: n[0])
        self.labels = {role: ROLE_LABELS[role] for role in ROLE_NAMES}
        self.columns: list[str] = []
        for _, raw in names:
            name = _SPACES.sub("", raw)
            if name:
                self.columns.append(name)
                role = column_role(name)
                if role and role in self.roles and self.labels[role] == ROLE_LABELS[role]:
                    self.labels[role] = _NOTE.sub("", name)
        missing = [r for r in REQUIRED if r not in self.roles]
        if missing:
            which = "和".join(f"“{ROLE_LABELS[r]}”" for r in missing)
            expected = "；".join(f"列名如 {REQUIRED_EXAMPLES[r]}" for r in missing)
            where = f"{grid.name}{self.header.ref}"
            raise UserError(f"{path}：{where}的表头缺少{which}列（{expected}）")
        self.width = len(self.header.cells)
        self._align(grid.rows[self.body :])

    def _split(self, row: Row) -> dict[tuple[int, ...], str]:
        """Read a second header row that splits header cells (责任单位 over 牵头单位 | 配合单位).

        Returns the new column names by the columns they cover, after giving those columns their
        roles; empty when `row` is not such a row.
        """
        if len(row.cells) != len(self.header.cells):
            return {}
        split: dict[tuple[int, ...], str] = {}
        for cell, covered in _collapse(row):
            if cell.origin == self.header.cells[covered[0]].origin:
                continue  # a header cell merged down over both rows
            text = text_of(cell.value)
            if not text or not isinstance(cell.value, str) or column_role(text) is None:
                return {}
            split[tuple(covered)] = text
        for key in split:
            for role, claimed in list(self.roles.items()):
                rest = [c for c in claimed if c not in key]
                if rest:
                    self.roles[role] = rest
                else:
                    del self.roles[role]
        for key, text in split.items():
            self.roles.setdefault(str(column_role(text)), list(key))
        return split

    def _align(self, rows: list[Row]) -> None:
        """Widen the 任务 header when the rows have more cells than the header.

        A table saved as text loses the header's column span: Zhuhai's 任务 covers two columns,
        the number and the title. The extra columns go to 任务, whose first column is the number.
        """
        lengths = Counter(len(r.cells) for r in rows if len(r.cells) > 1)
        data_width = lengths.most_common(1)[0][0] if lengths else self.width
        extra = data_width - self.width
        if extra <= 0:
            return
        start = self.roles["task"][-1]
        for role, columns in self.roles.items():
            if role == "task":
                self.roles[role] = columns + list(range(start + 1, start + 1 + extra))
            elif columns[0] > start:
                self.roles[role] = [c + extra for c in columns]
        self.width = data_width

    def value(self, row: Row, role: str, index: int = 0) -> CellValue:
        columns = self.roles.get(role)
        if not columns or index >= len(columns) or columns[index] >= len(row.cells):
            return None
        return row.cells[columns[index]].value

    def same_area(self, row: Row, role_a: str, role_b: str) -> bool:
        """Whether two roles read one merged cell in this row (its text belongs to the first)."""
        a, b = self.roles.get(role_a), self.roles.get(role_b)
        if not a or not b or a[-1] >= len(row.cells) or b[0] >= len(row.cells):
            return False
        return row.cells[a[-1]].origin == row.cells[b[0]].origin


def find_header(grids: Iterable[Grid], path: Path) -> tuple[Grid, int]:
    """The first row, in the first table that has one, naming at least two known columns."""
    for grid in grids:
        for index, row in enumerate(grid.rows[:_HEADER_SCAN_ROWS]):
            if len(_header_roles(row)) >= 2:
                return grid, index
    raise UserError(
        f"{path}：未找到分工表（应有一行表头，列名如“任务”“具体内容”“责任部门”“完成时限”）"
    )


def _title_lines(grid: Grid, header: int) -> list[str]:
    lines = list(grid.title_lines)
    for row in grid.rows[:header]:
        texts = [text_of(cell.value) for cell, _ in _collapse(row)]
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
        key = _SPACES.sub("", text)
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


def _section_heading(layout: _Layout, row: Row) -> str | None:
    """The heading a row stands for, when it is a section row rather than a task."""
    collapsed = [(cell, cols) for cell, cols in _collapse(row) if text_of(cell.value)]
    texts = list(dict.fromkeys(text_of(cell.value) for cell, _ in collapsed))
    if len(texts) == 1:
        text = texts[0]
        if task_number(text) is not None or _NON_TASK.match(text):
            return None
        columns = collapsed[0][1]
        spans = len(columns) > 1 or len(collapsed) > 1
        leading = layout.roles.get("number", []) + layout.roles.get("section", [])
        if spans or columns[0] == 0 or columns[0] in leading or _HEADING.match(text):
            return text
        return None
    if any(text_of(layout.value(row, r)) for r in ("units", "deadline", "content")):
        return None
    # 序号 "一" with the heading in the 任务 column: a bare numeral numbers a section, not a task.
    for role in ("number", "section"):
        marker = text_of(layout.value(row, role))
        if _BARE_NUMERAL.match(marker):
            rest = [t for t in texts if t != marker]
            return f"{marker.rstrip('、.．')}、{rest[0]}" if rest else None
    return None


def _task_row(layout: _Layout, row: Row, sections: _Sections) -> TaskRow:
    two_column_task = len(layout.roles["task"]) > 1
    no: int | None = None
    if two_column_task:
        no = task_number(layout.value(row, "task", 0))
    for role in ("number", "section"):
        if no is None and not layout.same_area(row, role, "task"):
            no = task_number(layout.value(row, role))
    # 项目 holds the section heading, merged down over its tasks (or repeated in every row).
    heading = text_of(layout.value(row, "section"))
    if heading and task_number(heading) is None and not _BARE_NUMERAL.match(heading):
        sections.enter(heading)
    title_index = len(layout.roles["task"]) - 1 if two_column_task else 0
    title = text_of(layout.value(row, "task", title_index))
    content = text_of(layout.value(row, "content"))
    if layout.same_area(row, "task", "content"):
        content = ""  # the title cell merged across the content column
    units = text_of(layout.value(row, "units"))
    co_units = (
        "" if layout.same_area(row, "units", "co_units") else text_of(layout.value(row, "co_units"))
    )
    if co_units:
        units = f"{layout.labels['units']}：{units}；{layout.labels['co_units']}：{co_units}"
    return TaskRow(
        no=no,
        section=sections.current,
        title=title,
        content=content,
        units_text=units,
        progress=text_of(layout.value(row, "progress")),
        deadline=layout.value(row, "deadline"),
        ref=row.ref,
        cut_off=len(row.cells) < layout.width,
    )


def read_table(grids: Iterable[Grid], path: Path) -> PlanTable:
    """Find the plan table among a file's grids and read its sections and task rows."""
    grid, header = find_header(grids, path)
    layout = _Layout(grid, header, path)
    table = PlanTable(
        title_lines=_title_lines(grid, header), columns=layout.columns, labels=layout.labels
    )
    sections = _Sections()
    for row in grid.rows[layout.body :]:
        if len(_header_roles(row)) >= 2:
            continue  # the header repeated (a table continued over pages)
        texts = {text_of(c.value) for c in row.cells} - {""}
        if not texts or (len(texts) == 1 and _NON_TASK.match(next(iter(texts)))):
            continue  # an empty row, or a note or a total under the table
        heading = _section_heading(layout, row)
        if heading is not None:
            sections.enter(heading)
            continue
        task = _task_row(layout, row, sections)
        if task.no is None and not (task.title or task.content or task.units_text):
            continue  # a note or a total under the table, not a task
        table.tasks.append(task)
    table.sections = sections.sections
    table.numbered = any(t.no is not None for t in table.tasks)
    return table
