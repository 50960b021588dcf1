"""A unit's page behind its personal link: its own tasks, progress with evidence, requests."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("unit", __name__, url_prefix="/u")
