"""Web pages (.html, .htm) saved from a government website: the plan table, or the prose plan.

A saved page holds much that is no plan: the site's header and menus, a breadcrumb (当前位置：…),
share bars, the footer, scripts. These are left out: elements that are never text (<script>,
<style>, …), the page's <nav>, <aside>, <header>, <footer> and <form>, hidden elements, and
elements whose id or class names such a part (nav, menu, footer, breadcrumb, share, …), except
one that holds the plan table or the page's content; and lines every site prints (【字体：大 中
小】, 打印本页, 发布时间：…). The rest is read in document order from the page's main content: the
element holding the plan table, or else the one (id/class content, article, zoom, TRS_Editor, a
layout table's cell, …) holding most of the text, together with the headline above it.

Tables: a page laid out with tables holds the plan table inside them; a table is a grid when it
reads as a plan table (a header naming its columns) or holds data (cells without tables of their
own or paragraphs of running text), and the text of the layout tables around it is running text.
Merged cells (rowspan, colspan) repeat the area's value with its top-left origin, as Word's
merges do in `engine.importers.docx`. A data table that is no plan table is named in a note, for
a prose plan's warnings.

The page is read in the encoding it declares (`engine.importers.charset`). A web archive (.mht,
.mhtml: 网页，单个文件) is read for the page it holds.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

from engine.errors import UserError
from engine.importers.base import Cell, Document, Grid, Paragraph, Row, cells_of, clean_text
from engine.importers.charset import decode
from engine.importers.header import HEADER_SCAN_ROWS, header_roles
from engine.importers.limits import MAX_MARKUP, MAX_SOURCE_BYTES, Budget, too_large_file

# --- the page's parts ----------------------------------------------------------------------------

# Elements that hold no text a reader sees.
_NEVER_TEXT = (
    "script", "style", "noscript", "template", "iframe", "frame", "frameset", "object", "embed",
    "applet", "svg", "math", "canvas", "audio", "video", "map", "input", "select", "option",
    "textarea", "button", "head", "title", "meta", "link",
)  # fmt: skip
# The page's own chrome, by element; <header> and <footer> inside an <article> or <main> are the
# article's (its headline, its date) and stay.
_CHROME_TAGS = {"nav", "aside", "header", "footer", "form"}
# Words of an id or class naming the site's chrome, and the page's content. A name with words of
# both (content-top, article-info) is neither, except where a chrome word is unmistakable
# (main-nav, footer-content); TRS_Editor (the TRS content system's article body) is content.
_CHROME_WORDS = {
    "nav", "navbar", "navigation", "topnav", "subnav", "mainnav", "menu", "menus", "menubar",
    "submenu", "header", "head", "topbar", "top", "bottom", "footer", "foot", "breadcrumb",
    "breadcrumbs", "crumb", "crumbs", "bread", "position", "location", "weizhi", "dqwz", "share",
    "bdshare", "bshare", "sharebox", "sidebar", "side", "copyright", "banquan", "search", "login",
    "toolbar", "tools", "print", "qrcode", "ewm", "banner", "gotop", "backtop", "friendlink",
    "yqlj", "related", "info", "date", "source", "editor", "fontsize",
}  # fmt: skip
_STRONG_CHROME = {
    "nav", "navbar", "menu", "menubar", "breadcrumb", "breadcrumbs", "crumb", "crumbs", "share",
    "bdshare", "footer", "copyright", "sidebar",
}  # fmt: skip
_CONTENT_WORDS = {
    "content", "article", "zoom", "trs", "detail", "details", "main", "text", "txt", "zhengwen",
    "zw", "con", "cont", "body", "ucap", "wenzhang",
}  # fmt: skip
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
# Lines every site prints around an article, recognised by their words when no id or class names
# them: 当前位置：首页 > …, 【字体：大 中 小】, 打印本页, 关闭窗口, 分享到：, 扫一扫在手机打开,
# 发布时间：… 来源：…, 责任编辑：…
_CHROME_LINE = re.compile(
    r"^(?:当前位置|您现在的位置|您的位置|所在位置|现在位置)\s*[:：]"
    r"|^[【\[]?\s*字[体号]\s*[:：]"
    r"|^(?:[【\[]?\s*(?:打印(?:本页|此页|文章|页面)?|关闭(?:窗口|本页)?|返回顶部|收藏本页|"
    r"分享)\s*[】\]]?\s*)+$"
    r"|^分享到\s*[:：]?|^扫一扫|^(?:上一篇|下一篇)\s*[:：]"
    r"|^(?:发布(?:时间|日期)|信息来源|来源|浏览(?:次数|量)?|阅读(?:次数|量)|点击(?:数|量|次数)"
    r"|访问量|责任编辑|编辑|作者)\s*[:：]"
)
_LONGEST_CHROME_LINE = 60


def _names(el: Any) -> list[list[str]]:
    return [
        [w.lower() for w in _WORD.findall(name)]
        for name in [el.get("id") or "", *(el.get("class") or "").split()]
        if name
    ]


def _marked(el: Any) -> str | None:
    """Whether its id or a class names the element "content" or "chrome"; None when neither."""
    if not isinstance(el.tag, str) or (el.get("id") is None and el.get("class") is None):
        return None
    verdict = None
    for words in _names(el):
        if not words:
            continue
        if words[0] == "trs":
            return "content"
        content = any(w in _CONTENT_WORDS for w in words)
        chrome = any(w in _CHROME_WORDS for w in words)
        if content and not chrome:
            return "content"
        if chrome and (not content or any(w in _STRONG_CHROME for w in words)):
            verdict = "chrome"
    return verdict


_SECTIONS = ("thead", "tbody", "tfoot")


def _rows(table: Any) -> list[Any]:
    """A table's own rows as a browser lays them out: <thead> first, <tfoot> last, wherever
    they stand in the markup (HTML 4 put <tfoot> before <tbody>)."""
    head: list[Any] = []
    body: list[Any] = []
    foot: list[Any] = []
    for child in table:
        if child.tag == "tr":
            body.append(child)
        elif child.tag in _SECTIONS:
            part = head if child.tag == "thead" else foot if child.tag == "tfoot" else body
            part.extend(tr for tr in child if tr.tag == "tr")
    return head + body + foot


def _cells(tr: Any) -> list[Any]:
    """A row's cells. A row holds nothing but cells, so any other element in it that holds text
    is a cell whose tag was mistyped or cut (`<d>` for `<td>` in a damaged page): it is read as
    a cell, and the cells the parser nested inside it are put back after it, so that its text
    and theirs stay in their places rather than being lost or run together."""
    for child in list(tr):
        if child.tag in ("td", "th") or not isinstance(child.tag, str) or child.tag in _NOT_CELLS:
            continue
        nested = [c for c in child if c.tag in ("td", "th")]
        if not nested and not "".join(child.itertext()).strip():
            continue
        child.tag = "td"
        at = tr.index(child)
        for offset, cell in enumerate(nested, start=1):
            child.remove(cell)
            tr.insert(at + offset, cell)
    return [td for td in tr if td.tag in ("td", "th")]


_NOT_CELLS = frozenset({"script", "style", "template", "tr", "thead", "tbody", "tfoot", "table"})


def _table_of(td: Any) -> Any:
    up = td.getparent()  # <tr>
    up = up.getparent() if up is not None else None
    return up.getparent() if up is not None and up.tag in _SECTIONS else up


Sizes = dict[Any, tuple[int, int]]


def _measure(root: Any) -> Sizes:
    """Each element's length of text (whitespace aside) and number of elements, in one pass
    from the leaves up: a page nested thousands deep is not walked again for every level."""
    text: dict[Any, int] = {}
    count: dict[Any, int] = {}
    elements = list(root.iter())
    for el in reversed(elements):  # an element's children come after it in document order
        own = text.get(el, 0) + (len(el.text.strip()) if el.text else 0)
        text[el] = own
        count[el] = size = count.get(el, 0) + 1
        if el is not root:
            up = el.getparent()
            text[up] = text.get(up, 0) + own + (len(el.tail.strip()) if el.tail else 0)
            count[up] = count.get(up, 0) + size
    return {el: (text[el], count[el]) for el in elements}


# A header cell is a few words: a cell with more text or markup is none.
_HEADER_TEXT, _HEADER_MARKUP = 300, 50


def _header_text(td: Any, sizes: Sizes) -> str:
    text, count = sizes.get(td, (0, 1))
    if text > _HEADER_TEXT or count > _HEADER_MARKUP:
        return ""
    return " ".join("".join(td.itertext()).split())


def _reads_as_plan(table: Any, sizes: Sizes) -> bool:
    """Whether a table has a row naming two plan columns (任务, 责任单位, 完成时限, …)."""
    for r, tr in enumerate(_rows(table)[:HEADER_SCAN_ROWS]):
        row = Row(cells_of([_header_text(td, sizes) for td in _cells(tr)], r), "")
        if len(header_roles(row)) >= 2:
            return True
    return False


_BLOCK_CHILDREN = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li"}
# A cell of running text: two paragraphs or more, and this much text.
_RUNNING_TEXT = 60


def _lays_out(table: Any, sizes: Sizes) -> bool:
    """Whether a table without a plan header lays out the page rather than holding data: it
    holds tables of its own, has one column, or a cell holds paragraphs of running text."""
    if any(True for _ in table.iterdescendants("table")):
        return True
    rows = [_cells(tr) for tr in _rows(table)]
    if all(len(cells) <= 1 for cells in rows):
        return True
    for cells in rows:
        for td in cells:
            if sizes.get(td, (0, 0))[0] < _RUNNING_TEXT:
                continue
            if sum(1 for child in td.iter() if child.tag in _BLOCK_CHILDREN) >= 2:
                return True
    return False


# --- text ----------------------------------------------------------------------------------------

_BLOCKS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "table",
    "tr", "td", "th", "thead", "tbody", "tfoot", "caption", "blockquote", "section", "article",
    "main", "center", "pre", "address", "figure", "figcaption", "hr", "form", "fieldset",
    "legend", "details", "summary", "header", "footer", "nav", "aside", "body", "html", "hgroup",
}  # fmt: skip
# Full-width punctuation: CJK symbols (、。《》【】), full-width forms (，：；（）), quotes, dashes.
_CJK_PUNCTUATION = "\u3001-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2014-\u2026"
# A line break in the page's source is a space, as browsers and LibreOffice take it (LibreOffice
# wraps 省委编办 省财政厅 at its space); but beside full-width punctuation a space means nothing,
# and an editor's wrap there (全覆盖，\n2019年) would put one into a unit's or a deadline's text.
_PUNCTUATION_BREAK = re.compile(
    f"(?<=[{_CJK_PUNCTUATION}])[ \t\r\f]*\n[ \t\r\n\f]*"
    f"|[ \t\r\f]*\n[ \t\r\n\f]*(?=[{_CJK_PUNCTUATION}])"
)
_SPACES = re.compile("[ \t\r\n\f\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")


def _line(pieces: list[str]) -> str:
    text = _PUNCTUATION_BREAK.sub("", "".join(pieces))
    return clean_text(_SPACES.sub(" ", _INVISIBLE.sub("", text))).strip()


@dataclass
class _Flow:
    """Lines of text and data tables, in document order."""

    items: list[tuple[str, int | None] | Any] = field(default_factory=list)
    pieces: list[str] = field(default_factory=list)
    heading: int | None = None

    def add(self, text: str | None) -> None:
        if text:
            self.pieces.append(text)

    def brk(self) -> None:
        if self.pieces:
            text = _line(self.pieces)
            self.pieces = []
            if text:
                self.items.append((text, self.heading))


def _flow(root: Any, tables: set[Any], flow: _Flow | None = None) -> _Flow:
    """The text of `root` as lines (a block element or a <br> ends one), with the data tables
    in `tables` standing as themselves between them. Iterative: a page may nest deeply."""
    flow = flow or _Flow()
    headings: list[int | None] = []
    numbers: dict[Any, str] = {}  # items of the numbered lists entered → their numbers
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        el, leaving = stack.pop()
        tag = el.tag if isinstance(el.tag, str) else ""
        if leaving:
            if tag in _BLOCKS:
                flow.brk()
            if tag in _HEADINGS:
                flow.heading = headings.pop()
            if el is not root:
                flow.add(el.tail)
            continue
        if el in tables and el is not root:
            flow.brk()
            flow.items.append(el)
            flow.add(el.tail)
            continue
        if tag == "br":
            flow.brk()
            flow.add(el.tail)
            continue
        if tag in _BLOCKS:
            flow.brk()
        if tag in _HEADINGS:
            headings.append(flow.heading)
            flow.brk()
            flow.heading = _HEADINGS[tag]
        if tag == "ol":
            numbers.update(_list_numbers(el))
        if tag == "li":
            flow.add(numbers.pop(el, None))
        if tag == "pre" and el.text_content():
            for i, part in enumerate(el.text_content().split("\n")):
                if i:
                    flow.brk()
                flow.add(part)
            stack.append((el, True))
            continue
        flow.add(el.text)
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))
    flow.brk()
    return flow


_ORDINAL = re.compile(r"\s*(\d{1,6})")


def _list_numbers(ol: Any) -> dict[Any, str]:
    """The numbers a browser shows before the items of a numbered list (1. 2. …), which their
    text lacks; the prose reader reads the plan's outline from such numbers. A list numbered
    a. b. or i. ii. is no plan's outline, and left as it is."""
    if (ol.get("type") or "1") != "1":
        return {}
    start = _ORDINAL.match(ol.get("start") or "")
    number = int(start.group(1)) if start else 1
    numbers = {}
    for li in ol:
        if li.tag == "li":
            value = _ORDINAL.match(li.get("value") or "")
            number = int(value.group(1)) if value else number
            numbers[li] = f"{number}. "
            number += 1
    return numbers


