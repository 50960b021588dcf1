"""A loopback SMTP server (aiosmtpd) for tests: plain, STARTTLS or implicit TLS, optional login.

The certificate is self-signed for 127.0.0.1, generated in the test with `cryptography`; clients
trust it through a CA file. `hold(n)` makes the server take the n-th message and then keep its
answer until released, so that a test can kill a dispatcher while a message is in flight.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

WRONG_LOGIN = "535 5.7.8 Authentication credentials invalid"
"""What real servers answer to a wrong password: a 5xx, so the delivery fails for good."""


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 and localhost; the certificate is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "duban test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _free_port() -> int:
    # aiosmtpd's Controller connects to its own port to check it is up, so it cannot take port 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    """The message as it came after DATA."""
    peer: Any = None
    """The client's (host, port): one per connection."""

    @cached_property
    def message(self) -> EmailMessage:
        """The message parsed, when first asked for: not on the server's loop, whose every
        message it would otherwise slow (the benchmarks time the sender, not this parse)."""
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    hold_message: int | None = None
    """Which DATA (1 for the first) to accept and then not answer until `released` is set."""
    data_count: int = 0
    holding: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    reject_with: str | None = None
    quits: int = 0
    """Connections the client ended with QUIT."""
    rsets: int = 0
    """RSET commands received."""
    sender_answers: list[str] = field(default_factory=list)
    """Answers to the next MAIL FROMs instead of 250, one each (the sender refused, or the
    server closing)."""
    servers: list[Any] = field(default_factory=list)
    """The connections' protocol objects, for `drop`."""

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quits += 1
        return "221 Bye"

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        self.rsets += 1
        return "250 OK"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.sender_answers:
            return self.sender_answers.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_count += 1
        if server not in self.servers:
            self.servers.append(server)
        if self.reject_with:
            return self.reject_with
        self.received.append(
            Received(
                envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                session.peer,
            )
        )
        if self.data_count == self.hold_message:
            # the message is taken (a real server has queued it) but the client is not told yet:
            # the window in which a sender that dies has sent a message it never recorded
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.released.wait)
        return "250 2.0.0 Ok: queued as DUBAN42"


class SmtpServer:
    """mode: "none" (plain), "starttls" or "ssl"."""

    def __init__(
        self,
        mode: str,
        folder: Path,
        *,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.mode = mode
        self.handler = _Handler()
        self.cafile: Path | None = None
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": _free_port()}
        if mode in ("starttls", "ssl"):
            cert, key = self_signed_cert(folder)
            self.cafile = cert
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            if mode == "ssl":
                kwargs["ssl_context"] = context
            else:
                kwargs["tls_context"] = context
                kwargs["require_starttls"] = True
        if username is not None:

            def authenticate(
                server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
            ) -> AuthResult:
                ok = isinstance(auth_data, LoginPassword) and (
                    auth_data.login.decode() == username and auth_data.password.decode() == password
                )
                # handled=False: aiosmtpd itself answers the client. With the default
                # (handled=True) a refused login gets no answer at all and the client waits
                # for its timeout, which a channel reads as transient instead of 535.
                if ok:
                    return AuthResult(success=True, handled=False)
                return AuthResult(success=False, handled=False, message=WRONG_LOGIN)

            kwargs["authenticator"] = authenticate
            kwargs["auth_require_tls"] = mode == "starttls"
        else:
            kwargs["auth_require_tls"] = False
        self.controller = Controller(self.handler, **kwargs)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def client_context(self) -> ssl.SSLContext:
        assert self.cafile is not None
        return ssl.create_default_context(cafile=str(self.cafile))

    def hold(self, message: int) -> threading.Event:
        """Take the `message`-th message (1 for the first) but answer it only once released;
        returns the event set when that message is being held."""
        self.handler.hold_message = message
        return self.handler.holding

    @property
    def connections(self) -> int:
        """How many connections carried the messages received."""
        return len({r.peer for r in self.received})

    def drop(self) -> None:
        """Close every connection that carried a message, as a server does with idle ones;
        returns once they are closed."""
        done = threading.Event()

        def close() -> None:
            for server in self.handler.servers:
                if server.transport is not None:
                    server.transport.close()
            done.set()

        self.controller.loop.call_soon_threadsafe(close)
        assert done.wait(5)

    def release(self) -> None:
        self.handler.released.set()

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.handler.released.set()
        self.controller.stop()

    # `with SmtpServer(...) as server:` starts it and always stops it: a fixture in three lines.
    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
