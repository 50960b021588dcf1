"""What a refused import must look like: exit 2, one line on stderr naming the file and what was
expected, nothing on stdout, and no file in the working directory created or changed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

PREVIOUS = "plan:\n  id: previous\n"  # what a plan file held before a failed import


def files_in(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def refuser(duban: Callable[..., Any], workdir: Path) -> Callable[..., str]:
    """`refuse(source, *expected)`: import `source` to an existing plan.yaml, which must fail."""
    target = workdir / "plan.yaml"
    target.write_text(PREVIOUS, encoding="utf-8")

    def refuse(source: Path | str, *expected: str) -> str:
        before = files_in(workdir)
        result = duban("import", str(source), "-o", "plan.yaml")
        assert result.code == 2, result.err
        assert result.err.count("\n") == 1, result.err
        assert "Traceback" not in result.err
        for part in expected:
            assert part in result.err, result.err
        assert result.out == ""
        assert files_in(workdir) == before, "files changed by a failed import"
        assert target.read_text(encoding="utf-8") == PREVIOUS
        return result.err

    return refuse