def _cell_text(td: Any) -> str:
    if not len(td):  # most cells: text alone
        return _line([td.text]) if td.text else ""
    return "\n".join(text for text, _ in _flow(td, set()).items)


# --- tables --------------------------------------------------------------------------------------

# What browsers allow a cell to span (HTML's table model): a larger colspan is read as 1,000; a
# rowspan never goes past the table's last row.
_MAX_COLSPAN = 1000


def _span(td: Any, name: str, largest: int) -> int:
    """A cell's colspan or rowspan: 0 (a rowspan to the end), a number, else 1."""
    found = re.match(r"\s*(\d{1,9})", td.get(name) or "")
    if not found:
        return 1
    value = int(found.group(1))
    if value == 0:
        return largest if name == "rowspan" else 1
    return min(value, largest)


def _grid(table: Any, name: str, title_lines: list[str], budget: Budget) -> Grid:
    trs = _rows(table)
    rows: list[Row] = []
    above: dict[int, tuple[int, Cell]] = {}  # grid column → (rows it still covers, its cell)

    def next_from_above(cells: list[Cell]) -> None:
        # the row's next position is covered by an area merged down from a row above
        left, cell = above.pop(len(cells))
        if left > 1:
            above[len(cells)] = (left - 1, cell)
        budget.add_cells(1)
        cells.append(cell)

    for r, tr in enumerate(trs):
        cells: list[Cell] = []
        for td in _cells(tr):
            while len(cells) in above:
                next_from_above(cells)
            across = _span(td, "colspan", _MAX_COLSPAN)
            down = _span(td, "rowspan", len(trs) - r)
            text = _cell_text(td)
            budget.add_text(text)
            budget.add_cells(across)
            cell = Cell(text, (r, len(cells)))
            for _ in range(across):
                # a cell overlapping an area from above (broken markup) cuts that area short
                above.pop(len(cells), None)
                if down > 1:
                    above[len(cells)] = (down - 1, cell)
                cells.append(cell)
        last = max(above, default=-1)
        while len(cells) <= last:  # areas from above past the row's own cells
            if len(cells) in above:
                next_from_above(cells)
            else:
                budget.add_cells(1)
                cells.append(Cell("", (r, len(cells))))
        rows.append(Row(cells, f"第 {r + 1} 行"))
    return Grid(name=name, rows=rows, title_lines=title_lines)


