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

Nothing is read whole: the package is checked first (`engine.importers.package`), openpyxl
streams the rows, the `<cols>` and `<mergeCells>` elements are picked out of the worksheet's XML
a megabyte at a time, and the cells are counted as they come (`engine.importers.limits`), so that
a sheet with one cell on row 999,999,999 or in column ZZZ of every row is refused, not laid out.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import openpyxl
from openpyxl.utils.cell import range_boundaries

from engine.errors import UserError
from engine.importers.base import Cell, CellValue, Grid, Row, clean_text
from engine.importers.limits import EXCEL_ROWS, MAX_CELLS, Budget
from engine.importers.package import check_package

_CHUNK = 1024 * 1024
_CARRY = 256
_MERGE_START = re.compile(rb"<(?:\w+:)?mergeCells[\s>]")
_MERGE_END = re.compile(rb"</(?:\w+:)?mergeCells>")
# Grid positions a sheet may make before its trailing empty cells are dropped: formatted empty
# cells, the columns before a far one, the rows of a merged area.
_MAX_SLOTS = 4 * MAX_CELLS
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
        return clean_text(value.replace("_x000D_", "")).strip()
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (int, float, date)) or value is None:
        return value
    return str(value)


def sheet_head_and_merges(source: BinaryIO) -> tuple[bytes, bytes]:
    """What a worksheet's XML holds before `<sheetData>` (where `<cols>` is) and its
    `<mergeCells>` element (after `</sheetData>`), read a megabyte at a time: the rows between are
    openpyxl's to stream, and are not kept. A tag cannot start inside text or an attribute
    (`<` is escaped there), so the first `<mergeCells` start tag is the element."""
    head, merges = bytearray(), bytearray()
    head_done, in_merges = False, False
    carry = b""
    while chunk := source.read(_CHUNK):
        if not head_done:
            head += chunk
            at = head.find(b"sheetData")
            if at >= 0:
                del head[at:]
                head_done = True
        if not in_merges:
            window = carry + chunk
            found = _MERGE_START.search(window)
            if found is None:
                carry = window[-_CARRY:]  # a start tag cut in two by the chunk's end
                continue
            in_merges = True
            chunk = window[found.start() :]
        merges += chunk
        if _MERGE_END.search(merges, max(0, len(merges) - len(chunk) - _CARRY)):
            break
    return (bytes(head) if head_done else b""), bytes(merges)


def merged_ranges(merges: bytes) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of every merged area of a `<mergeCells>` element."""
    found = _MERGE_CELLS.search(merges)
    if found is None:
        return []
    return [range_boundaries(ref.decode()) for ref in _MERGE_REF.findall(found.group(0))]


def hidden_columns(head: bytes) -> set[int]:
    """0-based indices of the columns a worksheet hides, from its XML before `<sheetData>`."""
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


def _rows(
    sheet: Any, name: str, months: set[int], years: set[int], budget: Budget, path: Path
) -> tuple[dict[int, list[CellValue]], int]:
    """The sheet's rows that hold anything, by 0-based row index, and how many rows it has."""
    sheet.reset_dimensions()  # some writers record a wrong size; read every row there is
    values: dict[int, list[CellValue]] = {}
    slots = 0
    count = 0
    dated = bool(months or years)
    for count, row in enumerate(sheet.iter_rows(values_only=not dated), start=1):
        if count > EXCEL_ROWS:  # openpyxl lays out every row up to the one a cell names
            raise UserError(
                f"{path}：{name or '工作表'}中有超出 Excel 最大行数（{EXCEL_ROWS:,} 行）的行，"
                "文件可能已损坏或经过特意构造，请在 Excel 中打开后另存再导入"
            )
        if not row:
            continue
        slots += len(row)  # a cell in column ZZZ makes every column before it
        if slots > _MAX_SLOTS:
            raise budget.too_many_cells()
        if dated:
            cells = [_cell_value(cell, months, years) for cell in row]
        else:
            cells = [_value(v) for v in row]
        if any(v not in (None, "") for v in cells):
            values[count - 1] = cells
            for v in cells:
                if isinstance(v, str):
                    budget.add_text(v)
    return values, count


