"""Logging for the service and the CLI: loguru to stderr, one line per event, secrets masked.

Under systemd, stderr goes to journald, which stamps each line with the time and the unit; there
each line starts with a syslog priority prefix (`<6>`) so that `journalctl -p warning -u duban`
filters by level, and no time is repeated. On a terminal a line carries the time and colours. A
record's extras (task, recipient, channel, …) follow the message as `key=value`, so that one line
says which task and which recipient an event concerns. Tracebacks are one line unless the level is
DEBUG or lower; variable values never reach a log (`diagnose=False`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, TextIO

from loguru import logger

from engine.notify.secrets import install_log_masking, mask

if TYPE_CHECKING:
    from engine.config import Settings

# journald's priority prefixes (sd-daemon(3)).
_PRIORITY = {"TRACE": 7, "DEBUG": 7, "INFO": 6, "SUCCESS": 5, "WARNING": 4, "ERROR": 3,
             "CRITICAL": 2}
# Libraries that log through the standard `logging` module, and the least level worth a line:
# APScheduler says "Running job …" on every tick; Alembic's notes are the service's to summarise.
_QUIET = {"apscheduler": logging.WARNING, "alembic": logging.WARNING,
          "sqlalchemy": logging.WARNING, "urllib3": logging.WARNING, "mail.log": logging.WARNING}
_VERBOSE = ("TRACE", "DEBUG")
# Never verbose, whatever the level: SQLAlchemy's statement and row logging carries bound values
# and rows (password hashes, the stored signing secret, evidence), which no log may hold.
_NEVER_VERBOSE = frozenset({"sqlalchemy"})


def _to_journald(stream: IO[str]) -> bool:
    """True when `stream` is the journal stream systemd connected (JOURNAL_STREAM=dev:inode)."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


def _one_line(text: str) -> str:
    return " ⏎ ".join(part for part in text.strip().splitlines() if part.strip())


def _formatter(*, journald: bool, verbose: bool) -> Callable[[Any], str]:
    def format_record(record: Any) -> str:
        extras = " ".join(
            f"{key}={_one_line(str(value))}"
            for key, value in sorted(record["extra"].items())
            if not key.startswith("_")
        )
        line = _one_line(record["message"]) + (f" {extras}" if extras else "")
        exc = record["exception"]
        if exc is not None and exc.type is not None and not verbose:
            line += f"（{exc.type.__name__}: {_one_line(str(exc.value))}）"
        record["extra"]["_line"] = mask(line)
        tail = "\n{exception}" if verbose else "\n"
        if journald:
            return f"\\<{_PRIORITY.get(record['level'].name, 6)}>{{extra[_line]}}{tail}"
        return "{time:YYYY-MM-DD HH:mm:ss} <level>{level: <7}</level> {extra[_line]}" + tail

    return format_record


class _Intercept(logging.Handler):
    """Send the standard `logging` records of libraries through loguru (and its masking)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def configure_logging(
    settings: Settings | str | None = None, *, stream: TextIO | None = None
) -> int:
    """Log to stderr (or `stream`) at the level from `settings` (service.log_level) or given.

    Returns the loguru handler id. Secrets named by the settings are masked from here on.
    """
    level: str
    if settings is None or isinstance(settings, str):
        level = (settings or "INFO").upper()
        install_log_masking(None)
    else:
        level = settings.service.log_level
        install_log_masking(settings)
    stream = stream or sys.stderr
    journald = _to_journald(stream)
    verbose = level in _VERBOSE
    logger.remove()
    handler = logger.add(
        stream,
        level=level,
        format=_formatter(journald=journald, verbose=verbose),
        colorize=(not journald) and stream.isatty(),
        backtrace=False,
        diagnose=False,
    )
    logging.basicConfig(handlers=[_Intercept()], level=0, force=True)
    for name, least in _QUIET.items():
        verbose_here = verbose and name not in _NEVER_VERBOSE
        logging.getLogger(name).setLevel(logging.DEBUG if verbose_here else least)
    return handler
