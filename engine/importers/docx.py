"""Word documents (.docx), read with python-docx: every table, with the paragraphs above it.

A table comes back with one cell per layout-grid column, as python-docx's `_Row.cells` gives
them: a cell spanning columns (gridSpan) appears once per column, and every row of a vertically
merged cell (vMerge) repeats the top cell; both carry the origin of their `<w:tc>` element, which
is how the grid tells a merged area from equal texts. The grid is worked out here from the
`<w:tc>` elements in one pass rather than through `_Row.cells`, which looks for the top of a
vertical merge by walking up row by row (quadratic in a long merge) and lays out a cell spanning a
billion columns before anyone can count them; here each row's width is counted, and refused past
the limits, before its cells are made.

The package is checked before python-docx opens it (`engine.importers.package`), since
python-docx reads and parses every part whole.

`document` also gives the body's paragraphs outside the tables, in order, each with the outline
level its Word heading style (or outline level) marks, for a prose plan (实施意见, 行动方案).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
from docx.oxml.document import CT_Document
from docx.oxml.ns import nsmap, qn
from docx.oxml.table import CT_Tbl, CT_Tc
from lxml import etree

from engine.errors import UserError
from engine.importers.base import Cell, Document, Grid, Paragraph, Row, clean_text
from engine.importers.limits import Budget
from engine.importers.package import check_package


def _damaged(path: Path) -> UserError:
    return UserError(f"{path}：无法作为 Word 文档（.docx）打开，文件可能已损坏或不是 .docx 格式")


def _open(path: Path) -> Any:
    """The python-docx document, its body checked."""
    check_package(path, "Word", _damaged(path))
    try:
        document = docx.Document(str(path))
    except Exception:  # python-docx raises many types for a damaged package
        raise _damaged(path) from None
    element = document.element
    if not isinstance(element, CT_Document) or element.body is None:
        raise _damaged(path)  # a document part that is no <w:document>, or one without a body
    return document


# The XPath python-docx's `CT_P.text` and `CT_R.text` evaluate, compiled once: python-docx
# compiles them again at every call, which is most of the time a large table takes.
_W = {"w": nsmap["w"]}
_PARAGRAPHS = etree.XPath("w:p", namespaces=_W)
_RUNS_AND_LINKS = etree.XPath("w:r | w:hyperlink", namespaces=_W)
_LINK_RUNS = etree.XPath("w:r", namespaces=_W)
_RUN_PARTS = etree.XPath("w:br | w:cr | w:noBreakHyphen | w:ptab | w:t | w:tab", namespaces=_W)
_RUN = qn("w:r")


def _run_text(run: Any) -> str:
    return "".join(str(part) for part in _RUN_PARTS(run))  # each part's text (w:tab: "\t", …)


def paragraph_text(p: Any) -> str:
    """A paragraph's text as python-docx's `Paragraph.text` gives it."""
    pieces: list[str] = []
    for element in _RUNS_AND_LINKS(p):
        if element.tag == _RUN:
            pieces.append(_run_text(element))
        else:  # a hyperlink: the text of its runs
            pieces.extend(_run_text(run) for run in _LINK_RUNS(element))
    return "".join(pieces)


def _text(tc: CT_Tc) -> str:
    """A cell's text as python-docx's `_Cell.text` gives it: its paragraphs, one per line."""
    return clean_text("\n".join(paragraph_text(p) for p in _PARAGRAPHS(tc))).strip()


class _Merge(ValueError):
    """A vertical merge that continues a cell the row above does not have."""


def _grid(tbl: CT_Tbl, name: str, title_lines: list[str], budget: Budget) -> Grid:
    # <w:tc> element → where it first appeared, and its text. Keyed by the element itself, which
    # also keeps its lxml proxy alive, so the same XML node keeps giving the same object.
    origins: dict[Any, tuple[int, int]] = {}
    texts: dict[Any, str] = {}
    rows: list[Row] = []
    above: dict[int, CT_Tc] = {}  # grid offset → the top cell of what starts there, row above
    for r, tr in enumerate(tbl.tr_lst):
        before, after = tr.grid_before, tr.grid_after
        starts: dict[int, CT_Tc] = {}
        laid: list[tuple[CT_Tc, int]] = []  # each cell's top cell and how many columns it fills
        offset = before
        for tc in tr.tc_lst:
            top = tc
            if tc.vMerge == "continue":  # the cell above, at the same grid offset, goes on
                found = above.get(offset)
                if found is None:
                    raise _Merge(f"row {r}: nothing above grid offset {offset}")
                top = found
            starts.setdefault(offset, top)
            laid.append((top, max(top.grid_span, 0)))
            offset += tc.grid_span
        budget.add_cells(max(before, 0) + sum(n for _, n in laid) + max(after, 0))
        cells = [Cell(None, (r, c)) for c in range(before)]
        for top, columns in laid:
            if top not in texts:
                texts[top] = text = _text(top)
                budget.add_text(text)
            origin = origins.setdefault(top, (r, len(cells)))
            cells.extend(Cell(texts[top], origin) for _ in range(columns))
        cells.extend([Cell(None, (r, c)) for c in range(len(cells), len(cells) + after)])
        rows.append(Row(cells, f"第 {r + 1} 行"))
        above = starts
    return Grid(name=name, rows=rows, title_lines=title_lines)


def read(path: Path) -> Iterator[Grid]:
    yield from _grids(_open(path).element.body, path)


def _grids(body: Any, path: Path) -> Iterator[Grid]:
    budget = Budget(path)
    try:
        blocks = body.inner_content_elements  # the body's paragraphs and tables, in order
        tables = [i for i, block in enumerate(blocks) if isinstance(block, CT_Tbl)]
    except Exception:
        raise _damaged(path) from None
    several = len(tables) > 1
    lines: list[str] = []
    index = 0
    # Paragraphs after the last table title no table: they are not read.
    for block in blocks[: tables[-1] + 1 if tables else 0]:
        if isinstance(block, CT_Tbl):
            index += 1
            try:
                grid = _grid(block, f"第 {index} 个表格" if several else "", lines, budget)
            except UserError:
                raise
            except Exception:  # merges that contradict the grid, a span that is no number
                raise UserError(
                    f"{path}：第 {index} 个表格的合并单元格无法读取，请在 Word 中检查该表格后另存"
                ) from None
            yield grid
            lines = []
            continue
        try:
            text = clean_text(paragraph_text(block)).strip()
        except Exception:
            raise _damaged(path) from None
        if text:
            budget.add_text(text)
            lines.append(text)


# Heading styles by name, as Word (Heading 1, Title) and WPS (标题 1) name them.
_HEADING_NAME = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.I)
_TITLE_NAMES = {"title", "标题"}
_STYLES = etree.XPath("w:style", namespaces=_W)
_STYLE_ID = qn("w:styleId")
_VAL = qn("w:val")
_P_STYLE = etree.XPath("w:pPr/w:pStyle/@w:val", namespaces=_W)
_OUTLINE = etree.XPath("w:pPr/w:outlineLvl/@w:val", namespaces=_W)
_NAME = etree.XPath("w:name/@w:val", namespaces=_W)
_BASED_ON = etree.XPath("w:basedOn/@w:val", namespaces=_W)


def _outline(value: list[Any]) -> int | None:
    """An outlineLvl value (0 for a first-level heading, 9 for body text) as a heading level."""
    text = str(value[0]) if value else ""
    return int(text) + 1 if text.isdigit() and int(text) < 9 else None


def _heading_levels(document: Any) -> dict[str, int]:
    """Style id → the heading level it marks (0 for the title), its base styles followed."""
    own: dict[str, int | None] = {}
    based: dict[str, str] = {}
    try:
        styles = _STYLES(document.styles.element)
    except Exception:  # a package without a styles part: no heading styles
        return {}
    for style in styles:
        style_id = str(style.get(_STYLE_ID) or "")
        name = str((_NAME(style) or [""])[0]).strip()
        found = _HEADING_NAME.match(name)
        own[style_id] = (
            int(found.group(1)) if found
            else 0 if name.lower() in _TITLE_NAMES
            else _outline(_OUTLINE(style))
        )
        if base := _BASED_ON(style):
            based[style_id] = str(base[0])
    levels: dict[str, int] = {}
    for style_id in own:
        seen, current = set(), style_id
        while current in own and current not in seen:  # a cycle of basedOn is no heading
            seen.add(current)
            if (level := own[current]) is not None:
                levels[style_id] = level
                break
            current = based.get(current, "")
    return levels


def document(path: Path) -> Document:
    """The file's tables (as `read` gives them) and its body paragraphs outside the tables."""
    word = _open(path)
    grids = list(_grids(word.element.body, path))
    levels = _heading_levels(word)
    paragraphs: list[Paragraph] = []
    budget = Budget(path)
    try:
        for block in word.element.body.inner_content_elements:
            if isinstance(block, CT_Tbl):
                continue
            text = clean_text(paragraph_text(block)).strip()
            if not text:
                continue
            budget.add_text(text)
            style = _P_STYLE(block)
            level = _outline(_OUTLINE(block))
            if level is None and style:
                level = levels.get(str(style[0]))
            paragraphs.append(Paragraph(text, f"第 {len(paragraphs) + 1} 段", level))
    except UserError:
        raise
    except Exception:
        raise _damaged(path) from None
    return Document(grids=grids, paragraphs=paragraphs)