# --- the page ------------------------------------------------------------------------------------

_ATTACHMENT = re.compile(r"^附\s*件\s*[0-9０-９一二三四五六七八九十]*\s*[:：]?$")


# What no XML text may hold, and lxml refuses to set as an element's text (as drop_tree does).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0e-\x1f\ufffe\uffff]")


def _parse(text: str, path: Path) -> Any:
    # huge_tree: libxml2 otherwise stops reading at 256 levels of nesting, and a page of
    # unclosed <font> tags nests that deep; the walks here are iterative. Past 2,048 levels it
    # stops even so, and what follows would be lost: such a page is refused.
    parser = lxml.html.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, huge_tree=True
    )
    try:
        markup = _NOT_XML.sub("", text.replace("\x0c", " ")).encode("utf-8")
        root = lxml.html.document_fromstring(markup, parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None  # nothing in it at all
    if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log):
        raise UserError(
            f"{path}：网页的标记嵌套层次过深，无法完整读取；"
            "请用浏览器打开该网页，复制正文或表格到 Word 后另存为 .docx 再导入"
        )
    body = root.find("body")
    return body if body is not None else root


def _drop_never_text(body: Any) -> None:
    for el in list(body.iter(*_NEVER_TEXT)):
        el.drop_tree()


_HIDDEN = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\b", re.I)


