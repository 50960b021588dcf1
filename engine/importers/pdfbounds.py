"""What a PDF's streams inflate to, measured before PDFium lays any of them out.

PDFium builds an object for every operator of a content stream it draws: a 600 KB file whose
one page inflates to 300 MB of "0 0 m 1 1 l S" takes 6 GB and half a minute. A page's content
in a plan is tens of kilobytes. So a stream other than a picture or a font that inflates past
MAX_STREAM_BYTES, or all streams but pictures together past MAX_INFLATED_BYTES, has the file
refused. Pictures are not decoded to read text, and a font may be large (a whole Chinese font
embedded is 10–20 MB).

Streams are found in the file's bytes ("… >> stream"), each inflated a piece at a time up to the
limit and no further; an ASCII filter in front of Flate is undone first. In an encrypted file
(one that opens without a password but restricts copying, as many published PDFs do) the streams
are ciphered, and pdfminer deciphers each before it is measured.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from engine.errors import UserError
from engine.importers.limits import MB, megabytes

MAX_STREAM_BYTES = 8 * MB
MAX_INFLATED_BYTES = 128 * MB

_STREAM = re.compile(rb">>\s*stream\r?\n")
_FONT = re.compile(rb"/Length[123]\b|/Type1C\b|/CIDFontType0C\b|/OpenType\b")
_PICTURE = re.compile(rb"/Subtype\s*/Image\b")
_ASCII85 = re.compile(rb"/A85\b|/ASCII85Decode\b")
_ASCII_HEX = re.compile(rb"/AHx\b|/ASCIIHexDecode\b")
_ENCRYPTED = re.compile(rb"/Encrypt\b")


def inflated(data: bytes, start: int, limit: int) -> int:
    """How many bytes the Flate stream at `start` inflates to, counted up to `limit` (past it,
    limit + 1); -1 when the data there is no Flate stream."""
    inflater = zlib.decompressobj()
    total, position, piece = 0, start, 1 << 16
    try:
        while not inflater.eof and position < len(data) and total <= limit:
            chunk = data[position : position + piece]
            position += len(chunk)
            total += len(inflater.decompress(chunk, limit + 1 - total))
            while inflater.unconsumed_tail and total <= limit:
                total += len(inflater.decompress(inflater.unconsumed_tail, limit + 1 - total))
    except zlib.error:
        return -1
    return total


def _unwrapped(data: bytes, dictionary: bytes) -> bytes:
    """A stream's data with an ASCII filter in front of Flate ([/A85 /Fl]) undone."""
    try:
        if _ASCII85.search(dictionary):
            body = data.strip().removeprefix(b"<~").split(b"~>")[0]
            return base64.a85decode(body, ignorechars=b" \t\r\n\x0c")
        if _ASCII_HEX.search(dictionary):
            hexes = re.sub(rb"[^0-9A-Fa-f]", b"", data.split(b">")[0])
            return binascii.unhexlify(hexes + b"0" * (len(hexes) % 2))
    except (ValueError, binascii.Error):
        return b""
    return data


def _streams(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Each stream of the file as (its dictionary, its data as stored)."""
    for found in _STREAM.finditer(data):
        opened = data.rfind(b"obj", max(0, found.start() - 4096), found.start())
        dictionary = data[max(opened, found.start() - 4096) : found.end()]
        end = data.find(b"endstream", found.end())
        yield dictionary, data[found.end() : len(data) if end < 0 else end]


def _deciphered(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Each stream of an encrypted file, deciphered by pdfminer with the empty password (a file
    that needs another one is refused by PDFium later); nothing when pdfminer cannot read it."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import PDFStream

    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)))
        numbers = [n for xref in document.xrefs for n in xref.get_objids()]
    except Exception:  # a password, or a file pdfminer cannot parse: PDFium judges it
        return
    for number in dict.fromkeys(numbers):
        try:
            stream = document.getobj(number)
            if not isinstance(stream, PDFStream):
                continue
            raw = stream.rawdata or b""
            if stream.decipher is not None:
                raw = stream.decipher(stream.objid or 0, stream.genno or 0, raw, stream.attrs)
        except Exception:
            continue
        yield _written(stream.attrs), raw


def _written(attrs: dict[str, object]) -> bytes:
    """A dictionary pdfminer read, written back as a PDF writes it: /Subtype /Image …"""
    from pdfminer.psparser import PSLiteral

    def value(item: object) -> str:
        if isinstance(item, PSLiteral):
            return f"/{item.name!s}"
        if isinstance(item, list):
            return "[" + " ".join(value(x) for x in item) + "]"
        return "?"  # a number or a reference: no name the checks look for

    text = " ".join(f"/{key} {value(item)}" for key, item in attrs.items())
    return text.encode("utf-8", "replace")


def check_streams(path: Path, data: bytes) -> None:
    """Refuse a file whose streams inflate past the limits."""
    encrypted = bool(_ENCRYPTED.search(data))
    total = 0
    for dictionary, stored in _deciphered(data) if encrypted else _streams(data):
        if _PICTURE.search(dictionary):
            continue
        font = bool(_FONT.search(dictionary))
        limit = MAX_INFLATED_BYTES - total
        if not font:
            limit = min(limit, MAX_STREAM_BYTES)
        source = _unwrapped(stored, dictionary)
        size = inflated(source, 0, limit)
        if size < 0:  # stored as it is
            size = len(stored)
        if size > limit:
            shown = MAX_STREAM_BYTES if limit == MAX_STREAM_BYTES else MAX_INFLATED_BYTES
            raise UserError(
                f"{path}：PDF 中的内容解压后超过 {megabytes(shown)} 的导入上限，不像分工方案文件；"
                "请使用原始的 Word/WPS 文件导入"
            )
        total += size
