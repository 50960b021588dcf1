"""The ledger (推进情况汇总表): one writer module per format behind one small interface.

A writer is a module with `SUFFIX` and `render(ledger) -> bytes`; it does no I/O. `export` picks
the writer, renders the whole file in memory, then writes it atomically: an unknown format or a
failed render touches nothing.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from engine.errors import UserError
from engine.ledger import csv, docx, md, xlsx
from engine.ledger.model import Ledger
from engine.planfile import write_atomically

WRITERS: dict[str, ModuleType] = {"xlsx": xlsx, "docx": docx, "md": md, "csv": csv}
FORMATS = tuple(WRITERS)


def writer_for(fmt: str) -> ModuleType:
    """The writer of a format; an unknown format is the user's mistake, naming the choices."""
    try:
        return WRITERS[fmt.lower()]
    except KeyError:
        raise UserError(
            f"--format 的值“{fmt}”不是支持的导出格式，应为 {' / '.join(FORMATS)} 之一"
        ) from None


def render(ledger: Ledger, fmt: str) -> bytes:
    return bytes(writer_for(fmt).render(ledger))


def export(ledger: Ledger, fmt: str, path: Path) -> None:
    """Write the ledger to `path` in the given format, atomically."""
    write_atomically(Path(path), render(ledger, fmt))