def _hidden(el: Any) -> bool:
    """Whether the page hides an element (a menu's drop-down, a copy for the share dialog)."""
    return el.get("hidden") is not None or bool(_HIDDEN.search(el.get("style") or ""))


def _keep_with_ancestors(keep: set[Any], el: Any) -> None:
    if el in keep:
        return
    keep.add(el)
    for up in el.iterancestors():
        if up in keep:
            return  # and so are all above it
        keep.add(up)


def _drop_chrome(body: Any, plans: list[Any], sizes: Sizes) -> None:
    """Remove the site's chrome that holds neither a plan table nor the content. In the ASP.NET
    pages many sites run, one <form> wraps the whole page: it holds the plan, and stays."""
    keep: set[Any] = set()
    for el in plans:
        _keep_with_ancestors(keep, el)
    for el in body.iter():
        if _marked(el) == "content":
            _keep_with_ancestors(keep, el)
    half = sizes[body][0] / 2
    stack = [(child, False) for child in reversed(body)]
    while stack:
        el, in_article = stack.pop()
        if not isinstance(el.tag, str):
            continue
        tag = el.tag
        chrome = tag in _CHROME_TAGS or _marked(el) == "chrome" or _hidden(el)
        if tag in ("header", "footer") and in_article:
            chrome = _marked(el) == "chrome" or _hidden(el)
        if chrome and el not in keep and (plans or sizes[el][0] < half):
            el.drop_tree()
            continue
        in_article = in_article or tag in ("article", "main")
        stack.extend((child, in_article) for child in reversed(el))


