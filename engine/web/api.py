"""The API for other systems: `/api/v1/…` in the CLI's JSON shapes, with bearer tokens."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
