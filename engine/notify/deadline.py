"""A total deadline for one network exchange: an HTTP request and its answer, an SMTP conversation.

Socket timeouts (requests', smtplib's) bound each read, not the exchange: a peer that sends one byte
just inside the timeout holds a sender for as long as it likes. A `Watchdog` shuts the exchange's
sockets down when its time is up, which wakes a blocked read or write at once; the caller then sees
an ordinary connection error and `watchdog.fired` says that it was the deadline.

Sockets are registered with the thread's current watchdog as they are opened or reused (`watch`):
by the urllib3 connection classes of `deadline_session()`, and by the SMTP classes of the email
channel. The watchdog keeps its own duplicate of each descriptor: `shutdown()` on it ends the
connection for every descriptor (the TLS layer's too), and closing it never closes the caller's,
so the watchdog can never hit a descriptor number the process has since given to something else.

`post()` is the one way duban POSTs to a robot: the request is prepared once from the URL that was
checked and sent as it is (no redirects, no rebuilding), and the answer is read within the deadline.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager, ProxyManager
from urllib3.util import parse_url

MAX_ANSWER_BYTES = 64 * 1024
"""A robot answers a few dozen bytes; more than this is not read."""

_current = threading.local()


class _Alarms:
    """One thread for every watchdog's deadline, instead of a timer thread per exchange (starting
    one cost more than a loopback request). Ends of watchdogs that finished early are skipped."""

    def __init__(self) -> None:
        self._count = itertools.count()
        self.reset()

    def reset(self) -> None:
        """Start afresh: at first, and in a forked child (which has no thread, and a copy of the
        lock in whatever state the parent's threads held it)."""
        self._lock = threading.Condition()
        self._due: list[tuple[float, int, Watchdog]] = []
        self._thread: threading.Thread | None = None

    def add(self, at: float, dog: Watchdog) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="duban-deadlines", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._due, (at, next(self._count), dog))
            if self._due[0][2] is dog:
                self._lock.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                while self._due and (self._due[0][0] <= now or self._due[0][2].done):
                    _, _, dog = heapq.heappop(self._due)
                    if not dog.done:
                        dog.fire()
                self._lock.wait(self._due[0][0] - now if self._due else None)


_alarms = _Alarms()
os.register_at_fork(after_in_child=_alarms.reset)


class Watchdog:
    """`with Watchdog(seconds) as dog:` shuts the sockets registered inside down at the deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = max(float(seconds), 0.0)
        self._deadline = 0.0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._fired = False
        self._done = False
        self._outer: Watchdog | None = None

    def __enter__(self) -> Watchdog:
        self._deadline = time.monotonic() + self.seconds
        _alarms.add(self._deadline, self)
        self._outer = getattr(_current, "watchdog", None)
        _current.watchdog = self
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _current.watchdog = self._outer
        with self._lock:
            self._done = True
            for sock in self._sockets:
                sock.close()
            self._sockets = []

    @property
    def done(self) -> bool:
        """True once the exchange has ended (its deadline no longer matters)."""
        return self._done

    @property
    def fired(self) -> bool:
        """True once the deadline has passed and the sockets were shut down."""
        with self._lock:
            return self._fired

    def remaining(self) -> float:
        return max(self._deadline - time.monotonic(), 0.0)

    def watch(self, sock: socket.socket) -> None:
        try:
            duplicate = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except (OSError, ValueError):
            return  # already closed: nothing left to wake
        with self._lock:
            if self._done:
                duplicate.close()
                return
            self._sockets.append(duplicate)
            if self._fired:  # opened after the deadline: end it at once
                _shut(duplicate)

    def fire(self) -> None:
        with self._lock:  # held while shutting down, so that __exit__ cannot close one meanwhile
            if self._done:
                return
            self._fired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the peer or the client closed it first
        sock.shutdown(socket.SHUT_RDWR)


def watch(sock: socket.socket) -> socket.socket:
    """Register a socket with this thread's watchdog, if one is running; returns the socket."""
    dog: Watchdog | None = getattr(_current, "watchdog", None)
    if dog is not None:
        dog.watch(sock)
    return sock


# --- requests -------------------------------------------------------------------------------------


class _HTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return watch(super()._new_conn())

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # a kept-alive connection: its socket was opened before
            watch(self.sock)
        super().request(*args, **kwargs)


class _HTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return watch(super()._new_conn())  # before the TLS handshake, which can be slow too

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            watch(self.sock)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections register their sockets with the thread's watchdog."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):  # SOCKS managers keep their own pool classes
            manager.pool_classes_by_scheme = _POOLS
        return manager