def _classify(body: Any, planned: set[Any], sizes: Sizes) -> tuple[list[Any], set[Any]]:
    """The data tables, in document order, and the layout tables around them; a table inside a
    data table's cell is that cell's text."""
    data: list[Any] = []
    layout: set[Any] = set()
    stack = [body]
    while stack:
        el = stack.pop()
        if el.tag == "table":
            if el in planned or not _lays_out(el, sizes):
                data.append(el)
                continue
            layout.add(el)
        stack.extend(reversed(el))
    return data, layout


def _region(body: Any, plans: list[Any], layout: set[Any], sizes: Sizes) -> Any:
    """The element holding the page's content: the nearest container of the first plan table,
    else the innermost container holding nearly all of the most text any container holds."""

    def container(el: Any) -> bool:
        return (
            el.tag in ("article", "main")
            or (el.tag in ("td", "th") and _table_of(el) in layout)
            or _marked(el) == "content"
        )

    if plans:
        return next((up for up in plans[0].iterancestors() if container(up)), body)
    total = sizes[body][0]
    # Containers holding more than half the text are nested one in another: outer ones first.
    chain = [
        (el, sizes[el][0])
        for el in body.iterdescendants()
        if sizes[el][0] * 2 > total and container(el)
    ]
    if not chain:
        return body
    best = max(n for _, n in chain)
    return [el for el, n in chain if n * 10 >= best * 9][-1]


def _headline(body: Any, region: Any, sizes: Sizes) -> Any:
    """The page's headline above its content (<h1>, else an element named title), if any."""
    if region is body:
        return None
    found: dict[str, Any] = {}
    around = set(region.iterancestors())
    for el in body.iter():
        if el is region:
            break
        if el in around or not isinstance(el.tag, str):
            continue
        kind = "h1" if el.tag == "h1" else "title" if any("title" in w for w in _names(el)) else ""
        if kind and 0 < sizes[el][0] <= 200:
            found[kind] = el
    return found.get("h1", found.get("title"))


_ARCHIVES = (".mht", ".mhtml")
_MIME = re.compile(rb"^(?:[\w-]+:[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*)*?mime-version\s*:", re.I)


def _archived(data: bytes, path: Path) -> tuple[bytes, str | None]:
    """The page in a web archive (.mht, .mhtml: 网页，单个文件, as Chrome, IE and Word save one):
    the first HTML part, undone from its transfer encoding, and the charset its header names."""
    try:
        archive = email.message_from_bytes(data, policy=email.policy.compat32)
        for part in archive.walk():
            if part.get_content_type() == "text/html":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes) and payload.strip():
                    return payload, part.get_content_charset()
    except Exception:  # the email package raises many types for a damaged archive
        raise UserError(f"{path}：网页存档（.mht/.mhtml）已损坏，无法读取") from None
    raise UserError(
        f"{path}：网页存档（.mht/.mhtml）中没有网页正文；请在浏览器中打开该网页，"
        "“另存为”网页（仅 HTML）后再导入"
    )


