"""Checks on values that the config and a plan file both make, and `${NAME}` expansion.

Reading a plan file needs the two checks, and the logging set-up `expand_env` (to mask secrets);
neither needs pydantic, which `duban load` imports only once it has forked the child that reads
its files (engine.readahead), so that the child starts sooner.
"""

from __future__ import annotations

import os
import re
import unicodedata

from engine.errors import UserError

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""`${NAME}` in a config value: read from the environment when the value is used."""


def expand_env(value: str, *, where: str = "") -> str:
    """Replace `${NAME}` with the environment's value; a missing variable is a user error."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise UserError(f"环境变量 {name} 未设置{f'（{where} 需要它）' if where else ''}")
        return os.environ[name]

    return ENV_REF.sub(repl, value)


def is_time_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this system knows (Asia/Shanghai)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    # a folder of zones ("Asia") or a name too long for a file name is an OSError
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def control_character(text: str) -> str | None:
    """The first control character or line break in `text` ("U+000A"), or None."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return f"U+{ord(char):04X}"
    return None
