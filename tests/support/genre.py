"""Raw writers for genre tables (分工方案 / 任务分解表 / 督办台账) as offices really lay them out.

`TableSpec` in tables.py renders one well-formed table; these write whatever a test describes:
several tables with paragraphs between, two-row headers, cells merged anywhere, sheets that start
at C4, hidden columns, number formats. A row is a list of values; `MERGE_LEFT` / `MERGE_UP` in a
position merge it with the cell to its left / above.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MERGE_LEFT = "\x00left"
MERGE_UP = "\x00up"


@dataclass
class DocTable:
    rows: list[list[Any]]
    before: list[str] = field(default_factory=list)
    """Paragraphs written above the table."""


def write_docx_tables(path: Path, tables: list[DocTable], after: list[str] = ()) -> Path:
    """A Word document: for each table its paragraphs, then the table, merges as marked."""
    import docx

    document = docx.Document()
    for spec in tables:
        for line in spec.before:
            document.add_paragraph(line)
        width = max(len(r) for r in spec.rows)
        table = document.add_table(rows=len(spec.rows), cols=width)
        for r, row in enumerate(spec.rows):
            for c, value in enumerate(row):
                if value in (MERGE_LEFT, MERGE_UP):
                    continue
                table.cell(r, c).text = "" if value is None else str(value)
        for r, row in enumerate(spec.rows):
            for c, value in enumerate(row):
                if value == MERGE_LEFT:
                    table.cell(r, c - 1).merge(table.cell(r, c))
                elif value == MERGE_UP:
                    table.cell(r - 1, c).merge(table.cell(r, c))
    for line in after:
        document.add_paragraph(line)
    document.save(str(path))
    return path


@dataclass
class Sheet:
    title: str
    rows: list[list[Any]]
    top: int = 1
    left: int = 1
    """Where the first row's first value goes (1-based), for a table not starting at A1."""
    hidden_columns: list[str] = field(default_factory=list)
    number_formats: dict[str, str] = field(default_factory=dict)
    """Cell (as in the written sheet, "F7") → number format."""
    hidden: bool = False


def write_xlsx_sheets(path: Path, sheets: list[Sheet]) -> Path:
    """An Excel workbook with these sheets in order; merges as marked, values as given."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for spec in sheets:
        sheet = book.create_sheet(spec.title)
        for r, row in enumerate(spec.rows):
            for c, value in enumerate(row):
                if value in (MERGE_LEFT, MERGE_UP) or value is None:
                    continue
                sheet.cell(spec.top + r, spec.left + c, value)
        for r, row in enumerate(spec.rows):
            for c, value in enumerate(row):
                row_no, col_no = spec.top + r, spec.left + c
                if value == MERGE_LEFT:
                    _extend(sheet, row_no, col_no, row_no, col_no - 1)
                elif value == MERGE_UP:
                    _extend(sheet, row_no, col_no, row_no - 1, col_no)
        for letter in spec.hidden_columns:
            sheet.column_dimensions[letter].hidden = True
        for ref, fmt in spec.number_formats.items():
            sheet[ref].number_format = fmt
        if spec.hidden:
            sheet.sheet_state = "hidden"
    book.save(path)
    return path


def _extend(sheet: Any, row: int, col: int, to_row: int, to_col: int) -> None:
    """Merge (row, col) into the merged area holding (to_row, to_col), or a new one."""
    for area in list(sheet.merged_cells.ranges):
        if area.min_row <= to_row <= area.max_row and area.min_col <= to_col <= area.max_col:
            sheet.unmerge_cells(area.coord)
            sheet.merge_cells(
                start_row=min(area.min_row, row),
                start_column=min(area.min_col, col),
                end_row=max(area.max_row, row),
                end_column=max(area.max_col, col),
            )
            return
    sheet.merge_cells(
        start_row=min(to_row, row),
        start_column=min(to_col, col),
        end_row=max(to_row, row),
        end_column=max(to_col, col),
    )


def use_builtin_format(path: Path, custom: str, builtin_id: int) -> Path:
    """Rewrite the workbook so that cells styled with the custom number format `custom` use the
    built-in format `builtin_id` instead, as Chinese Excel and WPS save 2022年6月30日 (31) or
    2022年6月 (57): ids whose codes depend on the locale and are not in the file."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    styles = parts["xl/styles.xml"].decode("utf-8")
    escaped = custom.replace('"', "&quot;")
    found = re.search(r'<numFmt numFmtId="(\d+)" formatCode="' + re.escape(escaped) + '"', styles)
    assert found, f"no custom format {custom!r} in {path}"
    styles = styles.replace(found.group(0) + "/>", "")  # a built-in format is not defined
    styles = styles.replace(f'numFmtId="{found.group(1)}"', f'numFmtId="{builtin_id}"')
    parts["xl/styles.xml"] = styles.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return path


def write_table_as(path: Path, rows: list[list[Any]], title: list[str]) -> Path:
    """One table as a user would hand it over, in the format `path`'s suffix names: in Word the
    title as paragraphs above the table, in Excel as rows merged across above it."""
    if path.suffix == ".docx":
        return write_docx_tables(path, [DocTable(rows, title)])
    width = max(len(r) for r in rows)
    above = [[line] + [MERGE_LEFT] * (width - 1) for line in title]
    return write_xlsx_sheets(path, [Sheet("Sheet1", above + rows)])