def _grid(
    sheet: Any, name: str, months: set[int], years: set[int], budget: Budget, path: Path
) -> Grid:
    values, count = _rows(sheet, name, months, years, budget, path)
    with sheet._get_source() as source:  # the worksheet's XML inside the package
        head, merges = sheet_head_and_merges(source)
    origins: dict[tuple[int, int], tuple[int, int]] = {}
    area = 0
    for min_col, min_row, max_col, max_row in merged_ranges(merges):
        if min_col < 1 or min_row < 1 or max_col < min_col or max_row < min_row:
            continue  # no area
        top, left = min_row - 1, min_col - 1
        area += max(0, min(max_row, count) - top) * (max_col - left)
        if area > _MAX_SLOTS:
            raise budget.too_many_cells()
        first = values.get(top, [])
        value = first[left] if left < len(first) else None
        for r in range(top, min(max_row, count)):
            row = values.setdefault(r, [])
            if len(row) < max_col:
                row.extend([None] * (max_col - len(row)))
            for c in range(left, max_col):
                origins[(r, c)] = (top, left)
                row[c] = value
    hidden = sorted(hidden_columns(head))
    shown_hidden: set[int] = set()
    for row in values.values():
        for c in hidden:
            if c >= len(row):
                break
            if row[c] not in (None, ""):
                shown_hidden.add(c)
                row[c] = None
        while row and row[-1] in (None, ""):
            row.pop()  # formatted but empty columns to the right
    width = max((len(row) for row in values.values()), default=0)
    kept = sorted(r for r, row in values.items() if row)
    budget.add_cells(len(kept) * width)
    rows: list[Row] = []
    for r in kept:
        row = values[r]
        row.extend([None] * (width - len(row)))
        cells = [Cell(v, origins.get((r, c), (r, c))) for c, v in enumerate(row)]
        rows.append(Row(cells, f"第 {r + 1} 行"))
    grid = Grid(name=name, rows=rows, column_letters=True)
    if shown_hidden:
        letters = "、".join(grid.column_ref(c).removesuffix(" 列") for c in sorted(shown_hidden))
        grid.notes.append(f"{name}{letters} 列已隐藏，未导入其内容；如需导入请先取消隐藏")
    return grid


def read(path: Path) -> Iterator[Grid]:
    check_package(path, "Excel", _damaged(path))
    # Opened here and closed here: openpyxl leaves its file open when a damaged part stops it.
    with path.open("rb") as source:
        yield from _read(path, source)


def _read(path: Path, source: BinaryIO) -> Iterator[Grid]:
    budget = Budget(path)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not touch the values.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a damaged package
        raise _damaged(path) from None
    try:
        if not book.worksheets:  # openpyxl passes over a sheet whose part is missing
            raise UserError(
                f"{path}：工作簿中没有可读取的工作表，文件可能已损坏；请在 Excel 中打开后另存再导入"
            )
        try:
            months, years = _date_styles(book)
        except Exception:  # a number format that is no text
            raise _damaged(path) from None
        several = len(book.worksheets) > 1
        hidden: list[str] = []
        for sheet in book.worksheets:
            if not hasattr(sheet, "iter_rows"):
                continue  # a chart sheet
            if getattr(sheet, "sheet_state", "visible") != "visible":
                hidden.append(f"工作表“{clean_text(sheet.title)}”")  # no table one sees
                continue
            name = f"工作表“{clean_text(sheet.title)}”" if several else ""
            try:
                grid = _grid(sheet, name, months, years, budget, path)
            except UserError:
                raise
            except Exception:  # a damaged worksheet part
                raise _damaged(path) from None
            if hidden:
                grid.notes.append(f"{'、'.join(hidden)}已隐藏，未导入；如需导入请先取消隐藏")
                hidden = []
            yield grid
    finally:
        book.close()
