"""The header row of a plan table: found by its column names, never by position.

Other cities write 序号 / 工作任务 / 工作措施 / 责任单位 / 时间节点 where Zhuhai writes
项目 / 任务 / 具体内容 / 责任部门 / 完成时限, and a table may lack 项目 or 推进情况; each header
cell is given a role from its name. `Layout` then says which grid columns hold which role for
the rows below, including a second header row that splits a cell and a header that lost its
column span in text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from engine.errors import UserError
from engine.importers.base import CellValue, Grid, Row, collapse, text_of

# Column roles and the names a header cell may carry, matched after removing whitespace and any
# bracketed note; checked in this order, so "任务完成时限" is a deadline, not a task.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "deadline": (
        "完成时限", "时间节点", "完成时间", "完成期限", "时限", "时间要求", "截止时间", "截止日期",
        "时间安排", "进度安排", "完成节点", "时间进度", "进度要求",
    ),
    "progress": (
        "推进情况", "进展情况", "落实情况", "完成情况", "工作进展", "进展", "办理情况", "办结情况",
        "执行情况", "实施情况", "进度情况", "整改情况", "工作进度", "推进进度", "目前进度",
    ),
    "co_units": (
        "配合单位", "配合部门", "协办单位", "协办部门", "参与单位", "参与部门", "协同单位",
        "协同部门", "协助单位", "协助部门", "配合处室", "协办处室", "配合科室",
    ),
    "units": (
        "责任部门", "责任单位", "牵头单位", "牵头部门", "责任主体", "承办单位", "主责单位",
        "责任处室", "责任科室", "牵头处室", "牵头科室", "实施主体", "责任分工",
    ),
    "content": (
        "具体内容", "工作措施", "主要内容", "工作内容",
        "具体措施", "主要措施", "工作举措", "建设内容", "任务内容", "推进措施", "落实措施",
        "具体举措", "重点举措", "主要举措", "措施", "举措",
    ),
    "number": ("序号", "编号"),
    "task": ("任务", "事项", "项目名称", "重点工作", "主要工作", "具体工作", "工作要点"),
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
# Under a 责任单位 cell split in two, the halves are often named by one word.
SPLIT_NAMES = {"牵头": "units", "主办": "units", "配合": "co_units", "协办": "co_units",
               "参与": "co_units", "协同": "co_units"}  # fmt: skip
HEADER_SCAN_ROWS = 50
SPACES = re.compile(r"\s+")
NOTE = re.compile(r"[（(][^）)]*[）)]")
# A header cell longer than this, note and all, names no column (完成时限（2022年）is 12).
_LONGEST_HEADER = 200


def column_role(name: str) -> str | None:
    """The role of a header cell ("任 务" → "task"); None for other columns (备注)."""
    name = SPACES.sub("", name)
    if len(name) > _LONGEST_HEADER:
        return None  # no column name; and NOTE takes time quadratic in unclosed brackets
    name = NOTE.sub("", name)
    if not name or len(name) > 12:
        return None
    for role, names in ROLE_NAMES.items():
        if any(n in name for n in names):
            return role
    return None


def split_role(name: str) -> str | None:
    """The role of a cell of a second header row: a column name, or 牵头 / 配合 alone."""
    return SPLIT_NAMES.get(SPACES.sub("", name)) or column_role(name)


def header_roles(row: Row) -> dict[str, list[int]]:
    """The roles a row's cells name, each with the grid columns of its (first) cell."""
    roles: dict[str, list[int]] = {}
    for cell, columns in collapse(row):
        role = column_role(text_of(cell.value)) if isinstance(cell.value, str) else None
        if role and role not in roles:
            roles[role] = columns
    return roles


class Layout:
    """Which grid columns hold which role, for the rows below one header."""

    def __init__(self, grid: Grid, header: int, path: Path) -> None:
        self.grid, self.header = grid, grid.rows[header]
        self.roles = header_roles(self.header)
        self.body = header + 1
        names = [(cols, text_of(cell.value)) for cell, cols in collapse(self.header)]
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
            name = SPACES.sub("", raw)
            if name:
                self.columns.append(name)
                role = split_role(name)
                if role and role in self.roles and self.labels[role] == ROLE_LABELS[role]:
                    # 牵头 alone under 责任单位 is the 牵头单位 column
                    self.labels[role] = name + "单位" if name in SPLIT_NAMES else NOTE.sub("", name)
        missing = [r for r in REQUIRED if r not in self.roles]
        if missing:
            which = "和".join(f"“{ROLE_LABELS[r]}”" for r in missing)
            expected = "；".join(f"列名如 {REQUIRED_EXAMPLES[r]}" for r in missing)
            where = f"{grid.name}{self.header.ref}"
            hidden = "".join(f"；{note}" for note in grid.notes)  # the column may be hidden
            raise UserError(f"{path}：{where}的表头缺少{which}列（{expected}）{hidden}")
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
        for cell, covered in collapse(row):
            if cell.origin == self.header.cells[covered[0]].origin:
                continue  # a header cell merged down over both rows
            if len({self.header.cells[c].origin for c in covered}) > 1:
                # wider than the header cell above it: a section row (第一部分 推进重点工作)
                # spanning the table, not half of a header cell
                return {}
            text = text_of(cell.value)
            if not isinstance(cell.value, str) or split_role(text) is None:
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
            self.roles.setdefault(str(split_role(text)), list(key))
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
    """The first row naming the task and the units columns, in the first table that has one;
    else the first naming at least two known columns (whose Layout then says what is missing).

    A 填表说明 sheet or a cover table before the plan may have a small header of its own
    (序号 | 填报事项 | 说明); it is passed over when a later table is a plan table.
    """
    partial: tuple[Grid, int] | None = None
    for grid in grids:
        for index, row in enumerate(grid.rows[:HEADER_SCAN_ROWS]):
            roles = header_roles(row)
            if len(roles) < 2:
                continue
            if all(role in roles for role in REQUIRED):
                return grid, index
            partial = partial or (grid, index)
    if partial is not None:
        return partial
    raise NoTable(
        f"{path}：未找到分工表（应有一行表头，列名如“任务”“具体内容”“责任部门”“完成时限”）"
    )


class NoTable(UserError):
    """The file holds no plan table: it may be a prose plan."""
