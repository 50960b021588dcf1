"""The .xlsx ledger's rows are tall enough for their longest cell: no last line is clipped."""

from __future__ import annotations

import io
import math
import unicodedata
from datetime import date
from pathlib import Path

import openpyxl
from conftest import SEED_PLAN

from engine.ledger import render
from engine.ledger.build import layout_columns
from engine.ledger.model import Ledger, LedgerRow, LedgerSection

NOW = "2021-06-20T10:00:00+08:00"
EM_PX = 11 * 96 / 72  # an 11-point CJK glyph, in pixels at 96 dpi
LINE_POINTS = 14.25  # Excel's height of one line of 11-point CJK text


def printed_lines(text: str, width: float) -> int:
    """How many lines Excel prints `text` on in a column `width` units wide (7 pixels a unit).

    A CJK character or full-width mark is one em, anything else half; each paragraph wraps.
    """
    per_line = math.floor(7 * width / (EM_PX / 2))
    return sum(
        max(1, math.ceil(sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in p)
                         / per_line))
        for p in str(text).split("\n")
    )


def short_rows(ws, rows: range) -> list[tuple[int, float, float]]:
    """(row, height, needed) for each row lower than its longest cell needs."""
    widths = {c: ws.column_dimensions[c].width for c in "ABCDEFGHIJ"}
    found = []
    for r in rows:
        # A cell merged down several rows (项目) spreads over all of them.
        merged = {c for m in ws.merged_cells.ranges if m.min_row < m.max_row for c in m.cells}
        needed = max(
            printed_lines(cell.value, widths[cell.column_letter]) * LINE_POINTS
            for cell in ws[r]
            if cell.value is not None and (r, cell.column) not in merged
        )
        height = ws.row_dimensions[r].height
        if height is None or height < needed:
            found.append((r, height, needed))
    return found


def test_every_row_of_the_seed_ledger_holds_its_longest_cell(duban):
    assert duban("--now", "2021-04-01T09:00:00+08:00", "load", str(SEED_PLAN)).code == 0
    result = duban("--now", NOW, "export", "--format", "xlsx", "-o", "汇总表.xlsx")
    assert result.code == 0, result.err
    ws = openpyxl.load_workbook(Path("汇总表.xlsx")).active
    assert ws["D2"].value == "具体内容"
    assert short_rows(ws, range(3, 3 + 18)) == []
    # Task 1's 具体内容 is the cell the issue saw clipped: it needs well over ten lines.
    assert printed_lines(ws["D3"].value, ws.column_dimensions["D"].width) >= 11


def test_a_cell_of_600_chinese_characters_gets_a_row_tall_enough():
    content = ("加强粤港澳大湾区公共法律服务体系建设，" * 32)[:600]
    row = LedgerRow("一", 1, "统筹谋划", content, "市司法局", "【未启动】", "2021年底前", "none")
    ledger = Ledger("汇总表", layout_columns(["项目", "任务", "具体内容", "责任部门", "推进情况",
                                              "完成时限"]),
                    (LedgerSection("一", "完善体系"),), (row,), as_of=date(2021, 6, 20))
    ws = openpyxl.load_workbook(io.BytesIO(render(ledger, "xlsx"))).active
    content_cell = next(c for c in ws[2] if c.value == "具体内容")
    assert len(ws.cell(row=3, column=content_cell.column).value) == 600
    assert short_rows(ws, range(3, 4)) == []
