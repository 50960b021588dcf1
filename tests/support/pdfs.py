"""PDFs for tests, written with reportlab as an office's PDF printer would lay them out.

Text is set in reportlab's built-in CID font STSong-Light (Adobe-GB1, not embedded), which needs
no font file and whose characters a PDF reader maps back to Unicode. A prose document is laid
out line by line, hard-wrapped at the text width with a first-line indent of two characters, a
running header above and a page number under every page; a table plan is drawn as a ruled
table (platypus) whose merged cells are real spans, continued over pages with its header
repeated. A "scanned" PDF holds page images only.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from support.tables import TableSpec

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


@dataclass
class ProseLayout:
    """How a prose document is set: A4 portrait, 公文-like margins and size."""

    font_size: float = 14
    leading: float = 24
    left: float = 28 * mm
    right: float = 26 * mm
    top: float = 37 * mm
    bottom: float = 35 * mm
    header: str | None = "某市人民政府文件"
    """The running header above every page's text (None: none)."""
    page_number: str | None = "— {n} —"
    """The page number under every page, {n} and {total} filled in (None: none)."""
    indent: int = 2
    """The first-line indent of a body paragraph, in characters."""
    centred: set[int] = field(default_factory=set)
    """Indices of paragraphs set centred without indent (the title)."""
    rotated: bool = False
    """Stored as a landscape page turned upright by /Rotate 90, as some scanners and printers
    write portrait pages."""


def wrap(text: str, width: float, size: float, indent: float = 0) -> list[str]:
    """`text` hard-wrapped at `width` points, character by character, as CJK text wraps."""
    lines: list[str] = []
    line, used = "", indent
    for char in text:
        advance = pdfmetrics.stringWidth(char, FONT, size)
        if line and used + advance > width:
            lines.append(line)
            line, used = "", 0
        line += char
        used += advance
    if line or not lines:
        lines.append(line)
    return lines


def write_prose_pdf(paragraphs: list[str], path: Path, layout: ProseLayout | None = None) -> Path:
    """A prose document: each paragraph hard-wrapped over lines and pages."""
    layout = layout or ProseLayout()
    width, height = A4
    text_width = width - layout.left - layout.right
    size = layout.font_size
    pages: list[list[tuple[float, float, str, bool]]] = [[]]  # (x, y, text, centred) per line
    y = height - layout.top
    for index, paragraph in enumerate(paragraphs):
        centred = index in layout.centred
        indent = 0.0 if centred else layout.indent * size
        for k, line in enumerate(wrap(paragraph, text_width, size, indent)):
            if y < layout.bottom:
                pages.append([])
                y = height - layout.top
            x = layout.left + (indent if k == 0 else 0)
            pages[-1].append((x, y, line, centred))
            y -= layout.leading
    out = canvas.Canvas(str(path), pagesize=(height, width) if layout.rotated else A4)
    for n, lines in enumerate(pages, start=1):
        if layout.rotated:
            # the portrait page drawn a quarter turn anticlockwise; /Rotate 90 turns it back
            out.setPageRotation(90)
            out.transform(0, 1, -1, 0, height, 0)
        if layout.header:
            out.setFont(FONT, 10.5)
            out.drawCentredString(width / 2, height - 20 * mm, layout.header)
        out.setFont(FONT, size)
        for x, y, line, centred in lines:
            if centred:
                out.drawCentredString(width / 2, y, line)
            else:
                out.drawString(x, y, line)
        if layout.page_number:
            out.setFont(FONT, 10.5)
            shown = layout.page_number.format(n=n, total=len(pages))
            out.drawCentredString(width / 2, 20 * mm, shown)
        out.showPage()
    out.save()
    return path


def _cell_text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return f"{value.year}年{value.month}月{value.day}日"
    return "" if value is None else str(value)


def _paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(escaped.replace("\n", "<br/>"), style)


def _cell_style(font_size: float) -> ParagraphStyle:
    return ParagraphStyle(
        "cell", fontName=FONT, fontSize=font_size, leading=font_size * 1.35, wordWrap="CJK"
    )


