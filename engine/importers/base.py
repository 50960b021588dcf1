"""What every importer gives back: a neutral grid of cells; and which importer reads which suffix.

An importer knows one file format and nothing about plans: it reads the file into `Grid`s (one per
table or worksheet, in document order) whose rows hold cells in layout-grid positions, merged cells
resolved. `engine.importers.table` then finds the header and the tasks, whatever the format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import import_module
from pathlib import Path

from engine.errors import UserError

CellValue = str | int | float | date | datetime | None


@dataclass(frozen=True, slots=True)
class Cell:
    """One layout-grid position.

    Every position a merged area covers repeats the area's value (python-docx does the same for
    Word tables) and carries the area's `origin`, its top-left position, so that a reader can tell
    a cell spanning two columns from two cells that happen to hold the same text.
    """

    value: CellValue
    origin: tuple[int, int]


@dataclass(slots=True)
class Row:
    cells: list[Cell]
    ref: str
    """Where the row is in the source, for messages: "第 12 行"."""


@dataclass
class Grid:
    """One table as an importer read it: lines of text above it, then its rows."""

    name: str
    """Which table of the file, for messages ("" when the file holds one, "工作表“汇总”")."""
    rows: list[Row]
    title_lines: list[str] = field(default_factory=list)
    column_letters: bool = False
    """Name columns as a spreadsheet does (C) rather than by ordinal (第 3 列)."""
    notes: list[str] = field(default_factory=list)
    """What the reader left out or changed that a person reviewing the plan should know."""

    def column_ref(self, index: int) -> str:
        if not self.column_letters:
            return f"第 {index + 1} 列"
        letters = ""
        index += 1
        while index:
            index, rest = divmod(index - 1, 26)
            letters = chr(ord("A") + rest) + letters
        return f"{letters} 列"


def cells_of(values: Iterable[CellValue], row: int) -> list[Cell]:
    """Cells of a row without merged areas: each its own origin."""
    return [Cell(v, (row, col)) for col, v in enumerate(values)]


# A line break in any of its spellings (Word's text export writes \x0b for a manual line break
# and \x0c for a page break), and what no cell means and no plan file can hold: control
# characters other than tab and line break, NUL, and lone surrogates (no encoding stores them).
_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """A cell's text as a plan file holds it: line breaks as \n, no control characters."""
    return _CONTROL.sub("", _BREAKS.sub("\n", text))


def text_of(value: CellValue) -> str:
    """A cell as text: "" for an empty cell, 3 for 3.0, stripped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def collapse(row: Row) -> list[tuple[Cell, list[int]]]:
    """A row's merged areas once each, with the grid columns each covers."""
    out: list[tuple[Cell, list[int]]] = []
    for index, cell in enumerate(row.cells):
        if out and out[-1][0].origin == cell.origin:
            out[-1][1].append(index)
        else:
            out.append((cell, [index]))
    return out


Reader = Callable[[Path], Iterable[Grid]]

# Suffix → module whose `read(path)` yields the file's grids. Modules are imported on first use so
# that reading a text table does not pay for importing python-docx and openpyxl.
READERS: dict[str, str] = {
    ".txt": "engine.importers.text",
    ".docx": "engine.importers.docx",
    ".xlsx": "engine.importers.xlsx",
    ".xlsm": "engine.importers.xlsx",
}

# Formats a coordinating office is likely to hold, and how to turn each into one we read.
CONVERSIONS: dict[str, str] = {
    ".doc": "请用 Word 另存为 .docx",
    ".wps": "请用 WPS 文字另存为 .docx",
    ".rtf": "请用 Word 另存为 .docx",
    ".odt": "请用 Word 或 WPS 另存为 .docx",
    ".pdf": "PDF 中的表格无法可靠读取，请使用原始的 Word 文件，或将表格复制到 Word 后另存为 .docx",
    ".xls": "请用 Excel 另存为 .xlsx",
    ".et": "请用 WPS 表格另存为 .xlsx",
    ".ods": "请用 Excel 或 WPS 另存为 .xlsx",
    ".csv": "请用 Excel 打开后另存为 .xlsx",
}


def reader_for(path: Path) -> Reader:
    """The importer for a file, chosen by its suffix; an unsupported format is a user error."""
    suffix = path.suffix.lower()
    module = READERS.get(suffix)
    if module is None:
        hint = CONVERSIONS.get(suffix, "支持的格式为 .docx、.xlsx 和 Word 表格另存的 .txt")
        shown = suffix or "（无扩展名）"
        raise UserError(f"{path}：不支持 {shown} 格式，{hint}")
    read: Reader = import_module(module).read
    return read
