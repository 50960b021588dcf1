"""The ledger as an Excel workbook: a title row, a frozen and filtered header, wrapped text.

Sections are merged cells as in the source (项目 merged down its tasks, or a full-width section
row); each task's light is the fill of its 推进情况 cell (Excel can filter by cell colour), with a
legend under the table. Printing is set up too: landscape A4, one page wide, header on every page.
"""

from __future__ import annotations

import io
import unicodedata

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from engine.ledger.model import (
    BODY_FONT,
    HEADER_FONT,
    LIGHT_FILLS,
    LIGHT_WORDS,
    LIGHTS,
    TITLE_FONT,
    ColumnKind,
    Ledger,
    format_day,
    light_meanings,
)

SUFFIX = ".xlsx"

# Widths in Excel's character units; a Chinese character takes about two.
_WIDTHS = {
    ColumnKind.SECTION: 16,
    ColumnKind.NO: 6,
    ColumnKind.TITLE: 22,
    ColumnKind.CONTENT: 60,
    ColumnKind.UNITS: 22,
    ColumnKind.CO_UNITS: 22,
    ColumnKind.PROGRESS: 36,
    ColumnKind.DEADLINE: 17,
    ColumnKind.OTHER: 14,
}
_CENTRED = {ColumnKind.NO, ColumnKind.DEADLINE, ColumnKind.SECTION}
_BODY_SIZE = 11
_TITLE_SIZE = 16
# A column width of w is 7w + 5 pixels at 96 dpi (w digits of Excel's default font and the cell's
# padding); the text gets about 7w - 3 of them after the padding and the grid line. A CJK glyph
# is one em wide (11 points ≈ 14.7 pixels, a little over two width units), a Latin letter or
# digit about half that.
_DIGIT_PX = 7
_PADDING_PX = 3
# Line-breaking rules (禁则): a closing mark may not start a line, so the character before it moves
# down with it; an opening mark may not end one, so it moves down with what follows.
_NO_LINE_START = set("，。、；：？！）》」』】〉”’%…—·,.;:?!)]}")
_NO_LINE_END = set("（《「『【〈“‘([{")
_LINE_SPACING = 1.36  # a line's height in points per point of font size (15 for 11-point text)
_MAX_ROW_POINTS = 409  # the tallest row Excel allows

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_TITLE_FONT = Font(name=TITLE_FONT, size=_TITLE_SIZE)
_HEADER_FONT = Font(name=HEADER_FONT, size=11, bold=True)
_BODY_FONT = Font(name=BODY_FONT, size=_BODY_SIZE)
_HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")


