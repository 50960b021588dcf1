"""Where duban's bundled files are: the notice templates and the plans shipped with it.

In a wheel they sit inside the package (`engine/_bundled/`); in a source checkout or an editable
install they are read from the repository's top-level folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent


def _bundled(installed: str, in_repo: str) -> Path:
    inside = _PACKAGE / "_bundled" / installed
    return inside if inside.is_dir() else _REPO / in_repo


def templates_dir() -> Path:
    """The default notice templates (`templates/notifications/`)."""
    return _bundled("notifications", "templates/notifications")


def bundled_plans_dir() -> Path:
    """The plans shipped with duban (`workflows/`)."""
    return _bundled("workflows", "workflows")
