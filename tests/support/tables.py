"""Plan tables for tests, rendered as a user would hand them over: .docx, .xlsx or Word text.

A `TableSpec` is a table in layout-grid columns: one header name per column (`SPAN` continues the
header cell to its left, as Zhuhai's 任务 covers the number and the title), rows of cell values
(a one-cell row is a heading merged across the whole row), and optionally a column whose empty
cells continue the cell above (Zhuhai's 项目 column, merged down over its tasks). The writers use
python-docx and openpyxl themselves, merged cells included, so the importers read real files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

SPAN = "\x00span"  # in a header: this column belongs to the header cell on its left

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "workflows" / "sources" / "zhuhai-gba-legal-services.txt"


@dataclass
class TableSpec:
    header: list[str]
    rows: list[list[Any]]
    title_lines: list[str] = field(default_factory=list)
    merge_down: int | None = None
    """A column whose empty cells are merged with the cell above (a vertically merged 项目)."""

    @property
    def width(self) -> int:
        return len(self.header)

    def full_rows(self) -> list[list[Any]]:
        """Every row padded to the full width (one-cell heading rows stay one cell)."""
        return [r if len(r) == 1 else list(r) + [""] * (self.width - len(r)) for r in self.rows]

    def header_spans(self) -> list[tuple[str, int, int]]:
        """(name, first column, last column) of each header cell."""
        spans: list[tuple[str, int, int]] = []
        for col, name in enumerate(self.header):
            if name == SPAN:
                spans[-1] = (spans[-1][0], spans[-1][1], col)
            else:
                spans.append((name, col, col))
        return spans

    def vertical_runs(self) -> list[tuple[int, int]]:
        """(first row, last row) of each area the `merge_down` column merges, in `rows` indices."""
        if self.merge_down is None:
            return []
        runs: list[tuple[int, int]] = []
        start = None
        for index, row in enumerate(self.full_rows()):
            if len(row) == 1:
                start = None
                continue
            if row[self.merge_down] not in ("", None) or start is None:
                start = index
                runs.append((index, index))
            else:
                runs[-1] = (start, index)
        return [run for run in runs if run[1] > run[0]]

    def with_cell(self, row_no: Any, column: int, value: Any) -> TableSpec:
        """A copy where the task row whose number cell is `row_no` has `value` in `column`."""
        rows = [list(r) for r in self.full_rows()]
        number_column = self.header.index(SPAN) - 1 if SPAN in self.header else 0
        for row in rows:
            if len(row) > 1 and str(row[number_column]) == str(row_no):
                row[column] = value
        return replace(self, rows=rows)


def seed_spec(path: Path = SEED) -> TableSpec:
    """The seed table (Word's text layout) as a spec; a small reader of its own, independent of
    the importer under test: tab-led cells, blank lines between rows, a tab-less line first in a
    row is its first cell, one after a cell continues it."""
    blocks: list[list[str]] = []
    cells: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip(" \u3000"):  # a tab alone is an empty cell, not a blank line
            if cells:
                blocks.append(cells)
            cells = []
        elif line.startswith("\t"):
            cells.append(line[1:].strip())
        elif cells:
            cells[-1] += "\n" + line.strip()
        else:
            cells.append(line.strip())
    if cells:
        blocks.append(cells)
    header_at = next(i for i, b in enumerate(blocks) if "项目" in b)
    names = blocks[header_at]
    header = [names[0], names[1], SPAN, *names[2:]]
    return TableSpec(
        header=header,
        rows=blocks[header_at + 1 :],
        title_lines=[b[0] for b in blocks[:header_at]],
        merge_down=0,
    )


def write_text(spec: TableSpec, path: Path) -> Path:
    """Word's text layout: the title lines, then each row's cells on tab-led lines."""
    lines = [*spec.title_lines, ""]
    lines += ["\t" + name for name, _, _ in spec.header_spans()] + [""]
    for row in spec.rows:
        lines += ["\t" + _text(v) for v in row] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return f"{value.year}年{value.month}月{value.day}日"
    return "" if value is None else str(value)


def write_docx(spec: TableSpec, path: Path) -> Path:
    """A Word document: title paragraphs, then the table with its merged cells."""
    import docx

    document = docx.Document()
    for line in spec.title_lines:
        document.add_paragraph(line)
    rows = spec.full_rows()
    table = document.add_table(rows=1 + len(rows), cols=spec.width)
    for name, first, last in spec.header_spans():
        table.cell(0, first).text = name
        if last > first:
            table.cell(0, first).merge(table.cell(0, last))
    for r, row in enumerate(rows, start=1):
        if len(row) == 1:
            table.cell(r, 0).text = _text(row[0])
            table.cell(r, 0).merge(table.cell(r, spec.width - 1))
            continue
        for c, value in enumerate(row):
            table.cell(r, c).text = _text(value)
    for first, last in spec.vertical_runs():
        table.cell(first + 1, spec.merge_down).merge(table.cell(last + 1, spec.merge_down))
    document.save(str(path))
    return path


def write_xlsx(spec: TableSpec, path: Path) -> Path:
    """An Excel workbook: title rows merged across, the header, the rows; dates stay dates."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "分工表"
    width = spec.width
    for line in spec.title_lines:
        sheet.append([line])
        sheet.merge_cells(
            start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=width
        )
    header_row = len(spec.title_lines) + 1  # (an empty sheet reports max_row 1)
    sheet.append([None if name == SPAN else name for name in spec.header])
    for _, first, last in spec.header_spans():
        if last > first:
            sheet.merge_cells(
                start_row=header_row,
                start_column=first + 1,
                end_row=header_row,
                end_column=last + 1,
            )
    first_data = header_row + 1
    for row in spec.full_rows():
        sheet.append([v if isinstance(v, datetime | date) else (v or None) for v in row])
        if len(row) == 1:
            sheet.merge_cells(
                start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=width
            )
        for c, v in enumerate(row):
            if isinstance(v, date):
                sheet.cell(sheet.max_row, c + 1).number_format = "yyyy-mm-dd"
    for first, last in spec.vertical_runs():
        column = spec.merge_down + 1
        sheet.merge_cells(
            start_row=first_data + first,
            start_column=column,
            end_row=first_data + last,
            end_column=column,
        )
    book.save(path)
    return path


WRITERS = {".txt": write_text, ".docx": write_docx, ".xlsx": write_xlsx}


def write_table(spec: TableSpec, path: Path) -> Path:
    """Render `spec` in the format `path`'s suffix names."""
    return WRITERS[path.suffix](spec, path)
