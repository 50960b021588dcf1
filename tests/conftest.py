"""Shared fixtures: run the real `duban` command in-process, in a temporary working directory."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from engine.cli.main import main

# Property tests: no per-example deadline (a loaded CI machine is slow, not wrong), and on CI a
# fixed seed so that a landing never hangs on a new random draw; locally they explore freely.
settings.register_profile("duban", deadline=None, derandomize=os.environ.get("CI") == "true")
settings.load_profile("duban")

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "workflows" / "sources" / "zhuhai-gba-legal-services.txt"
SEED_PLAN = REPO / "workflows" / "zhuhai-gba-legal-services.yaml"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory; duban's default database and outbox land under it."""
    monkeypatch.chdir(tmp_path)
    for name in ("DUBAN_DATABASE_URL", "DUBAN_CONFIG", "DUBAN_NOW", "DUBAN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def duban(workdir: Path, capsys: pytest.CaptureFixture[str]):
    """Run `duban ARGS…` as a user would and return its exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def seed_copy(workdir: Path) -> Path:
    """The seed table copied into the working directory."""
    target = workdir / SEED.name
    shutil.copy(SEED, target)
    return target
