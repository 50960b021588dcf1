"""PDF files with a text layer: their ruled tables as grids, and their running text as paragraphs.

PDFium (pypdfium2) reads every page: its characters with their boxes, the straight segments of
its drawn paths, and whether it holds pictures. That is about ten times faster than pdfminer, on
which pdfplumber builds its pages, and a 200-page plan must import in seconds. The segments go to
pdfplumber's table finder (snapping and joining ruling lines, their crossings, the cells between
them), on pages that draw any; a page without lines goes straight to the text.

A table comes back as one grid per table piece per page, in order; `engine.importers.table`
reads a piece that repeats the header, or has the same columns, as the table continued. A cell
that covers several grid positions (a merged cell: one ruled box over two columns, or over the
rows of a 项目) gives each position its text and its origin, as Word tables do; a position no
cell covers stays empty. A cell's text is its lines, a line that reaches the cell's right edge
being wrapped and joined to the next.

The text outside tables becomes paragraphs, page headers, footers and numbers left out
(`engine.importers.pdflines`).

A page whose Chinese text is in a font the file does not embed needs a Chinese font of the
machine's for PDFium to lay it out; without one PDFium loses characters, without a word. On such
a machine those pages are read by pdfminer instead (`_Miner`: slower, but it maps the font's
codes itself), in the same coordinates; a page pdfminer cannot read either keeps PDFium's
characters and the import says which pages may miss some.

A PDF without a text layer (a scan: pictures, no characters) is refused with a line saying how
to get one; so is one that needs a password, one cut short, and one PDFium cannot open. The
work is bounded: what the file's streams inflate to is checked before PDFium lays anything out
(`engine.importers.pdfbounds`); then at most MAX_PAGES pages are read, and the characters and
cells of `engine.importers.limits.Budget`.
"""

from __future__ import annotations

import ctypes
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from loguru import logger
from pdfplumber.table import (
    TableSettings,
    cells_to_tables,
    edges_to_intersections,
    intersections_to_cells,
    merge_edges,
)

from engine.errors import UserError
from engine.importers.base import Cell, Document, Grid, Row, collapse, text_of
from engine.importers.fonts import chinese_font_installed
from engine.importers.limits import MAX_SOURCE_BYTES, Budget
from engine.importers.pdfbounds import check_streams
from engine.importers.pdflines import (
    CJK,
    Char,
    Line,
    Page,
    cell_text,
    drop_running_lines,
    joined,
    paragraphs,
    text_lines,
)
from engine.importers.table import task_number

# A plan runs to tens of pages, a province's to a few hundred; a file beyond this is no plan.
MAX_PAGES = 2_000
# The table finder compares every ruling line with every other: a page drawing more straight
# segments than this (a chart, a pattern) is read as text, with a note.
MAX_PAGE_EDGES = 1_500
# Path segments looked at on one page, forms included, before the page's lines are given up.
MAX_PAGE_SEGMENTS = 100_000
_FORM_DEPTH = 8
_SETTINGS = TableSettings.resolve(None)
# The PDF standard's own fonts: every reader has them (or their metric twins), embedded or not.
_STANDARD_FONTS = frozenset(
    ["Courier", "Helvetica", "Times", "Symbol", "ZapfDingbats"]
    + [f"{base}-{style}" for base in ("Courier", "Helvetica")
       for style in ("Bold", "Oblique", "BoldOblique")]
    + ["Times-Roman", "Times-Bold", "Times-Italic", "Times-BoldItalic"]
)  # fmt: skip


def _damaged(path: Path) -> UserError:
    return UserError(f"{path}：无法作为 PDF 文件打开，文件可能已损坏或不是 PDF 格式")


