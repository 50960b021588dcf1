"""The ledger (推进情况汇总表): one writer module per format behind one small interface.

A writer is a module with `SUFFIX` and `render(ledger) -> bytes`; it does no I/O. `export` picks
the writer, renders the whole file in memory, then writes it atomically: an unknown format or a
failed render touches nothing.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from engine.errors import UserError
from engine.ledger.model import Ledger
from engine.planfile import write_atomically

# Imported when first asked for: the Office writers pull in openpyxl and python-docx, which a
# digest or a planner pass (that import this package for its model) never needs.
WRITERS: dict[str, str] = {
    "xlsx": "engine.ledger.xlsx", "docx": "engine.ledger.docx",
    "md": "engine.ledger.md", "csv": "engine.ledger.csv",
}
FORMATS = tuple(WRITERS)


def writer_for(fmt: str) -> ModuleType:
    """The writer of a format; an unknown format is the user's mistake, naming the choices."""
    try:
        name = WRITERS[fmt.lower()]
    except KeyError:
        raise UserError(
            f"--format 的值“{fmt}”不是支持的导出格式，应为 {' / '.join(FORMATS)} 之一"
        ) from None
    return importlib.import_module(name)


def render(ledger: Ledger, fmt: str) -> bytes:
    return bytes(writer_for(fmt).render(ledger))


def export(ledger: Ledger, fmt: str, path: Path) -> None:
    """Write the ledger to `path` in the given format, atomically."""
    write_atomically(Path(path), render(ledger, fmt))