def deadline_session() -> requests.Session:
    session = requests.Session()
    adapter = DeadlineAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class DeadlineExceeded(requests.Timeout):
    """The whole exchange took longer than its deadline (whichever phase was slow)."""


class RewrittenURL(requests.exceptions.InvalidURL):
    """requests would have sent the request somewhere other than the URL that was checked."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def target(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) as urllib3, and so requests, reads the URL to connect."""
    parts = parse_url(url)
    return (parts.scheme or "").lower(), (parts.host or "").lower(), parts.port


_ENVIRONMENT = (
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
    "no_proxy", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "REQUEST_METHOD",
)  # fmt: skip
"""Every variable requests reads for an http or https request (the proxies of both schemes
are in its answer)."""


def environment_settings(
    session: requests.Session, url: str, aimed: tuple[str, str, int | None] | None = None
) -> dict[str, Any]:
    """What `session.merge_environment_settings` gives for `url` (proxies, CA bundle), worked out
    once per target and environment: requests reads the whole environment twice for each request
    (a fifth of a notice's sending time). The key holds every variable the answer can depend on,
    read again for each request, so that a changed proxy or bundle takes effect at once.
    `aimed`: `target(url)`, when the caller has it already."""
    scheme, host, port = aimed or target(url)
    key = (
        scheme, host, port, tuple(os.environ.get(name) for name in _ENVIRONMENT),
        session.trust_env, tuple(sorted(session.proxies.items())), session.verify, session.cert,
    )  # fmt: skip
    known: dict[tuple[Any, ...], dict[str, Any]] = session.__dict__.setdefault(
        "_duban_environment", {}
    )
    found = known.get(key)
    if found is None:
        found = known[key] = dict(session.merge_environment_settings(url, {}, True, None, None))
    return {**found, "proxies": dict(found["proxies"] or {})}


def _prepared(
    session: requests.Session, method: str, url: str, *, json: Any, data: bytes | None
) -> requests.PreparedRequest:
    """The request as `session.prepare_request` builds it, with the session's headers, cookies
    and hooks, less its two costs: it copies the cookie jar twice for each request, and looks in
    ~/.netrc for a password for the host (never wanted: a robot's URL carries its own key)."""
    prepared = requests.PreparedRequest()
    prepared.prepare(
        method=method,
        url=url,
        data=data,
        json=json,
        headers=session.headers,
        cookies=session.cookies,
        hooks=session.hooks,
    )
    return prepared


def post(
    session: requests.Session,
    url: str,
    seconds: float,
    *,
    json: Any = None,
    data: bytes | None = None,
) -> Answer:
    """POST to exactly `url` and read the answer, all within `seconds` (`request`)."""
    return request(session, "POST", url, seconds, json=json, data=data)


def get(session: requests.Session, url: str, seconds: float) -> Answer:
    """GET exactly `url` and read the answer, all within `seconds` (`request`)."""
    return request(session, "GET", url, seconds)


def request(
    session: requests.Session,
    method: str,
    url: str,
    seconds: float,
    *,
    json: Any = None,
    data: bytes | None = None,
) -> Answer:
    """Send to exactly `url` and read the answer, all within `seconds`.

    Raises `DeadlineExceeded` (a `requests.Timeout`) when the time is up in any phase,
    `RewrittenURL` if the prepared request would go to another host than `url` names, and other
    `requests.RequestException`s as requests does.
    """
    prepared = _prepared(session, method, url, json=json, data=data)
    aimed = target(url)
    if prepared.url is None or target(prepared.url) != aimed:
        raise RewrittenURL("prepared request changed the host")
    # proxies and CA bundle from the environment, as session.request() would; stream the answer
    extra = environment_settings(session, prepared.url, aimed)
    with Watchdog(seconds) as dog:
        try:
            per_read = max(min(dog.remaining(), seconds), 0.001)
            response = session.send(
                prepared, timeout=(per_read, per_read), allow_redirects=False, **extra
            )
            try:
                body = bytearray()
                for chunk in response.iter_content(8192):
                    body += chunk
                    if len(body) >= MAX_ANSWER_BYTES:
                        break
                    if dog.remaining() <= 0:
                        raise DeadlineExceeded(f"no answer within {seconds:g} s")
            finally:
                response.close()
        except DeadlineExceeded:
            raise
        except OSError as exc:  # requests' exceptions are OSErrors too
            if dog.fired:  # the watchdog ended the connection: whatever broke, it was the time
                raise DeadlineExceeded(f"no answer within {seconds:g} s") from exc
            if not isinstance(exc, requests.RequestException):
                raise requests.ConnectionError(str(exc)) from exc
            raise
    return Answer(response.status_code, bytes(body))
