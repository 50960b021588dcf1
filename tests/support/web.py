"""The web application on a real waitress server on loopback, over a real SQLite file, for tests.

`WebSite` loads the seed plan (18 tasks, coordinator 市司法局) into `folder/duban.db`, makes a
coordinator account `sfj` and a viewer `leader`, and serves the app on an ephemeral port in a
thread, with a fixed business clock that a test may move. `Browser` is a requests.Session that
reads the CSRF token from the page it fetched, as a person's browser would submit the form.
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from engine.actions import people
from engine.actions.loading import load_plan
from engine.actions.people import add_user, link_token, link_url
from engine.clock import FixedClock
from engine.config import Settings
from engine.planfile import read_plan
from engine.store import Database, open_database

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 6, 10, 10, 0, tzinfo=ZONE)
SEED_PLAN = Path(__file__).resolve().parents[2] / "workflows" / "zhuhai-gba-legal-services.yaml"
PLAN = "zhuhai-gba-legal-services"
COORDINATOR = "市司法局"
PASSWORD = "correct-horse-7"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _cheap_hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def web_settings(folder: Path, **web: Any) -> Settings:
    doc: dict[str, Any] = {
        "channels": {"file": {"dir": str(folder / "outbox")}},
        "web": {"base_url": "http://127.0.0.1", **web},
    }
    return Settings.model_validate(doc).model_copy(update={"source": folder / "duban.toml"})


@dataclass
class WebSite:
    folder: Path
    settings: Settings | None = None
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    db: Database | None = None
    url: str = ""
    app: Any = None
    _real_hasher: Any = None
    _server: Any = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> WebSite:
        from waitress.server import create_server

        from engine.web.app import create_app

        # Argon2 at its defaults costs about half a second a hash: the tests use cheap parameters
        # (stored in each hash, so a login checks against them too).
        self._real_hasher = people._hasher
        people._hasher = _cheap_hasher
        self.db = open_database(f"sqlite:///{self.folder / 'duban.db'}")
        base = self.settings or web_settings(self.folder)
        load_plan(self.db, read_plan(SEED_PLAN), base, NOW)
        add_user(
            self.db, name="sfj", unit=COORDINATOR, role="coordinator", password=PASSWORD, now=NOW
        )
        add_user(self.db, name="leader", unit="市发改局", role="viewer", password=PASSWORD, now=NOW)
        self.app = create_app(base, self.db, self.clock)
        self._server = create_server(self.app, host="127.0.0.1", port=0, threads=4)
        port = self._server.effective_port
        self.url = f"http://127.0.0.1:{port}"
        # the links in notices and from `link_for` point at this server
        self.settings = base.model_copy(
            update={"web": base.web.model_copy(update={"base_url": self.url})}
        )
        self.app.extensions["duban"].settings = self.settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        """The server's loop, which closes the server's sockets itself once asked to stop.

        Closing them from another thread while the loop waits in select() on them fails there
        with EBADF; so the loop is woken (by the trigger, or within 0.2 s if the trigger cannot
        be written to) and closes them between two polls.
        """
        from waitress import wasyncore

        server = self._server
        try:
            while server._map and not self._stop.is_set():
                wasyncore.poll(0.2, server._map)
        finally:
            for dispatcher in list(server._map.values()):
                dispatcher.close()

    def __exit__(self, *exc: object) -> None:
        server, thread = self._server, self._thread
        assert thread is not None
        self._stop.set()
        with contextlib.suppress(OSError):  # the loop sees the flag at its next poll
            server.trigger.pull_trigger()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the web server's thread did not stop"
        server.task_dispatcher.shutdown()
        people._hasher = self._real_hasher
        if self.db is not None:
            self.db.close()

    def link_for(self, unit: str) -> str:
        assert self.db is not None and self.settings is not None
        return link_url(self.settings, link_token(self.db, self.settings, unit, self.clock.now()))

    def browser(self) -> Browser:
        return Browser(self.url)

    def logged_in(self, user: str = "sfj", password: str = PASSWORD) -> Browser:
        browser = self.browser()
        response = browser.submit("/login", {"username": user, "password": password})
        assert response.status_code == 200 and "退出" in response.text, response.text[:500]
        return browser


class Browser(requests.Session):
    """A session that submits forms with the CSRF token of the page it last fetched."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.last_page = ""

    def page(self, path: str, **kw: Any) -> requests.Response:
        response = self.get(self.base + path if path.startswith("/") else path, **kw)
        self.last_page = response.text
        return response

    def csrf(self, path: str | None = None) -> str:
        text = self.page(path).text if path else self.last_page
        found = _CSRF.search(text)
        assert found, "the page has no csrf_token"
        return found.group(1)

    def submit(
        self, path: str, fields: dict[str, Any], *, page: str | None = None, **kw: Any
    ) -> requests.Response:
        """POST a form to `path` as the browser would, after fetching `page` (default: `path`)."""
        token = self.csrf(page or path)
        url = self.base + path if path.startswith("/") else path
        response = self.post(url, data={"csrf_token": token, **fields}, **kw)
        self.last_page = response.text
        return response
