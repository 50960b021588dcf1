"""Excel workbooks (.xlsx), read with openpyxl: one grid per worksheet.

Read-only mode streams the rows, which keeps a 5,000-row sheet within a few seconds, but it does
not expose merged cells or hidden columns; they are read from the `<mergeCells>` and `<cols>`
elements of the worksheet's XML instead. Date cells come back as dates, numbers as int where whole.

Chinese Excel and WPS save 2022年6月30日 and 2022年6月 as built-in number formats (31, 57, …) whose
codes depend on the locale and are not written in the file; openpyxl does not know them as dates
and would hand over the serial number (44742). They are added to the workbook's date styles here.
A date cell that shows only a month (2022年6月) or a year is handed over as that text, so that the
deadline grammar reads it as the end of the month or year, as the office reading the sheet does.
Hidden columns are read as empty and hidden sheets are skipped, with a note: the office imports
the table it sees.
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
_COL = re.compile(rb"<(?:\w+:)?col\s[^>]*>")
_ATTRIBUTE = re.compile(rb'(\w+)="([^"]*)"')
# Built-in number formats of East Asian Excel that show dates (zh-CN: 27 yyyy"年"m"月", 31
# yyyy"年"m"月"d"日", 57 yyyy"年"m"月", 58 m"月"d"日", …); of those, the ones without a day.
_EAST_ASIAN_DATES = frozenset({27, 28, 29, 30, 31, 36, 50, 51, 52, 53, 54, 57, 58})
_EAST_ASIAN_MONTHS = frozenset({27, 36, 50, 52, 57})
_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')


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


def _sheet_xml(sheet: Any) -> bytes:
    with sheet._get_source() as source:  # the worksheet's XML inside the package
        xml: bytes = source.read()
    return xml


def merged_ranges(xml: bytes) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of every merged area of a worksheet's XML."""
    # The schema puts <mergeCells> after <sheetData>: search only the tail of the XML.
    found = _MERGE_CELLS.search(xml, max(0, xml.rfind(b"sheetData>")))
    if found is None:
        return []
    return [range_boundaries(ref.decode()) for ref in _MERGE_REF.findall(found.group(0))]


def hidden_columns(xml: bytes) -> set[int]:
    """0-based indices of the columns a worksheet hides (<cols> comes before <sheetData>)."""
    head = xml[: max(0, xml.find(b"sheetData"))]
    hidden: set[int] = set()
    for element in _COL.findall(head):
        attributes = dict(_ATTRIBUTE.findall(element))
        if attributes.get(b"hidden") in (b"1", b"true"):
            first, last = int(attributes.get(b"min", b"1")), int(attributes.get(b"max", b"1"))
            hidden.update(range(first - 1, min(last, 16384)))
    return hidden


def _date_styles(book: Any) -> tuple[set[int], set[int]]:
    """Teach the workbook the East Asian built-in date formats; return the style indices whose
    format shows no day: (month only, year only)."""
    months: set[int] = set()
    years: set[int] = set()
    for index, style in enumerate(book._cell_styles):
        number_format = style.numFmtId
        if number_format in _EAST_ASIAN_DATES:
            book._date_formats.add(index)
        if index not in book._date_formats:
            continue
        if number_format in _EAST_ASIAN_MONTHS:
            months.add(index)
        elif number_format >= 164 and number_format - 164 < len(book._number_formats):
            code = _QUOTED.sub("", book._number_formats[number_format - 164].lower())
            code = code.split(";")[0]
            if "d" not in code and "h" not in code and "s" not in code:
                (months if "m" in code else years).add(index)
    return months, years


def _cell_value(cell: Any, months: set[int], years: set[int]) -> CellValue:
    value = getattr(cell, "value", None)  # an EmptyCell of a short row has no style
    if isinstance(value, datetime) and months | years:
        style = getattr(cell, "_style_id", 0)
        if style in months:
            return f"{value.year}年{value.month}月"
        if style in years:
            return f"{value.year}年"
    return _value(value)


def _grid(sheet: Any, name: str, months: set[int], years: set[int]) -> Grid:
    sheet.reset_dimensions()  # some writers record a wrong size; read every row there is
    if months or years:
        rows_in = sheet.iter_rows()
        values = [[_cell_value(cell, months, years) for cell in row] for row in rows_in]
    else:
        values = [[_value(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    xml = _sheet_xml(sheet)
    origins: dict[tuple[int, int], tuple[int, int]] = {}
    for min_col, min_row, max_col, max_row in merged_ranges(xml):
        top, left = min_row - 1, min_col - 1
        for r in range(top, min(max_row, len(values))):
            row = values[r]
            if len(row) < max_col:
                row.extend([None] * (max_col - len(row)))
            for c in range(left, max_col):
                origins[(r, c)] = (top, left)
                row[c] = values[top][left] if left < len(values[top]) else None
    hidden = hidden_columns(xml)
    shown_hidden: set[int] = set()
    for row in values:
        for c in hidden:
            if c < len(row) and row[c] not in (None, ""):
                shown_hidden.add(c)
                row[c] = None
        while row and row[-1] in (None, ""):
            row.pop()  # formatted but empty columns to the right
    width = max((len(row) for row in values), default=0)
    rows: list[Row] = []
    for r, row in enumerate(values):
        if row:
            row.extend([None] * (width - len(row)))
            cells = [Cell(v, origins.get((r, c), (r, c))) for c, v in enumerate(row)]
            rows.append(Row(cells, f"第 {r + 1} 行"))
    grid = Grid(name=name, rows=rows, column_letters=True)
    if shown_hidden:
        letters = "、".join(grid.column_ref(c).removesuffix(" 列") for c in sorted(shown_hidden))
        grid.notes.append(f"{name}{letters} 列已隐藏，未导入其内容；如需导入请先取消隐藏")
    return grid


def read(path: Path) -> Iterator[Grid]:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not touch the values.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a damaged package
        raise _damaged(path) from None
    try:
        months, years = _date_styles(book)
        several = len(book.worksheets) > 1
        hidden: list[str] = []
        for sheet in book.worksheets:
            if not hasattr(sheet, "iter_rows"):
                continue  # a chart sheet
            if getattr(sheet, "sheet_state", "visible") != "visible":
                hidden.append(f"工作表“{sheet.title}”")  # a hidden sheet is no table one sees
                continue
            try:
                grid = _grid(sheet, f"工作表“{sheet.title}”" if several else "", months, years)
            except Exception:  # a damaged worksheet part
                raise _damaged(path) from None
            if hidden:
                grid.notes.append(f"{'、'.join(hidden)}已隐藏，未导入；如需导入请先取消隐藏")
                hidden = []
            yield grid
    finally:
        book.close()
