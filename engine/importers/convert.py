"""Old and other office formats (.doc, .wps, .rtf, .odt; .xls, .et, .ods), read through LibreOffice.

The file is converted with `soffice --headless --convert-to docx|xlsx` and the result is read by
`engine.importers.docx` or `engine.importers.xlsx`, whose package checks and limits apply to the
converted file as to any other. LibreOffice runs:

- on a copy of the file named source.<suffix>, in a private temporary directory, so that what it
  writes beside a document it opens (its lock file, .~lock.source.doc#) never lands in the user's
  folder, and a file name it could misread (one beginning with "-") does not matter;
- with a temporary user profile (`-env:UserInstallation`), so that it neither reads nor changes the
  user's LibreOffice settings, and does not hand the work to (and wait on) a LibreOffice the user
  has open, which shares the default profile;
- in its own process group, with a time limit (DUBAN_SOFFICE_TIMEOUT seconds, default 120): a
  conversion that hangs is killed, LibreOffice's helper processes with it, and reported.

Which LibreOffice: DUBAN_SOFFICE (a path) when set, else `soffice` or `libreoffice` on PATH.
Every message names the user's file, never the temporary copy; the temporary directory is always
removed before the reader returns.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

from engine.errors import UserError
from engine.importers.base import CONVERSIONS, CONVERTED, Document, Grid

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0
# LibreOffice's export filters by name: with a bare "docx" LibreOffice picks the filter from the
# document's module, and a file it opens as a web page (a .doc that is really HTML) has none.
_FILTERS = {
    "docx": "docx:MS Word 2007 XML",
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "odt": "odt:writer8",
}
_RTF = b"{\\rtf"
_PACKAGES = {"docx": "libreoffice-writer-nogui", "xlsx": "libreoffice-calc-nogui"}


def _hint(path: Path) -> str:
    return CONVERSIONS.get(path.suffix.lower(), "请另存为 .docx 或 .xlsx")


def _target(path: Path) -> str:
    return CONVERTED[path.suffix.lower()]


def soffice() -> str | None:
    """The LibreOffice program to run, or None when there is none."""
    configured = os.environ.get("DUBAN_SOFFICE", "").strip()
    if configured:
        return configured if os.path.isfile(configured) and os.access(configured, os.X_OK) else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def timeout(path: Path) -> float:
    """The time limit of one file's conversion, in seconds."""
    text = os.environ.get("DUBAN_SOFFICE_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 86_400:
        raise UserError(
            f"{path}：环境变量 DUBAN_SOFFICE_TIMEOUT=“{text}”无效，"
            "应为 LibreOffice 转换的时限秒数，例如 120"
        )
    return seconds


def _not_installed(path: Path) -> UserError:
    suffix = path.suffix.lower()
    configured = os.environ.get("DUBAN_SOFFICE", "").strip()
    where = f"（DUBAN_SOFFICE 指定的 {configured} 不存在或不可执行）" if configured else ""
    return UserError(
        f"{path}：未安装 LibreOffice{where}，无法读取 {suffix} 文件：{_hint(path)}"
        f"（或安装 LibreOffice：apt install {_PACKAGES[_target(path)]}）"
    )


def _running(group: int) -> bool:
    """Whether a process of the group is still running (one that is dead and waits to be reaped by
    its parent is not); where there is no /proc to ask, it is taken as ended."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return False
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()  # after the program's name
        except (OSError, IndexError):
            continue  # ended meanwhile
        if len(fields) > 2 and fields[0] not in (b"Z", b"X") and fields[2] == str(group).encode():
            return True
    return False


def _kill(process: subprocess.Popen[bytes]) -> None:
    """End the conversion's process group, and wait until it has ended: LibreOffice starts
    soffice.bin from a shell script and oosplash, and a helper left running would hold (and write
    into) the temporary directory that is removed next."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()
    # A killed process ends as soon as the kernel runs it again; bounded, in case it cannot.
    give_up = time.monotonic() + 5
    while _running(process.pid) and time.monotonic() < give_up:
        time.sleep(0.01)


def _run(
    program: str, path: Path, work: Path, source: Path, to: str, limit: tuple[float, float]
) -> Path:
    """One `soffice --convert-to` of `source` into work/out, by `limit` (the seconds allowed, and
    the monotonic time they run out); the file it wrote."""
    out = work / "out"
    command = [
        program,
        f"-env:UserInstallation={(work / 'profile').as_uri()}",
        "--headless",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--convert-to",
        _FILTERS[to],
        "--outdir",
        str(out),
        str(source),
    ]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=work,
            env={**os.environ, "TMPDIR": str(work)},
            start_new_session=True,  # its own process group, killed as one
        )
    except OSError as exc:
        raise UserError(
            f"{path}：无法运行 LibreOffice（{program}）：{exc.strerror or exc}；{_hint(path)}"
        ) from None
    try:
        output, _ = process.communicate(timeout=max(limit[1] - time.monotonic(), 0.001))
    except subprocess.TimeoutExpired:
        _kill(process)
        raise UserError(
            f"{path}：LibreOffice 转换超时（{limit[0]:g} 秒），已终止转换；文件可能过大或"
            f"已损坏，{_hint(path)}（时限可用环境变量 DUBAN_SOFFICE_TIMEOUT 调整）"
        ) from None
    except BaseException:
        _kill(process)
        raise
    _kill(process)  # a helper LibreOffice left behind
    log.debug("soffice exited %s: %s", process.returncode, output.decode("utf-8", "replace"))
    converted = out / f"{source.stem}.{to}"
    code = f"（退出码 {process.returncode}）" if process.returncode else ""
    if process.returncode != 0 or not converted.is_file() or converted.stat().st_size == 0:
        raise UserError(
            f"{path}：LibreOffice 无法转换此文件{code}，文件可能已损坏或设置了打开密码；"
            f"{_hint(path)}（不设密码）后再导入"
        )
    return converted