def _open(path: Path) -> Any:
    with path.open("rb") as source:
        data = source.read(MAX_SOURCE_BYTES + 1)  # build.read_source refused a larger file
    head, tail = data[:1024], data[-4096:]
    if b"%PDF-" not in head:
        raise _damaged(path)
    if b"%%EOF" not in tail:
        # A PDF ends in %%EOF; without it the file was cut off (a broken download or copy),
        # and PDFium would read what is left of it without a word.
        raise UserError(
            f"{path}：PDF 文件不完整或已损坏（可能在下载或复制时被截断），"
            "请重新获取完整的文件后再导入"
        )
    check_streams(path, data)
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise UserError(
                f"{path}：PDF 设置了打开密码，无法读取；请取消密码后另存，或使用原始的 Word/WPS "
                "文件导入"
            ) from None
        if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise UserError(
                f"{path}：PDF 使用了不支持的加密方式，无法读取；请取消加密后另存，或使用原始的 "
                "Word/WPS 文件导入"
            ) from None
        raise _damaged(path) from None
    except Exception:
        raise _damaged(path) from None


class _View:
    """Maps PDF user space (y up, origin anywhere) to the page as shown: top-down points from
    its top-left corner, the page's /Rotate applied."""

    def __init__(self, page: Any) -> None:
        box = pdfium_c.FS_RECTF()
        if not pdfium_c.FPDF_GetPageBoundingBox(page, ctypes.byref(box)):
            box.left, box.bottom = 0.0, 0.0
            box.right = pdfium_c.FPDF_GetPageWidthF(page)
            box.top = pdfium_c.FPDF_GetPageHeightF(page)
        self.left, self.bottom = box.left, box.bottom
        self.w, self.h = box.right - box.left, box.top - box.bottom
        self.rotation = pdfium_c.FPDFPage_GetRotation(page) % 4
        self.width, self.height = (self.h, self.w) if self.rotation % 2 else (self.w, self.h)

    def point(self, x: float, y: float) -> tuple[float, float]:
        u, v = x - self.left, self.h - (y - self.bottom)  # unrotated, top-down
        if self.rotation == 1:  # 90° clockwise
            return self.h - v, u
        if self.rotation == 2:
            return self.w - u, self.h - v
        if self.rotation == 3:
            return v, self.w - u
        return u, v

    def box(self, left: float, top: float, right: float, bottom: float) -> tuple[float, ...]:
        """(x0, top, x1, bottom) shown, of a box given in user space."""
        if self.rotation == 0:
            v0, v1 = self.h - (top - self.bottom), self.h - (bottom - self.bottom)
            return left - self.left, min(v0, v1), right - self.left, max(v0, v1)
        (a, b), (c, d) = self.point(left, top), self.point(right, bottom)
        return min(a, c), min(b, d), max(a, c), max(b, d)


def _chars(textpage: Any, view: _View, budget: Budget, count: int) -> tuple[list[Char], int]:
    """The page's characters as drawn (PDFium's generated spaces and line breaks left out), and
    how many of them no font maps to Unicode."""
    budget.add_text(" " * count)  # refused before a page of ten million characters is read
    out: list[Char] = []
    unmapped = 0
    box = pdfium_c.FS_RECTF()
    pointer = ctypes.byref(box)
    generated, unicode = pdfium_c.FPDFText_IsGenerated, pdfium_c.FPDFText_GetUnicode
    loose_box, font_size = pdfium_c.FPDFText_GetLooseCharBox, pdfium_c.FPDFText_GetFontSize
    origin = pdfium_c.FPDFText_GetCharOrigin
    x, y = ctypes.c_double(0), ctypes.c_double(0)
    x_pointer, y_pointer = ctypes.byref(x), ctypes.byref(y)
    for index in range(count):
        if generated(textpage, index) == 1:
            continue
        code = unicode(textpage, index)
        if not _usable(code):
            continue
        if code == 0xFFFE or code == 0xFFFD or 0xE000 <= code <= 0xF8FF:
            unmapped += 1
        if not loose_box(textpage, index, pointer):
            continue
        x0, top, x1, bottom = view.box(box.left, box.top, box.right, box.bottom)
        size = font_size(textpage, index) or (bottom - top) or 1.0
        if origin(textpage, index, x_pointer, y_pointer):
            baseline = view.point(x.value, y.value)[1]
        else:
            baseline = bottom - 0.2 * size
        out.append(Char(chr(code), x0, x1, top, bottom, size, baseline))
    return out, unmapped


