"""A PDF page's text as lines, and lines as the paragraphs a person wrote.

PDFium gives characters with their boxes; here they become lines (grouped by height, ordered
left to right, bold faked by overprinting read once), a table cell's lines become its text, and
the lines outside tables become paragraphs. A line continues the one before it unless that one
ended a sentence (。；：！？, or a units bracket: "（市司法局牵头）"), or the line starts a numbered
item (一、 （一） 1. （1））, is indented where the document indents its paragraphs, or follows a
line that stopped well short of the right margin; a sentence ending just where a line wraps, or
inside a bracket, goes on. Running headers and footers (a line that opens or closes most pages)
and page numbers ("— 3 —", "第 3 页 共 10 页") are left out, and the headers named.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

from engine.importers.base import Grid, Paragraph

CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
_ASCII_LETTER = re.compile("[A-Za-z]")
# A line's start that stays together: a Latin word or number, or a character, with the opening
# punctuation before it and the closing punctuation after it ("例》", "〔2019〕", "《珠").
_LEAD = re.compile(
    r"[（《「『“‘〔【〖(\[]*(?:[A-Za-z0-9.,%]+|.)[，。、；：？！）》」』”’〕】〗,.;:?!)\]]*"
)
# A page number alone on its line: — 3 —, - 3 -, 3, 3/10, 第3页, 第 3 页 共 10 页, 第3页/共10页.
_PAGE_NUMBER = re.compile(
    r"^[\s\-—–－―~～·•]*(?:\d{1,4}|第\s*\d{1,4}\s*页(?:\s*[,，/、]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|[Pp]age\s*\d{1,4}(?:\s*of\s*\d{1,4})?)[\s\-—–－―~～·•]*$"
)
_NUMBERED = re.compile(
    r"^\s*(?:第?[一二三四五六七八九十百]{1,4}[、.．]|[（(][一二三四五六七八九十百]{1,4}[)）]"
    r"|\d{1,3}[、.．](?!\d)|[（(]\d{1,3}[)）]|[①-⑳])"
)
_SENTENCE_END = re.compile(r"[。；：！？;:!?][”’\"'」』]*$")

# A units bracket closing an item: "（市司法局牵头，市财政局参与）", "（各区政府负责）。".
_UNITS_BRACKET_END = re.compile(
    r"[（(][^（()）]*(?:负责|牵头|参与|配合|指导|会同|落实|承担|按职责)[^（()）]*[)）]$"
)

_HEADER_BAND = 0.12  # running headers and footers stand in the top and bottom 12 % of a page


@dataclass(slots=True)
class Char:
    """One character as drawn, top-down coordinates in points."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    baseline: float
    """Where the character stands: characters of one line share it, whatever their fonts."""


@dataclass(slots=True)
class Line:
    """One line of text on a page, top-down coordinates in points."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    page: int


@dataclass
class Page:
    """What one page holds, as read."""

    number: int
    width: float
    height: float
    blocks: list[Line | Grid] = field(default_factory=list)
    """The page's lines outside tables and its tables, top to bottom."""
    chars: int = 0
    pictures: int = 0
    unmapped: int = 0
    loose_fonts: list[str] = field(default_factory=list)
    """The fonts its Chinese text may be in that the file names without embedding them."""
    mined: bool = False
    """Its characters were read by pdfminer, PDFium having no font to lay those fonts out."""
    columns: dict[int, list[float]] = field(default_factory=dict)
    """Where each table's columns start, by id() of its grid."""


