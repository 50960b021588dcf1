"""The ledger as a Word document: landscape A4, a table that prints like a government 汇总表.

The title above the table, the source's header row repeated on every page, 项目 merged down its
tasks (or a full-width section row when the source had no 项目 column), 仿宋_GB2312 text, and each
task's light as the shading of its 推进情况 cell, explained by a legend under the table.
"""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_ALIGN_VERTICAL, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import _Cell

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

SUFFIX = ".docx"

LATIN_FONT = "Times New Roman"

PAGE_WIDTH, PAGE_HEIGHT, MARGIN = Mm(297), Mm(210), Mm(20)

# Relative widths: the long 具体内容 and 推进情况 texts get the room, numbers and dates little.
_WEIGHTS = {
    ColumnKind.SECTION: 2.6,
    ColumnKind.NO: 0.9,
    ColumnKind.TITLE: 3.4,
    ColumnKind.CONTENT: 8.8,
    ColumnKind.UNITS: 3.2,
    ColumnKind.CO_UNITS: 3.0,
    ColumnKind.PROGRESS: 4.6,
    ColumnKind.DEADLINE: 2.2,
    ColumnKind.OTHER: 2.4,
}
_CENTRED = {ColumnKind.NO, ColumnKind.DEADLINE, ColumnKind.SECTION}


def _fonts(run: Any, east_asian: str, size: float, *, bold: bool = False) -> None:
    """Set a run's Latin and East-Asian fonts: Word picks w:eastAsia for Chinese characters."""
    run.font.name = LATIN_FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asian)


# Elements that must follow w:shd inside w:tcPr and w:rPr: Word rejects a file whose property
# elements are out of the schema's order.
_AFTER_SHD = {
    qn(f"w:{name}")
    for name in (
        "noWrap", "tcMar", "textDirection", "tcFitText", "vAlign", "hideMark", "headers",
        "cellIns", "cellDel", "cellMerge", "tcPrChange",  # in w:tcPr
        "fitText", "vertAlign", "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish",
        "oMath", "rPrChange",  # in w:rPr
    )
}  # fmt: skip


def _shade(element: Any, fill: str) -> None:
    """Give a cell (w:tcPr) or a run (w:rPr) a background colour."""
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    later = next((child for child in element if child.tag in _AFTER_SHD), None)
    if later is None:
        element.append(shd)
    else:
        later.addprevious(shd)


def _write(cell: _Cell, text: str, *, font: str = BODY_FONT, size: float = 10.5,
           bold: bool = False, align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT) -> None:
    """Put text in a cell, one paragraph per line, so that the cell reads back as written."""
    lines = text.split("\n")
    first = cell.paragraphs[0]
    for extra in cell.paragraphs[1:]:  # a merged cell keeps its parts' paragraphs
        extra._element.getparent().remove(extra._element)
    for i, line in enumerate(lines):
        paragraph = first if i == 0 else cell.add_paragraph()
        paragraph.alignment = align
        paragraph.paragraph_format.space_before = paragraph.paragraph_format.space_after = Pt(0)
        if line:
            _fonts(paragraph.add_run(line), font, size, bold=bold)


def _repeat_as_header(row: Any) -> None:
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(flag)


def _setup_page(document: Any) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.left_margin = section.right_margin = MARGIN
    section.top_margin = section.bottom_margin = Mm(18)
    normal = document.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(10.5)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)


def _page_numbers(document: Any) -> None:
    """— 1 — centred in the footer, as printed government documents number their pages."""
    paragraph = document.sections[0].footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fonts(paragraph.add_run("— "), BODY_FONT, 10.5)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    number = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    number.append(text)
    field.append(number)
    paragraph._p.append(field)
    _fonts(paragraph.add_run(" —"), BODY_FONT, 10.5)


def _title(document: Any, ledger: Ledger) -> None:
    # One paragraph: the importer reads the paragraphs above the table as the plan's title.
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(12)
    _fonts(paragraph.add_run(ledger.title), TITLE_FONT, 18)
    if ledger.coordinator_line:
        # Under the title, above the table: the importer reads it back as the coordinator.
        line = document.add_paragraph()
        line.alignment = WD_ALIGN_PARAGRAPH.CENTER
        line.paragraph_format.space_after = Pt(6)
        _fonts(line.add_run(ledger.coordinator_line), BODY_FONT, 12)


