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


@dataclass(slots=True)
class Paragraph:
    """One paragraph of running text outside the tables, as a prose plan is read."""

    text: str
    ref: str
    """Where it is in the source, for messages: "第 12 段", "第 3 页"."""
    heading: int | None = None
    """The outline level the source marks (a Word heading style, <h2>), else None."""


@dataclass
class Document:
    """Everything a reader found in a file: its tables (as grids) and its running text.

    A table plan is read from `grids`; a prose plan (实施意见, 行动方案) from `paragraphs`, which
    hold the body text outside the tables in document order. A reader that knows only tables
    leaves `paragraphs` empty.
    """

    grids: Iterable[Grid]
    paragraphs: list[Paragraph] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the reader left out or changed in the running text, for the plan's warnings."""

    def close(self) -> None:
        # A reader may hold the file open (openpyxl's read-only mode) until its grids are closed.
        getattr(self.grids, "close", lambda: None)()


Reader = Callable[[Path], Iterable[Grid]]

# Suffix → module whose `read(path)` yields the file's grids. Modules are imported on first use so
# that reading a text table does not pay for importing python-docx and openpyxl.
READERS: dict[str, str] = {
    ".txt": "engine.importers.text",
    ".docx": "engine.importers.docx",
    ".xlsx": "engine.importers.xlsx",
    ".xlsm": "engine.importers.xlsx",
    ".html": "engine.importers.html",
    ".htm": "engine.importers.html",
    ".mht": "engine.importers.html",
    ".mhtml": "engine.importers.html",
    ".pdf": "engine.importers.pdf",
}

# Formats read through LibreOffice (`soffice --headless --convert-to`) when it is installed.
CONVERTED: dict[str, str] = {
    ".doc": "docx",
    ".wps": "docx",
    ".rtf": "docx",
    ".odt": "docx",
    ".xls": "xlsx",
    ".et": "xlsx",
    ".ods": "xlsx",
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


def _module_for(path: Path) -> str:
    suffix = path.suffix.lower()
    module = READERS.get(suffix)
    if module is None and suffix in CONVERTED:
        module = "engine.importers.convert"
    if module is None:
        hint = CONVERSIONS.get(suffix, "支持的格式为 .docx、.xlsx、.html、.pdf 和 .txt")
        shown = suffix or "（无扩展名）"
        raise UserError(f"{path}：不支持 {shown} 格式，{hint}")
    return module


def reader_for(path: Path) -> Reader:
    """The importer for a file, chosen by its suffix; an unsupported format is a user error."""
    read: Reader = import_module(_module_for(path)).read
    return read


def read_document(path: Path) -> Document:
    """The file's tables and running text: the reader's `document(path)` where it has one, else
    its grids alone."""
    module = import_module(_module_for(path))
    if hasattr(module, "document"):
        document: Document = module.document(path)
        return document
    return Document(grids=module.read(path))