def text_lines(chars: list[Char], page: int) -> list[Line]:
    """Characters grouped into lines, top to bottom, each line left to right."""
    ordered = sorted(chars, key=lambda c: c.baseline)
    groups: list[list[Char]] = []
    baseline = 0.0
    for char in ordered:
        if groups and char.baseline - baseline <= 0.3 * char.size:
            groups[-1].append(char)
            continue
        groups.append([char])
        baseline = char.baseline
    lines = []
    for group in groups:
        group.sort(key=lambda c: c.x0)
        text: list[str] = []
        previous: Char | None = None
        kept: list[Char] = []
        for char in group:
            if (
                previous is not None
                and char.text == previous.text
                and abs(char.x0 - previous.x0) < 0.25 * char.size
                and abs(char.top - previous.top) < 0.25 * char.size
            ):
                continue  # drawn twice a little apart: bold faked by overprinting
            kept.append(char)
            if previous is not None and char.text != " " and previous.text != " ":
                gap = char.x0 - previous.x1
                latin = not CJK.match(char.text) and not CJK.match(previous.text)
                if gap > (0.2 if latin else 1.0) * max(char.size, previous.size):
                    text.append(" ")  # a word space PDFium did not keep, or a gap in a line
            text.append(char.text)
            previous = char
        inked = [c for c in kept if not c.text.isspace()] or kept
        joined = "".join(text).strip()
        if not joined:
            continue
        lines.append(
            Line(
                text=joined,
                x0=min(c.x0 for c in inked),
                x1=max(c.x1 for c in inked),
                top=min(c.top for c in group),
                bottom=max(c.bottom for c in group),
                size=statistics.median(c.size for c in inked),
                page=page,
            )
        )
    return lines


def joined(*pieces: str) -> str:
    """Lines of one paragraph wrapped apart, joined again: Chinese text has no space at a wrap,
    a Latin word does."""
    out: list[str] = []
    for piece in pieces:
        if (
            out
            and out[-1]
            and piece
            and _ASCII_LETTER.match(out[-1][-1])
            and _ASCII_LETTER.match(piece[0])
        ):
            out.append(" ")
        out.append(piece)
    return "".join(out)


def _lead_width(text: str, size: float) -> float:
    """About how wide the start of a line is that no line break may split: a run of Latin
    letters or digits, or one Chinese character, with the opening punctuation before it (which
    may not end a line) and the closing punctuation after it (which may not open one)."""
    lead = _LEAD.match(text)
    piece = lead.group(0) if lead else text[:1]
    return sum(size * (0.55 if char.isascii() else 1.0) for char in piece)


def cell_text(lines: list[Line], left: float, right: float) -> str:
    """A cell's lines as its text: where the start of a line would have fitted at the end of
    the line before, that line was broken on purpose (a new paragraph of the cell); else it
    wrapped, and the two are one."""
    if not lines:
        return ""
    padding = min(max(min(line.x0 for line in lines) - left, 0.0), lines[0].size)
    paragraphs: list[list[str]] = [[lines[0].text]]
    for before, line in pairwise(lines):
        room = right - padding - before.x1
        # (and a line that stops less than two characters short is taken as full: layout
        # programs keep words together that a reader cannot see)
        if room < max(_lead_width(line.text, line.size) + 0.25 * line.size, 2 * line.size):
            paragraphs[-1].append(line.text)
        else:
            paragraphs.append([line.text])
    return "\n".join(joined(*pieces) for pieces in paragraphs)


def drop_running_lines(pages: list[Page], notes: list[str]) -> None:
    """Drop page numbers and running headers and footers: a line in a page's top or bottom
    band that is a page number, or whose text (numbers aside) opens or closes most pages."""

    def candidates(page: Page) -> list[tuple[str, Line]]:
        lines = [b for b in page.blocks if isinstance(b, Line)]
        out: list[tuple[str, Line]] = []
        for line in lines[:2]:
            if line.bottom > page.height * _HEADER_BAND:
                break
            out.append(("top", line))
        for line in lines[::-1][:2]:
            if line.top < page.height * (1 - _HEADER_BAND) or any(ln is line for _, ln in out):
                break
            out.append(("bottom", line))
        return out

    def key(side: str, line: Line) -> tuple[str, str]:
        return side, re.sub(r"\d+", "#", re.sub(r"\s+", "", line.text))

    seen: Counter[tuple[str, str]] = Counter()
    for page in pages:
        seen.update({key(side, line) for side, line in candidates(page)})
    with_text = sum(1 for p in pages if any(isinstance(b, Line) for b in p.blocks))
    repeated = {k for k, n in seen.items() if n >= 2 and n * 2 >= with_text}
    dropped: dict[str, None] = {}
    for page in pages:
        drop = set()
        for side, line in candidates(page):
            if _PAGE_NUMBER.match(line.text):
                drop.add(id(line))
            elif key(side, line) in repeated:
                drop.add(id(line))
                dropped.setdefault(line.text, None)
        page.blocks = [b for b in page.blocks if id(b) not in drop]
    for text in list(dropped)[:3]:
        notes.append(f"PDF 各页的页眉或页脚“{text}”未作为正文导入")


