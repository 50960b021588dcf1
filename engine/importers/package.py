"""A .docx or .xlsx is a zip package of XML parts: checked part by part before python-docx or
openpyxl opens it, so that a zip bomb is refused in bounded memory instead of being inflated.

python-docx reads every part whole and parses each XML part into a tree; openpyxl parses the
workbook's parts whole and streams the worksheets. Before either is given the file, each part's
declared size, the parts' count and their declared total are checked against the limits, and then
every part is inflated once, a megabyte at a time, counting what it really inflates to and its
XML tags (what the libraries build objects from). Nothing is kept.

A header may lie: a part declared as 4 KB whose data inflates to 1 GiB is cut at 4 KB by zipfile,
but only after `ZipFile.read` (which python-docx and openpyxl call) has inflated the whole GiB.
Such a part is refused as damaged: what it inflates to must be what it declares.
"""

from __future__ import annotations

import copy
import zipfile
import zlib
from pathlib import Path

from engine.errors import UserError
from engine.importers.limits import (
    MAX_MARKUP,
    MAX_PACKAGE_BYTES,
    MAX_PACKAGE_PARTS,
    MAX_PART_BYTES,
    megabytes,
)

_CHUNK = 1024 * 1024
# What zipfile and zlib raise for a damaged or unreadable part: a bad CRC, a truncated or
# corrupt deflate stream, an unknown compression method, a password (RuntimeError).
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError)


def _shown(name: str) -> str:
    """A part's name as a message may show it: printable, one line, not too long."""
    shown = "".join(c if c.isprintable() else "?" for c in name)
    return shown if len(shown) <= 80 else shown[:77] + "…"


def check_package(path: Path, app: str, damaged: UserError) -> None:
    """Refuse a package beyond the limits (one line naming `path` and the limit), or `damaged`
    when it is not a zip package that inflates cleanly. `app` names the program that saves it
    ("Word", "Excel"), for the advice."""
    resave = f"文件可能已损坏或经过特意构造，请在 {app} 中打开后另存再导入"
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, *_DAMAGED):
        raise damaged from None
    with archive:
        parts = archive.infolist()
        if len(parts) > MAX_PACKAGE_PARTS:
            raise UserError(
                f"{path}：文件由 {len(parts):,} 个部件组成，超过导入上限 {MAX_PACKAGE_PARTS:,} 个；"
                + resave
            )
        declared = 0
        for part in parts:
            declared += part.file_size
            if part.file_size > MAX_PART_BYTES:
                raise _part_too_large(path, part.filename, resave)
            if declared > MAX_PACKAGE_BYTES:
                raise _package_too_large(path, resave)
        inflated = markup = 0
        for part in parts:
            # zipfile stops a part at its declared size, but only after inflating all that its
            # data holds (up to 2 GiB at one read()): read as if the part were larger than the
            # limit allows, a megabyte at a time, and compare what it really inflates to.
            probe = copy.copy(part)
            probe.file_size = MAX_PART_BYTES + 1
            size = 0
            try:
                with archive.open(probe) as data:
                    while chunk := data.read(_CHUNK):
                        size += len(chunk)
                        inflated += len(chunk)
                        markup += chunk.count(b"<")
                        if size > MAX_PART_BYTES:
                            raise _part_too_large(path, part.filename, resave)
                        if inflated > MAX_PACKAGE_BYTES:
                            raise _package_too_large(path, resave)
                        if markup > MAX_MARKUP:
                            raise UserError(
                                f"{path}：文件内容过于庞大（超过 {MAX_MARKUP:,} 个 XML 标记），"
                                "超过导入上限；请只保留分工表后另存再导入"
                            )
            except (OSError, *_DAMAGED):
                raise damaged from None
            if size != part.file_size:  # a header that lies about the part's size
                raise damaged


def _part_too_large(path: Path, name: str, resave: str) -> UserError:
    return UserError(
        f"{path}：其中的 {_shown(name)} 解压后超过 {megabytes(MAX_PART_BYTES)}，超过导入上限；"
        + resave
    )


def _package_too_large(path: Path, resave: str) -> UserError:
    return UserError(
        f"{path}：文件解压后超过 {megabytes(MAX_PACKAGE_BYTES)}，超过导入上限；" + resave
    )