def _page(path: Path) -> tuple[Any, list[str]]:
    """The page's <body>, parsed in its encoding (None when it holds nothing), and the notes
    its decoding leaves."""
    try:
        if (size := path.stat().st_size) > MAX_SOURCE_BYTES:
            raise too_large_file(path, size)
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"无法读取文件 {path}：{exc.strerror or exc}") from None
    sent = None
    if path.suffix.lower() in _ARCHIVES or _MIME.match(data[:4096]):
        data, sent = _archived(data, path)
    if data.count(b"<") > MAX_MARKUP:
        raise UserError(
            f"{path}：网页内容过于庞大（超过 {MAX_MARKUP:,} 个 HTML 标记），超过导入上限；"
            "请只保留分工表所在的网页正文后另存再导入"
        )
    text, notes = decode(data, path, sent)
    return _parse(text, path), notes


@dataclass
class _Content:
    """What the page holds once its chrome is gone: its data tables, which of them read as
    plan tables, and its content's lines and tables in document order."""

    tables: list[Any]
    plans: set[Any]
    items: list[Any]
    images: int
    attachments: list[str]
    """The office files and PDFs the content links to (附件：…方案.docx), by their names."""


def _outline(items: list[Any], title: int) -> None:
    """Heading levels as the plan's outline. The headline (the first `title` lines, or else a
    heading opening the content above all others) is marked as no heading: it is often the
    notice that issues the plan (关于印发…方案的通知), and the prose reader tells the plan's title
    by its wording, as in a text file. The headings below it count from 1, whatever tags the
    site uses for them (often <h2> and <h3>)."""
    lines = [i for i, item in enumerate(items) if isinstance(item, tuple)]
    levels = [items[i][1] for i in lines if i >= title and items[i][1] is not None]
    if not title and lines and levels:
        opening = items[lines[0]][1]
        if opening is not None and levels.count(opening) == 1 and opening == min(levels):
            title = lines[0] + 1
            levels.remove(opening)
    top = min(levels, default=1)
    for i in lines:
        text, level = items[i]
        if i < title:
            items[i] = (text, None)
        elif level is not None:
            items[i] = (text, level - top + 1)


_ATTACHED = re.compile(r"\.(?:docx?|xlsx?|xlsm|wps|et|pdf|ofd|rtf|odt|ods|zip|rar|7z)$", re.I)


def _attachments(region: Any) -> list[str]:
    """The files the content links to as attachments, each by its link's text or file name."""
    names: list[str] = []
    for link in region.iter("a"):
        target = (link.get("href") or "").split("?")[0].split("#")[0].strip()
        if _ATTACHED.search(target):
            text = " ".join("".join(link.itertext()).split())
            name = text if _ATTACHED.search(text) else target.rsplit("/", 1)[-1]
            names.append(re.sub(r"^附\s*件\s*\d*\s*[:：]?\s*", "", name) or name)
    return list(dict.fromkeys(names))


# A page laid out with tables holds a few dozen; a hostile one, thousands, each read for a header
# and laid out as a grid.
_MAX_TABLES = 2_000


def _content(body: Any, path: Path) -> _Content:
    _drop_never_text(body)
    tables = list(body.iter("table"))
    if len(tables) > _MAX_TABLES:
        raise UserError(
            f"{path}：网页中有 {len(tables):,} 个表格，超过 {_MAX_TABLES:,} 个的导入上限；"
            "请只保留分工表所在的网页正文后另存再导入"
        )
    sizes = _measure(body)
    plans = [t for t in tables if _reads_as_plan(t, sizes)]
    _drop_chrome(body, plans, sizes)
    sizes = _measure(body)
    tables, layout = _classify(body, set(plans), sizes)
    planned = set(plans) & set(tables)  # not those in another table's cell
    region = _region(body, [t for t in plans if t in planned], layout, sizes)
    flow = _Flow()
    headline = _headline(body, region, sizes)
    if headline is not None:
        _flow(headline, set(), flow)
    title = len(flow.items)
    _flow(region, set(tables), flow)
    _outline(flow.items, title)
    images = sum(1 for _ in region.iter("img"))
    return _Content(tables, planned, flow.items, images, _attachments(region))


