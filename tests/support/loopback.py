"""What the loopback HTTP peers of the tests share (the WeCom robot, the messengers): a handler
that speaks HTTP/1.1 with keep-alive, answers JSON and counts connections, and a server on a
thread of its own, started and stopped the same way."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler of a peer (`owner`, set on each subclass): counts its connections."""

    protocol_version = "HTTP/1.1"
    owner: Any

    def setup(self) -> None:
        self.owner.connections += 1
        super().setup()
        # headers and body are two writes: without this, Nagle's algorithm and the client's
        # delayed ACK stall every keep-alive answer by ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(host: str, handler: type[JsonHandler]) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """`handler` listening on `host`, a free port, on a daemon thread."""
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return server, thread


def shut(server: ThreadingHTTPServer | None, thread: threading.Thread | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
    if thread is not None:
        thread.join(timeout=5)