def _halves(ch: str) -> int:
    """How many half-em widths `ch` takes: two for CJK, full-width marks and “”—…·, else one."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 1


def _lines(text: str, width: float, size: int = _BODY_SIZE) -> int:
    """How many lines a wrapped cell of `width` units needs at `size` points, wrapped as Excel does.

    Each paragraph is filled character by character (a CJK line breaks between any two
    characters, within the line-breaking rules), so that a row is never estimated shorter than
    it prints.
    """
    half_em_px = size * 96 / 72 / 2
    per_line = max(int((width * _DIGIT_PX - _PADDING_PX) / half_em_px), 4)
    lines = 0
    for paragraph in text.split("\n"):
        lines += 1
        used = 0
        previous = ""
        for ch in paragraph:
            halves = _halves(ch)
            if used + halves > per_line:
                lines += 1
                carried = ch in _NO_LINE_START or previous in _NO_LINE_END
                used = _halves(previous) if carried and previous else 0
            used += halves
            previous = ch
    return lines


def _row_height(lines: int, size: int = _BODY_SIZE) -> float:
    """A row's height in points for `lines` lines of `size`-point text, within Excel's limit."""
    return min(round(lines * size * _LINE_SPACING + 4, 1), _MAX_ROW_POINTS)


def _put(ws: Worksheet, row: int, col: int, value: str | int, *, centred: bool = False,
         font: Font = _BODY_FONT) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    cell.font = font
    cell.border = _BORDER
    cell.alignment = Alignment(
        wrap_text=True, vertical="center", horizontal="center" if centred else "left"
    )


def _legend(ws: Worksheet, ledger: Ledger, start: int, width: int) -> None:
    """The key to the colours, under the 推进情况 column: one cell of each colour, as in the table.

    Laid out so that importing the workbook again reads no task from it: the 说明 line is a note
    (merged across, starting with 说明) and each sample sits alone in the 推进情况 column.
    """
    last = get_column_letter(width)
    notes = f"说明：“推进情况”栏底色表示督办灯号，按{format_day(ledger.as_of)}计算，各色含义见下。"
    notes += ledger.scope_note
    if ledger.coordinator_line:  # read back as the coordinator when the workbook is imported
        notes += f"{ledger.coordinator_line}。"
    note = ws.cell(row=start, column=1, value=notes)
    note.font = _BODY_FONT
    note.alignment = Alignment(wrap_text=True, vertical="center")
    ws.merge_cells(f"A{start}:{last}{start}")
    widths = [ws.column_dimensions[get_column_letter(i)].width for i in range(1, width + 1)]
    ws.row_dimensions[start].height = _row_height(_lines(notes, sum(widths)))
    column = next(
        (i for i, c in enumerate(ledger.columns, start=1) if c.kind is ColumnKind.PROGRESS), width
    )
    meanings = light_meanings(ledger.yellow_within_days)
    for offset, code in enumerate(LIGHTS, start=1):
        sample = f"{LIGHT_WORDS[code]}：{meanings[code]}"
        _put(ws, start + offset, column, sample)
        ws.row_dimensions[start + offset].height = _row_height(_lines(sample, widths[column - 1]))
        if LIGHT_FILLS[code]:
            ws.cell(row=start + offset, column=column).fill = PatternFill(
                "solid", fgColor=LIGHT_FILLS[code]
            )


def render(ledger: Ledger) -> bytes:
    """The .xlsx file's bytes."""
    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = "推进情况汇总表"
    columns = ledger.columns
    width = len(columns)
    last = get_column_letter(width)
    widths = [_WIDTHS[c.kind] for c in columns]
    for i, chars in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = chars

    title = ws.cell(row=1, column=1, value=ledger.title)
    title.font = _TITLE_FONT
    title.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.merge_cells(f"A1:{last}1")
    ws.row_dimensions[1].height = max(36, 26 * _lines(ledger.title, sum(widths), _TITLE_SIZE))

    for i, column in enumerate(columns, start=1):
        _put(ws, 2, i, "" if column.joined else column.header, centred=True, font=_HEADER_FONT)
        ws.cell(row=2, column=i).fill = _HEADER_FILL
        if column.joined:
            start = i - 1
            while start > 1 and columns[start - 1].joined:
                start -= 1
            ws.merge_cells(start_row=2, start_column=start, end_row=2, end_column=i)

    groups = ledger.groups()
    section_rows = not ledger.has_section_column and any(s for s, _ in groups)
    r = 3
    for section, rows in groups:
        if section and section_rows:
            _put(ws, r, 1, section.heading, font=_HEADER_FONT)
            for i in range(2, width + 1):
                ws.cell(row=r, column=i).border = _BORDER
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
            r += 1
        first = r
        for row in rows:
            lines = 1
            for i, column in enumerate(columns, start=1):
                if column.kind is ColumnKind.SECTION:
                    _put(ws, r, i, section.heading if section and r == first else "", centred=True)
                    continue
                text = row.cell(column.kind)
                _put(ws, r, i, row.no if column.kind is ColumnKind.NO else text,
                     centred=column.kind in _CENTRED)
                lines = max(lines, _lines(text, widths[i - 1]))
                fill = LIGHT_FILLS.get(row.light)
                if column.kind is ColumnKind.PROGRESS and fill:
                    ws.cell(row=r, column=i).fill = PatternFill("solid", fgColor=fill)
            ws.row_dimensions[r].height = _row_height(lines)
            r += 1
        for i, column in enumerate(columns, start=1):
            if column.kind is ColumnKind.SECTION and r - 1 > first:
                ws.merge_cells(start_row=first, start_column=i, end_row=r - 1, end_column=i)

    ws.freeze_panes = "A3"
    ws.auto_filter.ref = f"A2:{last}{max(r - 1, 2)}"
    ws.print_title_rows = "2:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    _legend(ws, ledger, r + 1, width)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
