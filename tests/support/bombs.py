"""Hostile .docx and .xlsx packages for tests, made in a second or two without inflating anything.

A deflate stream may be a run of independent blocks: compressing a chunk and flushing with
Z_FULL_FLUSH gives bytes that inflate to that chunk whatever came before, so a part that inflates
to 1 GiB is one compressed megabyte of XML repeated ~1,000 times (repetitive XML compresses about
1,000:1). The zip is written here by hand, so that a part may also declare a size or a CRC other
than its data's, as a forged header does.

`office_parts(kind)` gives the parts of a small real document with a plan table (made with
python-docx or openpyxl), so that a package differs from a good one only in the part a test
replaces.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

GIB = 1 << 30
MIB = 1 << 20
DOCUMENT = "word/document.xml"
SHEET = "xl/worksheets/sheet1.xml"
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
HEADER = ["序号", "任务", "责任单位", "完成时限"]
ROW = ["1", "建立联络机制", "市司法局", "2022年底前"]


@dataclass(frozen=True)
class Part:
    name: str
    data: bytes
    """The part as stored: deflated (method 8) or as is (method 0)."""
    crc: int
    size: int
    """The size the zip declares the part inflates to."""
    method: int = zipfile.ZIP_DEFLATED


def _block(data: bytes, final: bool = False) -> bytes:
    """Raw deflate blocks inflating to `data` whatever precedes them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(
        zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH
    )


def part(name: str, data: bytes) -> Part:
    """A part stored as a zip writer stores it."""
    return Part(name, _block(data, final=True), zlib.crc32(data), len(data))


def inflating(
    name: str,
    head: bytes,
    chunk: bytes,
    size: int,
    tail: bytes,
    *,
    declared: int | None = None,
    crc_of_declared: bool = False,
) -> Part:
    """A part that inflates to `head`, `chunk` repeated until `size` bytes, then `tail`.

    `declared`: the size the zip says it inflates to (a forged header); `crc_of_declared`: its
    CRC is that of the first `declared` bytes, so that a reader stopping there finds it right.
    """
    times = max(1, (size - len(head) - len(tail)) // len(chunk))
    repeated = _block(chunk)
    stored = _block(head) + repeated * times + _block(tail, final=True)
    actual = len(head) + len(chunk) * times + len(tail)
    if crc_of_declared and declared is not None:
        crc = zlib.crc32(_prefix(head, chunk, times, tail, declared))
    else:
        crc = zlib.crc32(head)
        for _ in range(times):
            crc = zlib.crc32(chunk, crc)
        crc = zlib.crc32(tail, crc)
    return Part(name, stored, crc, actual if declared is None else declared)


def _prefix(head: bytes, chunk: bytes, times: int, tail: bytes, length: int) -> bytes:
    out = bytearray(head[:length])
    while len(out) < length and times:
        out += chunk[: length - len(out)]
        times -= 1
    out += tail[: max(0, length - len(out))]
    return bytes(out)


def package(parts: Iterable[Part]) -> bytes:
    """A zip file of the parts, exactly as declared (no zip64: every part under 4 GiB)."""
    out = io.BytesIO()
    central = []
    for p in parts:
        name = p.name.encode("utf-8")
        offset = out.tell()
        fields = (20, 0x800, p.method, 0, 0x21, p.crc, len(p.data), p.size, len(name))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + name + p.data)
        central.append(
            struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, 0, offset) + name
        )
    start = out.tell()
    for entry in central:
        out.write(entry)
    end = out.tell()
    count = len(central)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, end - start, start, 0))
    return out.getvalue()


@cache
def _real(kind: str) -> tuple[tuple[str, bytes], ...]:
    buffer = io.BytesIO()
    if kind == "docx":
        import docx

        document = docx.Document()
        document.add_paragraph("分工方案")
        table = document.add_table(rows=2, cols=len(HEADER))
        for r, values in enumerate([HEADER, ROW]):
            for c, value in enumerate(values):
                table.cell(r, c).text = value
        document.save(buffer)
    else:
        import openpyxl

        book = openpyxl.Workbook()
        book.active.append(HEADER)
        book.active.append(ROW)
        book.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return tuple((i.filename, archive.read(i.filename)) for i in archive.infolist())


def office_parts(kind: str, replace: dict[str, Part | None] | None = None) -> list[Part]:
    """The parts of a small real .docx or .xlsx with a plan table; `replace` maps a part's name
    to the part to store instead (None: left out). A name not in the document is added."""
    replace = dict(replace or {})
    parts = []
    for name, data in _real(kind):
        if name in replace:
            swapped = replace.pop(name)
            if swapped is not None:
                parts.append(swapped)
        else:
            parts.append(part(name, data))
    parts.extend(p for p in replace.values() if p is not None)
    return parts


def real_member(kind: str, name: str) -> bytes:
    return dict(_real(kind))[name]


def docx_bomb(
    size: int, padding: int = 4096, text: str = "分工方案" * 8, **forged: object
) -> bytes:
    """A .docx whose document.xml inflates to `size` bytes of paragraphs of `text`, then a plan
    table. `padding`: spaces after each paragraph (runs of one byte compress 1,000:1, XML
    about 250:1)."""
    cells = "".join(f"<w:tc><w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:tc>" for t in HEADER)
    head = f"<w:document {W}><w:body>".encode()
    chunk = f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>".encode() + b" " * padding
    tail = f"<w:tbl><w:tr>{cells}</w:tr></w:tbl></w:body></w:document>".encode()
    bomb = inflating(DOCUMENT, head, chunk * max(1, MIB // len(chunk)), size, tail, **forged)  # type: ignore[arg-type]
    return package(office_parts("docx", {DOCUMENT: bomb}))


def xlsx_bomb(size: int, padding: int = 4096, **forged: object) -> bytes:
    """An .xlsx whose first worksheet inflates to `size` bytes: a header row, then rows, each
    followed by `padding` spaces."""
    header = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{t}</t></is></c>' for i, t in enumerate(HEADER)
    )
    head = f'<worksheet {S}><sheetData><row r="1">{header}</row>'.encode()
    chunk = '<row><c t="inlineStr"><is><t>市司法局</t></is></c><c><v>1</v></c></row>'.encode()
    chunk += b" " * padding
    tail = b"</sheetData></worksheet>"
    bomb = inflating(SHEET, head, chunk * max(1, MIB // len(chunk)), size, tail, **forged)  # type: ignore[arg-type]
    return package(office_parts("xlsx", {SHEET: bomb}))


def sheet_xml(rows: str, after: str = "", before: str = "") -> Part:
    """A worksheet part: `before` <sheetData>, the rows, `after` it (mergeCells)."""
    return part(
        SHEET, f"<worksheet {S}>{before}<sheetData>{rows}</sheetData>{after}</worksheet>".encode()
    )


def document_xml(body: str) -> Part:
    return part(DOCUMENT, f"<w:document {W}><w:body>{body}</w:body></w:document>".encode())


def forged(kind: str, name: str, size: int = GIB, declared: int = 4096) -> bytes:
    """A package whose part `name` declares `declared` bytes (and the CRC of its first
    `declared` bytes) while its data inflates to `size` bytes of XML comments."""
    head = b'<?xml version="1.0"?><!--'
    bomb = inflating(name, head, b" " * MIB, size, b"-->", declared=declared, crc_of_declared=True)
    return package(office_parts(kind, {name: bomb}))
