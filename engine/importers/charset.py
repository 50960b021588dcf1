"""A saved web page's encoding: the one it declares, never a guess.

A byte order mark decides; else <meta charset>, <meta http-equiv="Content-Type" content="…;
charset=…"> or an XML declaration in the page's head, read with the names browsers give them
(the WHATWG labels): gb2312 and gbk pages hold GB18030 characters, big5 pages HKSCS ones. A page
that declares nothing must be UTF-8: guessing between GBK and Big5 would turn a plan into
plausible nonsense, so such a page is refused with a line saying how to save it in UTF-8.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from engine.errors import UserError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Where a declaration is looked for: a browser looks at the first 1,024 bytes; a saved page may
# carry a long comment or <title> first.
_PRESCAN = 16 * 1024
_COMMENT = re.compile(rb"<!--.*?(?:-->|$)", re.S)
_META = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.I)
_XML_DECLARATION = re.compile(rb"^\s*<\?xml\b[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)", re.I)
# Names browsers read differently from Python (the WHATWG encoding labels): GB2312 and GBK pages
# hold GB18030 characters, Big5 pages HKSCS ones; a page declaring UTF-16 in ASCII bytes is UTF-8.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "utf-16": "utf-8",
    "utf-16-le": "utf-8",
    "utf-16-be": "utf-8",
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
}
# WHATWG labels Python does not know by that name.
_LABELS = {
    "x-gbk": "gbk", "windows-936": "gbk", "gb_2312": "gb2312", "gb_2312-80": "gb2312",
    "csgb2312": "gb2312", "iso-ir-58": "gb2312", "chinese": "gb2312", "x-x-big5": "big5",
    "cn-big5": "big5", "csbig5": "big5", "unicode": "utf-16", "windows-874": "cp874",
    "x-sjis": "shift_jis", "ms_kanji": "shift_jis", "x-euc-jp": "euc_jp",
}  # fmt: skip
# The encodings a browser reads a page in (Python's names for them): a declaration naming any
# other codec (base64, rot13, unicode_escape) names no encoding of a web page.
_WEB_CODECS = re.compile(
    r"utf-8|utf-16(?:-[lb]e)?|gb18030|gbk|gb2312|hz|big5(?:hkscs)?|euc_jp|euc_kr|shift_jis"
    r"|iso2022_jp|cp949|iso8859-\d{1,2}|cp125\d|cp874|cp866|koi8-[ru]|mac-roman|ascii|tis-620"
)


def _declared(data: bytes) -> str | None:
    head = _COMMENT.sub(b"", data[:_PRESCAN])
    found = _XML_DECLARATION.match(head) or _META.search(head)
    return found.group(1).decode("ascii") if found else None


def _codec(label: str, path: Path) -> str:
    """The Python codec for a declared encoding; one Python does not know is a user error."""
    name = _LABELS.get(label.lower(), label.lower())
    try:
        name = codecs.lookup(name).name
    except LookupError:
        name = ""
    if not _WEB_CODECS.fullmatch(name):
        raise UserError(
            f"{path}：网页声明的编码“{label}”无法识别；请用浏览器打开该网页，"
            "“另存为”网页并选择 UTF-8 编码后再导入"
        )
    return _SUPERSETS.get(name, name)


def decode(data: bytes, path: Path, sent: str | None = None) -> tuple[str, list[str]]:
    """The page's text in the encoding it declares, and a note where its bytes do not fit it.

    `sent` is the charset the page came with (a web archive's part header, like HTTP's), which
    goes before the page's own declaration, as a browser takes it.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_as(data[len(bom) :], encoding, encoding.upper(), path, marked=True)
    label = sent or _declared(data)
    if label is None:
        try:
            return data.decode("utf-8"), []
        except UnicodeDecodeError:
            raise UserError(
                f"{path}：网页未声明文字编码，且内容不是 UTF-8 编码，无法确定如何读取；"
                "建议用浏览器打开该网页，“另存为”网页并选择 UTF-8 编码后再导入"
            ) from None
    return _decode_as(data, _codec(label, path), label, path)


# Bytes beyond ASCII that valid UTF-8 must hold before it outweighs a page's declaration.
_UTF8_EVIDENCE = 24


_ASCII = bytes(range(0x80))
# Encodings of one byte a character, none of which holds a Chinese character: a page declaring
# one (iso-8859-1, a common slip of Chinese sites' templates) with text beyond ASCII is in
# another encoding, which is not guessed.
_ONE_BYTE = re.compile(r"cp125\d|cp874|cp866|koi8-[ru]|mac-roman|iso8859-\d{1,2}|tis-620|ascii")


def _beyond_ascii(data: bytes) -> int:
    return len(data.translate(None, _ASCII))


def _utf8_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _beyond_ascii(data) >= _UTF8_EVIDENCE


def _decode_as(
    data: bytes, encoding: str, label: str, path: Path, *, marked: bool = False
) -> tuple[str, list[str]]:
    western = not marked and _ONE_BYTE.fullmatch(encoding)
    if western and _beyond_ascii(data) >= _UTF8_EVIDENCE and not _utf8_text(data):
        raise UserError(
            f"{path}：网页声明的编码为 {label}（西文编码，不能表示中文），但网页中有大量"
            "非 ASCII 文字，其声明有误；请用浏览器打开该网页，确认文字显示正常后"
            "“另存为”网页并选择 UTF-8 编码，再导入"
        )
    if not marked and encoding != "utf-8" and _utf8_text(data):
        # Saved in UTF-8 under the original page's declaration. GB18030 reads almost any bytes,
        # so UTF-8 bytes would pass for it, as nonsense; while a page of GBK text that happens
        # to be valid UTF-8 is a few characters long at most (联通 is one).
        text = data.decode("utf-8")
        return text, [f"网页声明的编码为 {label}，但内容是 UTF-8 编码，已按 UTF-8 读取，请核对"]
    try:
        return data.decode(encoding), []
    except UnicodeDecodeError:
        pass
    text = data.decode(encoding, "replace")
    bad = text.count("\ufffd") - data.decode(encoding, "ignore").count("\ufffd")
    return text, [
        f"网页中有 {bad} 处文字不符合其声明的 {label} 编码，已显示为“\ufffd”，请对照原网页核对"
    ]
