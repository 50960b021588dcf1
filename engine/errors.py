"""Errors a user can cause, and the one failure type that is not theirs.

The CLI turns a `UserError` into one line on stderr and exit status 2, and a `ServiceError` into
one line and exit status 1. Messages are Chinese, in plain words, and name the place (file, row,
column, key) and what was expected.
"""


class DubanError(Exception):
    """Base of every error duban raises on purpose."""

    exit_code = 1


class UserError(DubanError):
    """A mistake in what the user gave: a file, a cell, a date, a unit name, a config key."""

    exit_code = 2


class NotAllowed(UserError):
    """A unit, person or token asking for what its role does not allow (the web answers 403)."""


class ServiceError(DubanError):
    """A failure that is not the user's: a database that cannot be written, a server that fails."""

    exit_code = 1


def os_reason(exc: OSError) -> str:
    """Why a file could not be read, in the user's words (the OS says it in English)."""
    import errno

    reasons = {
        errno.EISDIR: "这是一个文件夹，应为文件",
        errno.EACCES: "没有读取权限",
        errno.EPERM: "没有读取权限",
        errno.ENOENT: "文件不存在",
    }
    return reasons.get(exc.errno or 0, str(exc.strerror or exc))
