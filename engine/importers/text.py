"""A Word table saved as plain text (Word: 另存为 → 纯文本).

The layout Word writes: every cell starts with a tab, rows are separated by blank lines. A line
without a leading tab at the start of a row is that row's first cell (Word drops the tab of a
cell that spans rows or the whole row), and such a line after a cell continues that cell (a cell
holding several paragraphs). Lines above the table are ordinary lines: one-cell rows here, which
the table reader takes as the title. Nothing else is fixed: rows may have fewer cells than
the header (a merged cell, or a table cut off), and the table reader sorts that out.

A table copied out of Word or Excel and pasted as text has one row per line instead, its cells
separated by tabs; that layout is recognised and read as such.

A prose plan (实施意见, 行动方案) saved as text is its lines: `document` gives every non-empty line
as a paragraph too, for the prose reader when the file holds no plan table.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from engine.errors import UserError
from engine.importers.base import Document, Grid, Paragraph, Row, cells_of, clean_text
from engine.importers.limits import Budget

# Where str.splitlines() breaks a line.
_LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_PIECE = 1 << 20


def decode(data: bytes, path: Path) -> str:
    """Text as Word may have saved it: UTF-8 (with or without BOM), UTF-16, or GB18030/GBK."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise UserError(
        f"{path}：不是可读的文本文件（应为 UTF-8 或 GBK 编码的文本，例如 Word 另存的纯文本）"
    )


def lines(text: str) -> Iterator[str]:
    """`text.splitlines()`, a piece of the text at a time: a file of ten million short lines is
    not laid out as one list first."""
    start = 0
    while start < len(text):
        cut = _LINE_BREAK.search(text, start + _PIECE) if start + _PIECE < len(text) else None
        end = cut.end() if cut else len(text)  # a piece ends after a line break (all of \r\n)
        yield from text[start:end].splitlines()
        start = end


def split_rows(text: str, budget: Budget | None = None) -> Iterator[tuple[int, list[str]]]:
    """Each row of the layout as (line number of its first line, cell texts)."""
    # Each cell as the pieces of its text, joined when the row is done: a cell continued over
    # many lines grows in linear time.
    cells: list[list[str]] = []
    blank = True  # whether the last cell has no text yet
    first_line = 0
    for number, line in enumerate(lines(text), start=1):
        if not line.strip(" \u3000\r"):
            if cells:
                yield first_line, ["".join(cell) for cell in cells]
            cells = []
            continue
        if not cells:
            first_line = number
        parts = line.split("\t")
        head, new_cells = parts[0], parts[1:]
        if budget is not None:
            budget.add_cells(len(new_cells) + (not cells and not line.startswith("\t")))
            budget.add_text(line)
        if cells:
            if head.strip():
                if blank:
                    cells[-1] = [head]
                else:
                    cells[-1] += ["\n", head]
                blank = False
        elif not line.startswith("\t"):
            cells.append([head])
            blank = not head.strip()
        if new_cells:
            cells.extend([cell] for cell in new_cells)
            blank = not new_cells[-1].strip()
    if cells:
        yield first_line, ["".join(cell) for cell in cells]


def split_lines(text: str, budget: Budget | None = None) -> Iterator[tuple[int, list[str]]]:
    """The other layout a pasted table takes: one row per line, cells separated by tabs."""
    for number, line in enumerate(lines(text), start=1):
        if line.strip():
            cells = line.split("\t")
            if budget is not None:
                budget.add_cells(len(cells))
                budget.add_text(line)
            yield number, cells


def one_row_per_line(text: str) -> bool:
    """Whether rows are lines: most lines with a tab have one between two cells, not only a
    leading one (Word's layout puts each cell on its own tab-led line)."""
    tabbed = inner = 0
    for line in lines(text):
        if "\t" in line:
            tabbed += 1
            inner += "\t" in line.strip("\t")
    return inner >= 2 and inner * 2 > tabbed


def read(path: Path) -> Iterator[Grid]:
    yield from _grids(decode(path.read_bytes(), path), path)


def document(path: Path) -> Document:
    """The file's table (as `read` gives it) and its non-empty lines as paragraphs."""
    text = decode(path.read_bytes(), path)
    # No budget here: the source's size limit bounds the lines, and a table's cells are counted
    # by the grid reader as before.
    paragraphs = [
        Paragraph(line, f"第 {number} 行")
        for number, raw in enumerate(lines(text), start=1)
        if (line := clean_text(raw).strip())
    ]
    return Document(grids=_grids(text, path), paragraphs=paragraphs)


def _grids(text: str, path: Path) -> Iterator[Grid]:
    split = split_lines if one_row_per_line(text) else split_rows
    budget = Budget(path)
    rows = [
        Row(cells_of((clean_text(c).strip() for c in cells), index), f"第 {line} 行")
        for index, (line, cells) in enumerate(split(text, budget))
    ]
    yield Grid(name="", rows=rows)
