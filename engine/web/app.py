"""The web application: the coordinator's console, the units' pages and the API, on Flask.

`create_app(settings, db, clock)` builds it; `engine.web.server` serves it with waitress. Pages are
rendered on the server (Jinja, autoescaped) and every form works without JavaScript. Every POST
form carries `csrf_token` (Flask-WTF); the API is exempt and uses bearer tokens instead. The
business clock (`--now`) decides what is due and when links expire; the failed-login wait runs in
real time.

Blueprints, one module each: `console` (login, board, requests, task, stats, ledger, outbox),
`unit` (a unit's page through its link) and `api` (`/api/v1`). `guard` holds what they share:
who is asking, and the answers for what is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from loguru import logger
from werkzeug.exceptions import HTTPException

from engine.clock import Clock
from engine.config import Settings
from engine.errors import DubanError, NotAllowed, UserError
from engine.store import Database

HERE = Path(__file__).resolve().parent


@dataclass
class WebContext:
    """What every request handler reads: the settings, the database and the business clock."""

    settings: Settings
    db: Database
    clock: Clock

    def now(self) -> datetime:
        """The business clock, in the service's time zone."""
        return self.clock.now().astimezone(ZoneInfo(self.settings.service.timezone))

    @staticmethod
    def real_now() -> datetime:
        """Mechanical time (login waits), real whatever `--now` says."""
        return datetime.now(UTC)


def create_app(settings: Settings, db: Database, clock: Clock) -> Flask:
    from engine.actions.people import signing_secret
    from engine.web import api, console, guard, unit

    app = Flask("engine.web", template_folder=str(HERE / "templates"), static_folder=None)
    secure = settings.web.secure_cookies
    if secure is None:
        secure = urlsplit(settings.web.base_url).scheme == "https"
    app.config.update(
        SECRET_KEY=signing_secret(db, settings),
        SESSION_COOKIE_NAME="duban_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        # an upload over the limit is refused before it is read whole; the margin is the form
        MAX_CONTENT_LENGTH=(settings.web.max_upload_mb + 1) * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        # Referrer-Policy is no-referrer (a unit's link must not leak): the token alone guards
        WTF_CSRF_SSL_STRICT=False,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese as written, as the CLI
    app.extensions["duban"] = WebContext(settings, db, clock)
    csrf = CSRFProtect(app)
    app.register_blueprint(console.blueprint)
    app.register_blueprint(unit.blueprint)
    app.register_blueprint(api.blueprint)
    csrf.exempt(api.blueprint)
    guard.install_template_helpers(app)

    @app.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        from flask import send_from_directory

        response = send_from_directory(HERE / "static", name, max_age=3600)
        return response

    @app.after_request
    def secure_headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path.startswith("/u/") or request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError) -> Any:
        return guard.refuse(403, "页面已过期或表单校验失败，请刷新页面后重新提交")

    @app.errorhandler(NotAllowed)
    def not_allowed(exc: NotAllowed) -> Any:
        return guard.refuse(403, str(exc))

    @app.errorhandler(UserError)
    def user_error(exc: UserError) -> Any:
        return guard.refuse(422, str(exc))

    @app.errorhandler(DubanError)
    def service_error(exc: DubanError) -> Any:
        logger.error("网页请求失败：{}", exc, endpoint=request.endpoint)
        return guard.refuse(503, "系统暂时无法完成操作，请稍后重试")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        messages = {
            400: "请求无效，请检查填写的内容",
            401: "请先登录",
            403: "无权访问",
            404: "页面不存在",
            405: "不支持此操作",
            413: f"上传的文件超过 {settings.web.max_upload_mb} MB，请压缩或分开上传",
        }
        code = exc.code or 500
        body, status = guard.refuse(code, messages.get(code, "请求无法处理"))
        # keep what the exception says besides its page: Allow on a 405, WWW-Authenticate …
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return body, status, headers

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Any:
        logger.opt(exception=exc).error("网页请求出错", endpoint=request.endpoint)
        return guard.refuse(500, "系统内部错误，已记录，请稍后重试或联系管理员")

    return app