def _legend(document: Any, ledger: Ledger) -> None:
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.space_before = Pt(6)
    _fonts(paragraph.add_run("说明：“推进情况”栏底色为督办灯号——"), BODY_FONT, 10.5)
    meanings = light_meanings(ledger.yellow_within_days)
    for code in LIGHTS:
        fill = LIGHT_FILLS[code]
        swatch = paragraph.add_run("\u3000\u3000" if fill else "无底色")
        _fonts(swatch, BODY_FONT, 10.5)
        if fill:
            _shade(swatch._element.get_or_add_rPr(), fill)
        end = "；" if code != LIGHTS[-1] else "。"
        _fonts(paragraph.add_run(f" {LIGHT_WORDS[code]} {meanings[code]}{end}"), BODY_FONT, 10.5)
    notes = f"灯号按{format_day(ledger.as_of)}计算。{ledger.scope_note}"
    _fonts(paragraph.add_run(notes), BODY_FONT, 10.5)


def render(ledger: Ledger) -> bytes:
    """The .docx file's bytes."""
    document = Document()
    _setup_page(document)
    document.core_properties.title = ledger.title
    _page_numbers(document)
    _title(document, ledger)

    columns = ledger.columns
    groups = ledger.groups()
    section_rows = not ledger.has_section_column and any(s for s, _ in groups)
    n_rows = 1 + len(ledger.rows) + (sum(1 for s, _ in groups if s) if section_rows else 0)
    table = document.add_table(rows=n_rows, cols=len(columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False  # a fixed layout: Word keeps the widths instead of fitting content
    usable = PAGE_WIDTH - 2 * MARGIN
    total = sum(_WEIGHTS[c.kind] for c in columns)
    widths = [int(usable * _WEIGHTS[c.kind] / total) for c in columns]
    for i, width in enumerate(widths):
        table.columns[i].width = width
    # Row by row: Table.cell() rebuilds the whole grid on every call, quadratic in the rows.
    rows_of_table = list(table.rows)
    for row_of_table in rows_of_table:
        for cell, width in zip(row_of_table.cells, widths, strict=True):
            cell.width = width

    header = rows_of_table[0]
    _repeat_as_header(header)
    header_cells = header.cells
    for i, column in enumerate(columns):
        if column.joined:
            continue
        cell = header_cells[i]
        span = 1
        while i + span < len(columns) and columns[i + span].joined:
            span += 1
        if span > 1:
            cell = cell.merge(header_cells[i + span - 1])
        _write(cell, column.header, font=HEADER_FONT, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        cell.vertical_alignment = WD_ALIGN_VERTICAL.CENTER

    r = 1
    for section, rows in groups:
        if section and section_rows:
            cells = rows_of_table[r].cells
            merged = cells[0].merge(cells[-1])
            _write(merged, section.heading, font=HEADER_FONT, bold=True)
            r += 1
        first_cells = rows_of_table[r].cells
        last_cells = first_cells
        for row in rows:
            last_cells = rows_of_table[r].cells
            for i, column in enumerate(columns):
                if column.kind is ColumnKind.SECTION:
                    continue
                cell = last_cells[i]
                centred = column.kind in _CENTRED
                _write(cell, row.cell(column.kind),
                       align=WD_ALIGN_PARAGRAPH.CENTER if centred else WD_ALIGN_PARAGRAPH.JUSTIFY)
                cell.vertical_alignment = (
                    WD_ALIGN_VERTICAL.CENTER if centred else WD_ALIGN_VERTICAL.TOP
                )
                fill = LIGHT_FILLS.get(row.light)
                if column.kind is ColumnKind.PROGRESS and fill:
                    _shade(cell._tc.get_or_add_tcPr(), fill)
            r += 1
        for i, column in enumerate(columns):
            if column.kind is ColumnKind.SECTION:
                cell = first_cells[i]
                if last_cells is not first_cells:
                    cell = cell.merge(last_cells[i])
                _write(cell, section.heading if section else "", align=WD_ALIGN_PARAGRAPH.CENTER)
                cell.vertical_alignment = WD_ALIGN_VERTICAL.CENTER

    _legend(document, ledger)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