def _usable(code: int) -> bool:
    """A character to keep: not a line break, control character or lone surrogate (clean_text's
    rule)."""
    return not (code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF
                or code >= 0x110000)  # fmt: skip


class _Miner:
    """pdfminer's reading of a page's characters, for the pages PDFium cannot lay out (see the
    module's docstring); the file is parsed once, when a first page needs it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pages: list[Any] | None = None
        self._device: Any = None
        self._interpreter: Any = None
        self._failed = False
        """pdfminer could not parse the file: not tried again for each page."""

    def _open(self) -> list[Any]:
        if self._pages is None:
            from io import BytesIO

            from pdfminer.converter import PDFPageAggregator
            from pdfminer.pdfdocument import PDFDocument
            from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
            from pdfminer.pdfpage import PDFPage
            from pdfminer.pdfparser import PDFParser

            with self.path.open("rb") as source:
                data = BytesIO(source.read(MAX_SOURCE_BYTES + 1))
            self._pages = list(PDFPage.create_pages(PDFDocument(PDFParser(data))))
            resources = PDFResourceManager()
            self._device = PDFPageAggregator(resources, laparams=None)
            self._interpreter = PDFPageInterpreter(resources, self._device)
        return self._pages

    def chars(self, index: int, view: _View) -> list[Char] | None:
        """The characters of page `index` as PDFium's reading gives them (shown coordinates, top
        down), or None when pdfminer cannot read the page."""
        from pdfminer.layout import LTChar, LTContainer

        def walk(items: Any) -> Iterator[Any]:
            for item in items:
                if isinstance(item, LTChar):
                    yield item
                elif isinstance(item, LTContainer):
                    yield from walk(item)

        if self._failed:
            return None
        try:
            page = self._open()[index]
            self._interpreter.process_page(page)
            layout = self._device.get_result()
            rotate, mediabox = page.rotate % 360, tuple(page.mediabox)
            out: list[Char] = []
            for char in walk(layout):
                text = char.get_text()
                if len(text) != 1 or not _usable(ord(text)):
                    continue  # "(cid:12)": a code no map gives a character for
                # pdfminer's device space is the page turned by /Rotate, from the media box's
                # corner: back to user space, then as PDFium's characters are shown
                left, bottom = _user(rotate, mediabox, char.x0, char.y0)
                right, top = _user(rotate, mediabox, char.x1, char.y1)
                x0, top_, x1, bottom_ = view.box(
                    min(left, right), max(top, bottom), max(left, right), min(top, bottom)
                )
                origin = _user(rotate, mediabox, char.matrix[4], char.matrix[5])
                size = char.size or (bottom_ - top_) or 1.0
                out.append(Char(text, x0, x1, top_, bottom_, size, view.point(*origin)[1]))
            return out
        except Exception:  # a file pdfminer reads differently or not at all: PDFium's stand
            self._failed = self._pages is None
            return None


def _user(
    rotate: int, mediabox: tuple[float, ...], u: float, v: float
) -> tuple[float, float]:
    """PDF user space of a point of pdfminer's device space (its page matrix undone)."""
    x0, y0, x1, y1 = mediabox
    if rotate == 90:
        return x1 - v, u + y0
    if rotate == 180:
        return x1 - u, y1 - v
    if rotate == 270:
        return v + x0, y1 - u
    return u + x0, v + y0


