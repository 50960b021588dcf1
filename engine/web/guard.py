"""What the blueprints share: the request's context, who is asking, and how a refusal is answered.

A refusal is a page in Chinese for the console and a unit's page, `{"error": …}` for the API, with
the status code that says why (401, 403, 404, 413, 422); never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from engine.actions.people import Account, account
from engine.actions.tasks import Via
from engine.model.lights import LIGHT_LABELS
from engine.model.plan import STATUS_LABELS
from engine.notify.render import cn_date
from engine.web.app import WebContext

F = TypeVar("F", bound=Callable[..., Any])


def ctx() -> WebContext:
    return cast(WebContext, current_app.extensions["duban"])


def wants_json() -> bool:
    return request.path.startswith("/api/")


def refuse(code: int, message: str) -> Any:
    """The answer to a request that cannot be done: a page or JSON, with `code`."""
    if wants_json():
        return jsonify({"error": message}), code
    return render_template("error.html", code=code, message=message), code


# --- console logins ------------------------------------------------------------------------------


def current_account() -> Account | None:
    """The logged-in account, read again on each request (a removed user is logged out)."""
    if "account" not in g:
        name = session.get("user")
        g.account = account(ctx().db, name) if isinstance(name, str) else None
        if name and g.account is None:
            session.clear()
    return cast(Account | None, g.account)


def login_required(func: F) -> F:
    """A console page: a person who is not logged in is sent to the login page (GET) or refused."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_account() is None:
            if request.method == "GET":
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            return refuse(401, "登录已失效，请重新登录后再提交")
        return func(*args, **kwargs)

    return cast(F, wrapper)


def web_via(who: Account) -> Via:
    return Via("web", who.name)


# --- downloads ------------------------------------------------------------------------------------

_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/;]')


def download(
    filename: str, content: bytes, *, fallback: str, mimetype: str = "application/octet-stream"
) -> Response:
    """`content` as an attachment named `filename`: the real name (RFC 5987) and, for old
    clients, its ASCII part (else `fallback`) with the suffix; never shown inline."""
    name = _UNSAFE_NAME.sub("_", filename).strip() or fallback
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    plain = "".join(c for c in stem if c.isascii() and (c.isalnum() or c in "-_.")).strip(".")
    ascii_suffix = "".join(c for c in suffix if c.isascii() and c.isalnum())[:16]
    plain = (plain or fallback) + (f".{ascii_suffix}" if ascii_suffix else "")
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- template helpers ------------------------------------------------------------------------


def cn_time(value: datetime | str | None) -> str:
    """2021-06-10 09:00 in the service's zone."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    zone = ZoneInfo(ctx().settings.service.timezone)
    if value.tzinfo is not None:
        value = value.astimezone(zone)
    return value.strftime("%Y-%m-%d %H:%M")


STATUS_TEXT = {str(k): v for k, v in STATUS_LABELS.items()}
LIGHT_TEXT = {str(k): v for k, v in LIGHT_LABELS.items()}
ACTION_TEXT = {
    "created": "创建",
    "progress": "报送进展",
    "status": "状态变更",
    "request": "申请变更",
    "request_extension": "申请延期",
    "approve": "批准",
    "reject": "驳回",
    "extension": "延期",
    "deadline": "完成时限变更",
    "removed": "移出计划",
    "restored": "恢复",
}
VIA_TEXT = {
    "cli": "命令行", "web": "控制台", "link": "单位链接", "api": "接口", "email": "电子邮件",
    "system": "系统",
}


def install_template_helpers(app: Flask) -> None:
    app.jinja_env.filters.update(cn_date=cn_date, cn_time=cn_time)
    app.jinja_env.globals.update(
        STATUS_TEXT=STATUS_TEXT,
        LIGHT_TEXT=LIGHT_TEXT,
        ACTION_TEXT=ACTION_TEXT,
        VIA_TEXT=VIA_TEXT,
        SYSTEM_NAME="督办系统",
    )

    @app.context_processor
    def people() -> dict[str, Any]:
        # the unit pages have no login: only the console's pages look the account up
        is_unit_page = request.path.startswith("/u/")
        return {"account": None if is_unit_page else current_account()}
