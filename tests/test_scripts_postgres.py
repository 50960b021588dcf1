"""`scripts/test.sh` stops the PostgreSQL server it started, and only that one.

The scripts run for real on a free port with their own data folder: `postgres.sh` starts a real
server; `test.sh` runs in a copy of the scripts whose `python3` makes a `.venv` of stand-ins (pip,
ruff, mypy, and a pytest that notes whether the server answers while it runs).
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))

pytestmark = pytest.mark.skipif(not PG_BIN, reason="PostgreSQL is not installed")

FAKE_PYTHON = """#!/usr/bin/env bash
# python3 -m venv .venv: a venv of stand-ins
mkdir -p .venv/bin
for tool in pip ruff mypy; do printf '#!/bin/sh\\nexit 0\\n' > .venv/bin/$tool; done
cat > .venv/bin/pytest <<'STUB'
#!/usr/bin/env bash
echo "url=${DUBAN_TEST_POSTGRES_URL:-}" > "$REPORT"
if bash scripts/postgres.sh running; then echo "server=up" >> "$REPORT"; fi
exit "${FAKE_PYTEST_EXIT:-0}"
STUB
chmod +x .venv/bin/*
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder the postgres user can enter (a root test run starts the server as postgres)."""
    folder = Path(tempfile.mkdtemp(prefix="duban-scripts-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def env(place: Path) -> Iterator[dict[str, str]]:
    values = dict(os.environ)
    values.pop("DUBAN_TEST_POSTGRES_URL", None)
    values.update(DUBAN_PG_PORT=str(free_port()), DUBAN_PG_DATA=str(place / "pg"))
    yield values
    postgres(values, "stop")  # whatever a failed test left behind


def postgres(env: dict[str, str], action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "postgres.sh"), action],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def answers(env: dict[str, str]) -> bool:
    return postgres(env, "running").returncode == 0


def clone(place: Path) -> Path:
    """The scripts as test.sh expects them, with Chromium and LibreOffice said to be missing."""
    root = place / "clone"
    (root / "scripts").mkdir(parents=True)
    for name in ("test.sh", "postgres.sh"):
        shutil.copy(REPO / "scripts" / name, root / "scripts" / name)
    for name in ("browser.sh", "libreoffice.sh"):
        (root / "scripts" / name).write_text("exit 1\n", encoding="utf-8")
    bin_dir = place / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python3"
    python.write_text(FAKE_PYTHON, encoding="utf-8")
    python.chmod(python.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return root


def run_test_sh(place: Path, env: dict[str, str], pytest_exit: int = 0):
    root = clone(place)
    report = place / "report.txt"
    result = subprocess.run(
        ["bash", str(root / "scripts" / "test.sh")],
        env={**env, "PATH": f"{place / 'bin'}:{env['PATH']}", "REPORT": str(report),
             "FAKE_PYTEST_EXIT": str(pytest_exit)},
        capture_output=True, text=True, timeout=300, check=False,
    )
    return result, report.read_text(encoding="utf-8") if report.exists() else ""


def test_start_running_and_stop(env):
    assert not answers(env)
    started = postgres(env, "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout == f"postgresql+psycopg://postgres@127.0.0.1:{env['DUBAN_PG_PORT']}/postgres\n"
    assert answers(env)
    assert postgres(env, "stop").returncode == 0
    assert not answers(env)
    assert not Path(env["DUBAN_PG_DATA"]).exists()


def test_stop_leaves_a_server_of_another_folder_alone(env, place):
    assert postgres(env, "start").returncode == 0
    other = {**env, "DUBAN_PG_DATA": str(place / "elsewhere")}
    assert postgres(other, "stop").returncode == 0
    assert answers(env)


def test_test_sh_stops_the_server_it_started_even_when_tests_fail(env, place):
    assert not answers(env)
    result, report = run_test_sh(place, env, pytest_exit=3)
    assert result.returncode == 3, result.stderr  # the tests' status, not the clean-up's
    assert "server=up" in report and f":{env['DUBAN_PG_PORT']}/postgres" in report
    assert not answers(env)
    assert not Path(env["DUBAN_PG_DATA"]).exists()


def test_test_sh_leaves_a_server_that_was_running_before(env, place):
    assert postgres(env, "start").returncode == 0
    result, report = run_test_sh(place, env)
    assert result.returncode == 0, result.stderr
    assert "server=up" in report
    assert answers(env)