def _multiply(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    """The matrix applying m, then n (PDF matrices [a b c d e f])."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s,
            e * p + f * r + t, e * q + f * s + u)  # fmt: skip


class _Drawing:
    """What a page draws besides text: its straight horizontal and vertical segments (as
    pdfplumber's edges, in shown coordinates) and how many pictures it holds."""

    def __init__(self, page: Any, view: _View) -> None:
        self.view = view
        self.edges: list[dict[str, Any]] = []
        self.pictures = 0
        self.segments = 0
        self.overflow = False
        self.loose_fonts: set[str] = set()
        """The fonts the page's text names without embedding them (the standard ones aside)."""
        self._fonts_seen: set[int] = set()
        self._walk(pdfium_c.FPDFPage_CountObjects, pdfium_c.FPDFPage_GetObject, page,
                   (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), 0)  # fmt: skip

    def _walk(
        self, count: Any, get: Any, parent: Any, outer: tuple[float, ...], depth: int
    ) -> None:
        matrix = pdfium_c.FS_MATRIX()
        for index in range(max(count(parent), 0)):
            if self.overflow:
                return
            obj = get(parent, index)
            if not obj:
                continue
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
                self.pictures += 1
                continue
            if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
                self._font(obj)
                continue
            if kind not in (pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_FORM):
                continue
            if not pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(matrix)):
                continue
            own = (matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f)
            placed = _multiply(own, outer)
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                if depth < _FORM_DEPTH:
                    self._walk(pdfium_c.FPDFFormObj_CountObjects, pdfium_c.FPDFFormObj_GetObject,
                               obj, placed, depth + 1)  # fmt: skip
                continue
            self._path(obj, placed)

    def _font(self, text: Any) -> None:
        font = pdfium_c.FPDFTextObj_GetFont(text)
        address = ctypes.cast(font, ctypes.c_void_p).value if font else None
        if address is None or address in self._fonts_seen:
            return
        self._fonts_seen.add(address)
        if pdfium_c.FPDFFont_GetIsEmbedded(font):
            return
        name = _font_name(font)
        if name.split("+")[-1] not in _STANDARD_FONTS:
            self.loose_fonts.add(name or "未命名字体")

    def _path(self, path: Any, m: tuple[float, ...]) -> None:
        fill, stroke = ctypes.c_int(0), ctypes.c_int(0)
        painted = pdfium_c.FPDFPath_GetDrawMode(path, ctypes.byref(fill), ctypes.byref(stroke))
        if painted and fill.value == 0 and not stroke.value:
            return  # a path that paints nothing
        x, y = ctypes.c_float(0), ctypes.c_float(0)
        start: tuple[float, float] | None = None
        last: tuple[float, float] | None = None
        count = pdfium_c.FPDFPath_CountSegments(path)
        self.segments += max(count, 0)
        if self.segments > MAX_PAGE_SEGMENTS:
            self.overflow = True
            return
        a, b, c, d, e, f = m
        for index in range(max(count, 0)):
            segment = pdfium_c.FPDFPath_GetPathSegment(path, index)
            if not segment or not pdfium_c.FPDFPathSegment_GetPoint(
                segment, ctypes.byref(x), ctypes.byref(y)
            ):
                continue
            point = self.view.point(a * x.value + c * y.value + e, b * x.value + d * y.value + f)
            kind = pdfium_c.FPDFPathSegment_GetType(segment)
            if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
                start = point
            elif kind == pdfium_c.FPDF_SEGMENT_LINETO and last is not None:
                self._edge(last, point)
            last = point
            if pdfium_c.FPDFPathSegment_GetClose(segment) and start is not None:
                self._edge(point, start)
                last = start

    def _edge(self, p: tuple[float, float], q: tuple[float, float]) -> None:
        (x0, x1), (top, bottom) = sorted((p[0], q[0])), sorted((p[1], q[1]))
        if bottom - top < 1 and x1 - x0 >= _SETTINGS.edge_min_length_prefilter:
            orientation = "h"
            top = bottom = (top + bottom) / 2
        elif x1 - x0 < 1 and bottom - top >= _SETTINGS.edge_min_length_prefilter:
            orientation = "v"
            x0 = x1 = (x0 + x1) / 2
        else:
            return  # a slanted or tiny segment rules no table
        self.edges.append(
            {"object_type": "line", "orientation": orientation, "x0": x0, "x1": x1, "top": top,
             "bottom": bottom, "doctop": top, "width": x1 - x0, "height": bottom - top}
        )  # fmt: skip


def _font_name(font: Any) -> str:
    """A font's name as the PDF gives it (its BaseFont; the family with an older PDFium)."""
    get = getattr(pdfium_c, "FPDFFont_GetBaseFontName", None) or pdfium_c.FPDFFont_GetFamilyName
    size = get(font, None, 0)
    if size <= 0:
        return ""
    buffer = ctypes.create_string_buffer(size)
    get(font, buffer, size)
    # the file's own bytes, quoted in a warning and the plan file: printable, and not too long
    name = "".join(c for c in buffer.value.decode("utf-8", errors="replace") if c.isprintable())
    return name[:60]


def _tables(edges: list[dict[str, Any]]) -> list[list[tuple[float, float, float, float]]] | None:
    """The cells of each ruled table the edges draw, by pdfplumber's table finder; None when
    the page draws too many lines to look for tables in."""
    s = _SETTINGS
    merged = merge_edges(edges, s.snap_x_tolerance, s.snap_y_tolerance, s.join_x_tolerance,
                         s.join_y_tolerance)  # fmt: skip
    merged = [e for e in merged if e["width" if e["orientation"] == "h" else "height"]
              >= s.edge_min_length]  # fmt: skip
    if len(merged) > MAX_PAGE_EDGES:
        return None
    points = edges_to_intersections(merged, s.intersection_x_tolerance, s.intersection_y_tolerance)
    tables: list[list[tuple[float, float, float, float]]] = cells_to_tables(
        intersections_to_cells(points)
    )
    return tables


def _positions(values: list[float], tolerance: float = 1.0) -> list[float]:
    """Distinct coordinates, those within `tolerance` of each other taken as one."""
    out: list[float] = []
    for value in sorted(values):
        if not out or value - out[-1] > tolerance:
            out.append(value)
    return out


def _grid(
    cells: list[tuple[float, float, float, float]],
    chars: list[Char],
    name: str,
    page: int,
    budget: Budget,
    leftover: list[Char],
    starts: dict[int, list[float]],
) -> Grid:
    """A table's grid: one position per column and row its ruling lines make, a cell over
    several positions repeated in each with its origin. Characters inside the table but in no
    cell go to `leftover`, to be read with the text around it."""
    xs = _positions([c[0] for c in cells])
    ys = _positions([c[1] for c in cells])
    budget.add_cells(len(xs) * len(ys))
    laid: list[list[Cell | None]] = [[None] * len(xs) for _ in ys]
    owner: dict[tuple[int, int], int] = {}  # grid position → the cell covering it
    spans: list[tuple[int, int, list[int], list[int]]] = []
    for index, (x0, top, x1, bottom) in enumerate(cells):
        first_col = min(range(len(xs)), key=lambda i: abs(xs[i] - x0))
        first_row = min(range(len(ys)), key=lambda i: abs(ys[i] - top))
        columns = [i for i in range(first_col, len(xs)) if xs[i] < x1 - 1.0] or [first_col]
        rows = [i for i in range(first_row, len(ys)) if ys[i] < bottom - 1.0] or [first_row]
        spans.append((first_row, first_col, rows, columns))
        for r in rows:
            for c in columns:
                owner.setdefault((r, c), index)
    inside: list[list[Char]] = [[] for _ in cells]
    for char in chars:
        cx, cy = (char.x0 + char.x1) / 2, (char.top + char.bottom) / 2
        found = owner.get((bisect_right(ys, cy) - 1, bisect_right(xs, cx) - 1))
        if found is not None:
            x0, top, x1, bottom = cells[found]
            if x0 <= cx <= x1 and top <= cy <= bottom:
                inside[found].append(char)
                continue
        leftover.append(char)  # between the cells: read with the text around the table
    for index, (first_row, first_col, rows, columns) in enumerate(spans):
        text = cell_text(text_lines(inside[index], page), cells[index][0], cells[index][2])
        cell = Cell(text or None, (first_row, first_col))
        for r in rows:
            for c in columns:
                if laid[r][c] is None:
                    laid[r][c] = cell
    out_rows = [
        Row([cell or Cell(None, (r, c)) for c, cell in enumerate(row)], f"第 {r + 1} 行")
        for r, row in enumerate(laid)
    ]
    grid = Grid(name=name, rows=out_rows)
    starts[id(grid)] = xs  # where its columns start, to tell a piece of it on the next page
    return grid


def _read_page(
    document: Any, index: int, budget: Budget, path: Path, notes: list[str], miner: _Miner
) -> Page:
    number = index + 1
    try:
        page = document[index]
    except Exception:
        raise UserError(f"{path}：第 {number} 页无法读取，文件可能已损坏") from None
    try:
        view = _View(page.raw)
        result = Page(number, view.width, view.height)
        textpage = page.get_textpage()
        try:
            count = textpage.count_chars()
            chars, unmapped = _chars(textpage.raw, view, budget, max(count, 0))
        finally:
            textpage.close()
        drawing = _Drawing(page.raw, view)
    except UserError:
        raise
    except Exception:
        raise UserError(f"{path}：第 {number} 页无法读取，文件可能已损坏") from None
    finally:
        page.close()
    if drawing.loose_fonts and any(CJK.match(char.text) for char in chars):
        result.loose_fonts = sorted(drawing.loose_fonts)
        if not chinese_font_installed() and (mined := miner.chars(index, view)) is not None:
            budget.add_text(" " * max(len(mined) - count, 0))
            chars, result.mined = mined, True
    result.chars, result.pictures, result.unmapped = len(chars), drawing.pictures, unmapped
    tables = _tables(drawing.edges) if drawing.edges and not drawing.overflow else []
    if tables is None or drawing.overflow:
        notes.append(f"第 {number} 页绘有大量线条，未在其中识别表格，该页文字按正文导入，请核对")
        tables = []
    boxes = [
        (min(c[0] for c in t), min(c[1] for c in t), max(c[2] for c in t), max(c[3] for c in t))
        for t in tables
    ]
    outside: list[Char] = []
    in_table: list[list[Char]] = [[] for _ in tables]
    for char in chars:
        cx, cy = (char.x0 + char.x1) / 2, (char.top + char.bottom) / 2
        for k, (x0, top, x1, bottom) in enumerate(boxes):
            if x0 <= cx <= x1 and top <= cy <= bottom:
                in_table[k].append(char)
                break
        else:
            outside.append(char)
    blocks: list[tuple[float, Line | Grid]] = []
    for k, cells in enumerate(tables):
        name = f"第 {number} 页的表格" if len(tables) == 1 else f"第 {number} 页第 {k + 1} 个表格"
        blocks.append(
            (boxes[k][1], _grid(cells, in_table[k], name, number, budget, outside, result.columns))
        )
    blocks += [(line.top, line) for line in text_lines(outside, number)]
    blocks.sort(key=lambda block: block[0])
    result.blocks = [block for _, block in blocks]
    return result


def _pages(path: Path, notes: list[str]) -> list[Page]:
    document = _open(path)
    try:
        try:
            count = len(document)
        except Exception:
            raise _damaged(path) from None
        if count > MAX_PAGES:
            raise UserError(
                f"{path}：PDF 有 {count:,} 页，超过 {MAX_PAGES:,} 页的导入上限；"
                "请只保留分工方案所在的页面后再导入"
            )
        if count == 0:
            raise _damaged(path)
        budget = Budget(path)
        miner = _Miner(path)
        return [
            _read_page(document, index, budget, path, notes, miner) for index in range(count)
        ]
    finally:
        document.close()


def _spans(numbers: list[int]) -> str:
    """Page numbers as a person writes them: 第 3、5–7 页."""
    parts: list[str] = []
    start = previous = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == previous + 1:
            previous = n
            continue
        parts.append(str(start) if start == previous else f"{start}–{previous}")
        if n is not None:
            start = previous = n
    return "、".join(parts)


def _check_text_layer(path: Path, pages: list[Page], notes: list[str]) -> None:
    chars = sum(p.chars for p in pages)
    if chars == 0:
        if any(p.pictures for p in pages):
            raise UserError(
                f"{path}：该 PDF 没有文字层（可能是扫描件），无法读取其中的文字；请使用原始的 "
                "Word/WPS 文件导入，或先用 OCR 软件识别文字后再导入"
            )
        raise UserError(f"{path}：PDF 中没有可读取的文字，请使用原始的 Word/WPS 文件导入")
    unmapped = sum(p.unmapped for p in pages)
    if unmapped * 2 > chars:
        raise UserError(
            f"{path}：PDF 的文字无法识别（字体没有文字编码），请使用原始的 Word/WPS 文件导入，"
            "或先用 OCR 软件识别文字后再导入"
        )
    mined = [p.number for p in pages if p.mined]
    if mined:
        logger.info(
            "{}：第 {} 页的中文字体未嵌入文件，本机没有中文字体，已改用 pdfminer 读取这些页的文字",
            path, _spans(mined),
        )
    loose = [p for p in pages if p.loose_fonts and not p.mined]
    if loose and not chinese_font_installed():
        fonts = "、".join(sorted({name for p in loose for name in p.loose_fonts}))
        notes.append(
            f"第 {_spans([p.number for p in loose])} 页的中文使用了未嵌入文件的字体（{fonts}），"
            "本机没有可替代的中文字体，个别文字可能缺失；请在本机安装中文字体（如 Debian 的 "
            "fonts-noto-cjk 或 fonts-wqy-microhei）后重新导入，或使用原始的 Word/WPS 文件导入"
        )
    scanned = [p.number for p in pages if p.chars == 0 and p.pictures]
    if scanned:
        notes.append(
            f"第 {_spans(scanned)} 页没有文字层（可能是扫描页），其内容未能导入，请对照原件补录"
        )


def _key_column(rows: list[Row]) -> int | None:
    """The column that tells one row of a table from the next: its task numbers where it has
    them, else the leftmost column every row fills with a cell of its own (not one merged down
    from above), when at least two rows show it. Heading rows (one area across) do not count."""
    above: set[tuple[int, int]] = set()
    own: list[list[str]] = []  # each row's texts, "" where a cell is empty or merged from above
    for row in rows:
        if len({cell.origin for cell in row.cells}) > 1:
            own.append([text_of(c.value) if c.origin not in above else "" for c in row.cells])
        above.update(cell.origin for cell in row.cells)
    width = min((len(texts) for texts in own), default=0)
    for c in range(width):
        numbers = [texts[c] for texts in own[1:] if texts[c]]  # own[0]: the header
        if numbers and all(task_number(text) is not None for text in numbers):
            return c
    if len(own) < 3:
        return None
    return next((c for c in range(width) if all(texts[c] for texts in own)), None)


def _split_row(rows: list[Row], after: Grid) -> int | None:
    """Which row of `after`, a table piece opening a page, carries on the last of `rows`, the
    table so far, which closed the page before: Word and WPS let a row break across pages, and
    the rest of the row has text, but none in the table's key column (its number). None when
    it does not."""
    if not after.rows or not rows:
        return None
    first = 0
    if [text_of(c.value) for c in after.rows[0].cells] == [text_of(c.value) for c in rows[0].cells]:
        first = 1  # the header repeated on the new page
    key = _key_column(rows)
    if key is None or first >= len(after.rows):
        return None
    row, last = after.rows[first], rows[-1]
    if len(row.cells) != len(last.cells) or len({cell.origin for cell in row.cells}) == 1:
        return None  # another layout, or a heading row across the table
    if text_of(row.cells[key].value) or not text_of(last.cells[key].value):
        return None
    return first if any(text_of(cell.value) for cell in row.cells) else None


def _same_columns(ours: list[float], theirs: list[float]) -> bool:
    return len(ours) == len(theirs) and all(
        abs(a - b) <= 2 for a, b in zip(ours, theirs, strict=True)
    )


def _join_split_rows(pages: list[Page]) -> None:
    """Join each table row broken across a page break back into one row; one note per table
    names the pages whose first row was so joined."""
    head: Grid | None = None  # the table's first piece, which carries the note
    table: list[Row] = []  # the rows so far of the table that closed the page before
    last: Grid | None = None  # the piece holding its last row
    columns: list[float] = []
    joined_on: dict[int, list[int]] = {}  # id(head) → pages
    heads: dict[int, Grid] = {}
    for page in pages:
        opening = page.blocks[0] if page.blocks else None
        continued = (
            isinstance(opening, Grid)
            and last is not None
            and _same_columns(columns, page.columns[id(opening)])
        )
        if continued and isinstance(opening, Grid) and last is not None and head is not None:
            index = _split_row(table, opening)
            if index is not None:
                _join(last, opening, index)
                joined_on.setdefault(id(head), []).append(page.number)
                heads[id(head)] = head
                if not opening.rows:  # the whole piece was the rest of the row
                    page.blocks.pop(0)
            table += opening.rows
        closing = page.blocks[-1] if page.blocks else None
        if isinstance(closing, Grid):
            if closing is not opening or not continued:
                head, table = closing, list(closing.rows)
            if closing.rows:
                last, columns = closing, page.columns[id(closing)]
        elif page.blocks:  # text after the table: the next page's table is another
            head, last, table = None, None, []
    for key, numbers in joined_on.items():
        heads[key].notes.append(
            f"表格在第 {_spans(numbers)} 页开头的行是上一页末行跨页断开的后半部分，"
            "已与该行合并，请核对"
        )


def _join(before: Grid, after: Grid, index: int) -> None:
    """Append row `index` of `after` to the last row of `before`, cell by cell."""
    rest, last = after.rows.pop(index), before.rows[-1]
    for cell, covered in collapse(rest):
        text = text_of(cell.value)
        if not text:
            continue
        old = last.cells[covered[0]]
        new = Cell(joined(text_of(old.value), text), old.origin)
        for row in before.rows:  # every position of the area, a merge down included
            row.cells = [new if c.origin == old.origin else c for c in row.cells]


def _grids(pages: list[Page], notes: list[str]) -> list[Grid]:
    """The tables in order, each with the lines above it since the table before."""
    grids: list[Grid] = []
    lines: list[str] = []
    for page in pages:
        for block in page.blocks:
            if isinstance(block, Line):
                lines.append(block.text)
                continue
            block.title_lines = lines
            grids.append(block)
            lines = []
    if grids:
        grids[0].notes.extend(notes)
    return grids


def document(path: Path) -> Document:
    path = Path(path)
    notes: list[str] = []
    pages = _pages(path, notes)
    _check_text_layer(path, pages, notes)
    drop_running_lines(pages, notes)
    _join_split_rows(pages)
    return Document(grids=_grids(pages, notes), paragraphs=paragraphs(pages), notes=notes)


def read(path: Path) -> Iterator[Grid]:
    yield from document(path).grids