# A bracket, as a units bracket is written: （市司法局负责）, (市民政局负责).
_BRACKET = re.compile(r"[（(][^（）()]{2,}[）)]")
_SENTENCE_END = ("。", "！", "？", "；", "：", ":", ";", "!", "?")


def _title_lines(lines: list[str], table: Any) -> list[str]:
    """The lines above a plan table that may title it. A page often shows the notice issuing
    the plan above it (关于印发…的通知, 各区人民政府：, 现将…印发给你们。): the table's title is
    what follows its 附件 line, or else its last sentence; with nothing after either, the
    table's own first row (one cell across it), else the page's headline."""
    attachment = [i for i, line in enumerate(lines) if _ATTACHMENT.match(line)]
    if attachment:
        return lines[attachment[-1] :]
    sentences = [i for i, line in enumerate(lines) if line.endswith(_SENTENCE_END)]
    if not sentences:
        return lines
    rows = _rows(table)
    titled = bool(rows) and len(cells := _cells(rows[0])) == 1 and bool(_cell_text(cells[0]))
    return lines[sentences[-1] + 1 :] or ([] if titled else lines[:1])


def _read(path: Path) -> tuple[list[Grid], list[Paragraph], list[str]]:
    body, notes = _page(path)
    if body is None:
        return [], [], notes
    framed = any(True for _ in body.iter("frame", "iframe"))
    content = _content(body, path)
    budget = Budget(path)
    number = {t: i for i, t in enumerate(content.tables, start=1)}

    def name(table: Any) -> str:
        return f"第 {number[table]} 个表格" if len(number) > 1 else ""

    grids: dict[Any, Grid] = {}
    paragraphs: list[Paragraph] = []
    lines: list[str] = []
    left_out: list[str] = []
    for item in content.items:
        if isinstance(item, tuple):
            text, heading = item
            if len(text) <= _LONGEST_CHROME_LINE and _CHROME_LINE.search(text):
                continue
            budget.add_text(text)
            paragraphs.append(Paragraph(text, f"第 {len(paragraphs) + 1} 段", heading))
            lines.append(text)
        elif item in content.plans:
            title = [
                *_title_lines(lines, item),
                *(_cell_text(c) for c in item if c.tag == "caption"),
            ]
            grids[item] = _grid(item, name(item), [t for t in title if t], budget)
            lines = []
        else:
            grids[item] = grid = _grid(item, name(item), [], budget)
            first = next((c.value for row in grid.rows for c in row.cells if c.value), "")
            if first:
                shown = " ".join(str(first).split())[:20]
                left_out.append(
                    f"网页中的{name(item) or '表格'}（“{shown}”…）不是分工表，其内容未作为正文导入"
                )
    for table in content.tables:  # tables outside the content (a side column's)
        if table not in grids:
            grids[table] = _grid(table, name(table), [], budget)
    if framed and not grids and not paragraphs:
        raise UserError(
            f"{path}：网页由框架（frame/iframe）组成，本身不含正文；请在浏览器中打开框架里的"
            "正文网页（右键“在新标签页中打开框架”）后另存再导入"
        )
    no_plan = not content.plans and not any(_BRACKET.search(p.text) for p in paragraphs)
    # What the prose reader would refuse as a plan without units, said as it is.
    if no_plan and content.attachments:
        shown = "、".join(f"“{name}”" for name in content.attachments[:3])
        more = f"等 {len(content.attachments)} 个文件" if len(content.attachments) > 3 else ""
        raise UserError(
            f"{path}：网页正文中没有分工表，也没有写明责任单位的条目；分工方案可能在网页的附件"
            f"{shown}{more}中，请下载附件后导入该文件"
        )
    if no_plan and content.images:
        raise UserError(
            f"{path}：网页正文中没有分工表，也没有写明责任单位的条目，只有 {content.images} 张"
            "图片（分工表可能以图片发布）；请取得原始的 Word、Excel 或 PDF 文件后再导入"
        )
    ordered = [grids[t] for t in content.tables]
    for grid in ordered:
        grid.notes.extend(notes)
    return ordered, paragraphs, notes + left_out


def document(path: Path) -> Document:
    """The page's tables and its running text outside them."""
    grids, paragraphs, notes = _read(Path(path))
    return Document(grids=grids, paragraphs=paragraphs, notes=notes)


def read(path: Path) -> Iterator[Grid]:
    yield from document(path).grids
