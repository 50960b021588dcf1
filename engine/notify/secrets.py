"""Keeping secrets out of logs, errors, files and the database.

Secrets are the SMTP password (from the variable named by `password_env`), WeCom robot keys
(`key=…` in a webhook URL) and every environment value a config refers to as `${NAME}`. `mask()`
hides all three in any text; `install_log_masking()` makes loguru pass every record through it.
The store keeps the webhook URL as configured (with `${…}`), never the expanded one.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from engine.values import ENV_REF as _ENV_REF
from engine.values import expand_env

if TYPE_CHECKING:
    from engine.config import Settings

MASK = "***"
# key=… in a query string; also the common names for credentials in URLs and messages
_URL_SECRET = re.compile(
    r"(?i)(\b(?:key|access_token|token|password|passwd|pwd|secret)=)([^&\s\"'<>#]+)"
)
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s/]+)(@)")
_MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words

_known: set[str] = set()
_lock = threading.Lock()


def remember(*values: str | None) -> None:
    """Treat these values as secrets from now on."""
    with _lock:
        _known.update(v for v in values if v and len(v) >= _MIN_SECRET_LENGTH)


def _walk_strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _walk_strings(item)


def collect(settings: Settings) -> None:
    """Remember every secret the settings refer to: `${NAME}` values and the SMTP password."""
    names = {m.group(1) for s in _walk_strings(settings.model_dump()) for m in _ENV_REF.finditer(s)}
    email = settings.channels.email
    if email and email.password_env:
        names.add(email.password_env)
    remember(*(os.environ.get(name) for name in names))


def blank_variable(value: str | None) -> str | None:
    """Why a `${NAME}` in this value cannot give a secret (`环境变量 X 为空`); None if all can.

    An unset variable and one set to nothing (or only spaces) are the same to a sender: a robot URL
    ending in `key=` or an empty password can only fail. The reason names the variable, never its
    value.
    """
    for match in _ENV_REF.finditer(value or ""):
        name = match.group(1)
        if name not in os.environ:
            return f"环境变量 {name} 未设置"
        if not os.environ[name].strip():
            return f"环境变量 {name} 为空"
    return None


def expand_secret(value: str, *, where: str = "") -> str:
    """`expand_env` for a value that holds a secret: what it expands to is masked from now on."""
    for match in _ENV_REF.finditer(value):
        remember(os.environ.get(match.group(1)))
    expanded = expand_env(value, where=where)
    return expanded


def mask(text: object) -> str:
    """The text with every known secret, URL key and URL password replaced by ***."""
    out = str(text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in out:
            out = out.replace(secret, MASK)
    out = _URL_SECRET.sub(lambda m: m.group(1) + MASK, out)
    return _USERINFO.sub(lambda m: m.group(1) + MASK + m.group(3), out)


def _patch(record: Any) -> None:
    record["message"] = mask(record["message"])
    for key, value in list(record["extra"].items()):
        if isinstance(value, str):
            record["extra"][key] = mask(value)


def install_log_masking(settings: Settings | None = None) -> None:
    """Mask secrets in every loguru record (message and string extras) from now on.

    Tracebacks are not rewritten: handlers should be added with `diagnose=False` so that variable
    values never reach a log.
    """
    from loguru import logger

    if settings is not None:
        collect(settings)
    logger.configure(patcher=_patch)