class Flow:
    """The document's geometry that tells a wrapped line from a paragraph's end."""

    def __init__(self, lines: list[Line]) -> None:
        body = [ln for ln in lines if len(ln.text) >= 4] or lines
        # the left margin: the leftmost start that several lines share (a paragraph's first
        # lines are indented, and may outnumber the others in a plan of short items)
        starts = Counter(round(ln.x0) for ln in body)
        shared = sorted(x for x, n in starts.items() if n >= max(2, len(body) // 20))
        self.left = shared[0] if shared else min(starts, default=0)
        rights = sorted(ln.x1 for ln in body)
        self.right = rights[min(len(rights) - 1, int(0.95 * len(rights)))] if rights else 0.0
        indents = [ln for ln in body if 1.5 * ln.size <= ln.x0 - self.left <= 2.6 * ln.size]
        self.indents = len(indents) >= 2

    def indented(self, line: Line) -> bool:
        return self.indents and line.x0 - self.left > 0.8 * line.size

    def full(self, line: Line) -> bool:
        return self.right - line.x1 < 1.5 * line.size

    def centred(self, line: Line) -> bool:
        middle = (self.left + self.right) / 2
        centre = (line.x0 + line.x1) / 2
        return line.x0 - self.left > 2 * line.size and abs(centre - middle) < 0.5 * line.size

    def continues(self, before: Line, line: Line, in_bracket: bool) -> bool:
        """Whether `line` goes on with the paragraph whose last line is `before` (and which
        has a bracket open when `in_bracket`)."""
        if _NUMBERED.match(line.text):
            return False
        if abs(before.size - line.size) > 0.15 * max(before.size, line.size):
            return False  # a title in a larger size, a note in a smaller one
        if before.page == line.page and line.top - before.bottom > 1.5 * before.size:
            return False  # a blank line between
        if in_bracket:
            return True  # "（A、B负责。列第一位者为牵头单位）" wrapped after 负责。
        ended = bool(_SENTENCE_END.search(before.text) or _UNITS_BRACKET_END.search(before.text))
        if self.centred(line):
            # a title set centred over two lines, or wrapped with its rest centred
            wrapped = self.full(before) and before.x0 - self.left < line.size
            return not ended and (self.centred(before) or wrapped)
        if self.indented(line):
            return False
        if ended:
            # A sentence may end just where the line wraps; where paragraphs are indented, a
            # line that is not indented after a full one goes on with it.
            return self.indents and self.full(before)
        return self.right - before.x1 < 4 * before.size


def _depth(text: str) -> int:
    return text.count("（") + text.count("(") - text.count("）") - text.count(")")


def paragraphs(pages: list[Page]) -> list[Paragraph]:
    """The lines outside tables joined into paragraphs, in order; a table ends a paragraph."""
    flow = Flow([b for p in pages for b in p.blocks if isinstance(b, Line)])
    out: list[Paragraph] = []
    pieces: list[list[str]] = []  # each paragraph's lines, joined once it is done
    before: Line | None = None
    depth = 0  # brackets the paragraph leaves open
    for page in pages:
        for block in page.blocks:
            if isinstance(block, Grid):
                before = None
                continue
            if before is not None and flow.continues(before, block, depth > 0):
                pieces[-1].append(block.text)
                depth += _depth(block.text)
            else:
                out.append(Paragraph(block.text, f"第 {block.page} 页"))
                pieces.append([block.text])
                depth = _depth(block.text)
            before = block
    for paragraph, lines in zip(out, pieces, strict=True):
        paragraph.text = joined(*lines)
    return out
