#!/usr/bin/env bash
# Install duban with its test extra into .venv and run the test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test]'
.venv/bin/ruff check engine tests benchmarks
.venv/bin/pytest "$@"
