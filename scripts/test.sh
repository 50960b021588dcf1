#!/usr/bin/env bash
# Install duban with its test extra into .venv, start a loopback PostgreSQL for the store's
# contract tests and Dovecot for the e-mail reply tests (each stopped again at the end unless it
# was running before), install Chromium for the web console's browser tests, LibreOffice for
# importing .doc/.xls plans and a Chinese font for PDFs that do not embed theirs, lint, and run the
# suite.
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test,postgres]'
# A server that was running before is left running; one started here is stopped at the end,
# however the run ends (tests failing, Ctrl-C, a kill).
already=no
if bash scripts/postgres.sh running 2>/dev/null; then already=yes; fi
if url=$(bash scripts/postgres.sh start); then
  export DUBAN_TEST_POSTGRES_URL="$url"
  if [ "$already" = no ]; then
    trap 'bash scripts/postgres.sh stop' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
  fi
else
  echo "warning: no PostgreSQL server; the PostgreSQL tests will be skipped" >&2
fi
# Dovecot on loopback for the progress-by-reply tests (IMAP), stopped at the end in the same way.
imap_before=no
if bash scripts/dovecot.sh running 2>/dev/null; then imap_before=yes; fi
if imap=$(bash scripts/dovecot.sh start); then
  export DUBAN_TEST_IMAP="$imap"
  if [ "$imap_before" = no ]; then
    earlier=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
    trap "${earlier:+$earlier; }bash scripts/dovecot.sh stop" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
  fi
else
  echo "warning: no Dovecot; the IMAP tests will be skipped (on CI they fail)" >&2
fi
if driver=$(bash scripts/browser.sh); then
  export DUBAN_TEST_CHROMEDRIVER="$driver"
else
  echo "warning: no Chromium; the browser tests will be skipped (on CI they fail)" >&2
fi
if ! bash scripts/fonts.sh >/dev/null; then
  echo "warning: no Chinese font; the PDF import tests fail without one" >&2
fi
if soffice=$(bash scripts/libreoffice.sh); then
  export DUBAN_TEST_SOFFICE="$soffice"
else
  echo "warning: no LibreOffice; the .doc/.xls import tests will be skipped (on CI they fail)" >&2
fi
.venv/bin/ruff check engine tests benchmarks
.venv/bin/mypy engine
.venv/bin/pytest "$@"
