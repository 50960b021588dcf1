"""Evidence (佐证材料) a unit attaches to a progress report: checked before anything is stored.

A file is accepted when its name ends in one of `[web] upload_types` *and* its first bytes are
what that type starts with: a browser's name and content type are the sender's word, the bytes
are not. So an HTML page or a script renamed `报告.pdf` is refused, since a coordinator would open
it on the office network. The name is cleaned (path parts, control and direction characters,
characters Windows refuses) but keeps its Chinese; the stored content type comes from the suffix.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from engine.actions.tasks import Upload
from engine.errors import UserError

MAX_FILES = 5
"""Files one progress report may carry."""
MAX_NAME = 80
"""Characters kept of a file name, its suffix included."""

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
# what a browser would run or render, whatever the file is called
_MARKUP = re.compile(
    rb"^\s*(<\s*(!doctype|html|head|body|script|svg|iframe|\?xml|meta|a\s)|#!)", re.IGNORECASE
)


class UploadTooLarge(UserError):
    """Evidence over `[web] max_upload_mb` (the web answers 413, as for a body too large)."""


def _zip_with(*members: str) -> Callable[[bytes], bool]:
    """A zip archive holding an entry whose name starts with one of `members` (none: any zip)."""

    def check(content: bytes) -> bool:
        if not content.startswith(_ZIP):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, ValueError, OSError):
            return False
        return not members or any(n.startswith(members) for n in names)

    return check


def _starts(*magics: bytes) -> Callable[[bytes], bool]:
    return lambda content: content.startswith(magics)


def _plain_text(content: bytes) -> bool:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return not any(unicodedata.category(c) == "Cc" and c not in "\t\r\n\f" for c in text)
    return False


# suffix → (content type stored, what its bytes must look like)
KINDS: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "pdf": ("application/pdf", _starts(b"%PDF-")),
    "ofd": ("application/ofd", _zip_with("OFD.xml", "Doc_")),
    "doc": ("application/msword", _starts(_OLE)),
    "xls": ("application/vnd.ms-excel", _starts(_OLE)),
    "ppt": ("application/vnd.ms-powerpoint", _starts(_OLE)),
    "wps": ("application/vnd.ms-works", _starts(_OLE)),
    "et": ("application/vnd.ms-excel", _starts(_OLE)),
    "dps": ("application/vnd.ms-powerpoint", _starts(_OLE)),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _zip_with("word/"),
    ),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _zip_with("xl/")),
    "pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _zip_with("ppt/"),
    ),
    "zip": ("application/zip", _zip_with()),
    "rar": ("application/vnd.rar", _starts(b"Rar!\x1a\x07")),
    "7z": ("application/x-7z-compressed", _starts(b"7z\xbc\xaf\x27\x1c")),
    "png": ("image/png", _starts(b"\x89PNG\r\n\x1a\n")),
    "jpg": ("image/jpeg", _starts(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", _starts(b"\xff\xd8\xff")),
    "gif": ("image/gif", _starts(b"GIF87a", b"GIF89a")),
    "bmp": ("image/bmp", _starts(b"BM")),
    "tif": ("image/tiff", _starts(b"II*\x00", b"MM\x00*")),
    "tiff": ("image/tiff", _starts(b"II*\x00", b"MM\x00*")),
    "txt": ("text/plain", _plain_text),
    "csv": ("text/csv", _plain_text),
}

_KIND_NAMES = {
    "pdf": "PDF 文件",
    "ofd": "OFD 版式文件",
    "doc": "Word 文档",
    "docx": "Word 文档",
    "xls": "Excel 表格",
    "xlsx": "Excel 表格",
    "ppt": "演示文稿",
    "pptx": "演示文稿",
    "wps": "WPS 文档",
    "et": "WPS 表格",
    "dps": "WPS 演示",
    "zip": "ZIP 压缩包",
    "rar": "RAR 压缩包",
    "7z": "7z 压缩包",
    "txt": "文本文件",
    "csv": "文本文件",
}

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Marks that reorder how text reads (报告\u202efdp.exe shows as 报告exe.pdf)."""

# Windows refuses these in a name; the slash and backslash are path separators everywhere
_FORBIDDEN = set('<>:"/\\|?*')


def clean_filename(raw: str) -> str:
    """A file name safe to store and to offer for download, keeping its Chinese.

    Drops the folders some browsers send, control and format characters (the direction marks
    that make `报告\u202efdp.exe` read as an innocent name among them; private-use characters,
    rare characters in some names, stay), and cuts a long name in its stem, so that the suffix
    survives.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        " " if c.isspace() else c
        for c in name
        if unicodedata.category(c) not in ("Cc", "Cf", "Cs") and c not in _FORBIDDEN
    )
    name = re.sub(r" {2,}", " ", name).strip()
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = suffix.strip()[:10]
    room = MAX_NAME - (len(suffix) + 1 if suffix else 0)
    # no leading dot (a hidden file), no trailing dot or space (Windows drops them)
    stem = stem.strip(" .")[:room].rstrip(" .")
    if not stem:
        stem = "佐证材料"
    return f"{stem}.{suffix}" if suffix else stem


def suffix_of(name: str) -> str:
    _, dot, suffix = name.rpartition(".")
    return suffix.lower() if dot else ""


@dataclass(frozen=True)
class Incoming:
    """A file as the form gave it: the browser's name and a stream over its bytes."""

    filename: str
    stream: IO[bytes]


def _allowed_text(allowed: Iterable[str]) -> str:
    return "、".join(allowed)


def check_uploads(files: list[Incoming], *, max_mb: int, allowed: list[str]) -> tuple[Upload, ...]:
    """The evidence of one progress report, or a UserError saying which file and why.

    Reads at most `max_mb` MB (plus one byte, to tell) from all the files together: the limit is
    what one report may attach.
    """
    chosen = [f for f in files if f.filename]
    if len(chosen) > MAX_FILES:
        raise UserError(f"一次最多上传 {MAX_FILES} 个佐证材料，请合并压缩后再上传")
    allowed = [a.lower().lstrip(".") for a in allowed]
    limit = max_mb * 1024 * 1024
    left = limit
    uploads = []
    for incoming in chosen:
        name = clean_filename(incoming.filename)
        suffix = suffix_of(name)
        if suffix not in allowed:
            shown = f"“.{suffix}”格式" if suffix else "没有扩展名的文件"
            raise UserError(
                f"佐证材料“{name}”无法上传：不接受{shown}；可上传的格式为 {_allowed_text(allowed)}"
            )
        content = incoming.stream.read(left + 1)
        if len(content) > left:
            raise UploadTooLarge(
                f"佐证材料“{name}”过大：每次报送的佐证材料合计不能超过 {max_mb} MB，"
                "请压缩或分次上传"
            )
        left -= len(content)
        if not content:
            raise UserError(f"佐证材料“{name}”是空文件，请检查后重新选择")
        content_type, looks_right = KINDS.get(suffix, ("application/octet-stream", None))
        if _MARKUP.match(content[:512]) or (looks_right is not None and not looks_right(content)):
            kind = _KIND_NAMES.get(suffix, f"{suffix.upper()} 文件")
            raise UserError(
                f"佐证材料“{name}”的内容与扩展名不符，不是真正的{kind}；"
                "请上传原始文件，不要只修改扩展名"
            )
        uploads.append(Upload(name, content_type, content))
    return tuple(uploads)
