"""Excel workbooks (.xlsx), read with openpyxl: one grid per worksheet.

Read-only mode streams the rows, which keeps a 5,000-row sheet within a few seconds, but it does
not expose merged cells; the merged ranges are read from the `<mergeCells>` element at the end of
the worksheet's XML instead. Date cells come back as dates, numbers as int where whole.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.cell import range_boundaries

from engine.errors import UserError
from engine.importers.base import Cell, CellValue, Grid, Row

_MERGE_CELLS = re.compile(rb"<(?:\w+:)?mergeCells[\s>].*?</(?:\w+:)?mergeCells>", re.S)
_MERGE_REF = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref=\"([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)\"")


def _damaged(path: Path) -> UserError:
    return UserError(f"{path}：无法作为 Excel 工作簿（.xlsx）打开，文件可能已损坏或不是 .xlsx 格式")


def _value(value: Any) -> CellValue:
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("_x000D_", "").strip()
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (int, float, date)) or value is None:
        return value
    return str(value)


def merged_ranges(sheet: Any) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of every merged area of a read-only worksheet."""
    with sheet._get_source() as source:  # the worksheet's XML inside the package
        xml = source.read()
    # The schema puts <mergeCells> after <sheetData>: search only the tail of the XML.
    found = _MERGE_CELLS.search(xml, max(0, xml.rfind(b"sheetData>")))
    if found is None:
        return []
    return [range_boundaries(ref.decode()) for ref in _MERGE_REF.findall(found.group(0))]


def _grid(sheet: Any, name: str) -> Grid:
    sheet.reset_dimensions()  # some writers record a wrong size; read every row there is
    values = [[_value(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    origins: dict[tuple[int, int], tuple[int, int]] = {}
    for min_col, min_row, max_col, max_row in merged_ranges(sheet):
        top, left = min_row - 1, min_col - 1
        for r in range(top, min(max_row, len(values))):
            row = values[r]
            if len(row) < max_col:
                row.extend([None] * (max_col - len(row)))
            for c in range(left, max_col):
                origins[(r, c)] = (top, left)
                row[c] = values[top][left] if left < len(values[top]) else None
    for row in values:
        while row and row[-1] in (None, ""):
            row.pop()  # formatted but empty columns to the right
    width = max((len(row) for row in values), default=0)
    rows: list[Row] = []
    for r, row in enumerate(values):
        if row:
            row.extend([None] * (width - len(row)))
            cells = [Cell(v, origins.get((r, c), (r, c))) for c, v in enumerate(row)]
            rows.append(Row(cells, f"第 {r + 1} 行"))
    return Grid(name=name, rows=rows, column_letters=True)


def read(path: Path) -> Iterator[Grid]:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not touch the values.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a damaged package
        raise _damaged(path) from None
    try:
        several = len(book.worksheets) > 1
        for sheet in book.worksheets:
            if not hasattr(sheet, "iter_rows"):
                continue  # a chart sheet
            try:
                grid = _grid(sheet, f"工作表“{sheet.title}”" if several else "")
            except Exception:  # a damaged worksheet part
                raise _damaged(path) from None
            yield grid
    finally:
        book.close()
