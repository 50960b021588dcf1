"""A loopback peer that answers one byte at a time, for total-deadline tests.

It accepts one connection at a time, reads the client's HTTP request when told to (headers, then
the body by Content-Length; an SMTP client speaks only after the greeting, so there it reads
nothing), then writes its answer a byte every `interval` seconds. Between bytes it watches the
socket: when the client closes the connection it stops and records how many bytes it had written.
A client that waits for the whole answer makes it write all of them; one with a total deadline cuts
it short. The peer's pauses are its behaviour, not the test's: the test thread never sleeps.
"""

from __future__ import annotations

import select
import socket
import threading
from dataclasses import dataclass, field


def http_answer(body: bytes = b'{"errcode":0,"errmsg":"ok"}', *, pad: int = 60) -> bytes:
    """A well-formed HTTP answer; `pad` bytes of an extra header make its header phase long."""
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + b"X-Pad: " + b"a" * pad + b"\r\n"
        + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


@dataclass
class SlowPeer:
    answer: bytes
    interval: float = 0.25
    read_http_request: bool = True
    host: str = "127.0.0.1"
    written: list[int] = field(default_factory=list)
    """Bytes written on each connection before the client closed it (or all of them)."""
    finished: threading.Event = field(default_factory=threading.Event)
    """Set when a connection ended, by the client or by the end of the answer."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    def start(self) -> SlowPeer:
        self._sock = socket.create_server((self.host, 0))
        self._sock.settimeout(0.05)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> SlowPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                self.written.append(self._dribble(conn))
            self.finished.set()

    def _dribble(self, conn: socket.socket) -> int:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.read_http_request:
            _read_request(conn)
        for count, byte in enumerate(self.answer):
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                return count  # the client is gone
            # wait for the next byte, watching for the client closing the connection
            readable, _, _ = select.select([conn], [], [], self.interval)
            if self._stop.is_set():
                return count + 1
            if readable:
                try:
                    if conn.recv(4096) == b"":
                        return count + 1
                except OSError:
                    return count + 1
        return len(self.answer)


def _read_request(conn: socket.socket) -> None:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            return
        body += chunk
    conn.settimeout(None)
