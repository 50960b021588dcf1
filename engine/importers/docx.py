"""Word documents (.docx), read with python-docx: every table, with the paragraphs above it.

python-docx gives one cell per layout-grid column: a cell spanning columns (gridSpan) appears once
per column, and every row of a vertically merged cell repeats the top cell. Both come back as the
same underlying `<w:tc>` element, which is how the grid tells a merged area from equal texts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
from docx.table import Table

from engine.errors import UserError
from engine.importers.base import Cell, Grid, Row


def _open(path: Path) -> Any:
    try:
        return docx.Document(str(path))
    except Exception:  # python-docx raises many types for a damaged package
        raise UserError(
            f"{path}：无法作为 Word 文档（.docx）打开，文件可能已损坏或不是 .docx 格式"
        ) from None


def _grid(table: Table, name: str, title_lines: list[str]) -> Grid:
    # <w:tc> element → where it first appeared. Keyed by the element itself, which also keeps its
    # lxml proxy alive, so the same XML node keeps giving the same object.
    origins: dict[Any, tuple[int, int]] = {}
    rows: list[Row] = []
    for r, row in enumerate(table.rows):
        cells: list[Cell] = []
        # Rows that start late or end early (w:gridBefore, w:gridAfter) keep their grid columns.
        for c in range(row.grid_cols_before):
            cells.append(Cell(None, (r, c)))
        for cell in row.cells:
            origin = origins.setdefault(cell._tc, (r, len(cells)))
            cells.append(Cell(cell.text.strip(), origin))
        for _ in range(row.grid_cols_after):
            cells.append(Cell(None, (r, len(cells))))
        rows.append(Row(cells, f"第 {r + 1} 行"))
    return Grid(name=name, rows=rows, title_lines=title_lines)


def read(path: Path) -> Iterator[Grid]:
    document = _open(path)
    tables = [block for block in document.iter_inner_content() if isinstance(block, Table)]
    several = len(tables) > 1
    lines: list[str] = []
    index = 0
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            index += 1
            try:
                grid = _grid(block, f"第 {index} 个表格" if several else "", lines)
            except Exception:  # python-docx fails on a table whose merges contradict its grid
                raise UserError(
                    f"{path}：第 {index} 个表格的合并单元格无法读取，请在 Word 中检查该表格后另存"
                ) from None
            yield grid
            lines = []
        elif block.text.strip():
            lines.append(block.text.strip())