def _ruled_table(
    spec: TableSpec, style: ParagraphStyle, widths: list[float], *, header: bool, repeat: bool
) -> Table:
    """`spec` as a platypus table with its grid ruled and its merged cells spanned."""
    data: list[list[Any]] = []
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.5, (0, 0, 0)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        names = ["" if name == "\x00span" else name for name in spec.header]
        data.append([_paragraph(name, style) for name in names])
        for _, first, last in spec.header_spans():
            if last > first:
                commands.append(("SPAN", (first, 0), (last, 0)))
    top = len(data)
    for r, row in enumerate(spec.full_rows(), start=top):
        if len(row) == 1:
            data.append([_paragraph(_cell_text(row[0]), style)] + [""] * (spec.width - 1))
            commands.append(("SPAN", (0, r), (-1, r)))
            continue
        data.append([_paragraph(_cell_text(v), style) for v in row])
    for first, last in spec.vertical_runs():
        commands.append(("SPAN", (spec.merge_down, first + top), (spec.merge_down, last + top)))
    return Table(
        data, colWidths=widths, repeatRows=1 if header and repeat else 0, style=TableStyle(commands)
    )


def _build(path: Path, story: list[Any], page_number: str | None) -> None:
    def number(out: canvas.Canvas, document: Any) -> None:
        if page_number:
            out.setFont(FONT, 9)
            out.drawCentredString(
                landscape(A4)[0] / 2, 8 * mm, page_number.format(n=out.getPageNumber())
            )

    document = SimpleDocTemplate(
        str(path),
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    document.build(story, onFirstPage=number, onLaterPages=number)


def write_table_pdf(
    spec: TableSpec,
    path: Path,
    *,
    column_widths: list[float] | None = None,
    font_size: float = 8,
    page_number: str | None = "- {n} -",
    repeat_header: bool = True,
) -> Path:
    """A ruled table on landscape A4 pages: title lines above it, header spans, heading rows
    merged across, the `merge_down` column merged down, and the header repeated on every page
    (unless `repeat_header` is false)."""
    title = ParagraphStyle(
        "title", fontName=FONT, fontSize=14, leading=20, alignment=1, wordWrap="CJK"
    )
    widths = column_widths or [(landscape(A4)[0] - 30 * mm) / spec.width] * spec.width
    table = _ruled_table(spec, _cell_style(font_size), widths, header=True, repeat=repeat_header)
    story: list[Any] = [_paragraph(line, title) for line in spec.title_lines]
    _build(path, [*story, Spacer(1, 4 * mm), table], page_number)
    return path


def write_table_pieces_pdf(
    pieces: list[TableSpec], path: Path, *, header_on_each: bool = False
) -> Path:
    """One table drawn in pieces, one piece a page, as a layout program breaks it: the header
    (the first piece's) on the first page only, or on each. A piece's first row may be the rest
    of the row above the page break, as Word and WPS let a row break across pages."""
    style = _cell_style(9)
    widths = [(landscape(A4)[0] - 30 * mm) / pieces[0].width] * pieces[0].width
    story: list[Any] = []
    for index, piece in enumerate(pieces):
        if index:
            story.append(PageBreak())
        header = index == 0 or header_on_each
        story.append(_ruled_table(piece, style, widths, header=header, repeat=False))
    _build(path, story, "- {n} -")
    return path


def write_scanned_pdf(path: Path, pages: int = 2) -> Path:
    """A scanned document: every page one picture (grey text-like bars), no characters."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader

    picture = Image.new("L", (600, 848), 255)
    draw = ImageDraw.Draw(picture)
    for y in range(80, 780, 30):
        draw.rectangle((60, y, 540, y + 12), fill=90)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    out = canvas.Canvas(str(path), pagesize=A4)
    for _ in range(pages):
        buffer.seek(0)
        out.drawImage(ImageReader(buffer), 0, 0, width=A4[0], height=A4[1])
        out.showPage()
    out.save()
    return path


def write_encrypted_pdf(path: Path, user_password: str = "123456") -> Path:
    """A prose PDF that opens only with a password."""
    from reportlab.lib.pdfencrypt import StandardEncryption

    out = canvas.Canvas(
        str(path), pagesize=A4, encrypt=StandardEncryption(user_password, "owner-secret")
    )
    out.setFont(FONT, 14)
    out.drawString(80, 700, "一、推进公共法律服务体系建设（市司法局负责）。")
    out.showPage()
    out.save()
    return path


def write_inflating_pdf(path: Path, inflated: int, *, ascii85: bool = False) -> Path:
    """A one-page PDF written by hand whose content stream, a run of tiny strokes, inflates to
    `inflated` bytes from a few kilobytes (optionally ASCII85-encoded over its Flate data)."""
    import base64
    import zlib

    operators = b"0 0 m 1 1 l S\n"
    data = zlib.compress(operators * (inflated // len(operators) + 1), 9)
    filters = b"/Filter /FlateDecode"
    if ascii85:
        data = base64.a85encode(data, wrapcol=72) + b"~>"
        filters = b"/Filter [/ASCII85Decode /FlateDecode]"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), filters, data),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path