def _convert(path: Path, work: Path) -> Path:
    """Convert the file to .docx/.xlsx under `work`; the converted file's path."""
    program = soffice()
    if program is None:
        raise _not_installed(path)
    target = _target(path)
    seconds = timeout(path)
    limit = (seconds, time.monotonic() + seconds)
    suffix = path.suffix.lower()
    source = work / f"source{suffix}"  # LibreOffice reads the format from the content
    try:
        shutil.copyfile(path, source)
        with source.open("rb") as head:
            rtf = head.read(len(_RTF)).lower() == _RTF
    except OSError as exc:
        raise UserError(f"无法读取文件 {path}：{exc.strerror or exc}") from None
    if target == "docx" and rtf:
        # LibreOffice carries an RTF table's grid into a .docx as its RTF reader worked it out,
        # which can hold grid columns one twip wide (seen under merged header cells), so that cells
        # no longer line up under their header; saved in its own format first, the table is
        # written with a grid laid out again from the cells.
        source = _run(program, path, work, source, "odt", limit)
    return _run(program, path, work, source, target, limit)


def _named(error: UserError, converted: Path, path: Path) -> UserError:
    """The reader's message about the converted file, naming the user's file instead."""
    return UserError(str(error).replace(str(converted), str(path)))


def document(path: Path) -> Document:
    """The file's tables and running text, read from its conversion to .docx or .xlsx."""
    with tempfile.TemporaryDirectory(prefix="duban-convert-") as work:
        converted = _convert(path, Path(work))
        module = import_module(f"engine.importers.{_target(path)}")
        try:
            if hasattr(module, "document"):
                read: Document = module.document(converted)
                try:
                    grids = list(read.grids)  # read now: the converted file is removed on return
                finally:
                    read.close()
                paragraphs, notes = read.paragraphs, read.notes
            else:
                grids, paragraphs, notes = list(module.read(converted)), [], []
        except UserError as error:
            raise _named(error, converted, path) from None
        shown = str(converted)
        for grid in grids:
            grid.notes = [note.replace(shown, str(path)) for note in grid.notes]
        notes = [note.replace(shown, str(path)) for note in notes]
        return Document(grids=grids, paragraphs=paragraphs, notes=notes)


def read(path: Path) -> Iterator[Grid]:
    """The file's tables, read from its conversion to .docx or .xlsx."""
    yield from document(path).grids
