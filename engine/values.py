"""Checks on values that the config and a plan file both make, `${NAME}` expansion, and the
reading of a plan file's bytes.

Reading a plan file needs the two checks and its bytes (which the service's start reads too, to
compare their digest with the store's), and the logging set-up `expand_env` (to mask secrets);
none needs pydantic, which `duban load` imports only once it has forked the child that reads its
files (engine.readahead), so that the child reads sooner and imports nothing more to read.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from engine.errors import UserError, os_reason

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


def read_plan_bytes(path: Path) -> bytes:
    """A plan file's bytes; a missing or unreadable file is a user error naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"计划文件 {path} 不存在") from None
    except OSError as exc:
        raise UserError(f"无法读取计划文件 {path}：{os_reason(exc)}") from None
