"""A Word table saved as plain text (Word: 另存为 → 纯文本).

The layout Word writes: every cell starts with a tab, rows are separated by blank lines. A line
without a leading tab at the start of a row is that row's first cell (Word drops the tab of a
cell that spans rows or the whole row), and such a line after a cell continues that cell (a cell
holding several paragraphs). Lines above the table are ordinary lines: one-cell rows here, which
the table reader takes as the title. Nothing else is fixed: rows may have fewer cells than
the header (a merged cell, or a table cut off), and the table reader sorts that out.

A table copied out of Word or Excel and pasted as text has one row per line instead, its cells
separated by tabs; that layout is recognised and read as such.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from engine.errors import UserError
from engine.importers.base import Grid, Row, cells_of


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


def split_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each row of the layout as (line number of its first line, cell texts)."""
    cells: list[str] = []
    first_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip(" \u3000\r"):
            if cells:
                yield first_line, cells
            cells = []
            continue
        if not cells:
            first_line = number
        parts = line.split("\t")
        head, new_cells = parts[0], parts[1:]
        if cells:
            if head.strip():
                cells[-1] = f"{cells[-1]}\n{head}" if cells[-1].strip() else head
        elif not line.startswith("\t"):
            cells.append(head)
        cells.extend(new_cells)
    if cells:
        yield first_line, cells


def split_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """The other layout a pasted table takes: one row per line, cells separated by tabs."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line.split("\t")


def one_row_per_line(text: str) -> bool:
    """Whether rows are lines: most lines with a tab have one between two cells, not only a
    leading one (Word's layout puts each cell on its own tab-led line)."""
    tabbed = [line for line in text.splitlines() if "\t" in line]
    inner = [line for line in tabbed if "\t" in line.strip("\t")]
    return len(inner) >= 2 and len(inner) * 2 > len(tabbed)


def read(path: Path) -> Iterator[Grid]:
    text = decode(path.read_bytes(), path)
    split = split_lines if one_row_per_line(text) else split_rows
    rows = [
        Row(cells_of((c.strip() for c in cells), index), f"第 {line} 行")
        for index, (line, cells) in enumerate(split(text))
    ]
    yield Grid(name="", rows=rows)
