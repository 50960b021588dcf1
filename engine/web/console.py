"""The coordinating office's console: log in, the board, the approval queue, a task's page, stats,
the ledger download and the outbox. Coordinators decide for the plans their unit coordinates;
viewers read everything and decide nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from loguru import logger

from engine.actions.people import LoginRefused, check_login
from engine.web.guard import ctx, login_required

blueprint = Blueprint("console", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an address elsewhere (an open redirect)."""
    if not target:
        return url_for("console.board")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("console.board")
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = request.form.get("next", "")
    try:
        who = check_login(ctx().db, name, password, ctx().real_now())
    except LoginRefused as exc:
        logger.warning("控制台登录失败", user=name[:100])
        return render_template("login.html", error=str(exc), username=name, next=target), 401
    session.clear()
    session["user"] = who.name
    session.permanent = True
    logger.info("控制台登录", user=who.name)
    return redirect(_safe_next(target))


@blueprint.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("console.login"))


@blueprint.get("/")
@login_required
def board() -> Any:
    return render_template("board.html")


@blueprint.get("/requests")
@login_required
def requests_page() -> Any:
    return render_template("board.html")


@blueprint.get("/stats")
@login_required
def stats_page() -> Any:
    return render_template("board.html")


@blueprint.get("/outbox")
@login_required
def outbox_page() -> Any:
    return render_template("board.html")
